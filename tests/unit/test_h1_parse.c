/* SPDX-License-Identifier: MIT */
/* test_h1_parse: the strict HTTP/1.1 parser. Each request-smuggling vector has its
 * own case, so a regression names the rule it broke. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/h1_parse.h"
#include "unit.h"

#define MAXH 16

static const struct h1_limits limits = {.max_head_bytes = 1024, .max_headers = 8};
static struct h1_header hdrs[MAXH];

static int req_parse(const char *s, struct h1_request *r)
{
	return h1_parse_request(s, strlen(s), &limits, r, hdrs, MAXH);
}

static int resp_parse(const char *s, bool head, struct h1_response *r)
{
	return h1_parse_response(s, strlen(s), &limits, head, r, hdrs, MAXH);
}

static void str_equal(const char *p, size_t len, const char *want)
{
	assert_non_null(p);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(p, want, len);
}

/* Parses a whole head and checks it is accepted in full. */
static void req_ok(const char *s, struct h1_request *r)
{
	assert_int_equal(req_parse(s, r), (int)strlen(s));
}

/* The request is rejected with this status and reason, and so is every longer
 * buffer: the verdict never depends on where a read happened to stop. */
static void req_bad_n(const char *s, size_t n, int status, const char *reason)
{
	struct h1_request r;
	char buf[1200];

	assert_int_equal(h1_parse_request(s, n, &limits, &r, hdrs, MAXH), H1_ERROR);
	assert_int_equal(r.err_status, status);
	assert_non_null(r.err_reason);
	if (reason)
		assert_string_equal(r.err_reason, reason);
	assert_true(n + 16 < sizeof buf);
	memcpy(buf, s, n);
	memcpy(buf + n, "X: y\r\n\r\nGET / H", 16);
	assert_int_equal(h1_parse_request(buf, n + 16, &limits, &r, hdrs, MAXH), H1_ERROR);
	assert_int_equal(r.err_status, status);
}

/* Literals may hold NUL bytes, hence sizeof rather than strlen. */
#define REQ_BAD(s, status, reason) req_bad_n(s, sizeof(s) - 1, status, reason)

static void resp_bad(const char *s, bool head, const char *reason)
{
	struct h1_response r;

	assert_int_equal(resp_parse(s, head, &r), H1_ERROR);
	assert_int_equal(r.err_status, 502);
	assert_non_null(r.err_reason);
	if (reason)
		assert_string_equal(r.err_reason, reason);
}

/* ---- valid requests ---- */

static void test_get_origin_form(void **state)
{
	struct h1_request r;

	req_ok("GET /a/b?x=1&y HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n", &r);
	str_equal(r.method, r.method_len, "GET");
	str_equal(r.target, r.target_len, "/a/b?x=1&y");
	str_equal(r.path, r.path_len, "/a/b");
	str_equal(r.query, r.query_len, "x=1&y");
	str_equal(r.host, r.host_len, "example.com");
	assert_int_equal(r.minor_version, 1);
	assert_int_equal(r.nheaders, 2);
	assert_ptr_equal(r.headers, hdrs);
	str_equal(hdrs[1].name, hdrs[1].name_len, "Accept");
	str_equal(hdrs[1].value, hdrs[1].value_len, "*/*");
	assert_int_equal(r.body, H1_BODY_NONE);
	assert_true(r.keep_alive);
	assert_false(r.expect_continue);
	assert_false(r.upgrade);
}

static void test_field_value_ows_trimmed(void **state)
{
	struct h1_request r;

	req_ok("GET / HTTP/1.1\r\nHost:a\r\nX-A: \t v  a\tl \t \r\nX-E:\r\nX-S:   \r\n\r\n", &r);
	assert_int_equal(r.nheaders, 4);
	str_equal(hdrs[0].value, hdrs[0].value_len, "a");
	str_equal(hdrs[1].value, hdrs[1].value_len, "v  a\tl");
	assert_int_equal(hdrs[2].value_len, 0);
	assert_int_equal(hdrs[3].value_len, 0);
}

static void test_obs_text_in_value_is_accepted(void **state)
{
	struct h1_request r;

	req_ok("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\x80\xff\r\n\r\n", &r);
	str_equal(hdrs[1].value, hdrs[1].value_len, "caf\xc3\xa9\x80\xff");
}

static void test_no_query_gives_null(void **state)
{
	struct h1_request r;

	req_ok("GET /x HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	str_equal(r.path, r.path_len, "/x");
	assert_null(r.query);
	req_ok("GET /x? HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	str_equal(r.path, r.path_len, "/x");
	assert_non_null(r.query);
	assert_int_equal(r.query_len, 0);
}

static void test_post_content_length(void **state)
{
	struct h1_request r;

	req_ok("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n", &r);
	assert_int_equal(r.body, H1_BODY_LENGTH);
	assert_int_equal(r.content_length, 42);
}

static void test_content_length_zero_is_length(void **state)
{
	struct h1_request r;

	req_ok("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(r.body, H1_BODY_LENGTH);
	assert_int_equal(r.content_length, 0);
}

static void test_content_length_max(void **state)
{
	struct h1_request r;

	req_ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n", &r);
	assert_int_equal(r.content_length, INT64_MAX);
}

static void test_post_chunked(void **state)
{
	struct h1_request r;

	req_ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &r);
	assert_int_equal(r.body, H1_BODY_CHUNKED);
}

static void test_te_chunked_leading_ows_accepted(void **state)
{
	struct h1_request r;

	req_ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\t chunked\r\n\r\n", &r);
	assert_int_equal(r.body, H1_BODY_CHUNKED);
}

static void test_te_chunked_case_tricks_rejected(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n",
		400, "transfer-coding chunked not in lowercase");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
		400, "transfer-coding chunked not in lowercase");
}

