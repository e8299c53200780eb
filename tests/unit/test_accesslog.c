/* SPDX-License-Identifier: MIT */
/* test_accesslog: a request's facts (struct conn_reqlog) go through a worker's ring
 * (runtime/reqlog) and come out as exact JSON and combined lines (ops/accesslog);
 * escaping of hostile bytes; the ring's wrap-around, drops and request ids. */
#include "unit.h"

#include "compile_fixture.h"

#include <stdlib.h>
#include <time.h>

#include "ops/accesslog.h"
#include "runtime/conn.h"
#include "runtime/reqlog.h"
#include "runtime/upstream.h"

#define YAML \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: Gateway\n" \
	"metadata: {name: gw}\n" \
	"spec:\n" \
	"  gatewayClassName: gatewayd\n" \
	"  listeners:\n" \
	"  - {name: http, port: 8080, protocol: HTTP}\n" \
	"---\n" \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: HTTPRoute\n" \
	"metadata: {name: web}\n" \
	"spec:\n" \
	"  parentRefs: [{name: gw}]\n" \
	"  rules:\n" \
	"  - backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: a}]\n" \
	"---\n" \
	"apiVersion: gateway.envoyproxy.io/v1alpha1\n" \
	"kind: Backend\n" \
	"metadata: {name: a}\n" \
	"spec:\n" \
	"  endpoints: [{ip: {address: 127.0.0.1, port: 9080}}]\n"

/* 2026-11-27T04:23:57.091Z */
#define T0 1795753437.091

static void collect_json(void *ctx, const struct reqlog_rec *r)
{
	accesslog_format_json(ctx, r);
}

static void collect_combined(void *ctx, const struct reqlog_rec *r)
{
	accesslog_format_combined(ctx, r);
}

/* A proxied GET with every fact known. */
static void proxied_request(struct conn_reqlog *log, struct h1_request *req, struct upool *up,
			    const struct img_header *img)
{
	memset(req, 0, sizeof *req);
	req->method = "GET";
	req->method_len = 3;
	req->target = "/app/x?q=1";
	req->target_len = strlen(req->target);
	req->host = "example.com";
	req->host_len = strlen(req->host);
	req->minor_version = 1;
	memset(up, 0, sizeof *up);
	strcpy(up->name, "127.0.0.1:9080");
	memset(log, 0, sizeof *log);
	log->t_start = T0;
	log->t_head = T0;
	log->t_upstream = T0 + 0.000250;
	log->t_response = T0 + 0.001250;
	log->t_end = T0 + 0.0015;
	log->bytes_in = 80;
	log->bytes_out = 582;
	log->head_bytes_out = 182;
	log->status = 200;
	log->req = req;
	log->listener = IMG_ARRAY(img, img->listeners, struct img_listener);
	log->rule = IMG_ARRAY(img, img->rules, struct img_rule);
	log->backend = IMG_ARRAY(img, img->backends, struct img_backend);
	log->upstream = up;
	log->request_id = 0x22227f0b8f9ee47eull;
}

static void format_one(const struct conn_reqlog *log, const struct img_header *img, bool combined,
		       struct buf *out)
{
	struct reqlog *rl = reqlog_new(1, true, combined, 1 << 16);
	assert_non_null(rl);
	reqlog_push(reqlog_ring(rl, 0), log, img, "127.0.0.1", 9);
	assert_int_equal(reqlog_drain(rl, combined ? collect_combined : collect_json, out), 1);
	reqlog_free(rl);
}

static void test_json_line_of_a_proxied_request_has_every_field(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, YAML);
	struct conn_reqlog log;
	struct h1_request req;
	struct upool up;
	proxied_request(&log, &req, &up, f.img);
	struct buf out = BUF_INIT;
	format_one(&log, f.img, false, &out);
	assert_string_equal(out.data,
		"{\"ts\":\"2026-11-27T04:23:57.091Z\",\"client\":\"127.0.0.1\",\"method\":\"GET\","
		"\"host\":\"example.com\",\"path\":\"/app/x?q=1\",\"protocol\":\"HTTP/1.1\","
		"\"status\":200,\"bytes_in\":80,\"bytes_out\":582,\"duration_ms\":1.500,"
		"\"upstream_ms\":1.000,\"gateway\":\"default/gw\",\"route\":\"default/web\","
		"\"backend\":\"Backend/default/a\",\"upstream\":\"127.0.0.1:9080\","
		"\"request_id\":\"22227f0b8f9ee47e\",\"listener\":\"http\",\"error\":null}\n");
	buf_free(&out);
	fx_free(&f);
}

