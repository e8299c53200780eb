/* SPDX-License-Identifier: MIT */
/* fuzz_h2_conn: arbitrary bytes from an HTTP/2 client into the in-memory core of
 * runtime/h2_conn.c, fed in three pieces, while a stand-in for the connection reads
 * the translated HTTP/1.1 requests and answers each with a canned response (one of
 * four framings, picked by the input). Finds crashes and leaks in the translation
 * both ways; every request head the layer produces must parse as HTTP/1.1. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/h1_parse.h"
#include "runtime/h2_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const canned[] = {
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
	"5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nGrpc-Status: 0\r\nbad line\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n",
	"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the close",
};

struct fz {
	struct h2_conn *h;
	size_t in_len;
	bool in_body;           /* skipping a request body */
	enum h1_body body;
	uint64_t cl_left;
	struct h1_chunked chunk;
	unsigned variant;
	bool stop;
	char in[1 << 17];       /* last: not cleared between inputs */
};

static void drain(struct fz *f)
{
	const uint8_t *p;
	for (int i = 0; i < 10000 && h2_core_send(f->h, &p) > 0; i++)
		;
}

static void respond(struct fz *f)
{
	const char *r = canned[f->variant++ % 4];
	size_t len = strlen(r), off = 0;
	for (int tries = 0; off < len && tries < 4; tries++) {
		struct iovec iov = {(void *)(uintptr_t)(r + off), len - off};
		ssize_t n = h2_core_write(f->h, &iov, 1);
		if (n < 0 && errno != EAGAIN) {
			f->stop = true;
			return;
		}
		if (n > 0)
			off += (size_t)n;
		drain(f);
	}
}

/* Reads translated bytes; answers each complete head; skips bodies. */
static void serve(struct fz *f)
{
	for (int rounds = 0; rounds < 64 && !f->stop; rounds++) {
		ssize_t n = f->in_len < sizeof f->in
			  ? h2_core_read(f->h, f->in + f->in_len, sizeof f->in - f->in_len) : -1;
		if (n == 0)
			f->stop = true;
		if (n > 0)
			f->in_len += (size_t)n;
		bool progress = n > 0;
		while (f->in_len > 0 && !f->stop) {
			if (f->in_body) {
				size_t take;
				bool done = false;
				if (f->body == H1_BODY_LENGTH) {
					take = f->cl_left < f->in_len ? (size_t)f->cl_left : f->in_len;
					f->cl_left -= take;
					done = f->cl_left == 0;
				} else {
					ssize_t k = h1_chunked_scan(&f->chunk, f->in, f->in_len, &done);
					if (k < 0)
						abort();  /* the layer's own chunked coding is broken */
					take = (size_t)k;
				}
				memmove(f->in, f->in + take, f->in_len - take);
				f->in_len -= take;
				if (done)
					f->in_body = false;
				if (take == 0)
					break;
				continue;
			}
			struct h1_header hdrs[128];
			struct h1_request req;
			struct h1_limits lim = {16384, 128};
			int r = h1_parse_request(f->in, f->in_len, &lim, &req, hdrs, 128);
			if (r == H1_INCOMPLETE)
				break;
			if (r < 0) {
				f->stop = true;  /* the connection would answer 400 and close */
				break;
			}
			f->body = req.body;
			f->cl_left = req.content_length;
			memset(&f->chunk, 0, sizeof f->chunk);
			f->in_body = req.body == H1_BODY_CHUNKED ||
				     (req.body == H1_BODY_LENGTH && req.content_length > 0);
			memmove(f->in, f->in + r, f->in_len - (size_t)r);
			f->in_len -= (size_t)r;
			respond(f);
			progress = true;
		}
		drain(f);
		if (!progress)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	struct h2_conn_limits lim = {8192, 64, 4096, 16384};
	memset(&f, 0, offsetof(struct fz, in));
	f.variant = size > 0 ? data[size - 1] : 0;
	f.h = h2_core_new(&lim);
	if (f.h == NULL)
		return 0;
	drain(&f);
	size_t cut1 = size / 3, cut2 = 2 * size / 3;
	const size_t cuts[4] = {0, cut1, cut2, size};
	for (int i = 0; i < 3 && !f.stop; i++) {
		if (h2_core_recv(f.h, data + cuts[i], cuts[i + 1] - cuts[i]) < 0)
			break;
		drain(&f);
		serve(&f);
	}
	h2_core_finish(f.h);
	drain(&f);
	h2_core_free(f.h);
	return 0;
}