static void test_te_trailing_whitespace_rejected(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked \r\n\r\n",
		400, "whitespace after transfer-encoding");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\t chunked \t\r\n\r\n",
		400, "whitespace after transfer-encoding");
}

static void test_repeated_identical_content_length_rejected(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		400, "repeated content-length");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 ,5,\t5\r\n\r\n",
		400, "repeated content-length");
}

static void test_content_length_leading_zeros_rejected(void **state)
{
	struct h1_request r;

	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 010\r\n\r\n",
		400, "content-length with leading zeros");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00\r\n\r\n",
		400, "content-length with leading zeros");
	req_ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(r.body, H1_BODY_LENGTH);
	assert_int_equal(r.content_length, 0);
}

static void test_head_request(void **state)
{
	struct h1_request r;

	req_ok("HEAD /i HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	str_equal(r.method, r.method_len, "HEAD");
	assert_int_equal(r.body, H1_BODY_NONE);
}

static void test_absolute_form(void **state)
{
	struct h1_request r;

	req_ok("GET http://Example.com:8080/p/q?z HTTP/1.1\r\nHost: example.COM:8080\r\n\r\n", &r);
	str_equal(r.host, r.host_len, "Example.com:8080");
	str_equal(r.path, r.path_len, "/p/q");
	str_equal(r.query, r.query_len, "z");
	str_equal(r.target, r.target_len, "http://Example.com:8080/p/q?z");
}

static void test_absolute_form_https_empty_path(void **state)
{
	struct h1_request r;

	req_ok("GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n", &r);
	str_equal(r.host, r.host_len, "h");
	str_equal(r.path, r.path_len, "/");
	assert_null(r.query);
	req_ok("GET http://h?q=1 HTTP/1.1\r\nHost: h\r\n\r\n", &r);
	str_equal(r.path, r.path_len, "/");
	str_equal(r.query, r.query_len, "q=1");
}

static void test_absolute_form_without_host_field_in_http10(void **state)
{
	struct h1_request r;

	req_ok("GET http://h/x HTTP/1.0\r\n\r\n", &r);
	str_equal(r.host, r.host_len, "h");
}

static void test_asterisk_form_options(void **state)
{
	struct h1_request r;

	req_ok("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	str_equal(r.path, r.path_len, "*");
}

static void test_authority_form_connect(void **state)
{
	struct h1_request r;

	req_ok("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", &r);
	str_equal(r.target, r.target_len, "a.example:443");
	str_equal(r.host, r.host_len, "a.example:443");
	assert_null(r.path);
}

static void test_host_ipv6_and_port(void **state)
{
	struct h1_request r;

	req_ok("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", &r);
	str_equal(r.host, r.host_len, "[::1]:8080");
	req_ok("GET / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n", &r);
	req_ok("GET / HTTP/1.1\r\nHost: xn--bcher-kva.example\r\n\r\n", &r);
}

static void test_http10_defaults(void **state)
{
	struct h1_request r;

	req_ok("GET / HTTP/1.0\r\n\r\n", &r);
	assert_int_equal(r.minor_version, 0);
	assert_null(r.host);
	assert_false(r.keep_alive);
	req_ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r);
	assert_true(r.keep_alive);
}

static void test_connection_close(void **state)
{
	struct h1_request r;

	req_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n", &r);
	assert_false(r.keep_alive);
	req_ok("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &r);
	assert_false(r.keep_alive);
}

static void test_expect_continue(void **state)
{
	struct h1_request r;

	req_ok("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", &r);
	assert_true(r.expect_continue);
	/* RFC 9110 §10.1.1: ignored in HTTP/1.0 */
	req_ok("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", &r);
	assert_false(r.expect_continue);
}

static void test_upgrade_needs_both_fields(void **state)
{
	struct h1_request r;

	req_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", &r);
	assert_true(r.upgrade);
	req_ok("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", &r);
	assert_false(r.upgrade);
	req_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n", &r);
	assert_false(r.upgrade);
}

static void test_leading_empty_lines_skipped(void **state)
{
	struct h1_request r;

	req_ok("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	str_equal(r.method, r.method_len, "GET");
}

static void test_too_many_leading_empty_lines(void **state)
{
	REQ_BAD("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid method");
}

static void test_pipelined_returns_first_head(void **state)
{
	const char *first = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
	const char *both = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
	struct h1_request r;
	int n = req_parse(both, &r);

	assert_int_equal(n, (int)strlen(first));
	str_equal(r.path, r.path_len, "/1");
	n = h1_parse_request(both + n, strlen(both) - (size_t)n, &limits, &r, hdrs, MAXH);
	assert_int_equal(n, (int)strlen(first));
	str_equal(r.path, r.path_len, "/2");
}

static void test_body_bytes_after_head_not_counted(void **state)
{
	const char *s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody";
	struct h1_request r;

	assert_int_equal(req_parse(s, &r), (int)strlen(s) - 4);
}

static void test_incomplete_at_every_prefix(void **state)
{
	static const char *const heads[] = {
		"GET /a?b HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n",
		"\r\nPOST http://h/ HTTP/1.0\r\nContent-Length: 1\r\n\r\n",
		"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	struct h1_request r;

	for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) {
		size_t n = strlen(heads[h]);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(h1_parse_request(heads[h], k, &limits, &r, hdrs, MAXH),
					 H1_INCOMPLETE);
		assert_int_equal(h1_parse_request(heads[h], n, &limits, &r, hdrs, MAXH), (int)n);
	}
}

/* ---- limits ---- */

static void test_head_too_large_is_431(void **state)
{
	const struct h1_limits small = {.max_head_bytes = 40, .max_headers = 8};
	const char *s = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: 0123456789\r\n\r\n";
	struct h1_request r;

	assert_int_equal(h1_parse_request(s, 39, &small, &r, hdrs, MAXH), H1_INCOMPLETE);
	assert_int_equal(h1_parse_request(s, 40, &small, &r, hdrs, MAXH), H1_ERROR);
	assert_int_equal(r.err_status, 431);
	assert_string_equal(r.err_reason, "header section too large");
	assert_int_equal(h1_parse_request(s, strlen(s), &small, &r, hdrs, MAXH), H1_ERROR);
	assert_int_equal(r.err_status, 431);
}

static void test_head_exactly_at_limit_is_accepted(void **state)
{
	const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	const struct h1_limits exact = {.max_head_bytes = strlen(s), .max_headers = 8};
	struct h1_request r;

	assert_int_equal(h1_parse_request(s, strlen(s), &exact, &r, hdrs, MAXH), (int)strlen(s));
}

static void test_too_many_fields_is_431(void **state)
{
	const struct h1_limits two = {.max_head_bytes = 1024, .max_headers = 2};
	const char *s = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
	struct h1_request r;

	assert_int_equal(h1_parse_request(s, strlen(s), &two, &r, hdrs, MAXH), H1_ERROR);
	assert_int_equal(r.err_status, 431);
	assert_string_equal(r.err_reason, "too many header fields");
	/* the caller's array bounds the count too */
	assert_int_equal(h1_parse_request(s, strlen(s), &limits, &r, hdrs, 2), H1_ERROR);
	assert_int_equal(r.err_status, 431);
	assert_int_equal(h1_parse_request(s, strlen(s), &limits, &r, hdrs, 3), (int)strlen(s));
}

/* ---- request smuggling and malformed requests ---- */

static void test_cl_and_te(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		400, "content-length with transfer-encoding");
}

static void test_te_and_cl(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		400, "content-length with transfer-encoding");
}

static void test_differing_content_lengths(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		400, "differing content-length values");
}