static void test_json_line_of_an_unrouted_error_has_nulls(void **state)
{
	(void)state;
	/* A 400 before the head parsed: nothing but the client and the times is known. */
	struct conn_reqlog log;
	memset(&log, 0, sizeof log);
	log.t_start = T0;
	log.t_end = T0 + 0.002;
	log.bytes_in = 17;
	log.bytes_out = 99;
	log.status = 400;
	log.request_id = 1;
	log.error = "bad request\n";
	struct buf out = BUF_INIT;
	format_one(&log, NULL, false, &out);
	assert_string_equal(out.data,
		"{\"ts\":\"2026-11-27T04:23:57.091Z\",\"client\":\"127.0.0.1\",\"method\":null,"
		"\"host\":null,\"path\":null,\"protocol\":null,\"status\":400,\"bytes_in\":17,"
		"\"bytes_out\":99,\"duration_ms\":2.000,\"upstream_ms\":null,\"gateway\":null,"
		"\"route\":null,\"backend\":null,\"upstream\":null,\"request_id\":\"0000000000000001\","
		"\"listener\":null,\"error\":\"bad request\"}\n");
	buf_free(&out);
}

static void test_request_without_response_is_logged_as_499(void **state)
{
	(void)state;
	struct conn_reqlog log;
	memset(&log, 0, sizeof log);
	log.t_start = log.t_end = T0;
	struct buf out = BUF_INIT;
	format_one(&log, NULL, false, &out);
	assert_non_null(strstr(out.data, "\"status\":499,"));
	buf_free(&out);
}

static void test_client_request_id_is_logged_instead_of_ours(void **state)
{
	(void)state;
	struct conn_reqlog log;
	memset(&log, 0, sizeof log);
	log.t_start = log.t_end = T0;
	log.status = 204;
	log.request_id = 0xffff;
	log.client_rid = "abc-123\"x";
	log.client_rid_len = 9;
	struct buf out = BUF_INIT;
	format_one(&log, NULL, false, &out);
	assert_non_null(strstr(out.data, "\"request_id\":\"abc-123\\\"x\","));
	buf_free(&out);
}

static void test_combined_line_is_apache_combined_then_extras(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, YAML);
	struct conn_reqlog log;
	struct h1_request req;
	struct upool up;
	proxied_request(&log, &req, &up, f.img);
	log.user_agent = "curl/7.88.1";
	log.user_agent_len = 11;
	struct buf out = BUF_INIT;
	format_one(&log, f.img, true, &out);
	assert_string_equal(out.data,
		"127.0.0.1 - - [27/Nov/2026:04:23:57 +0000] \"GET /app/x?q=1 HTTP/1.1\" 200 400 "
		"\"-\" \"curl/7.88.1\" 80 582 \"example.com\" 22227f0b8f9ee47e 1.500 1.000 "
		"\"default/gw\" \"http\" \"default/web\" \"Backend/default/a\" \"127.0.0.1:9080\"\n");
	buf_free(&out);
	fx_free(&f);
}

static void test_combined_line_without_request_line(void **state)
{
	(void)state;
	struct conn_reqlog log;
	memset(&log, 0, sizeof log);
	log.t_start = log.t_end = T0;
	log.status = 408;
	log.bytes_out = 100;
	log.head_bytes_out = 100;
	log.request_id = 0xab;
	struct buf out = BUF_INIT;
	format_one(&log, NULL, true, &out);
	assert_string_equal(out.data,
		"127.0.0.1 - - [27/Nov/2026:04:23:57 +0000] \"-\" 408 - \"-\" \"-\" 0 100 \"-\" "
		"00000000000000ab 0.000 - \"-\" \"-\" \"-\" \"-\" \"-\"\n");
	buf_free(&out);
}

