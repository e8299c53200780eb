/* SPDX-License-Identifier: MIT */
/* test_h2_conn: the in-memory core of the HTTP/2 client layer (runtime/h2_conn.c),
 * driven by an nghttp2 client session: requests come out as exact HTTP/1.1 bytes,
 * HTTP/1.1 responses go back as HEADERS, DATA and trailers, flow control holds
 * writes back, and what HTTP/1.1 cannot carry is answered by the layer. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "runtime/h2_conn.h"

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, 0}

struct client {
	nghttp2_session *s;
	struct h2_conn *h;
	char heads[2048];        /* "name: value\n" of response HEADERS */
	char trailers[512];
	char data[1 << 17];
	size_t data_len;
	int status;
	bool ended;              /* END_STREAM seen on the stream */
	bool headers_ended;      /* ... on the response HEADERS itself */
	bool goaway;
	uint32_t rst_code;
	bool rst;
	const char *body;        /* request body, sent in 4-byte DATA frames */
	size_t body_off;
	bool manual_consume;
};

static int cl_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *n, size_t nl,
			const uint8_t *v, size_t vl, uint8_t flags, void *ud)
{
	struct client *c = ud;
	(void)s;
	(void)flags;
	char *dst = f->headers.cat == NGHTTP2_HCAT_HEADERS ? c->trailers : c->heads;
	size_t cap = f->headers.cat == NGHTTP2_HCAT_HEADERS ? sizeof c->trailers : sizeof c->heads;
	if (nl == 7 && memcmp(n, ":status", 7) == 0)
		c->status = atoi((const char *)v);
	else
		snprintf(dst + strlen(dst), cap - strlen(dst), "%.*s: %.*s\n", (int)nl, n, (int)vl, v);
	return 0;
}

static int cl_on_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct client *c = ud;
	(void)s;
	if (f->hd.type == NGHTTP2_GOAWAY)
		c->goaway = true;
	if (f->hd.type == NGHTTP2_RST_STREAM) {
		c->rst = true;
		c->rst_code = f->rst_stream.error_code;
	}
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
		c->ended = true;
		if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_RESPONSE)
			c->headers_ended = true;
	}
	return 0;
}

static int cl_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t len,
		      void *ud)
{
	struct client *c = ud;
	(void)s;
	(void)flags;
	(void)id;
	if (c->data_len + len <= sizeof c->data) {
		memcpy(c->data + c->data_len, d, len);
		c->data_len += len;
	}
	return 0;
}

static ssize_t cl_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *fl,
		       nghttp2_data_source *src, void *ud)
{
	struct client *c = ud;
	(void)s;
	(void)id;
	(void)src;
	size_t n = strlen(c->body) - c->body_off;
	n = n < 4 ? n : 4;
	n = n < len ? n : len;
	memcpy(buf, c->body + c->body_off, n);
	c->body_off += n;
	if (c->body_off == strlen(c->body))
		*fl |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static struct client *client_new(uint32_t window)
{
	struct client *c = calloc(1, sizeof *c);
	assert_non_null(c);
	nghttp2_session_callbacks *cb;
	assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_on_header_callback(cb, cl_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, cl_on_frame);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, cl_on_data);
	nghttp2_option *opt;
	assert_int_equal(nghttp2_option_new(&opt), 0);
	if (window != 0) {
		c->manual_consume = true;
		nghttp2_option_set_no_auto_window_update(opt, 1);
	}
	assert_int_equal(nghttp2_session_client_new2(&c->s, cb, c, opt), 0);
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	nghttp2_settings_entry iv = {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window};
	assert_int_equal(nghttp2_submit_settings(c->s, 0, &iv, window != 0), 0);
	struct h2_conn_limits lim = {8192, 50, 1024, 16384};
	c->h = h2_core_new(&lim);
	assert_non_null(c->h);
	return c;
}

static void client_free(struct client *c)
{
	h2_core_free(c->h);
	nghttp2_session_del(c->s);
	free(c);
}

/* Moves frames both ways until neither side has anything to say. */
static void pump(struct client *c)
{
	for (int i = 0; i < 1000; i++) {
		const uint8_t *p;
		ssize_t n, moved = 0;
		while ((n = nghttp2_session_mem_send(c->s, &p)) > 0) {
			assert_int_equal(h2_core_recv(c->h, p, (size_t)n), 0);
			moved += n;
		}
		while ((n = h2_core_send(c->h, &p)) > 0) {
			assert_int_equal(nghttp2_session_mem_recv(c->s, p, (size_t)n), n);
			moved += n;
		}
		if (moved == 0)
			return;
	}
	fail_msg("pump did not settle");
}