static void test_content_length_list_differs(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n",
		400, "differing content-length values");
}

static void test_content_length_not_digits(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400, "invalid content-length");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\n", 400, "invalid content-length");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400, "invalid content-length");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", 400, "invalid content-length");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, "invalid content-length");
}

static void test_content_length_empty(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, "invalid content-length");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", 400, "invalid content-length");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ,5\r\n\r\n", 400, "invalid content-length");
}

static void test_content_length_overflow(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n",
		400, "content-length overflow");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		400, "content-length overflow");
}

static void test_te_chunked_with_trailing_junk(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked x\r\n\r\n",
		400, "invalid transfer-encoding");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x0b\r\n\r\n",
		400, "invalid character in field value");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
		400, "invalid transfer-encoding");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\xa0\r\n\r\n",
		400, "invalid transfer-encoding");
}

static void test_te_xchunked(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
		400, "chunked is not the final transfer coding");
}

static void test_te_chunked_identity(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
		400, "chunked is not the final transfer coding");
}

static void test_te_identity_chunked(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n",
		501, "unsupported transfer-encoding");
}

static void test_te_gzip_chunked(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		501, "unsupported transfer-encoding");
}

static void test_te_repeated_fields(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
		501, "unsupported transfer-encoding");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		400, "chunked applied twice");
}

static void test_te_quoted_or_empty(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
		400, "invalid transfer-encoding");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400, "invalid transfer-encoding");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n",
		400, "invalid transfer-encoding");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n",
		400, "invalid transfer-encoding");
}

static void test_te_not_chunked(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
		400, "chunked is not the final transfer coding");
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunk\r\n\r\n",
		400, "chunked is not the final transfer coding");
}

static void test_te_in_http10(void **state)
{
	REQ_BAD("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "transfer-encoding in http/1.0");
}

static void test_te_name_variants_are_other_fields(void **state)
{
	struct h1_request r;

	/* Not Transfer-Encoding, so no body: the name is a different token. */
	req_ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n", &r);
	assert_int_equal(r.body, H1_BODY_NONE);
}

static void test_obs_fold(void **state)
{
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", 400, "obs-fold");
}

static void test_whitespace_before_first_field(void **state)
{
	REQ_BAD("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "whitespace before first field");
}

static void test_space_before_colon(void **state)
{
	REQ_BAD("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
		400, "whitespace before colon");
	REQ_BAD("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, "whitespace before colon");
}

static void test_empty_or_bad_field_name(void **state)
{
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400, "empty field name");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\nX(y): x\r\n\r\n", 400, "invalid field name");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "invalid field name");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\nX\0Y: 1\r\n\r\n", 400, "invalid field name");
}

static void test_bare_cr(void **state)
{
	REQ_BAD("GET / HTTP/1.1\rHost: a\r\n\r\n", 400, "bare cr");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, "bare cr");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400, "bare cr");
	REQ_BAD("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare cr");
}

