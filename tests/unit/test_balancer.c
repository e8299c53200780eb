/* SPDX-License-Identifier: MIT */
/* test_balancer: BackendTrafficPolicy from YAML to the image (defaults, precedence of a
 * route's policy over its Gateway's), the endpoint sets built from an image (clusters,
 * carried health records, consistent-hash tables) and the Maglev table itself: equal
 * shares and small disruption when an endpoint goes. */
#include "unit.h"

#include "compile_fixture.h"
#include "compile/image_policy.h"
#include "runtime/epset.h"
#include "runtime/generation.h"

#define GW_AND_BACKENDS \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: Gateway\n" \
	"metadata: {name: gw}\n" \
	"spec:\n" \
	"  gatewayClassName: gatewayd\n" \
	"  listeners: [{name: http, port: 80, protocol: HTTP}]\n" \
	"---\n" \
	"apiVersion: gateway.envoyproxy.io/v1alpha1\n" \
	"kind: Backend\n" \
	"metadata: {name: b}\n" \
	"spec:\n" \
	"  endpoints:\n" \
	"  - ip: {address: 10.0.0.1, port: 80}\n" \
	"  - ip: {address: 10.0.0.2, port: 80}\n" \
	"  - ip: {address: \"::1\", port: 8080}\n" \
	"---\n" \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: HTTPRoute\n" \
	"metadata: {name: own}\n" \
	"spec:\n" \
	"  parentRefs: [{name: gw}]\n" \
	"  rules: [{matches: [{path: {value: /own}}], backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: b}]}]\n" \
	"---\n" \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: HTTPRoute\n" \
	"metadata: {name: inherit}\n" \
	"spec:\n" \
	"  parentRefs: [{name: gw}]\n" \
	"  rules: [{matches: [{path: {value: /inherit}}], backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: b}]}]\n" \
	"---\n"

#define POLICIES \
	"apiVersion: gateway.envoyproxy.io/v1alpha1\n" \
	"kind: BackendTrafficPolicy\n" \
	"metadata: {name: on-gw}\n" \
	"spec:\n" \
	"  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]\n" \
	"  healthCheck: {active: {type: HTTP, http: {path: /healthz, expectedStatuses: [200, 204]}}, passive: {}}\n" \
	"  circuitBreaker: {maxParallelRequests: 7}\n" \
	"---\n" \
	"apiVersion: gateway.envoyproxy.io/v1alpha1\n" \
	"kind: BackendTrafficPolicy\n" \
	"metadata: {name: on-route}\n" \
	"spec:\n" \
	"  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: own}]\n" \
	"  loadBalancer: {type: ConsistentHash, consistentHash: {type: Header, header: {name: X-User}, tableSize: 1009}}\n" \
	"  timeout: {tcp: {connectTimeout: 250ms}, http: {requestTimeout: 2s}}\n"

static const struct img_rule *rule_of(const struct fx *f, const char *route)
{
	const struct img_rule *r = IMG_ARRAY(f->img, f->img->rules, struct img_rule);
	for (uint32_t i = 0; i < f->img->rules.count; i++)
		if (strcmp(img_str_ptr(f->img, r[i].route), route) == 0)
			return &r[i];
	fail_msg("no rule of %s", route);
	return NULL;
}

static const struct img_policy *policy_of(const struct fx *f, const struct img_rule *r)
{
	assert_int_not_equal(r->policy, IMG_NONE);
	assert_true(r->policy < f->img->policies.count);
	return &IMG_ARRAY(f->img, f->img->policies, struct img_policy)[r->policy];
}

static void test_route_policy_wins_over_gateway_policy(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_AND_BACKENDS POLICIES);
	assert_int_equal(f.img->policies.count, 2);
	const struct img_policy *own = policy_of(&f, rule_of(&f, "default/own"));
	const struct img_policy *gw = policy_of(&f, rule_of(&f, "default/inherit"));
	assert_string_equal(img_str_ptr(f.img, own->name), "default/on-route");
	assert_string_equal(img_str_ptr(f.img, gw->name), "default/on-gw");
	fx_free(&f);
}

