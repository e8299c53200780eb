/* SPDX-License-Identifier: MIT */
/* test_reqstats: requests counted by a worker's block (runtime/reqstats) come back by
 * name with exact counts, bytes and histogram buckets; a retired block is reported
 * final exactly once; /metrics (ops/metrics) keeps totals across retired blocks and
 * prints consistent histograms and the backends' endpoints. A real generation is
 * built: YAML -> image -> LMDB -> generation_new. */
#include "unit.h"

#include "compile_fixture.h"

#include <stdlib.h>
#include <unistd.h>

#include "ops/metrics.h"
#include "runtime/conn.h"
#include "runtime/generation.h"
#include "runtime/reqstats.h"
#include "store/store.h"

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
	"  - matches: [{path: {type: PathPrefix, value: /a}}]\n" \
	"    backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: a}]\n" \
	"  - matches: [{path: {type: PathPrefix, value: /b}}]\n" \
	"    backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: b}]\n" \
	"---\n" \
	"apiVersion: gateway.envoyproxy.io/v1alpha1\n" \
	"kind: Backend\n" \
	"metadata: {name: a}\n" \
	"spec:\n" \
	"  endpoints: [{ip: {address: 127.0.0.1, port: 9080}}]\n" \
	"---\n" \
	"apiVersion: gateway.envoyproxy.io/v1alpha1\n" \
	"kind: Backend\n" \
	"metadata: {name: b}\n" \
	"spec:\n" \
	"  endpoints: [{ip: {address: 127.0.0.1, port: 9081}}, {ip: {address: 127.0.0.1, port: 9082}}]\n"

struct world {
	char dir[64];
	struct fx f;
	struct store *st;
	struct generation *g;
	uint32_t rule_a, rule_b;   /* indices in g->rules */
	uint32_t be_a, be_b;
};