static void test_bare_lf(void **state)
{
	REQ_BAD("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare lf");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400, "bare lf");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare lf");
	REQ_BAD("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare lf");
}

static void test_nul_in_value(void **state)
{
	static const char s[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
	struct h1_request r;

	assert_int_equal(h1_parse_request(s, sizeof s - 1, &limits, &r, hdrs, MAXH), H1_ERROR);
	assert_int_equal(r.err_status, 400);
	assert_string_equal(r.err_reason, "invalid character in field value");
}

static void test_control_chars_in_value(void **state)
{
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", 400, "invalid character in field value");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400, "invalid character in field value");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[0m\r\n\r\n", 400, "invalid character in field value");
}

static void test_two_host_fields(void **state)
{
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, "multiple host fields");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400, "multiple host fields");
}

static void test_missing_host(void **state)
{
	REQ_BAD("GET / HTTP/1.1\r\nX: a\r\n\r\n", 400, "missing host");
	REQ_BAD("GET http://h/ HTTP/1.1\r\n\r\n", 400, "missing host");
}

static void test_invalid_host(void **state)
{
	REQ_BAD("GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, "invalid host");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "invalid host");
	REQ_BAD("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, "invalid host");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n", 400, "invalid host");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a:\r\n\r\n", 400, "invalid host");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", 400, "invalid host");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "invalid host");
	REQ_BAD("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400, "invalid host");
	REQ_BAD("GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n", 400, "invalid host");
	REQ_BAD("GET / HTTP/1.1\r\nHost: a%4\r\n\r\n", 400, "invalid host");
}

