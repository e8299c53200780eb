/* SPDX-License-Identifier: MIT */
/* fuzz_h1_request: arbitrary bytes as a request head. Beyond not crashing, the parser
 * must not depend on where a read stopped: every prefix of the input parses as
 * "incomplete" or exactly as the whole does, and what it returns points into the head. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/h1_parse.h"

#define FUZZ_MAX_HEADERS 24

static const struct h1_limits fuzz_limits = {.max_head_bytes = 2048, .max_headers = 20};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_require(bool ok)
{
	if (!ok)
		abort();
}

static bool fuzz_inside(const char *p, size_t len, const char *buf, size_t head)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)buf;

	return p && a >= b && len <= head && a - b <= head - len;
}

/* Parses an exact-size copy of data[0..len), so ASan sees any read past len. */
static int fuzz_parse(const uint8_t *data, size_t len, struct h1_request *r,
		      struct h1_header *h, char **copy)
{
	*copy = malloc(len ? len : 1);
	fuzz_require(*copy != NULL);
	memcpy(*copy, data, len);
	return h1_parse_request(*copy, len, &fuzz_limits, r, h, FUZZ_MAX_HEADERS);
}

static void fuzz_check_head(const struct h1_request *r, const char *buf, int n)
{
	size_t head = (size_t)n;

	fuzz_require(head <= fuzz_limits.max_head_bytes);
	fuzz_require(fuzz_inside(r->method, r->method_len, buf, head) && r->method_len > 0);
	fuzz_require(fuzz_inside(r->target, r->target_len, buf, head) && r->target_len > 0);
	fuzz_require(r->minor_version == 0 || r->minor_version == 1);
	fuzz_require(r->host || r->minor_version == 0);
	fuzz_require(!r->host || fuzz_inside(r->host, r->host_len, buf, head));
	/* path is in the target, or the "/" of an absolute-form without a path */
	fuzz_require(!r->path || fuzz_inside(r->path, r->path_len, buf, head) ||
		     (r->path_len == 1 && r->path[0] == '/'));
	fuzz_require(!r->query || fuzz_inside(r->query, r->query_len, buf, head));
	fuzz_require(r->nheaders <= fuzz_limits.max_headers);
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct h1_header *h = &r->headers[i];
		fuzz_require(fuzz_inside(h->name, h->name_len, buf, head) && h->name_len > 0);
		fuzz_require(h->value_len == 0 || fuzz_inside(h->value, h->value_len, buf, head));
		for (size_t k = 0; k < h->value_len; k++)
			fuzz_require(h->value[k] != '\r' && h->value[k] != '\n' && h->value[k] != '\0');
	}
	fuzz_require(r->body == H1_BODY_NONE || r->body == H1_BODY_LENGTH ||
		     r->body == H1_BODY_CHUNKED);
	fuzz_require(r->body == H1_BODY_LENGTH || r->content_length == 0);
	fuzz_require(r->body != H1_BODY_CHUNKED || r->minor_version == 1);
	fuzz_require(!r->upgrade || r->minor_version == 1);
}

/* The verdict on a prefix: incomplete, or the same as on the whole input. */
static void fuzz_check_prefix(const uint8_t *data, size_t k, int full, const struct h1_request *fr)
{
	struct h1_header h[FUZZ_MAX_HEADERS];
	struct h1_request r;
	char *copy;
	int n = fuzz_parse(data, k, &r, h, &copy);

	if (n != H1_INCOMPLETE) {
		fuzz_require(n == full);
		if (n == H1_ERROR) {
			fuzz_require(r.err_status == fr->err_status);
			fuzz_require(r.err_reason == fr->err_reason);
		} else {
			fuzz_check_head(&r, copy, n);
			fuzz_require(r.body == fr->body && r.content_length == fr->content_length);
			fuzz_require(r.nheaders == fr->nheaders && r.keep_alive == fr->keep_alive);
			fuzz_require(r.path_len == fr->path_len && r.host_len == fr->host_len);
		}
	} else {
		fuzz_require(k < fuzz_limits.max_head_bytes);
		fuzz_require(full <= 0 || k < (size_t)full);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct h1_header h[FUZZ_MAX_HEADERS];
	struct h1_request r;
	char *copy;
	int n = fuzz_parse(data, size, &r, h, &copy);

	if (n > 0) {
		fuzz_require((size_t)n <= size);
		fuzz_check_head(&r, copy, n);
	} else if (n == H1_ERROR) {
		fuzz_require(r.err_status == 400 || r.err_status == 431 || r.err_status == 501 ||
			     r.err_status == 505);
		fuzz_require(r.err_reason != NULL && r.err_reason[0] != '\0');
	} else {
		fuzz_require(n == H1_INCOMPLETE && size < fuzz_limits.max_head_bytes);
	}

	/* A few prefixes chosen by the input itself, plus the edges of the head. */
	size_t ks[6] = {size / 2, size ? size - 1 : 0, 0, 0, 0, 0};
	size_t nk = 2;
	if (n > 0) {
		ks[nk++] = (size_t)n - 1;
		ks[nk++] = (size_t)n;
	}
	if (size >= 2) {
		ks[nk++] = data[0] % size;
		ks[nk++] = (size_t)(data[size - 1] * 7 + data[1]) % size;
	}
	for (size_t i = 0; i < nk; i++)
		fuzz_check_prefix(data, ks[i], n, &r);
	free(copy);
	return 0;
}