/* Everything the connection would read now, NUL-terminated. */
static char *read_all(struct client *c)
{
	static char buf[1 << 16];
	size_t len = 0;
	for (;;) {
		ssize_t n = h2_core_read(c->h, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

static int32_t request(struct client *c, const nghttp2_nv *nv, size_t n, const char *body)
{
	nghttp2_data_provider dp = {.read_callback = cl_body};
	c->body = body;
	int32_t id = nghttp2_submit_request(c->s, NULL, nv, n, body != NULL ? &dp : NULL, NULL);
	assert_true(id > 0);
	pump(c);
	return id;
}

/* The plainest request: GET / on a.example, without a body. */
static int32_t get_root(struct client *c)
{
	static const nghttp2_nv nv[] = {NV(":method", "GET"), NV(":scheme", "http"), NV(":path", "/"),
					NV(":authority", "a.example")};
	return request(c, nv, 4, NULL);
}

static void respond(struct client *c, const char *resp)
{
	struct iovec iov = {(void *)(uintptr_t)resp, strlen(resp)};
	assert_int_equal(h2_core_write(c->h, &iov, 1), (ssize_t)strlen(resp));
	pump(c);
}

static void get_becomes_an_http11_head(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	nghttp2_nv nv[] = {NV(":method", "GET"), NV(":scheme", "http"), NV(":path", "/x?a=1"),
			   NV(":authority", "example.com"), NV("accept", "*/*")};
	request(c, nv, 5, NULL);
	assert_string_equal(read_all(c), "GET /x?a=1 HTTP/1.1\r\nhost: example.com\r\naccept: */*\r\n\r\n");
	respond(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
	assert_int_equal(c->status, 200);
	assert_string_equal(c->heads, "content-type: text/plain\ncontent-length: 5\n");
	assert_int_equal(c->data_len, 5);
	assert_memory_equal(c->data, "hello", 5);
	assert_true(c->ended);
	client_free(c);
}

static void cookie_crumbs_are_joined(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	nghttp2_nv nv[] = {NV(":method", "GET"), NV(":scheme", "http"), NV(":path", "/"),
			   NV(":authority", "a.example"), NV("cookie", "a=1"), NV("x-y", "z"),
			   NV("cookie", "b=2")};
	request(c, nv, 7, NULL);
	assert_string_equal(read_all(c),
			    "GET / HTTP/1.1\r\nhost: a.example\r\nx-y: z\r\ncookie: a=1; b=2\r\n\r\n");
	client_free(c);
}

static void body_with_content_length_passes_as_is(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	nghttp2_nv nv[] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":path", "/p"),
			   NV(":authority", "a.example"), NV("content-length", "10")};
	request(c, nv, 5, "hello body");
	assert_string_equal(read_all(c), "POST /p HTTP/1.1\r\nhost: a.example\r\n"
					 "content-length: 10\r\n\r\nhello body");
	client_free(c);
}

static void body_without_length_is_chunked(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	nghttp2_nv nv[] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":path", "/p"),
			   NV(":authority", "a.example")};
	request(c, nv, 4, "hello body");
	/* Whatever arrived before the read makes one chunk. */
	assert_string_equal(read_all(c), "POST /p HTTP/1.1\r\nhost: a.example\r\n"
					 "transfer-encoding: chunked\r\n\r\na\r\nhello body\r\n0\r\n\r\n");
	client_free(c);
}

static void connect_is_answered_501_by_the_layer(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	nghttp2_nv nv[] = {NV(":method", "CONNECT"), NV(":authority", "a.example:443")};
	request(c, nv, 2, NULL);
	assert_string_equal(read_all(c), "");
	assert_int_equal(c->status, 501);
	assert_true(c->headers_ended);
	client_free(c);
}

static void host_differing_from_authority_is_answered_400(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	nghttp2_nv nv[] = {NV(":method", "GET"), NV(":scheme", "http"), NV(":path", "/"),
			   NV(":authority", "a.example"), NV("host", "b.example")};
	request(c, nv, 5, NULL);
	assert_string_equal(read_all(c), "");
	assert_int_equal(c->status, 400);
	client_free(c);
}

static void chunked_response_trailers_become_a_trailing_headers(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	nghttp2_nv nv[] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":path", "/g"),
			   NV(":authority", "a.example"), NV("te", "trailers")};
	request(c, nv, 5, "x");
	read_all(c);
	respond(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
		   "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nGrpc-Status: 0\r\nGrpc-Message:  ok \r\n\r\n");
	assert_int_equal(c->status, 200);
	assert_string_equal(c->heads, "");  /* framing and connection fields stay behind */
	assert_int_equal(c->data_len, 5);
	assert_memory_equal(c->data, "abcde", 5);
	assert_string_equal(c->trailers, "grpc-status: 0\ngrpc-message: ok\n");
	assert_true(c->ended);
	client_free(c);
}

