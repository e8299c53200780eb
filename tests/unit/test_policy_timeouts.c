/* SPDX-License-Identifier: MIT */
/* test_policy_timeouts: BackendTrafficPolicy timeout.http (connectionIdleTimeout,
 * maxConnectionDuration) and consistentHash cookie.ttl/attributes from YAML to the
 * image, and the Set-Cookie field runtime/hash_cookie.c puts into a response head. */
#include "unit.h"

#include "compile_fixture.h"
#include "compile/image_policy.h"
#include "runtime/balancer.h"
#include "runtime/conn.h"
#include "runtime/epset.h"
#include "runtime/generation.h"
#include "runtime/hash_cookie.h"

#define BASE \
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
	"---\n"

#define ROUTE(name) \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: HTTPRoute\n" \
	"metadata: {name: " name "}\n" \
	"spec:\n" \
	"  parentRefs: [{name: gw}]\n" \
	"  rules: [{matches: [{path: {value: /" name "}}], backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: b}]}]\n" \
	"---\n"

#define POLICY(name, spec) \
	"apiVersion: gateway.envoyproxy.io/v1alpha1\n" \
	"kind: BackendTrafficPolicy\n" \
	"metadata: {name: p-" name "}\n" \
	"spec:\n" \
	"  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: " name "}]\n" \
	spec "---\n"

#define DOCS BASE ROUTE("t") ROUTE("off") ROUTE("c") ROUTE("s") \
	POLICY("t", "  timeout: {http: {connectionIdleTimeout: 1m30s, maxConnectionDuration: 10m}}\n") \
	POLICY("off", "  timeout: {http: {connectionIdleTimeout: 0s, maxConnectionDuration: 0s}}\n") \
	POLICY("c", "  loadBalancer: {type: ConsistentHash, consistentHash: {type: Cookie, cookie: " \
		    "{name: Sticky, ttl: 1500ms, attributes: {SameSite: Strict, Secure: \"\", Path: /app}}}}\n") \
	POLICY("s", "  loadBalancer: {type: ConsistentHash, consistentHash: {type: Cookie, cookie: " \
		    "{name: s, ttl: 0s}}}\n")

static const struct img_policy *policy_of(const struct fx *f, const char *route)
{
	const struct img_rule *r = IMG_ARRAY(f->img, f->img->rules, struct img_rule);
	for (uint32_t i = 0; i < f->img->rules.count; i++) {
		if (strcmp(img_str_ptr(f->img, r[i].route), route) != 0)
			continue;
		assert_true(r[i].policy < f->img->policies.count);
		return &IMG_ARRAY(f->img, f->img->policies, struct img_policy)[r[i].policy];
	}
	fail_msg("no rule of %s", route);
	return NULL;
}

static void test_http_timeouts_compile_with_0s_as_off(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, DOCS);
	const struct img_policy *t = policy_of(&f, "default/t");
	assert_int_equal(t->idle_timeout_ms, 90000);
	assert_int_equal(t->max_conn_ms, 600000);
	assert_int_equal(t->flags & IMG_POL_COOKIE_GEN, 0);
	assert_int_equal(t->cookie_suffix.len, 0);
	const struct img_policy *off = policy_of(&f, "default/off");
	assert_int_equal(off->idle_timeout_ms, IMG_UNLIMITED);  /* never closed for idleness */
	assert_int_equal(off->max_conn_ms, 0);
	/* Unset: the defaults (UPOOL_IDLE_TIMEOUT, no age limit). */
	const struct img_policy *c = policy_of(&f, "default/c");
	assert_int_equal(c->idle_timeout_ms, 0);
	assert_int_equal(c->max_conn_ms, 0);
	fx_free(&f);
}

static void test_cookie_ttl_compiles_to_envoys_attributes(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, DOCS);
	const struct img_policy *c = policy_of(&f, "default/c");
	assert_int_equal(c->flags & IMG_POL_COOKIE_GEN, IMG_POL_COOKIE_GEN);
	assert_string_equal(img_str_ptr(f.img, c->hash_name), "Sticky");  /* as written */
	/* Whole seconds; attributes in document order, an empty value as a bare name. */
	assert_string_equal(img_str_ptr(f.img, c->cookie_suffix),
			    "; Max-Age=1; SameSite=Strict; Secure; Path=/app; HttpOnly");
	/* ttl 0s: a session cookie, no Max-Age. */
	const struct img_policy *s = policy_of(&f, "default/s");
	assert_int_equal(s->flags & IMG_POL_COOKIE_GEN, IMG_POL_COOKIE_GEN);
	assert_string_equal(img_str_ptr(f.img, s->cookie_suffix), "; HttpOnly");
	fx_free(&f);
}

static void test_generated_cookie_goes_before_the_end_of_the_head(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, DOCS);
	struct generation g;
	memset(&g, 0, sizeof g);
	atomic_init(&g.refs, 1000);
	g.img = f.img;
	g.rules = IMG_ARRAY(f.img, f.img->rules, struct img_rule);
	g.backends = IMG_ARRAY(f.img, f.img->backends, struct img_backend);
	g.endpoints = IMG_ARRAY(f.img, f.img->endpoints, struct img_endpoint);
	struct epset *s = epset_build(&g, NULL, NULL, 1);
	assert_non_null(s);
	const struct img_rule *r = IMG_ARRAY(f.img, f.img->rules, struct img_rule);
	uint32_t pol = IMG_NONE;
	for (uint32_t i = 0; i < f.img->rules.count; i++)
		if (strcmp(img_str_ptr(f.img, r[i].route), "default/c") == 0)
			pol = r[i].policy;
	int ci = epset_find(s, 0, pol);
	assert_true(ci >= 0);

	static struct conn c;
	memset(&c, 0, sizeof c);
	c.id = 42;
	strcpy(c.peer_ip, "192.0.2.7");
	c.lease.set = s;
	c.lease.cluster = (uint32_t)ci;
	assert_int_equal(hash_cookie_extra(&c), 0);  /* nothing generated */
	uint64_t h = hash_cookie_new(&c);
	assert_true(c.lease.flags & BAL_LEASE_SETCOOKIE);
	char hex[17];
	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)c.lease.cookie);
	/* The key is what the value hashes to when a request sends it back. */
	assert_true(h == epset_hash(hex, 16));
	/* One value per connection: a second request of it gets the same. */
	uint64_t first = c.lease.cookie;
	assert_true(hash_cookie_new(&c) == h && c.lease.cookie == first);

	const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	char want[256];
	snprintf(want, sizeof want, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
		 "Set-Cookie: Sticky=\"%s\"; Max-Age=1; SameSite=Strict; Secure; Path=/app; HttpOnly\r\n\r\n",
		 hex);
	char buf[256];
	memcpy(buf, head, sizeof head - 1);
	size_t extra = hash_cookie_extra(&c);
	size_t n = hash_cookie_insert(&c, buf, sizeof head - 1);
	assert_int_equal(n, sizeof head - 1 + extra);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);

	/* Another cluster (no cookie.ttl) adds nothing. */
	c.lease.cluster = (uint32_t)epset_find(s, 0, IMG_NONE);
	assert_int_equal(hash_cookie_extra(&c), 0);
	assert_int_equal(hash_cookie_insert(&c, buf, sizeof head - 1), sizeof head - 1);
	epset_unref(s);
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_timeouts_compile_with_0s_as_off),
		cmocka_unit_test(test_cookie_ttl_compiles_to_envoys_attributes),
		cmocka_unit_test(test_generated_cookie_goes_before_the_end_of_the_head),
	};
	return UNIT_RUN(tests);
}