static void test_policy_fields_and_envoy_gateway_defaults(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_AND_BACKENDS POLICIES);
	const struct img_policy *own = policy_of(&f, rule_of(&f, "default/own"));
	assert_int_equal(own->lb, IMG_LB_CONSISTENT_HASH);
	assert_int_equal(own->hash, IMG_HASH_HEADER);
	assert_string_equal(img_str_ptr(f.img, own->hash_name), "x-user");
	assert_int_equal(own->table_size, 1009);
	assert_int_equal(own->connect_timeout_ms, 250);
	assert_int_equal(own->request_timeout_ms, 2000);
	assert_int_equal(own->flags, 0);
	assert_int_equal(own->cb_requests, IMG_UNLIMITED);

	const struct img_policy *gw = policy_of(&f, rule_of(&f, "default/inherit"));
	assert_int_equal(gw->lb, IMG_LB_ROUND_ROBIN);
	assert_int_equal(gw->flags, IMG_POL_ACTIVE_HC | IMG_POL_PASSIVE);
	assert_string_equal(img_str_ptr(f.img, gw->hc_path), "/healthz");
	assert_string_equal(img_str_ptr(f.img, gw->hc_method), "GET");
	assert_int_equal(gw->hc_interval_ms, 3000);
	assert_int_equal(gw->hc_timeout_ms, 1000);
	assert_int_equal(gw->hc_unhealthy, 3);
	assert_int_equal(gw->hc_healthy, 1);
	assert_true(img_policy_status_ok(gw, 200));
	assert_true(img_policy_status_ok(gw, 204));
	assert_false(img_policy_status_ok(gw, 201));
	assert_false(img_policy_status_ok(gw, 99));
	assert_int_equal(gw->od_5xx, 5);
	assert_int_equal(gw->od_gateway, 0);
	assert_int_equal(gw->od_local, 5);
	assert_int_equal(gw->od_interval_ms, 3000);
	assert_int_equal(gw->od_base_ejection_ms, 30000);
	assert_int_equal(gw->od_max_percent, 10);
	assert_int_equal(gw->cb_requests, 7);
	assert_int_equal(gw->cb_connections, 1024);
	assert_int_equal(gw->cb_pending, 1024);
	assert_int_equal(gw->cb_retries, 1024);
	fx_free(&f);
}

/* fx_load, but the decode must fail. */
static void fx_load_bad(struct fx *f, const char *yaml)
{
	memset(f, 0, sizeof *f);
	arena_init(&f->a);
	diag_list_init(&f->dl);
	assert_true(ydoc_load_buffer(&f->a, "class.yaml", fx_class_yaml, strlen(fx_class_yaml),
				     &f->docs, &f->dl));
	assert_true(ydoc_load_buffer(&f->a, "routes.yaml", yaml, strlen(yaml), &f->docs, &f->dl));
	assert_false(gwapi_decode(&f->a, &f->docs, &f->m, &f->dl));
}

static void test_cel_rules_and_unsupported_fields_are_errors(void **state)
{
	(void)state;
	struct fx f;
	fx_load_bad(&f, GW_AND_BACKENDS
		"apiVersion: gateway.envoyproxy.io/v1alpha1\n"
		"kind: BackendTrafficPolicy\n"
		"metadata: {name: bad}\n"
		"spec:\n"
		"  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: own, sectionName: x}]\n"
		"  loadBalancer: {type: ConsistentHash}\n"
		"  healthCheck: {active: {type: TCP, tcp: {}}}\n"
		"  faultInjection: {abort: {httpStatus: 500}}\n");
	assert_true(fx_has_diag(&f, "this policy does not yet support the sectionName field"));
	assert_true(fx_has_diag(&f, "If LoadBalancer type is consistentHash, consistentHash field needs to be set."));
	assert_true(fx_has_diag(&f, "TCP health checks are not supported by gatewayd"));
	assert_true(fx_has_diag(&f, "field \"faultInjection\" is not supported by gatewayd"));
	fx_free(&f);
}

/* A generation around the fixture's image that nothing frees (refs never reach 0). */
static void fake_generation(struct generation *g, const struct fx *f)
{
	memset(g, 0, sizeof *g);
	atomic_init(&g->refs, 1000);
	g->img = f->img;
	g->rules = IMG_ARRAY(f->img, f->img->rules, struct img_rule);
	g->backends = IMG_ARRAY(f->img, f->img->backends, struct img_backend);
	g->endpoints = IMG_ARRAY(f->img, f->img->endpoints, struct img_endpoint);
}

static void test_epset_clusters_per_backend_and_policy(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_AND_BACKENDS POLICIES);
	struct generation g;
	fake_generation(&g, &f);
	struct epset *s = epset_build(&g, NULL, NULL, 1);
	assert_non_null(s);
	/* b alone, b under on-gw, b under on-route */
	assert_int_equal(s->nclusters, 3);
	assert_int_equal(s->neps, 9);
	const struct img_rule *own = rule_of(&f, "default/own");
	int ci = epset_find(s, 0, own->policy);
	assert_true(ci >= 0);
	struct epcluster *cl = &s->clusters[ci];
	assert_int_equal(cl->count, 3);
	assert_string_equal(s->eps[cl->first]->name, "10.0.0.1:80");
	assert_string_equal(s->eps[cl->first + 2]->name, "[::1]:8080");
	assert_non_null(cl->table);
	assert_int_equal(cl->table_size, 1009);
	/* No cluster for an unknown policy: the backend's own is the fallback. */
	int plain = epset_find(s, 0, IMG_NONE);
	assert_true(plain >= 0);
	assert_int_equal(epset_find(s, 0, 77), plain);
	assert_int_equal(epset_find(s, 5, IMG_NONE), -1);

	/* A rebuild keeps each address's record (its health) and the cluster counters. */
	atomic_store(&cl->st->active, 4);
	atomic_fetch_or(&s->eps[cl->first + 1]->flags, EP_UNHEALTHY);
	struct epset *s2 = epset_build(&g, s, NULL, 2);
	assert_non_null(s2);
	int ci2 = epset_find(s2, 0, own->policy);
	struct epcluster *cl2 = &s2->clusters[ci2];
	assert_ptr_equal(cl2->st, cl->st);
	assert_ptr_equal(s2->eps[cl2->first + 1], s->eps[cl->first + 1]);
	assert_int_equal(atomic_load(&s2->eps[cl2->first + 1]->flags), EP_UNHEALTHY);
	epset_unref(s);
	assert_int_equal(atomic_load(&cl2->st->active), 4);
	epset_unref(s2);
	assert_int_equal(atomic_load(&g.refs), 1000);
	fx_free(&f);
}

