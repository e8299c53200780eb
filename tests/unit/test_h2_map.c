/* SPDX-License-Identifier: MIT */
/* test_h2_map: the HTTP/1.1 <-> HTTP/2 pieces both h2c layers share: which fields
 * stay behind (RFC 9113 §8.2.2), and the chunked coding undone byte-exactly however
 * the input is split, trailers kept, bad framing refused. */
#include "unit.h"

#include <string.h>

#include "runtime/h2_map.h"

static void test_connection_specific_fields_are_dropped(void **state)
{
	(void)state;
	static const char *const dropped[] = {
		"Connection", "keep-alive", "Proxy-Connection", "Transfer-Encoding", "UPGRADE",
	};
	for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
		assert_true(h2_field_dropped(dropped[i], strlen(dropped[i]), "x", 1));
	assert_true(h2_field_dropped("te", 2, "gzip", 4));
	assert_false(h2_field_dropped("TE", 2, "trailers", 8));
	assert_false(h2_field_dropped("host", 4, "a", 1));
	assert_false(h2_field_dropped("content-length", 14, "5", 1));
	assert_false(h2_field_dropped("connection-x", 12, "1", 1));
}

/* Decodes in[] handed over step bytes at a time; returns the payload length or -1. */
static ssize_t dechunk_all(struct h1_dechunk *d, const char *in, size_t len, size_t step, char *out,
			   size_t *consumed, bool *done)
{
	size_t off = 0, olen = 0;
	*done = false;
	while (off < len && !*done) {
		size_t give = len - off < step ? len - off : step;
		const char *data;
		size_t dlen;
		ssize_t k = h1_dechunk(d, in + off, give, &data, &dlen, done);
		if (k < 0)
			return -1;
		if (dlen > 0)
			memcpy(out + olen, data, dlen);
		olen += dlen;
		off += (size_t)k;
	}
	*consumed = off;
	return (ssize_t)olen;
}

static void test_chunked_body_is_decoded_however_split(void **state)
{
	(void)state;
	const char body[] = "5\r\nhello\r\n1A;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\nNEXT";
	for (size_t step = 1; step <= sizeof body; step++) {
		struct h1_dechunk d;
		memset(&d, 0, sizeof d);
		char out[64];
		size_t used;
		bool done;
		ssize_t n = dechunk_all(&d, body, sizeof body - 1, step, out, &used, &done);
		assert_int_equal(n, 31);
		assert_memory_equal(out, "helloabcdefghijklmnopqrstuvwxyz", 31);
		assert_true(done);
		/* the bytes after the body belong to the next message */
		assert_int_equal(used, sizeof body - 1 - 4);
		assert_int_equal(d.trailers_len, 0);
	}
}

static void test_trailers_are_kept(void **state)
{
	(void)state;
	const char body[] = "3\r\nabc\r\n0\r\ngrpc-status: 0\r\nx-a: b\r\n\r\n";
	struct h1_dechunk d;
	memset(&d, 0, sizeof d);
	char out[16];
	size_t used;
	bool done;
	assert_int_equal(dechunk_all(&d, body, sizeof body - 1, 4, out, &used, &done), 3);
	assert_true(done);
	assert_int_equal(d.trailers_len, strlen("grpc-status: 0\r\nx-a: b\r\n"));
	assert_memory_equal(d.trailers, "grpc-status: 0\r\nx-a: b\r\n", d.trailers_len);
}

static void test_bad_framing_is_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"x\r\n",                        /* no size */
		"5\r\nhelloX\r\n",              /* no CRLF after the data */
		"5\nhello\r\n",                 /* bare LF after the size */
		"fffffffffffffffff\r\n",        /* size overflows 64 bits */
		"0\r\n\rX",                     /* bad end of the trailer section */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct h1_dechunk d;
		memset(&d, 0, sizeof d);
		char out[32];
		size_t used;
		bool done;
		assert_int_equal(dechunk_all(&d, bad[i], strlen(bad[i]), 64, out, &used, &done), -1);
	}
	/* a trailer section longer than the bound */
	static char big[H1_DECHUNK_TRAILERS_MAX + 64];
	memcpy(big, "0\r\nx: ", 6);
	memset(big + 6, 'a', sizeof big - 6);
	struct h1_dechunk d;
	memset(&d, 0, sizeof d);
	char out[8];
	size_t used;
	bool done;
	assert_int_equal(dechunk_all(&d, big, sizeof big, sizeof big, out, &used, &done), -1);
}

static void test_field_line_fits_or_leaves_buffer_alone(void **state)
{
	(void)state;
	char buf[16];
	size_t off = 0;
	assert_true(h2_map_field_line(buf, sizeof buf, &off, "a-b", 3, "xyz", 3));
	assert_int_equal(off, 10);
	assert_memory_equal(buf, "a-b: xyz\r\n", 10);
	assert_false(h2_map_field_line(buf, sizeof buf, &off, "name", 4, "v", 1));
	assert_int_equal(off, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connection_specific_fields_are_dropped),
		cmocka_unit_test(test_chunked_body_is_decoded_however_split),
		cmocka_unit_test(test_trailers_are_kept),
		cmocka_unit_test(test_bad_framing_is_refused),
		cmocka_unit_test(test_field_line_fits_or_leaves_buffer_alone),
	};
	return UNIT_RUN(tests);
}