static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof *w);
	assert_non_null(w);
	snprintf(w->dir, sizeof w->dir, "/tmp/gw-test-reqstats-XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	fx_build(&w->f, YAML);
	char err[256] = "";
	assert_int_equal(store_open(&w->st, w->dir, 0, err, sizeof err), 0);
	uint64_t gen = 0;
	char digest[65];
	memset(digest, 'a', 64);
	digest[64] = '\0';
	assert_int_equal(store_commit(w->st, w->f.image.data, w->f.image.len, digest, 5, &gen, err,
				      sizeof err), 0);
	struct store_snapshot snap;
	assert_int_equal(store_snapshot_open(w->st, gen, &snap), 0);
	w->g = generation_new(&snap, err, sizeof err);
	assert_non_null(w->g);
	/* Which rule goes where: by the backend its only backendRef names. */
	const struct img_backend_ref *refs = IMG_ARRAY(w->g->img, w->g->img->backend_refs,
						       struct img_backend_ref);
	w->rule_a = w->rule_b = w->be_a = w->be_b = UINT32_MAX;
	for (uint32_t b = 0; b < w->g->img->backends.count; b++) {
		const char *name = img_str_ptr(w->g->img, w->g->backends[b].name);
		if (strcmp(name, "Backend/default/a") == 0)
			w->be_a = b;
		if (strcmp(name, "Backend/default/b") == 0)
			w->be_b = b;
	}
	for (uint32_t r = 0; r < w->g->img->rules.count; r++) {
		const struct img_rule *rule = &w->g->rules[r];
		uint32_t first = (rule->backend_refs.off - w->g->img->backend_refs.off) /
				 (uint32_t)sizeof(struct img_backend_ref);
		if (refs[first].backend == w->be_a)
			w->rule_a = r;
		if (refs[first].backend == w->be_b)
			w->rule_b = r;
	}
	assert_true(w->rule_a != UINT32_MAX && w->rule_b != UINT32_MAX);
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;
	generation_unref(w->g);
	store_close(w->st);
	fx_free(&w->f);
	char p[128];
	snprintf(p, sizeof p, "%s/data.mdb", w->dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/lock.mdb", w->dir);
	unlink(p);
	rmdir(w->dir);
	free(w);
	return 0;
}

/* One finished request: rule/backend UINT32_MAX = none; listener 0 unless !routed. */
static void count(struct reqstats_block *b, const struct world *w, bool listener, uint32_t rule,
		  uint32_t backend, int status, double seconds, uint64_t in, uint64_t out)
{
	struct conn_reqlog log;
	memset(&log, 0, sizeof log);
	log.t_start = 1000.0;
	log.t_end = 1000.0 + seconds;
	log.status = status;
	log.bytes_in = in;
	log.bytes_out = out;
	if (w != NULL && listener)
		log.listener = &w->g->listeners[0];
	if (w != NULL && rule != UINT32_MAX)
		log.rule = &w->g->rules[rule];
	if (w != NULL && backend != UINT32_MAX)
		log.backend = &w->g->backends[backend];
	reqstats_count(b, &log);
}

#define MAX_SEEN 16

struct seen {
	struct {
		char key[256];
		uint64_t req[REQSTATS_CLASSES], in, out;
		bool final;
	} s[MAX_SEEN];
	size_t ns;
	struct {
		char route[64];
		uint64_t buckets[REQSTATS_BUCKETS + 1], sum_us;
		bool final;
	} h[MAX_SEEN];
	size_t nh;
	size_t nbackends;
	uint32_t endpoints_b;
};

static void on_series(void *ctx, const struct reqstats_labels *l,
		      const uint64_t requests[REQSTATS_CLASSES], uint64_t in, uint64_t out, bool final)
{
	struct seen *s = ctx;
	assert_true(s->ns < MAX_SEEN);
	snprintf(s->s[s->ns].key, sizeof s->s[s->ns].key, "%s|%s|%s|%s", l->gateway, l->listener,
		 l->route, l->backend);
	memcpy(s->s[s->ns].req, requests, sizeof s->s[s->ns].req);
	s->s[s->ns].in = in;
	s->s[s->ns].out = out;
	s->s[s->ns].final = final;
	s->ns++;
}

static void on_hist(void *ctx, const char *route, const uint64_t buckets[REQSTATS_BUCKETS + 1],
		    uint64_t sum_us, bool final)
{
	struct seen *s = ctx;
	assert_true(s->nh < MAX_SEEN);
	snprintf(s->h[s->nh].route, sizeof s->h[s->nh].route, "%s", route);
	memcpy(s->h[s->nh].buckets, buckets, sizeof s->h[s->nh].buckets);
	s->h[s->nh].sum_us = sum_us;
	s->h[s->nh].final = final;
	s->nh++;
}

static void on_backend(void *ctx, const char *backend, uint32_t endpoints)
{
	struct seen *s = ctx;
	s->nbackends++;
	if (strcmp(backend, "Backend/default/b") == 0)
		s->endpoints_b = endpoints;
}

static void collect(struct reqstats *rs, struct seen *s)
{
	memset(s, 0, sizeof *s);
	struct reqstats_visitor v = {s, on_series, on_hist, on_backend};
	reqstats_collect(rs, &v);
}

static int find_series(const struct seen *s, const char *key)
{
	for (size_t i = 0; i < s->ns; i++)
		if (strcmp(s->s[i].key, key) == 0)
			return (int)i;
	fail_msg("series %s not reported", key);
	return -1;
}

static int find_hist(const struct seen *s, const char *route)
{
	for (size_t i = 0; i < s->nh; i++)
		if (strcmp(s->h[i].route, route) == 0)
			return (int)i;
	fail_msg("histogram %s not reported", route);
	return -1;
}

static void test_counts_come_back_by_name(void **state)
{
	struct world *w = *state;
	struct reqstats *rs = reqstats_new(1);
	assert_non_null(rs);
	struct reqstats_block *b = reqstats_block_new(rs, w->g);
	assert_non_null(b);
	count(b, w, true, w->rule_a, w->be_a, 200, 0.0001, 10, 100);
	count(b, w, true, w->rule_a, w->be_a, 204, 0.003, 10, 100);
	count(b, w, true, w->rule_a, w->be_a, 302, 2.0, 10, 100);
	count(b, w, true, w->rule_b, w->be_b, 0, 0.001, 5, 0);     /* no response: 499 */
	count(b, w, true, w->rule_b, w->be_b, 502, 0.001, 5, 50);
	count(b, w, true, w->rule_b, w->be_b, 604, 0.001, 5, 50);  /* odd: counts as 5xx */
	count(b, w, true, UINT32_MAX, UINT32_MAX, 404, 0.0, 7, 70);
	count(reqstats_block_nogen(rs, 0), NULL, false, UINT32_MAX, UINT32_MAX, 400, 0.0, 3, 30);
	reqstats_set_current(rs, w->g);

	struct seen s;
	collect(rs, &s);
	assert_int_equal(s.ns, 4);
	int i = find_series(&s, "default/gw|http|default/web|Backend/default/a");
	uint64_t want_a[REQSTATS_CLASSES] = {0, 2, 1, 0, 0};
	assert_memory_equal(s.s[i].req, want_a, sizeof want_a);
	assert_int_equal(s.s[i].in, 30);
	assert_int_equal(s.s[i].out, 300);
	assert_false(s.s[i].final);
	i = find_series(&s, "default/gw|http|default/web|Backend/default/b");
	uint64_t want_b[REQSTATS_CLASSES] = {0, 0, 0, 1, 2};
	assert_memory_equal(s.s[i].req, want_b, sizeof want_b);
	i = find_series(&s, "default/gw|http||");
	assert_int_equal(s.s[i].req[3], 1);
	i = find_series(&s, "|||");
	assert_int_equal(s.s[i].req[3], 1);

	/* One histogram per rule, both named after the route; then "" for the rest. */
	assert_int_equal(s.nh, 4);
	uint64_t total = 0;
	bool seen_a = false;
	for (size_t k = 0; k < s.nh; k++) {
		for (int j = 0; j <= REQSTATS_BUCKETS; j++)
			total += s.h[k].buckets[j];
		if (s.h[k].sum_us == 100 + 3000 + 2000000) {
			seen_a = true;
			assert_string_equal(s.h[k].route, "default/web");
			assert_int_equal(s.h[k].buckets[0], 1);   /* <= 0.5 ms */
			assert_int_equal(s.h[k].buckets[3], 1);   /* <= 5 ms */
			assert_int_equal(s.h[k].buckets[11], 1);  /* <= 2.5 s */
		}
	}
	assert_true(seen_a);
	assert_int_equal(total, 8);
	assert_int_equal(s.h[find_hist(&s, "")].buckets[0], 1);
	assert_int_equal(s.nbackends, 2);
	assert_int_equal(s.endpoints_b, 2);
	reqstats_free(rs);
}

static void test_retired_block_is_final_exactly_once(void **state)
{
	struct world *w = *state;
	struct reqstats *rs = reqstats_new(1);
	assert_non_null(rs);
	struct reqstats_block *b = reqstats_block_new(rs, w->g);
	count(b, w, true, w->rule_a, w->be_a, 200, 0.001, 1, 1);
	reqstats_block_retire(b);
	struct seen s;
	collect(rs, &s);
	assert_int_equal(s.ns, 1);
	assert_true(s.s[0].final);
	assert_int_equal(s.nh, 1);
	assert_true(s.h[0].final);
	collect(rs, &s);
	assert_int_equal(s.ns, 0);
	assert_int_equal(s.nh, 0);
	reqstats_free(rs);
}

static void test_block_that_counted_nothing_reports_nothing(void **state)
{
	struct world *w = *state;
	struct reqstats *rs = reqstats_new(2);
	assert_non_null(rs);
	assert_non_null(reqstats_block_new(rs, w->g));
	struct seen s;
	collect(rs, &s);
	assert_int_equal(s.ns, 0);
	assert_int_equal(s.nh, 0);
	assert_int_equal(s.nbackends, 0);  /* no current generation */
	reqstats_free(rs);   /* frees the live block too */
}

/* The value of the sample that starts with prefix (labels included), or -1. */
static double sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	}
	return -1;
}