static void test_absolute_form_host_differs(void **state)
{
	REQ_BAD("GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n", 400, "host differs from absolute-form authority");
	REQ_BAD("GET http://a:81/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "host differs from absolute-form authority");
}

static void test_absolute_form_bad(void **state)
{
	REQ_BAD("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid request-target");
	REQ_BAD("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid authority in request-target");
	REQ_BAD("GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid authority in request-target");
	REQ_BAD("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid request-target");
}

static void test_asterisk_form_needs_options(void **state)
{
	REQ_BAD("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "asterisk-form without options");
}

static void test_connect_needs_authority_form(void **state)
{
	REQ_BAD("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "connect needs authority-form");
	REQ_BAD("CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n", 400, "connect needs authority-form");
}

static void test_http09(void **state)
{
	REQ_BAD("GET /\r\n\r\n", 400, "http/0.9 request");
}

static void test_http2_version_is_505(void **state)
{
	REQ_BAD("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "unsupported http version");
	REQ_BAD("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "unsupported http version");
	REQ_BAD("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "unsupported http version");
}

static void test_lowercase_version(void **state)
{
	REQ_BAD("GET / http/1.1\r\nHost: a\r\n\r\n", 400, "invalid http version");
}

static void test_malformed_version(void **state)
{
	REQ_BAD("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "invalid request-line");
	REQ_BAD("GET / HTTP/11\r\nHost: a\r\n\r\n", 400, "invalid http version");
	REQ_BAD("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "invalid request-line");
	REQ_BAD("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400, "invalid http version");
}

static void test_double_sp_in_request_line(void **state)
{
	REQ_BAD("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid request-target");
	REQ_BAD("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid http version");
	REQ_BAD("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid method");
}

static void test_empty_method(void **state)
{
	REQ_BAD(" / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid method");
	REQ_BAD("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid method");
}

static void test_bad_target_characters(void **state)
{
	REQ_BAD("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid character in request-target");
	REQ_BAD("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid character in request-target");
	REQ_BAD("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid character in request-target");
	REQ_BAD("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid character in request-target");
}

static void test_early_error_before_head_completes(void **state)
{
	struct h1_request r;

	/* No need to wait for the empty line to reject what is already wrong. */
	assert_int_equal(req_parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b", &r), H1_ERROR);
	assert_int_equal(req_parse("GET / HTTP/3.0", &r), H1_ERROR);
	assert_int_equal(r.err_status, 505);
}

/* ---- responses ---- */

static void test_response_ok_length(void **state)
{
	struct h1_response r;
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: x\r\n\r\n";

	assert_int_equal(resp_parse(s, false, &r), (int)strlen(s));
	assert_int_equal(r.status, 200);
	str_equal(r.reason, r.reason_len, "OK");
	assert_int_equal(r.minor_version, 1);
	assert_int_equal(r.nheaders, 2);
	assert_int_equal(r.body, H1_BODY_LENGTH);
	assert_int_equal(r.content_length, 12);
	assert_true(r.keep_alive);
}

static void test_response_without_reason(void **state)
{
	struct h1_response r;
	const char *s = "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n";

	assert_int_equal(resp_parse(s, false, &r), (int)strlen(s));
	assert_int_equal(r.status, 200);
	assert_int_equal(r.reason_len, 0);
	s = "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n";
	assert_int_equal(resp_parse(s, false, &r), (int)strlen(s));
	assert_int_equal(r.status, 404);
	assert_int_equal(r.reason_len, 0);
}

static void test_response_204_ignores_length(void **state)
{
	struct h1_response r;
	const char *s = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";

	assert_int_equal(resp_parse(s, false, &r), (int)strlen(s));
	assert_int_equal(r.body, H1_BODY_NONE);
	assert_true(r.keep_alive);
}

static void test_response_to_head(void **state)
{
	struct h1_response r;
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n";

	assert_int_equal(resp_parse(s, true, &r), (int)strlen(s));
	assert_int_equal(r.body, H1_BODY_NONE);
	s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	assert_int_equal(resp_parse(s, true, &r), (int)strlen(s));
	assert_int_equal(r.body, H1_BODY_NONE);
}

static void test_response_304(void **state)
{
	struct h1_response r;
	const char *s = "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";

	assert_int_equal(resp_parse(s, false, &r), (int)strlen(s));
	assert_int_equal(r.body, H1_BODY_NONE);
}

static void test_response_chunked(void **state)
{
	struct h1_response r;
	const char *s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";

	assert_int_equal(resp_parse(s, false, &r), (int)strlen(s));
	assert_int_equal(r.body, H1_BODY_CHUNKED);
	assert_true(r.keep_alive);
}

static void test_response_te_not_final_chunked_rejected(void **state)
{
	resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false,
		 "chunked is not the final transfer coding");
	resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n", false,
		 "chunked is not the final transfer coding");
	resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n", false,
		 "chunked is not the final transfer coding");
	resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n", false,
		 "transfer-coding chunked not in lowercase");
	resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked \r\n\r\n", false,
		 "whitespace after transfer-encoding");
}

static void test_response_repeated_content_length_rejected(void **state)
{
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", false,
		 "repeated content-length");
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", false,
		 "differing content-length values");
}

static void test_response_until_close(void **state)
{
	struct h1_response r;
	const char *s = "HTTP/1.1 200 OK\r\nX: 1\r\n\r\n";

	assert_int_equal(resp_parse(s, false, &r), (int)strlen(s));
	assert_int_equal(r.body, H1_BODY_UNTIL_CLOSE);
	assert_false(r.keep_alive);
}

static void test_response_http10_keep_alive(void **state)
{
	struct h1_response r;
	const char *s = "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n";

	assert_int_equal(resp_parse(s, false, &r), (int)strlen(s));
	assert_false(r.keep_alive);
	s = "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n";
	assert_int_equal(resp_parse(s, false, &r), (int)strlen(s));
	assert_true(r.keep_alive);
	s = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n";
	assert_int_equal(resp_parse(s, false, &r), (int)strlen(s));
	assert_false(r.keep_alive);
}

static void test_response_1xx(void **state)
{
	struct h1_response r;
	const char *s = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n";

	assert_int_equal(resp_parse(s, false, &r), (int)strlen("HTTP/1.1 100 Continue\r\n\r\n"));
	assert_int_equal(r.status, 100);
	assert_int_equal(r.body, H1_BODY_NONE);
	s = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n";
	assert_int_equal(resp_parse(s, false, &r), (int)strlen(s));
	assert_int_equal(r.body, H1_BODY_NONE);
	s = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n";
	assert_int_equal(resp_parse(s, false, &r), (int)strlen(s));
	assert_int_equal(r.status, 101);
	assert_int_equal(r.body, H1_BODY_NONE);
}

static void test_response_incomplete_at_every_prefix(void **state)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
	size_t n = strlen(s);
	struct h1_response r;

	for (size_t k = 0; k < n; k++)
		assert_int_equal(h1_parse_response(s, k, &limits, false, &r, hdrs, MAXH), H1_INCOMPLETE);
	assert_int_equal(h1_parse_response(s, n, &limits, false, &r, hdrs, MAXH), (int)n);
}

static void test_response_malformed_status_line(void **state)
{
	resp_bad("HTTP/1.1 20 OK\r\n\r\n", false, "invalid status-line");
	resp_bad("HTTP/1.1 2000 OK\r\n\r\n", false, "invalid status-line");
	resp_bad("HTTP/1.1  200 OK\r\n\r\n", false, "invalid status-line");
	resp_bad("HTTP/1.1 099 Low\r\n\r\n", false, "invalid status code");
	resp_bad("HTTP/1.1 600 High\r\n\r\n", false, "invalid status code");
	resp_bad("HTTP/1.1 999 High\r\n\r\n", false, "invalid status code");
	resp_bad("HTTP/1.1 200 O\x01K\r\n\r\n", false, "invalid status-line");
	resp_bad("http/1.1 200 OK\r\n\r\n", false, "invalid http version");
	resp_bad("HTTP/2.0 200 OK\r\n\r\n", false, "unsupported http version");
	resp_bad("HTTP/1.1 200 OK\nX: 1\r\n\r\n", false, "bare lf");
	resp_bad("ICY 200 OK\r\n\r\n", false, "invalid http version");
}

static void test_response_framing_errors(void **state)
{
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false,
		 "content-length with transfer-encoding");
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false,
		 "differing content-length values");
	resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", false,
		 "chunked applied twice");
	resp_bad("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false,
		 "transfer-encoding in http/1.0");
	resp_bad("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", false, "obs-fold");
	resp_bad("HTTP/1.1 204 OK\r\nContent-Length: x\r\n\r\n", false, "invalid content-length");
}

