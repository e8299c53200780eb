/* SPDX-License-Identifier: MIT */
/* test_filters: HTTPRoute filters from YAML to image records (decode, CEL, compile,
 * img_check) and the pure runtime helpers (ReplacePrefixMatch, CORS origins). */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "compile_fixture.h"
#include "runtime/filter.h"

#define ROUTE_HEAD \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: Gateway\n" \
	"metadata: {name: gw}\n" \
	"spec:\n" \
	"  gatewayClassName: gatewayd\n" \
	"  listeners: [{name: http, port: 80, protocol: HTTP}]\n" \
	"---\n" \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: HTTPRoute\n" \
	"metadata: {name: r}\n" \
	"spec:\n" \
	"  parentRefs: [{name: gw}]\n" \
	"  rules:\n"

static void check_prefix(const char *path, const char *prefix, const char *repl, const char *want)
{
	char out[256];
	size_t n = filter_replace_prefix(path, strlen(path), prefix, strlen(prefix), repl, strlen(repl), out);
	out[n] = '\0';
	assert_string_equal(out, want);
}

/* The spec's ReplacePrefixMatch table and the conformance examples (§2.6.2). */
static void test_replace_prefix_follows_the_spec_table(void **state)
{
	(void)state;
	check_prefix("/foo/bar", "/foo", "/xyz", "/xyz/bar");
	check_prefix("/foo/bar", "/foo", "/xyz/", "/xyz/bar");
	check_prefix("/foo", "/foo", "/xyz", "/xyz");
	check_prefix("/foo/", "/foo", "/xyz", "/xyz/");
	check_prefix("/foo/bar", "/foo", "", "/bar");
	check_prefix("/foo/", "/foo", "", "/");
	check_prefix("/foo", "/foo", "/", "/");
	check_prefix("/prefix/one/two", "/prefix/one", "/one", "/one/two");
	check_prefix("/strip-prefix/three", "/strip-prefix", "/", "/three");
	check_prefix("/bar", "/", "/foo", "/foo/bar");
}

static void test_cors_origins_match_with_wildcards_and_default_ports(void **state)
{
	(void)state;
#define OM(p, o) filter_origin_match((p), strlen(p), (o), strlen(o))
	assert_true(OM("*", "http://anything.example"));
	assert_true(OM("https://www.foo.com", "https://www.foo.com"));
	assert_true(OM("https://www.foo.com", "https://www.foo.com:443"));
	assert_false(OM("https://www.foo.com", "http://www.foo.com"));
	assert_false(OM("https://www.foo.com", "https://www.foo.com:8443"));
	assert_true(OM("https://*.bar.com", "https://xpto.www.bar.com"));
	assert_false(OM("https://*.bar.com", "https://bar.com"));
	assert_true(OM("http://*.bar.com:8080", "http://a.bar.com:8080"));
	assert_false(OM("http://*.bar.com:8080", "http://a.bar.com"));
#undef OM
}