static void test_metrics_keep_totals_across_generations(void **state)
{
	struct world *w = *state;
	struct reqstats *rs = reqstats_new(1);
	struct metrics *m = metrics_new();
	assert_non_null(rs);
	assert_non_null(m);
	struct reqstats_block *old = reqstats_block_new(rs, w->g);
	for (int i = 0; i < 3; i++)
		count(old, w, true, w->rule_a, w->be_a, 200, 0.002, 10, 20);
	reqstats_set_current(rs, w->g);
	struct metrics_facts f = {.generation = 7, .reloads_ok = 2, .reloads_failed = 1,
				  .connections_active = 4};
	struct buf out = BUF_INIT;
	metrics_write(m, &out, rs, &f);
	const char *a2xx = "gatewayd_http_requests_total{gateway=\"default/gw\",listener=\"http\","
			   "route=\"default/web\",backend=\"Backend/default/a\",code_class=\"2xx\"}";
	assert_true(sample(out.data, a2xx) == 3);

	/* A reload: the old block retires, a new one counts on. */
	reqstats_block_retire(old);
	struct reqstats_block *cur = reqstats_block_new(rs, w->g);
	count(cur, w, true, w->rule_a, w->be_a, 200, 0.2, 10, 20);
	count(cur, w, true, w->rule_a, w->be_a, 200, 0.2, 10, 20);
	for (int scrape = 0; scrape < 2; scrape++) {
		out.len = 0;
		metrics_write(m, &out, rs, &f);
		assert_true(sample(out.data, a2xx) == 5);
	}
	assert_true(sample(out.data, "gatewayd_http_request_bytes_total{gateway=\"default/gw\","
				     "listener=\"http\",route=\"default/web\","
				     "backend=\"Backend/default/a\"}") == 50);
	assert_true(sample(out.data, "gatewayd_config_generation") == 7);
	assert_true(sample(out.data, "gatewayd_config_reloads_total{result=\"success\"}") == 2);
	assert_true(sample(out.data, "gatewayd_config_reloads_total{result=\"failure\"}") == 1);
	assert_true(sample(out.data, "gatewayd_connections_active") == 4);
	assert_true(sample(out.data, "gatewayd_backend_endpoints{backend=\"Backend/default/b\","
				     "state=\"healthy\"}") == 2);
	assert_true(sample(out.data, "gatewayd_backend_endpoints{backend=\"Backend/default/b\","
				     "state=\"ejected\"}") == 0);
	/* Histogram: cumulative buckets, +Inf = _count = requests; _sum in seconds. */
	const char *h = "gatewayd_http_request_duration_seconds";
	char name[256];
	snprintf(name, sizeof name, "%s_bucket{route=\"default/web\",le=\"0.0025\"}", h);
	assert_true(sample(out.data, name) == 3);
	snprintf(name, sizeof name, "%s_bucket{route=\"default/web\",le=\"0.25\"}", h);
	assert_true(sample(out.data, name) == 5);
	snprintf(name, sizeof name, "%s_bucket{route=\"default/web\",le=\"+Inf\"}", h);
	assert_true(sample(out.data, name) == 5);
	snprintf(name, sizeof name, "%s_count{route=\"default/web\"}", h);
	assert_true(sample(out.data, name) == 5);
	snprintf(name, sizeof name, "%s_sum{route=\"default/web\"}", h);
	double sum = sample(out.data, name);
	assert_true(sum > 0.4059 && sum < 0.4061);
	assert_non_null(strstr(out.data, "# TYPE gatewayd_http_request_duration_seconds histogram\n"));
	buf_free(&out);
	metrics_free(m);
	reqstats_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts_come_back_by_name, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_retired_block_is_final_exactly_once, world_setup,
						world_teardown),
		cmocka_unit_test_setup_teardown(test_block_that_counted_nothing_reports_nothing,
						world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_metrics_keep_totals_across_generations,
						world_setup, world_teardown),
	};
	return UNIT_RUN(tests);
}