static void test_hostile_bytes_are_escaped(void **state)
{
	(void)state;
	struct h1_request req;
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.method_len = 3;
	/* quote, backslash, control, valid UTF-8 (é), an invalid byte, a lone continuation */
	static const char target[] = "/a\"b\\c\x01" "d\xc3\xa9" "e\xff" "f\x80";
	req.target = target;
	req.target_len = sizeof target - 1;
	req.minor_version = 1;
	struct conn_reqlog log;
	memset(&log, 0, sizeof log);
	log.t_start = log.t_end = T0;
	log.status = 404;
	log.req = &req;
	struct buf out = BUF_INIT;
	format_one(&log, NULL, false, &out);
	assert_non_null(strstr(out.data,
		"\"path\":\"/a\\\"b\\\\c\\u0001d\xc3\xa9" "e\\u00fff\\u0080\","));
	out.len = 0;
	format_one(&log, NULL, true, &out);
	assert_non_null(strstr(out.data,
		"\"GET /a\\x22b\\x5Cc\\x01d\\xC3\\xA9e\\xFFf\\x80 HTTP/1.1\" 404 "));
	buf_free(&out);
}

static void test_long_target_is_cut(void **state)
{
	(void)state;
	char *target = malloc(REQLOG_TARGET_MAX * 2);
	assert_non_null(target);
	memset(target, 'a', REQLOG_TARGET_MAX * 2);
	struct h1_request req;
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.method_len = 3;
	req.target = target;
	req.target_len = REQLOG_TARGET_MAX * 2;
	struct conn_reqlog log;
	memset(&log, 0, sizeof log);
	log.t_start = log.t_end = T0;
	log.status = 200;
	log.req = &req;
	struct buf out = BUF_INIT;
	format_one(&log, NULL, false, &out);
	const char *p = strstr(out.data, "\"path\":\"");
	assert_non_null(p);
	p += 8;
	assert_int_equal(strchr(p, '"') - p, REQLOG_TARGET_MAX);
	buf_free(&out);
	free(target);
}

/* ---- the ring ---- */

struct seen {
	uint64_t next;             /* request id expected next */
	size_t n;
};

static void check_order(void *ctx, const struct reqlog_rec *r)
{
	struct seen *s = ctx;
	assert_int_equal(r->request_id, s->next);
	/* The target's length encodes the id: the record came out whole. */
	size_t len;
	const char *t = reqlog_field(r, REQLOG_TARGET, &len);
	assert_non_null(t);
	assert_int_equal(len, r->request_id % 700);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(t[i], 'a' + (int)(r->request_id % 26));
	s->next++;
	s->n++;
}

static void push_id(struct reqlog_ring *ring, uint64_t id, char *tbuf)
{
	struct h1_request req;
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.method_len = 3;
	memset(tbuf, 'a' + (int)(id % 26), 700);
	req.target = tbuf;
	req.target_len = id % 700;
	struct conn_reqlog log;
	memset(&log, 0, sizeof log);
	log.status = 200;
	log.req = &req;
	log.request_id = id;
	reqlog_push(ring, &log, NULL, "10.0.0.1", 8);
}

static void test_ring_wraps_and_keeps_order(void **state)
{
	(void)state;
	struct reqlog *rl = reqlog_new(1, true, false, 8192);
	assert_non_null(rl);
	struct reqlog_ring *ring = reqlog_ring(rl, 0);
	char tbuf[700];
	struct seen s = {1, 0};
	uint64_t id = 1;
	/* Few records per drain, many drains: the write position crosses the end of the
	 * buffer many times, at every alignment. */
	for (int round = 0; round < 500; round++) {
		int k = 1 + round % 5;
		for (int i = 0; i < k; i++)
			push_id(ring, id++, tbuf);
		reqlog_drain(rl, check_order, &s);
	}
	assert_int_equal(s.n, id - 1);
	assert_int_equal(reqlog_dropped(rl), 0);
	reqlog_free(rl);
}

static void test_full_ring_drops_and_counts(void **state)
{
	(void)state;
	struct reqlog *rl = reqlog_new(1, true, false, 4096);
	assert_non_null(rl);
	struct reqlog_ring *ring = reqlog_ring(rl, 0);
	char tbuf[700];
	/* Each record: the header, "10.0.0.1", "GET", 300 target bytes: about 440 bytes;
	 * 4096 bytes hold 9 of them. */
	for (uint64_t id = 1; id <= 20; id++) {
		struct h1_request req;
		memset(&req, 0, sizeof req);
		req.method = "GET";
		req.method_len = 3;
		memset(tbuf, 'x', 300);
		req.target = tbuf;
		req.target_len = 300;
		struct conn_reqlog log;
		memset(&log, 0, sizeof log);
		log.req = &req;
		log.request_id = id;
		reqlog_push(ring, &log, NULL, "10.0.0.1", 8);
	}
	size_t rec = (sizeof(struct reqlog_rec) + 9 + 4 + 301 + 7) & ~(size_t)7;
	size_t fit = 4096 / rec;
	struct buf out = BUF_INIT;
	size_t n = reqlog_drain(rl, collect_json, &out);
	buf_free(&out);
	assert_int_equal(n, fit);
	assert_int_equal(reqlog_dropped(rl), 20 - fit);
	reqlog_free(rl);
}