static void test_filters_compile_to_image_records(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, ROUTE_HEAD
		"  - matches: [{path: {type: PathPrefix, value: /p/}}]\n"
		"    filters:\n"
		"    - type: RequestHeaderModifier\n"
		"      requestHeaderModifier:\n"
		"        set: [{name: X-A, value: a}]\n"
		"        add: [{name: X-B, value: b}]\n"
		"        remove: [X-C]\n"
		"    - type: URLRewrite\n"
		"      urlRewrite: {hostname: rewrite.example, path: {type: ReplacePrefixMatch, replacePrefixMatch: /q}}\n"
		"    timeouts: {request: 2s, backendRequest: 500ms}\n"
		"  - matches: [{path: {value: /r}}]\n"
		"    filters:\n"
		"    - {type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}\n");
	assert_int_equal(f.dl.errors, 0);
	const struct img_header *h = f.img;
	assert_int_equal(img_check(h, h->size), 0);
	assert_int_equal(h->rules.count, 2);
	const struct img_rule *r = IMG_ARRAY(h, h->rules, struct img_rule);
	assert_int_equal(r[0].filters.count, 2);
	assert_int_equal(r[0].timeout_request_ms, 2000);
	assert_int_equal(r[0].timeout_backend_ms, 500);
	const struct img_filter *fl = IMG_ARRAY(h, r[0].filters, struct img_filter);
	assert_int_equal(fl[0].kind, IMG_FILTER_REQUEST_HEADER);
	assert_int_equal(fl[0].ops.count, 3);
	const struct img_header_op *ops = IMG_ARRAY(h, fl[0].ops, struct img_header_op);
	assert_int_equal(ops[0].op, IMG_HOP_REMOVE);
	assert_string_equal(img_str_ptr(h, ops[0].name), "X-C");
	assert_int_equal(ops[1].op, IMG_HOP_SET);
	assert_int_equal(ops[2].op, IMG_HOP_ADD);
	assert_int_equal(fl[1].kind, IMG_FILTER_REWRITE);
	assert_int_equal(fl[1].path_mod, IMG_PATHMOD_PREFIX);
	assert_string_equal(img_str_ptr(h, fl[1].prefix), "/p");
	assert_string_equal(img_str_ptr(h, fl[1].hostname), "rewrite.example");
	const struct img_filter *rd = IMG_ARRAY(h, r[1].filters, struct img_filter);
	assert_int_equal(rd[0].kind, IMG_FILTER_REDIRECT);
	assert_int_equal(rd[0].status, 301);
	assert_int_equal(rd[0].scheme, IMG_SCHEME_HTTPS);
	fx_free(&f);
}

/* RequestMirror (§2.6.2): percent and fraction become numerator / denominator, none
 * means 100%; a mirror whose backend does not resolve is not configured. */
static void test_mirrors_compile_with_their_share(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, ROUTE_HEAD
		"  - backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: b}]\n"
		"    filters:\n"
		"    - {type: RequestMirror, requestMirror: {backendRef: {group: gateway.envoyproxy.io, kind: Backend, name: m}}}\n"
		"    - {type: RequestMirror, requestMirror: {backendRef: {group: gateway.envoyproxy.io, kind: Backend, name: m}, percent: 20}}\n"
		"    - {type: RequestMirror, requestMirror: {backendRef: {group: gateway.envoyproxy.io, kind: Backend, name: m}, fraction: {numerator: 25, denominator: 50}}}\n"
		"    - {type: RequestMirror, requestMirror: {backendRef: {group: gateway.envoyproxy.io, kind: Backend, name: missing}}}\n"
		"---\n"
		"apiVersion: gateway.envoyproxy.io/v1alpha1\n"
		"kind: Backend\n"
		"metadata: {name: b}\n"
		"spec: {endpoints: [{ip: {address: 127.0.0.1, port: 8080}}]}\n"
		"---\n"
		"apiVersion: gateway.envoyproxy.io/v1alpha1\n"
		"kind: Backend\n"
		"metadata: {name: m}\n"
		"spec: {endpoints: [{ip: {address: 127.0.0.1, port: 8081}}]}\n");
	assert_int_equal(f.dl.errors, 0);
	const struct img_header *h = f.img;
	assert_int_equal(img_check(h, h->size), 0);
	const struct img_rule *r = IMG_ARRAY(h, h->rules, struct img_rule);
	assert_int_equal(r[0].filters.count, 3);
	const struct img_filter *fl = IMG_ARRAY(h, r[0].filters, struct img_filter);
	const struct img_backend *be = IMG_ARRAY(h, h->backends, struct img_backend);
	const uint32_t want[3][2] = { { 100, 100 }, { 20, 100 }, { 25, 50 } };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fl[i].kind, IMG_FILTER_MIRROR);
		assert_int_equal(fl[i].numerator, want[i][0]);
		assert_int_equal(fl[i].denominator, want[i][1]);
		assert_true(fl[i].backend < h->backends.count);
		assert_string_equal(img_str_ptr(h, be[fl[i].backend].name), "Backend/default/m");
	}
	fx_free(&f);
}

/* retry (GEP-1731, §2.6.6): attempts are retries after the first try, codes become a
 * bitmap over 400..599, an unset backoff is 25 ms and unset attempts one retry. */