static void test_response_limits_give_502(void **state)
{
	const struct h1_limits small = {.max_head_bytes = 20, .max_headers = 1};
	const char *s = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n";
	struct h1_response r;

	assert_int_equal(h1_parse_response(s, strlen(s), &small, false, &r, hdrs, MAXH), H1_ERROR);
	assert_int_equal(r.err_status, 502);
	assert_string_equal(r.err_reason, "header section too large");
	const struct h1_limits one = {.max_head_bytes = 100, .max_headers = 1};
	assert_int_equal(h1_parse_response(s, strlen(s), &one, false, &r, hdrs, MAXH), H1_ERROR);
	assert_int_equal(r.err_status, 502);
	assert_string_equal(r.err_reason, "too many header fields");
}

/* ---- chunked bodies ---- */

/* Scans s in one call, then again one byte per call; both must agree. Returns the
 * consumed count (or -1) and sets *done. */
static ssize_t chunked(const char *s, size_t len, bool *done)
{
	struct h1_chunked c = {0}, c1 = {0};
	bool d = false, d1 = false;
	ssize_t n = h1_chunked_scan(&c, s, len, &d);
	ssize_t total = 0;

	for (size_t i = 0; i < len && !d1; i++) {
		ssize_t k = h1_chunked_scan(&c1, s + i, 1, &d1);
		if (k < 0) {
			total = -1;
			break;
		}
		total += k;
	}
	assert_int_equal(n, total);
	assert_int_equal(d, d1);
	*done = d;
	return n;
}

static void chunked_ok(const char *s, size_t consumed)
{
	bool done;

	assert_int_equal(chunked(s, strlen(s), &done), (ssize_t)consumed);
	assert_true(done);
}

static void chunked_bad_n(const char *s, size_t len)
{
	bool done = true;

	assert_int_equal(chunked(s, len, &done), -1);
	assert_false(done);
}

#define CHUNKED_BAD(s) chunked_bad_n(s, sizeof(s) - 1)

static void test_chunked_simple(void **state)
{
	const char *s = "5\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n";

	chunked_ok(s, strlen(s));
}

static void test_chunked_stops_at_end_of_body(void **state)
{
	const char *s = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";

	chunked_ok(s, strlen("3\r\nabc\r\n0\r\n\r\n"));
}

static void test_chunked_incomplete_is_not_done(void **state)
{
	const char *s = "5\r\nhello\r\n0\r\n\r\n";
	size_t n = strlen(s);

	for (size_t k = 0; k < n; k++) {
		bool done = true;
		assert_int_equal(chunked(s, k, &done), (ssize_t)k);
		assert_false(done);
	}
}

static void test_chunked_done_is_sticky(void **state)
{
	struct h1_chunked c = {0};
	bool done = false;

	assert_int_equal(h1_chunked_scan(&c, "0\r\n\r\n", 5, &done), 5);
	assert_true(done);
	assert_int_equal(h1_chunked_scan(&c, "1\r\n", 3, &done), 0);
	assert_true(done);
}

static void test_chunked_error_is_sticky(void **state)
{
	struct h1_chunked c = {0};
	bool done = false;

	assert_int_equal(h1_chunked_scan(&c, "g\r\n", 3, &done), -1);
	assert_int_equal(h1_chunked_scan(&c, "0\r\n\r\n", 5, &done), -1);
	assert_int_equal(h1_chunked_scan(&c, "", 0, &done), -1);
}

static void test_chunked_remaining_tracks_data(void **state)
{
	struct h1_chunked c = {0};
	bool done;

	assert_int_equal(h1_chunked_scan(&c, "10\r\nabc", 7, &done), 7);
	assert_int_equal(c.remaining, 13);
}

static void test_chunked_uppercase_hex_and_zeros(void **state)
{
	chunked_ok("00A\r\n0123456789\r\n000\r\n\r\n", strlen("00A\r\n0123456789\r\n000\r\n\r\n"));
}

static void test_chunked_extensions(void **state)
{
	const char *s = "3;a=b;c;d=\"x y\\\"z\" ; e = f\r\nabc\r\n0;last\r\n\r\n";

	chunked_ok(s, strlen(s));
	chunked_ok("1 ;a\r\nx\r\n0\r\n\r\n", strlen("1 ;a\r\nx\r\n0\r\n\r\n"));
}

static void test_chunked_trailers(void **state)
{
	const char *s = "1\r\nx\r\n0\r\nChecksum: abc\r\nX-Empty:\r\n\r\n";

	chunked_ok(s, strlen(s));
}

static void test_chunked_size_overflow(void **state)
{
	CHUNKED_BAD("ffffffffffffffffff\r\n");
	CHUNKED_BAD("00000000000000001\r\n");
}

static void test_chunked_size_16_digits_ok(void **state)
{
	struct h1_chunked c = {0};
	bool done;

	assert_int_equal(h1_chunked_scan(&c, "ffffffffffffffff\r\n", 18, &done), 18);
	assert_int_equal(c.remaining, UINT64_MAX);
}

static void test_chunked_size_negative(void **state)
{
	CHUNKED_BAD("-1\r\nx\r\n0\r\n\r\n");
}