static void test_disabled_log_queues_nothing_but_makes_ids(void **state)
{
	(void)state;
	struct reqlog *rl = reqlog_new(1, false, false, 1 << 16);
	assert_non_null(rl);
	assert_false(reqlog_enabled(rl));
	struct reqlog_ring *ring = reqlog_ring(rl, 0);
	struct h1_request req;
	memset(&req, 0, sizeof req);
	struct conn_reqlog log;
	memset(&log, 0, sizeof log);
	reqlog_begin(ring, &log, &req);
	assert_int_not_equal(log.request_id, 0);
	reqlog_push(ring, &log, NULL, "x", 1);
	struct buf out = BUF_INIT;
	assert_int_equal(reqlog_drain(rl, collect_json, &out), 0);
	assert_int_equal(reqlog_dropped(rl), 0);
	reqlog_free(rl);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_request_ids_are_distinct_across_workers(void **state)
{
	(void)state;
	enum { N = 50000 };
	struct reqlog *rl = reqlog_new(2, false, false, 0);
	assert_non_null(rl);
	uint64_t *ids = malloc(2 * N * sizeof *ids);
	assert_non_null(ids);
	struct h1_request req;
	memset(&req, 0, sizeof req);
	for (int i = 0; i < 2 * N; i++) {
		struct conn_reqlog log;
		memset(&log, 0, sizeof log);
		reqlog_begin(reqlog_ring(rl, (unsigned)(i & 1)), &log, &req);
		ids[i] = log.request_id;
	}
	qsort(ids, 2 * N, sizeof *ids, cmp_u64);
	for (int i = 1; i < 2 * N; i++)
		assert_true(ids[i] != ids[i - 1]);
	free(ids);
	reqlog_free(rl);
}

static void test_request_id_field_and_client_id_detection(void **state)
{
	(void)state;
	char field[32];
	assert_int_equal(reqlog_id_field(0x0123456789abcdefull, field), 32);
	assert_memory_equal(field, "X-Request-Id: 0123456789abcdef\r\n", 32);

	struct reqlog *rl = reqlog_new(1, true, true, 1 << 16);
	assert_non_null(rl);
	struct h1_header hs[3] = {
		{"User-Agent", 10, "ua/1", 4},
		{"x-REQUEST-id", 12, "client-id", 9},
		{"Referer", 7, "http://r/", 9},
	};
	struct h1_request req;
	memset(&req, 0, sizeof req);
	req.headers = hs;
	req.nheaders = 3;
	struct conn_reqlog log;
	memset(&log, 0, sizeof log);
	reqlog_begin(reqlog_ring(rl, 0), &log, &req);
	assert_non_null(log.client_rid);
	assert_int_equal(log.client_rid_len, 9);
	assert_memory_equal(log.client_rid, "client-id", 9);
	assert_memory_equal(log.user_agent, "ua/1", 4);
	assert_memory_equal(log.referer, "http://r/", 9);
	reqlog_free(rl);
}

int main(void)
{
	/* Combined lines are in local time: make it UTC for exact expectations. */
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_line_of_a_proxied_request_has_every_field),
		cmocka_unit_test(test_json_line_of_an_unrouted_error_has_nulls),
		cmocka_unit_test(test_request_without_response_is_logged_as_499),
		cmocka_unit_test(test_client_request_id_is_logged_instead_of_ours),
		cmocka_unit_test(test_combined_line_is_apache_combined_then_extras),
		cmocka_unit_test(test_combined_line_without_request_line),
		cmocka_unit_test(test_hostile_bytes_are_escaped),
		cmocka_unit_test(test_long_target_is_cut),
		cmocka_unit_test(test_ring_wraps_and_keeps_order),
		cmocka_unit_test(test_full_ring_drops_and_counts),
		cmocka_unit_test(test_disabled_log_queues_nothing_but_makes_ids),
		cmocka_unit_test(test_request_ids_are_distinct_across_workers),
		cmocka_unit_test(test_request_id_field_and_client_id_detection),
	};
	return UNIT_RUN(tests);
}