static void response_without_body_ends_with_its_headers(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	nghttp2_nv nv[] = {NV(":method", "HEAD"), NV(":scheme", "http"), NV(":path", "/"),
			   NV(":authority", "a.example")};
	request(c, nv, 4, NULL);
	read_all(c);
	respond(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n");
	assert_int_equal(c->status, 200);
	assert_true(c->headers_ended);
	assert_int_equal(c->data_len, 0);
	client_free(c);
}

static void writes_wait_for_the_clients_window(void **state)
{
	(void)state;
	struct client *c = client_new(10);
	int32_t id = get_root(c);
	read_all(c);
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 25\r\n\r\n0123456789abcdefghijKLMNO";
	size_t head = strlen(resp) - 25;
	struct iovec iov = {(void *)(uintptr_t)resp, strlen(resp)};
	/* Only what the window lets leave at once is taken. */
	assert_int_equal(h2_core_write(c->h, &iov, 1), (ssize_t)(head + 10));
	pump(c);
	assert_int_equal(c->data_len, 10);
	iov.iov_base = (char *)(uintptr_t)resp + head + 10;
	iov.iov_len = 15;
	assert_true(h2_core_out_blocked(c->h));
	errno = 0;
	assert_int_equal(h2_core_write(c->h, &iov, 1), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(nghttp2_session_consume(c->s, id, 10), 0);
	pump(c);
	assert_false(h2_core_out_blocked(c->h));
	assert_int_equal(h2_core_write(c->h, &iov, 1), 10);
	pump(c);
	assert_int_equal(c->data_len, 20);
	client_free(c);
}

static void request_body_window_reopens_only_as_it_is_read(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	nghttp2_nv nv[] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":path", "/p"),
			   NV(":authority", "a.example")};
	static char big[H2_CONN_WINDOW + 1000];
	memset(big, 'b', sizeof big - 1);
	request(c, nv, 4, big);
	/* The client stopped at the window: the layer holds no more than that. */
	assert_int_equal(nghttp2_session_get_stream_remote_window_size(c->s, 1), 0);
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	while ((n = h2_core_read(c->h, buf, sizeof buf)) > 0) {
		got += (size_t)n;
		pump(c);
	}
	assert_true(got > sizeof big);  /* all of it came through, with its framing */
	client_free(c);
}

static void finish_ends_a_body_delimited_by_the_close(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	get_root(c);
	read_all(c);
	respond(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close");
	assert_false(c->ended);
	h2_core_finish(c->h);
	pump(c);
	assert_int_equal(c->data_len, 11);
	assert_true(c->ended);
	assert_true(c->goaway);
	assert_false(c->rst);
	client_free(c);
}

static void finish_resets_a_cut_response(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	get_root(c);
	read_all(c);
	respond(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart");
	h2_core_finish(c->h);
	pump(c);
	assert_true(c->rst);
	assert_int_equal(c->rst_code, NGHTTP2_INTERNAL_ERROR);
	assert_true(c->goaway);
	client_free(c);
}

static void client_reset_of_the_served_stream_is_fatal(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	int32_t id = get_root(c);
	read_all(c);
	assert_int_equal(nghttp2_submit_rst_stream(c->s, 0, id, NGHTTP2_CANCEL), 0);
	const uint8_t *p;
	ssize_t n = nghttp2_session_mem_send(c->s, &p);
	assert_true(n > 0);
	assert_int_equal(h2_core_recv(c->h, p, (size_t)n), -1);
	assert_non_null(h2_core_error(c->h));
	char buf[16];
	assert_int_equal(h2_core_read(c->h, buf, sizeof buf), -1);
	client_free(c);
}

static void client_goaway_ends_the_input_after_the_last_request(void **state)
{
	(void)state;
	struct client *c = client_new(0);
	get_root(c);
	assert_int_equal(nghttp2_submit_goaway(c->s, 0, 0, NGHTTP2_NO_ERROR, NULL, 0), 0);
	pump(c);
	char buf[256];
	assert_true(h2_core_read(c->h, buf, sizeof buf) > 0);
	assert_int_equal(h2_core_read(c->h, buf, sizeof buf), 0);
	client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(get_becomes_an_http11_head),
		cmocka_unit_test(cookie_crumbs_are_joined),
		cmocka_unit_test(body_with_content_length_passes_as_is),
		cmocka_unit_test(body_without_length_is_chunked),
		cmocka_unit_test(connect_is_answered_501_by_the_layer),
		cmocka_unit_test(host_differing_from_authority_is_answered_400),
		cmocka_unit_test(chunked_response_trailers_become_a_trailing_headers),
		cmocka_unit_test(response_without_body_ends_with_its_headers),
		cmocka_unit_test(writes_wait_for_the_clients_window),
		cmocka_unit_test(request_body_window_reopens_only_as_it_is_read),
		cmocka_unit_test(finish_ends_a_body_delimited_by_the_close),
		cmocka_unit_test(finish_resets_a_cut_response),
		cmocka_unit_test(client_reset_of_the_served_stream_is_fatal),
		cmocka_unit_test(client_goaway_ends_the_input_after_the_last_request),
	};
	return UNIT_RUN(tests);
}