static void test_retry_compiles_to_rule_fields(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, ROUTE_HEAD
		"  - matches: [{path: {value: /a}}]\n"
		"    retry: {codes: [500, 599, 404], attempts: 3, backoff: 1s}\n"
		"  - matches: [{path: {value: /b}}]\n"
		"    retry: {}\n"
		"  - matches: [{path: {value: /c}}]\n");
	assert_int_equal(f.dl.errors, 0);
	const struct img_header *h = f.img;
	assert_int_equal(img_check(h, h->size), 0);
	assert_int_equal(h->rules.count, 3);
	const struct img_rule *r = IMG_ARRAY(h, h->rules, struct img_rule);
	const struct img_rule *a = NULL, *b = NULL, *c = NULL;
	for (uint32_t i = 0; i < 3; i++)
		*(r[i].rule_index == 0 ? &a : r[i].rule_index == 1 ? &b : &c) = &r[i];
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(a->retry_attempts, 3);
	assert_int_equal(a->retry_backoff_ms, 1000);
	assert_int_equal(a->retry_codes[0], 1u << 4);             /* 404 */
	assert_int_equal(a->retry_codes[3], 1u << (100 - 96));    /* 500 */
	assert_int_equal(a->retry_codes[6], 1u << (199 - 192));   /* 599 */
	assert_int_equal(a->retry_codes[1] | a->retry_codes[2] | a->retry_codes[4] | a->retry_codes[5], 0);
	assert_true(filter_rule_active(a));
	assert_int_equal(b->retry_attempts, 1);
	assert_int_equal(b->retry_backoff_ms, 25);
	for (int i = 0; i < 7; i++)
		assert_int_equal(b->retry_codes[i], 0);
	assert_int_equal(c->retry_attempts, 0);
	assert_false(filter_rule_active(c));
	/* a code past 599 is refused by img_check */
	size_t n = h->size;
	char *copy = malloc(n);
	assert_non_null(copy);
	memcpy(copy, h, n);
	struct img_header *hc = (struct img_header *)copy;
	struct img_rule *rc = (struct img_rule *)(copy + hc->rules.off);
	rc[0].retry_codes[6] |= 1u << 8;
	assert_int_equal(img_check(copy, n), -1);
	free(copy);
	fx_free(&f);
}

static void test_filter_cel_rules_are_errors(void **state)
{
	(void)state;
	struct fx f;
	const char *yaml = ROUTE_HEAD
		"  - matches: [{path: {value: /a}}, {path: {value: /b}}]\n"
		"    filters:\n"
		"    - {type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /x}}}\n"
		"  - filters:\n"
		"    - {type: RequestRedirect, requestRedirect: {hostname: x.org}}\n"
		"    - {type: URLRewrite, urlRewrite: {hostname: y.org}}\n"
		"  - timeouts: {request: 1s, backendRequest: 2s}\n"
		"  - retry: {codes: [500, 500, 399], attempts: 0}\n"
		"  - filters:\n"
		"    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: A, value: x}, {name: A, value: y}]}}\n";
	memset(&f, 0, sizeof f);
	arena_init(&f.a);
	diag_list_init(&f.dl);
	assert_true(ydoc_load_buffer(&f.a, "routes.yaml", yaml, strlen(yaml), &f.docs, &f.dl));
	assert_false(gwapi_decode(&f.a, &f.docs, &f.m, &f.dl));
	assert_int_equal(f.dl.errors, 7);
	assert_true(fx_has_diag(&f, "duplicate code 500"));
	assert_true(fx_has_diag(&f, "exactly one PathPrefix match must be specified"));
	assert_true(fx_has_diag(&f, "either RequestRedirect or URLRewrite, but not both"));
	assert_true(fx_has_diag(&f, "backendRequest timeout cannot be longer than request timeout"));
	assert_true(fx_has_diag(&f, "duplicate value \"A\""));
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace_prefix_follows_the_spec_table),
		cmocka_unit_test(test_cors_origins_match_with_wildcards_and_default_ports),
		cmocka_unit_test(test_filters_compile_to_image_records),
		cmocka_unit_test(test_filter_cel_rules_are_errors),
		cmocka_unit_test(test_retry_compiles_to_rule_fields),
		cmocka_unit_test(test_mirrors_compile_with_their_share),
	};
	return UNIT_RUN(tests);
}