static void test_ejection_ends_after_its_time(void **state)
{
	(void)state;
	struct cl_state st;
	memset(&st, 0, sizeof st);
	struct epcluster cl;
	memset(&cl, 0, sizeof cl);
	cl.st = &st;
	struct ep_state e;
	memset(&e, 0, sizeof e);
	atomic_store(&e.flags, EP_EJECTED);
	atomic_store(&e.eject_until_ms, 5000);
	atomic_store(&st.ejected, 1);
	assert_false(epset_uneject_due(&cl, &e, 4999));
	assert_int_equal(atomic_load(&st.ejected), 1);
	assert_true(epset_uneject_due(&cl, &e, 5000));
	assert_int_equal(atomic_load(&st.ejected), 0);
	assert_int_equal(atomic_load(&e.flags), 0);
	/* An unhealthy endpoint stays unusable whatever its ejection says. */
	atomic_store(&e.flags, EP_EJECTED | EP_UNHEALTHY);
	atomic_store(&st.ejected, 1);
	assert_false(epset_uneject_due(&cl, &e, 6000));
	assert_int_equal(atomic_load(&e.flags), EP_UNHEALTHY);
}

static void test_maglev_shares_differ_by_at_most_one(void **state)
{
	(void)state;
	static const char *const names[] = {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"};
	uint32_t table[1009];
	assert_int_equal(epset_maglev(table, 1009, names, 3), 0);
	uint32_t n[3] = {0, 0, 0};
	for (uint32_t i = 0; i < 1009; i++) {
		assert_true(table[i] < 3);
		n[table[i]]++;
	}
	for (int k = 0; k < 3; k++)
		assert_true(n[k] == 336 || n[k] == 337);
	assert_int_equal(n[0] + n[1] + n[2], 1009);
}

static void test_maglev_removal_moves_few_other_keys(void **state)
{
	(void)state;
	static const char *const five[] = {"a:1", "b:1", "c:1", "d:1", "e:1"};
	static const char *const four[] = {"a:1", "b:1", "c:1", "d:1"};
	static uint32_t t5[65537], t4[65537];
	assert_int_equal(epset_maglev(t5, 65537, five, 5), 0);
	assert_int_equal(epset_maglev(t4, 65537, four, 4), 0);
	uint32_t kept = 0, others = 0;
	for (uint32_t i = 0; i < 65537; i++) {
		if (t5[i] == 4)
			continue;
		others++;
		kept += t5[i] == t4[i];
	}
	/* Maglev's promise: close to minimal disruption (the paper measures a few %). */
	assert_true(kept * 100u >= others * 90u);
}

static void test_hash_is_stable_and_spreads(void **state)
{
	(void)state;
	assert_true(epset_hash("user1", 5) == epset_hash("user1", 5));
	assert_true(epset_hash("user1", 5) != epset_hash("user2", 5));
	uint32_t buckets[4] = {0, 0, 0, 0};
	char key[16];
	for (int i = 0; i < 4000; i++) {
		int n = snprintf(key, sizeof key, "k%d", i);
		buckets[epset_hash(key, (size_t)n) % 4]++;
	}
	for (int k = 0; k < 4; k++)
		assert_true(buckets[k] > 850 && buckets[k] < 1150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_policy_wins_over_gateway_policy),
		cmocka_unit_test(test_policy_fields_and_envoy_gateway_defaults),
		cmocka_unit_test(test_cel_rules_and_unsupported_fields_are_errors),
		cmocka_unit_test(test_epset_clusters_per_backend_and_policy),
		cmocka_unit_test(test_ejection_ends_after_its_time),
		cmocka_unit_test(test_maglev_shares_differ_by_at_most_one),
		cmocka_unit_test(test_maglev_removal_moves_few_other_keys),
		cmocka_unit_test(test_hash_is_stable_and_spreads),
	};
	return UNIT_RUN(tests);
}
