/* SPDX-License-Identifier: MIT */
/* fuzz_h1_response: arbitrary bytes as a backend's response head (the first byte's
 * low bit says whether the request was HEAD). Every prefix must parse as "incomplete"
 * or exactly as the whole input does, and the framing verdict must be consistent. */
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

static int fuzz_parse(const uint8_t *data, size_t len, bool head, struct h1_response *r,
		      struct h1_header *h, char **copy)
{
	*copy = malloc(len ? len : 1);
	fuzz_require(*copy != NULL);
	memcpy(*copy, data, len);
	return h1_parse_response(*copy, len, &fuzz_limits, head, r, h, FUZZ_MAX_HEADERS);
}

static void fuzz_check_head(const struct h1_response *r, const char *buf, int n, bool head)
{
	size_t len = (size_t)n;

	fuzz_require(len <= fuzz_limits.max_head_bytes);
	fuzz_require(r->status >= 100 && r->status <= 999);
	fuzz_require(r->minor_version == 0 || r->minor_version == 1);
	fuzz_require(r->reason_len == 0 || fuzz_inside(r->reason, r->reason_len, buf, len));
	fuzz_require(r->nheaders <= fuzz_limits.max_headers);
	for (size_t i = 0; i < r->nheaders; i++) {
		const struct h1_header *h = &r->headers[i];
		fuzz_require(fuzz_inside(h->name, h->name_len, buf, len) && h->name_len > 0);
		fuzz_require(h->value_len == 0 || fuzz_inside(h->value, h->value_len, buf, len));
	}
	/* RFC 9112 §6.3 item 1 */
	if (head || r->status < 200 || r->status == 204 || r->status == 304)
		fuzz_require(r->body == H1_BODY_NONE);
	else
		fuzz_require(r->body != H1_BODY_NONE);
	fuzz_require(r->body == H1_BODY_LENGTH || r->content_length == 0);
	fuzz_require(r->body != H1_BODY_UNTIL_CLOSE || !r->keep_alive);
}

static void fuzz_check_prefix(const uint8_t *data, size_t k, bool head, int full,
			      const struct h1_response *fr)
{
	struct h1_header h[FUZZ_MAX_HEADERS];
	struct h1_response r;
	char *copy;
	int n = fuzz_parse(data, k, head, &r, h, &copy);

	if (n != H1_INCOMPLETE) {
		fuzz_require(n == full);
		if (n == H1_ERROR) {
			fuzz_require(r.err_status == 502 && r.err_reason == fr->err_reason);
		} else {
			fuzz_check_head(&r, copy, n, head);
			fuzz_require(r.status == fr->status && r.body == fr->body);
			fuzz_require(r.content_length == fr->content_length);
			fuzz_require(r.keep_alive == fr->keep_alive && r.nheaders == fr->nheaders);
		}
	} else {
		fuzz_require(k < fuzz_limits.max_head_bytes);
		fuzz_require(full <= 0 || k < (size_t)full);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool head = data[0] & 1;
	data++;
	size--;

	struct h1_header h[FUZZ_MAX_HEADERS];
	struct h1_response r;
	char *copy;
	int n = fuzz_parse(data, size, head, &r, h, &copy);

	if (n > 0) {
		fuzz_require((size_t)n <= size);
		fuzz_check_head(&r, copy, n, head);
	} else if (n == H1_ERROR) {
		fuzz_require(r.err_status == 502);
		fuzz_require(r.err_reason != NULL && r.err_reason[0] != '\0');
	} else {
		fuzz_require(n == H1_INCOMPLETE && size < fuzz_limits.max_head_bytes);
	}

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
		fuzz_check_prefix(data, ks[i], head, n, &r);
	free(copy);
	return 0;
}