static void test_chunked_size_0x(void **state)
{
	CHUNKED_BAD("0x5\r\nhello\r\n0\r\n\r\n");
}

static void test_chunked_size_leading_space(void **state)
{
	CHUNKED_BAD(" 5\r\nhello\r\n0\r\n\r\n");
	CHUNKED_BAD("\t5\r\nhello\r\n0\r\n\r\n");
}

static void test_chunked_size_trailing_space(void **state)
{
	CHUNKED_BAD("5 \r\nhello\r\n0\r\n\r\n");
}

static void test_chunked_empty_size(void **state)
{
	CHUNKED_BAD("\r\n");
	CHUNKED_BAD(";a\r\n");
}

static void test_chunked_bare_lf(void **state)
{
	CHUNKED_BAD("5\nhello\r\n0\r\n\r\n");
	CHUNKED_BAD("5\r\nhello\n0\r\n\r\n");
	CHUNKED_BAD("0\r\n\n");
	CHUNKED_BAD("0\r\nX: y\n\r\n");
}

static void test_chunked_missing_crlf_after_data(void **state)
{
	CHUNKED_BAD("5\r\nhelloX\r\n0\r\n\r\n");
	CHUNKED_BAD("5\r\nhello0\r\n\r\n");
	CHUNKED_BAD("5\r\nhello\rX");
}

static void test_chunked_unterminated_quoted_extension(void **state)
{
	CHUNKED_BAD("1;a=\"abc\r\nx\r\n0\r\n\r\n");
}

static void test_chunked_huge_extension(void **state)
{
	size_t n = 6000;
	char *s = malloc(n + 1);
	bool done;

	assert_non_null(s);
	memcpy(s, "1;a=", 4);
	memset(s + 4, 'x', n - 4);
	s[n] = '\0';
	assert_int_equal(chunked(s, n, &done), -1);
	free(s);
}

static void test_chunked_bad_extensions(void **state)
{
	CHUNKED_BAD("1;\r\nx\r\n0\r\n\r\n");
	CHUNKED_BAD("1;=v\r\nx\r\n0\r\n\r\n");
	CHUNKED_BAD("1;a=\r\nx\r\n0\r\n\r\n");
	CHUNKED_BAD("1;a=b c\r\nx\r\n0\r\n\r\n");
	CHUNKED_BAD("1;a b\r\nx\r\n0\r\n\r\n");
	CHUNKED_BAD("1;a=\"x\"y\r\nx\r\n0\r\n\r\n");
	CHUNKED_BAD("1;a=\"\x01\"\r\nx\r\n0\r\n\r\n");
	CHUNKED_BAD("1;a=b \r\nx\r\n0\r\n\r\n");
	CHUNKED_BAD("1;a\0\r\nx\r\n0\r\n\r\n");
}

static void test_chunked_trailer_with_bad_field(void **state)
{
	CHUNKED_BAD("0\r\nX : y\r\n\r\n");
	CHUNKED_BAD("0\r\n folded\r\n\r\n");
	CHUNKED_BAD("0\r\nX: a\x01\r\n\r\n");
	CHUNKED_BAD("0\r\nNoColon\r\n\r\n");
	CHUNKED_BAD("0\r\n: v\r\n\r\n");
	CHUNKED_BAD("0\r\nX: a\rb\r\n\r\n");
}

static void test_chunked_trailer_too_large(void **state)
{
	size_t n = 20000;
	char *s = malloc(n + 1);
	bool done;

	assert_non_null(s);
	memcpy(s, "0\r\nX: ", 6);
	memset(s + 6, 'v', n - 6);
	s[n] = '\0';
	assert_int_equal(chunked(s, n, &done), -1);
	free(s);
}

