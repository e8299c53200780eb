/* SPDX-License-Identifier: MIT */
/* fuzz_h2_upstream: arbitrary bytes from an h2c backend into runtime/h2_upstream.c,
 * over a real socket pair, after one of three requests (a GET that takes trailers, a
 * chunked POST, a HEAD) went out through it. The translated HTTP/1.1 response must
 * always parse as one; finds crashes and leaks in the translation of HEADERS, DATA,
 * trailers, resets and GOAWAY, and in release and idle handling after it. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/h1_parse.h"
#include "runtime/h2_upstream.h"
#include "runtime/upstream.h"
#include "runtime/worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const requests[] = {
	"GET /x HTTP/1.1\r\nHost: a.example\r\nTE: trailers\r\nAccept: */*\r\n\r\n",
	"POST /up HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n"
	"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
	"HEAD / HTTP/1.0\r\n\r\n",
};

/* Our frames are read off the peer end and dropped, so sends never block. */
static void drain_peer(int fd)
{
	char buf[65536];
	while (read(fd, buf, sizeof buf) > 0)
		;
}

/* Reads the translated response out; a complete head must parse. */
static void read_out(struct upstream *u, int peer, char *out, size_t *len, size_t cap)
{
	for (int i = 0; i < 64; i++) {
		drain_peer(peer);
		if (*len == cap)
			*len = 0;  /* keep the head's start; a body past the buffer is dropped */
		ssize_t n = h2_up_read(u, out + *len, cap - *len);
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return 0;
	static struct h1_header hdrs[64];
	struct rt_limits lim;
	memset(&lim, 0, sizeof lim);
	lim.max_header_bytes = 8192;
	lim.max_headers = 64;
	lim.head_cap = 8193;
	lim.parse_headers = 64;
	struct upstream u;
	memset(&u, 0, sizeof u);
	u.fd = sv[0];
	u.reused = true;
	u.h2 = h2_up_new(sv[0], &lim, hdrs);
	if (u.h2 == NULL)
		goto out;
	const char *req = requests[data[0] % 3];
	struct iovec iov = { .iov_base = (void *)(uintptr_t)req, .iov_len = strlen(req) };
	(void)h2_up_writev(&u, &iov, 1);
	drain_peer(sv[1]);
	data++;
	size--;

	static char resp[1 << 16];
	size_t rlen = 0;
	size_t off = 0;
	while (off < size) {
		size_t k = size - off < 4096 ? size - off : 4096;
		ssize_t w = write(sv[1], data + off, k);
		if (w <= 0)
			break;
		off += (size_t)w;
		read_out(&u, sv[1], resp, &rlen, sizeof resp);
	}
	if (rlen > 0) {
		/* limits wide enough for any head the layer may write (max_header_bytes of
		 * fields, each at least "x: \r\n"), so that only a malformed head fails */
		static struct h1_header many[8192 / 4];
		struct h1_response r;
		struct h1_limits hl = { sizeof resp, sizeof many / sizeof many[0] };
		int hr = h1_parse_response(resp, rlen, &hl, data[-1] % 3 == 2, &r, many,
					   sizeof many / sizeof many[0]);
		if (hr == H1_ERROR)
			abort();  /* the layer wrote a head HTTP/1.1 cannot read */
	}
	if (h2_up_release(&u))
		(void)h2_up_idle_input(&u);
	h2_up_free(u.h2);
out:
	close(sv[0]);
	close(sv[1]);
	return 0;
}