static void test_token_eq(void **state)
{
	assert_true(h1_token_eq("ChUnKeD", 7, "chunked"));
	assert_false(h1_token_eq("chunked", 6, "chunked"));
	assert_false(h1_token_eq("chunkedx", 8, "chunked"));
	assert_false(h1_token_eq("chunke\xc4", 7, "chunked"));
	assert_true(h1_token_eq("", 0, ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_origin_form),
		cmocka_unit_test(test_field_value_ows_trimmed),
		cmocka_unit_test(test_obs_text_in_value_is_accepted),
		cmocka_unit_test(test_no_query_gives_null),
		cmocka_unit_test(test_post_content_length),
		cmocka_unit_test(test_content_length_zero_is_length),
		cmocka_unit_test(test_content_length_max),
		cmocka_unit_test(test_post_chunked),
		cmocka_unit_test(test_te_chunked_leading_ows_accepted),
		cmocka_unit_test(test_te_chunked_case_tricks_rejected),
		cmocka_unit_test(test_te_trailing_whitespace_rejected),
		cmocka_unit_test(test_repeated_identical_content_length_rejected),
		cmocka_unit_test(test_content_length_leading_zeros_rejected),
		cmocka_unit_test(test_head_request),
		cmocka_unit_test(test_absolute_form),
		cmocka_unit_test(test_absolute_form_https_empty_path),
		cmocka_unit_test(test_absolute_form_without_host_field_in_http10),
		cmocka_unit_test(test_asterisk_form_options),
		cmocka_unit_test(test_authority_form_connect),
		cmocka_unit_test(test_host_ipv6_and_port),
		cmocka_unit_test(test_http10_defaults),
		cmocka_unit_test(test_connection_close),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_upgrade_needs_both_fields),
		cmocka_unit_test(test_leading_empty_lines_skipped),
		cmocka_unit_test(test_too_many_leading_empty_lines),
		cmocka_unit_test(test_pipelined_returns_first_head),
		cmocka_unit_test(test_body_bytes_after_head_not_counted),
		cmocka_unit_test(test_incomplete_at_every_prefix),
		cmocka_unit_test(test_head_too_large_is_431),
		cmocka_unit_test(test_head_exactly_at_limit_is_accepted),
		cmocka_unit_test(test_too_many_fields_is_431),
		cmocka_unit_test(test_cl_and_te),
		cmocka_unit_test(test_te_and_cl),
		cmocka_unit_test(test_differing_content_lengths),
		cmocka_unit_test(test_content_length_list_differs),
		cmocka_unit_test(test_content_length_not_digits),
		cmocka_unit_test(test_content_length_empty),
		cmocka_unit_test(test_content_length_overflow),
		cmocka_unit_test(test_te_chunked_with_trailing_junk),
		cmocka_unit_test(test_te_xchunked),
		cmocka_unit_test(test_te_chunked_identity),
		cmocka_unit_test(test_te_identity_chunked),
		cmocka_unit_test(test_te_gzip_chunked),
		cmocka_unit_test(test_te_repeated_fields),
		cmocka_unit_test(test_te_quoted_or_empty),
		cmocka_unit_test(test_te_not_chunked),
		cmocka_unit_test(test_te_in_http10),
		cmocka_unit_test(test_te_name_variants_are_other_fields),
		cmocka_unit_test(test_obs_fold),
		cmocka_unit_test(test_whitespace_before_first_field),
		cmocka_unit_test(test_space_before_colon),
		cmocka_unit_test(test_empty_or_bad_field_name),
		cmocka_unit_test(test_bare_cr),
		cmocka_unit_test(test_bare_lf),
		cmocka_unit_test(test_nul_in_value),
		cmocka_unit_test(test_control_chars_in_value),
		cmocka_unit_test(test_two_host_fields),
		cmocka_unit_test(test_missing_host),
		cmocka_unit_test(test_invalid_host),
		cmocka_unit_test(test_absolute_form_host_differs),
		cmocka_unit_test(test_absolute_form_bad),
		cmocka_unit_test(test_asterisk_form_needs_options),
		cmocka_unit_test(test_connect_needs_authority_form),
		cmocka_unit_test(test_http09),
		cmocka_unit_test(test_http2_version_is_505),
		cmocka_unit_test(test_lowercase_version),
		cmocka_unit_test(test_malformed_version),
		cmocka_unit_test(test_double_sp_in_request_line),
		cmocka_unit_test(test_empty_method),
		cmocka_unit_test(test_bad_target_characters),
		cmocka_unit_test(test_early_error_before_head_completes),
		cmocka_unit_test(test_response_ok_length),
		cmocka_unit_test(test_response_without_reason),
		cmocka_unit_test(test_response_204_ignores_length),
		cmocka_unit_test(test_response_to_head),
		cmocka_unit_test(test_response_304),
		cmocka_unit_test(test_response_chunked),
		cmocka_unit_test(test_response_te_not_final_chunked_rejected),
		cmocka_unit_test(test_response_repeated_content_length_rejected),
		cmocka_unit_test(test_response_until_close),
		cmocka_unit_test(test_response_http10_keep_alive),
		cmocka_unit_test(test_response_1xx),
		cmocka_unit_test(test_response_incomplete_at_every_prefix),
		cmocka_unit_test(test_response_malformed_status_line),
		cmocka_unit_test(test_response_framing_errors),
		cmocka_unit_test(test_response_limits_give_502),
		cmocka_unit_test(test_chunked_simple),
		cmocka_unit_test(test_chunked_stops_at_end_of_body),
		cmocka_unit_test(test_chunked_incomplete_is_not_done),
		cmocka_unit_test(test_chunked_done_is_sticky),
		cmocka_unit_test(test_chunked_error_is_sticky),
		cmocka_unit_test(test_chunked_remaining_tracks_data),
		cmocka_unit_test(test_chunked_uppercase_hex_and_zeros),
		cmocka_unit_test(test_chunked_extensions),
		cmocka_unit_test(test_chunked_trailers),
		cmocka_unit_test(test_chunked_size_overflow),
		cmocka_unit_test(test_chunked_size_16_digits_ok),
		cmocka_unit_test(test_chunked_size_negative),
		cmocka_unit_test(test_chunked_size_0x),
		cmocka_unit_test(test_chunked_size_leading_space),
		cmocka_unit_test(test_chunked_size_trailing_space),
		cmocka_unit_test(test_chunked_empty_size),
		cmocka_unit_test(test_chunked_bare_lf),
		cmocka_unit_test(test_chunked_missing_crlf_after_data),
		cmocka_unit_test(test_chunked_unterminated_quoted_extension),
		cmocka_unit_test(test_chunked_huge_extension),
		cmocka_unit_test(test_chunked_bad_extensions),
		cmocka_unit_test(test_chunked_trailer_with_bad_field),
		cmocka_unit_test(test_chunked_trailer_too_large),
		cmocka_unit_test(test_token_eq),
	};
	return UNIT_RUN(tests);
}
