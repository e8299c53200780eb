/* SPDX-License-Identifier: MIT */
/* test_router: the Gateway API conformance cases of GATEWAY-API.md §3.1, §3.2 and §3.4
 * as tables: YAML -> image -> router_select_listener/router_match, and which route
 * rule answers each request. Also the matching primitives and weighted picks. */
#include "unit.h"

#include "compile_fixture.h"

#define GATEWAY_ALL_NS \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: Gateway\n" \
	"metadata: {name: gw, namespace: infra}\n" \
	"spec:\n" \
	"  gatewayClassName: gatewayd\n" \
	"  listeners:\n" \
	"  - name: http\n" \
	"    port: 80\n" \
	"    protocol: HTTP\n" \
	"    allowedRoutes: {namespaces: {from: All}}\n" \
	"---\n"

/* HTTPRoutePathMatchOrder: rules deliberately listed out of precedence order. */
static void test_path_match_order(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GATEWAY_ALL_NS
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: order, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - matches: [{path: {type: PathPrefix, value: /match/}}]\n"
		"  - matches: [{path: {type: PathPrefix, value: /match/prefix/}}]\n"
		"  - matches: [{path: {type: PathPrefix, value: /match/prefix/one}}]\n"
		"  - matches: [{path: {type: Exact, value: /match}}]\n"
		"  - matches: [{path: {type: Exact, value: /match/exact}}]\n"
		"  - matches: [{path: {type: Exact, value: /match/exact/one}}]\n");
	static const struct fx_case cases[] = {
		{"example.com", NULL, "/match/exact/one", {NULL}, "infra/order#5"},
		{"example.com", NULL, "/match/exact", {NULL}, "infra/order#4"},
		{"example.com", NULL, "/match", {NULL}, "infra/order#3"},
		{"example.com", NULL, "/match/prefix/one/any", {NULL}, "infra/order#2"},
		{"example.com", NULL, "/match/prefix/any", {NULL}, "infra/order#1"},
		{"example.com", NULL, "/match/any", {NULL}, "infra/order#0"},
		{"example.com", NULL, "/match/exact/one/", {NULL}, "infra/order#0"},
		{"example.com", NULL, "/match/", {NULL}, "infra/order#0"},
		{"example.com", NULL, "/matchany", {NULL}, "404"},
		{"example.com", NULL, "/", {NULL}, "404"},
	};
	FX_RUN(&f, 80, cases);
	fx_free(&f);
}

/* HTTPRouteExactPathMatching */
static void test_exact_path_matching(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GATEWAY_ALL_NS
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: exact, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - matches: [{path: {type: Exact, value: /one}}]\n"
		"  - matches: [{path: {type: Exact, value: /two}}]\n");
	static const struct fx_case cases[] = {
		{"example.com", NULL, "/one", {NULL}, "infra/exact#0"},
		{"example.com", NULL, "/two", {NULL}, "infra/exact#1"},
		{"example.com", NULL, "/two?x=1", {NULL}, "infra/exact#1"},
		{"example.com", NULL, "/", {NULL}, "404"},
		{"example.com", NULL, "/one/example", {NULL}, "404"},
		{"example.com", NULL, "/two/", {NULL}, "404"},
		{"example.com", NULL, "/Two", {NULL}, "404"},
		{"example.com", NULL, "/onetwo", {NULL}, "404"},
	};
	FX_RUN(&f, 80, cases);
	fx_free(&f);
}

/* PathPrefix is element-wise (§2.6.1, HTTPRouteMatching, HTTPRouteRedirectPath). */
static void test_path_prefix_matches_segment_boundary(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GATEWAY_ALL_NS
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: prefix, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - matches: [{path: {type: PathPrefix, value: /}}]\n"
		"  - matches: [{path: {type: PathPrefix, value: /v2}}]\n"
		"  - matches: [{path: {type: PathPrefix, value: /abc/}}]\n"
		"  - matches: [{path: {type: PathPrefix, value: /full}}]\n");
	static const struct fx_case cases[] = {
		{"a", NULL, "/v2", {NULL}, "infra/prefix#1"},
		{"a", NULL, "/v2/", {NULL}, "infra/prefix#1"},
		{"a", NULL, "/v2/example", {NULL}, "infra/prefix#1"},
		{"a", NULL, "/v2example", {NULL}, "infra/prefix#0"},
		{"a", NULL, "/foo/v2/example", {NULL}, "infra/prefix#0"},
		{"a", NULL, "/abc", {NULL}, "infra/prefix#2"},
		{"a", NULL, "/abc/", {NULL}, "infra/prefix#2"},
		{"a", NULL, "/abc/def", {NULL}, "infra/prefix#2"},
		{"a", NULL, "/abcd", {NULL}, "infra/prefix#0"},
		{"a", NULL, "/full-path-and-host", {NULL}, "infra/prefix#0"},
		{"a", NULL, "/V2", {NULL}, "infra/prefix#0"},
		{"a", NULL, "/", {NULL}, "infra/prefix#0"},
	};
	FX_RUN(&f, 80, cases);
	fx_free(&f);
}

/* HTTPRouteHeaderMatching */
static void test_header_matching(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GATEWAY_ALL_NS
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: headers, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - matches: [{headers: [{name: version, value: one}]}]\n"
		"  - matches: [{headers: [{name: version, value: two}]}]\n"
		"  - matches: [{headers: [{name: version, value: two}, {name: color, value: orange}]}]\n"
		"  - matches: [{headers: [{name: color, value: blue}]}, {headers: [{name: color, value: green}]}]\n"
		"  - matches: [{headers: [{name: color, value: red}]}, {headers: [{name: color, value: yellow}]}]\n"
		"  - matches: [{headers: [{name: X-List, value: 'a,b'}]}]\n");
	static const struct fx_case cases[] = {
		{"a", NULL, "/", {"Version: one", NULL}, "infra/headers#0"},
		{"a", NULL, "/", {"version: two", NULL}, "infra/headers#1"},
		{"a", NULL, "/", {"version: two", "color: orange", NULL}, "infra/headers#2"},
		{"a", NULL, "/", {"version: one", "color: orange", NULL}, "infra/headers#0"},
		{"a", NULL, "/", {"color: blue", NULL}, "infra/headers#3"},
		{"a", NULL, "/", {"color: green", NULL}, "infra/headers#3"},
		{"a", NULL, "/", {"color: red", NULL}, "infra/headers#4"},
		{"a", NULL, "/", {"color: yellow", NULL}, "infra/headers#4"},
		{"a", NULL, "/", {"color: orange", NULL}, "404"},
		{"a", NULL, "/", {"version: one", "color: blue", NULL}, "infra/headers#0"},
		{"a", NULL, "/", {"version: two", "color: blue", NULL}, "infra/headers#1"},
		{"a", NULL, "/", {"version: ONE", NULL}, "404"},
		{"a", NULL, "/", {NULL}, "404"},
		/* Repeated fields compare as their values joined with "," (RFC 9110 §5.3). */
		{"a", NULL, "/", {"x-list: a", "X-LIST: b", NULL}, "infra/headers#5"},
		{"a", NULL, "/", {"x-list: a,b", NULL}, "infra/headers#5"},
		{"a", NULL, "/", {"x-list: a", NULL}, "404"},
		{"a", NULL, "/", {"x-list: a", "x-list: b", "x-list: c", NULL}, "404"},
		{"a", NULL, "/", {"version: one", "version: one", NULL}, "404"},
	};
	FX_RUN(&f, 80, cases);
	fx_free(&f);
}

/* HTTPRouteMethodMatching and §3.4: a method outranks headers, a longer prefix
 * outranks a method. */
static void test_method_matching(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GATEWAY_ALL_NS
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: methods, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - matches: [{method: POST}]\n"
		"  - matches: [{method: GET}]\n"
		"  - matches: [{method: PATCH}]\n"
		"  - matches: [{path: {type: PathPrefix, value: /path5}}]\n"
		"  - matches: [{headers: [{name: version, value: four}]}]\n"
		"  - matches: [{method: PUT, headers: [{name: version, value: one}]}]\n");
	static const struct fx_case cases[] = {
		{"a", "POST", "/", {NULL}, "infra/methods#0"},
		{"a", "GET", "/", {NULL}, "infra/methods#1"},
		{"a", "HEAD", "/", {NULL}, "404"},
		{"a", "PATCH", "/", {"version: four", NULL}, "infra/methods#2"},
		{"a", "PATCH", "/path5", {NULL}, "infra/methods#3"},
		{"a", "PUT", "/", {NULL}, "404"},
		{"a", "PUT", "/", {"version: one", NULL}, "infra/methods#5"},
		{"a", "GET", "/", {"version: four", NULL}, "infra/methods#1"},
		{"a", "DELETE", "/", {"version: four", NULL}, "infra/methods#4"},
		{"a", "get", "/", {NULL}, "404"}, /* methods are case-sensitive */
	};
	FX_RUN(&f, 80, cases);
	fx_free(&f);
}

/* Adds queryParams {name, value} pairs to one match of a decoded route. The decoder
 * refuses queryParams until this version's image carries them to the router. */
static void add_query_params(struct fx *f, size_t route, size_t rule,
			     const char *const *pairs, size_t npairs)
{
	struct gw_http_match *m = &f->m.httproutes[route]->rules[rule].matches[0];
	m->query_params = arena_alloc(&f->a, npairs * sizeof *m->query_params);
	for (size_t i = 0; i < npairs; i++) {
		m->query_params[i].type = GW_MATCH_EXACT;
		m->query_params[i].name = pairs[2 * i];
		m->query_params[i].value = pairs[2 * i + 1];
	}
	m->nquery_params = npairs;
}

/* HTTPRouteQueryParamMatching: names are case-sensitive, the first value counts, other
 * params are ignored; headers outrank query params. */
static void test_query_param_matching(void **state)
{
	(void)state;
	struct fx f;
	fx_load(&f, GATEWAY_ALL_NS
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: query, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - matches: [{path: {value: /}}]\n"
		"  - matches: [{path: {value: /}}]\n"
		"  - matches: [{path: {value: /}}]\n"
		"  - matches: [{headers: [{name: version, value: four}]}]\n"
		"  - matches: [{path: {value: /}}]\n");
	static const char *const q0[] = {"animal", "whale"};
	static const char *const q1[] = {"animal", "dolphin", "color", "blue"};
	static const char *const q2[] = {"ANIMAL", "Whale"};
	static const char *const q4[] = {"animal", "hydra"};
	add_query_params(&f, 0, 0, q0, 1);
	add_query_params(&f, 0, 1, q1, 2);
	add_query_params(&f, 0, 2, q2, 1);
	add_query_params(&f, 0, 4, q4, 1);
	fx_finish(&f);
	static const struct fx_case cases[] = {
		{"a", NULL, "/?animal=whale", {NULL}, "infra/query#0"},
		{"a", NULL, "/?animal=whale&otherparam=irrelevant", {NULL}, "infra/query#0"},
		{"a", NULL, "/?animal=dolphin&color=blue", {NULL}, "infra/query#1"},
		{"a", NULL, "/?color=blue&animal=dolphin", {NULL}, "infra/query#1"},
		{"a", NULL, "/?animal=dolphin", {NULL}, "404"},
		{"a", NULL, "/?ANIMAL=Whale", {NULL}, "infra/query#2"},
		{"a", NULL, "/?animal=Whale", {NULL}, "404"},
		{"a", NULL, "/?animal=hydra", {"version: four", NULL}, "infra/query#3"},
		{"a", NULL, "/?animal=hydra", {NULL}, "infra/query#4"},
		{"a", NULL, "/?animal=whale&animal=dolphin", {NULL}, "infra/query#0"},
		{"a", NULL, "/?animals=whale", {NULL}, "404"},
		{"a", NULL, "/?animal", {NULL}, "404"},
		{"a", NULL, "/", {NULL}, "404"},
	};
	FX_RUN(&f, 80, cases);
	fx_free(&f);
}

/* HTTPRouteMatchingAcrossRoutes */
static void test_matching_across_routes(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GATEWAY_ALL_NS
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: route-a, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  hostnames: [example.com, example.net]\n"
		"  rules:\n"
		"  - matches: [{path: {type: PathPrefix, value: /}}, {headers: [{name: version, value: one}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: route-b, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  hostnames: [example.com]\n"
		"  rules:\n"
		"  - matches: [{path: {type: PathPrefix, value: /v2}}, {headers: [{name: version, value: two}]}]\n");
	static const struct fx_case cases[] = {
		{"example.com", NULL, "/", {NULL}, "infra/route-a#0"},
		{"example.net", NULL, "/", {NULL}, "infra/route-a#0"},
		{"example.com", NULL, "/v2", {NULL}, "infra/route-b#0"},
		{"example.net", NULL, "/v2", {NULL}, "infra/route-a#0"},
		{"example.com", NULL, "/", {"version: two", NULL}, "infra/route-b#0"},
		{"example.net", NULL, "/", {"version: two", NULL}, "infra/route-a#0"},
		{"example.com", NULL, "/v2", {"version: one", NULL}, "infra/route-b#0"},
		{"EXAMPLE.com:8080", NULL, "/v2", {NULL}, "infra/route-b#0"},
		{"example.org", NULL, "/", {NULL}, "404"},
	};
	FX_RUN(&f, 80, cases);
	fx_free(&f);
}

/* Ties between routes: the older (creationTimestamp, else load order), then
 * namespace/name (§3.4). */
static void test_route_age_breaks_ties(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GATEWAY_ALL_NS
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: newer, namespace: infra, creationTimestamp: '2024-05-02T00:00:00Z'}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /ts}}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: older, namespace: infra, creationTimestamp: '2024-05-01T23:00:00-02:00'}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /ts}}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: zz-first-loaded, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /load}}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: aa-second-loaded, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /load}}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: b-same-time, namespace: infra, creationTimestamp: '2024-01-01T00:00:00Z'}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /same}}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: a-same-time, namespace: infra, creationTimestamp: '2024-01-01T00:00:00Z'}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /same}}]}]\n");
	static const struct fx_case cases[] = {
		/* 2024-05-01T23:00-02:00 is 2024-05-02T01:00Z: "newer" is older. */
		{"a", NULL, "/ts", {NULL}, "infra/newer#0"},
		{"a", NULL, "/load", {NULL}, "infra/zz-first-loaded#0"},
		{"a", NULL, "/same", {NULL}, "infra/a-same-time#0"},
	};
	FX_RUN(&f, 80, cases);
	fx_free(&f);
}

/* HTTPRouteHostnameIntersection (§3.2) */
static void test_hostname_intersection(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f,
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: Gateway\n"
		"metadata: {name: gw, namespace: infra}\n"
		"spec:\n"
		"  gatewayClassName: gatewayd\n"
		"  listeners:\n"
		"  - {name: listener-1, port: 80, protocol: HTTP, hostname: very.specific.com}\n"
		"  - {name: listener-2, port: 80, protocol: HTTP, hostname: '*.wildcard.io'}\n"
		"  - {name: listener-3, port: 80, protocol: HTTP, hostname: '*.anotherwildcard.io'}\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: specific-host-matches-listener-specific-host, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw, sectionName: listener-1}]\n"
		"  hostnames: [non.matching.com, '*.nonmatchingwildcard.io', very.specific.com]\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /s1}}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: specific-host-matches-listener-wildcard-host, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw, sectionName: listener-2}]\n"
		"  hostnames: [non.matching.com, wildcard.io, foo.wildcard.io, bar.wildcard.io, foo.bar.wildcard.io]\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /s2}}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: wildcard-host-matches-listener-specific-host, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw, sectionName: listener-1}]\n"
		"  hostnames: [non.matching.com, '*.specific.com']\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /s3}}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: wildcard-host-matches-listener-wildcard-host, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw, sectionName: listener-3}]\n"
		"  hostnames: ['*.anotherwildcard.io']\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /s4}}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: no-intersecting-hosts, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw, sectionName: listener-1}, {name: gw, sectionName: listener-2}]\n"
		"  hostnames: [specific.but.wrong.com, wildcard.io]\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /s5}}]}]\n");
	static const struct fx_case cases[] = {
		{"very.specific.com", NULL, "/s1", {NULL}, "infra/specific-host-matches-listener-specific-host#0"},
		{"very.specific.com:1234", NULL, "/s1", {NULL}, "infra/specific-host-matches-listener-specific-host#0"},
		{"non.matching.com", NULL, "/s1", {NULL}, "404"},
		{"foo.nonmatchingwildcard.io", NULL, "/s1", {NULL}, "404"},
		{"foo.wildcard.io", NULL, "/s2", {NULL}, "infra/specific-host-matches-listener-wildcard-host#0"},
		{"bar.wildcard.io", NULL, "/s2", {NULL}, "infra/specific-host-matches-listener-wildcard-host#0"},
		{"foo.bar.wildcard.io", NULL, "/s2", {NULL}, "infra/specific-host-matches-listener-wildcard-host#0"},
		{"baz.wildcard.io", NULL, "/s2", {NULL}, "404"},
		{"wildcard.io", NULL, "/s2", {NULL}, "404"},
		{"non.matching.com", NULL, "/s2", {NULL}, "404"},
		{"very.specific.com", NULL, "/s3", {NULL}, "infra/wildcard-host-matches-listener-specific-host#0"},
		{"anotherthing.specific.com", NULL, "/s3", {NULL}, "404"},
		{"foo.anotherwildcard.io", NULL, "/s4", {NULL}, "infra/wildcard-host-matches-listener-wildcard-host#0"},
		{"foo.bar.anotherwildcard.io", NULL, "/s4", {NULL}, "infra/wildcard-host-matches-listener-wildcard-host#0"},
		{"anotherwildcard.io", NULL, "/s4", {NULL}, "404"},
		{"very.specific.com", NULL, "/s5", {NULL}, "404"},
		{"specific.but.wrong.com", NULL, "/s5", {NULL}, "404"},
		{"wildcard.io", NULL, "/s5", {NULL}, "404"},
		{"foo.wildcard.io", NULL, "/s5", {NULL}, "404"},
	};
	FX_RUN(&f, 80, cases);

	const struct gw_gateway *gw = f.m.gateways[0];
	assert_int_equal(gw->listeners[0].status.attached_routes, 2);
	assert_int_equal(gw->listeners[1].status.attached_routes, 1);
	assert_int_equal(gw->listeners[2].status.attached_routes, 1);
	const struct gw_httproute *r5 = f.m.httproutes[4];
	assert_int_equal(r5->nparents, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(r5->parents[i].conditions.items[0].type, "Accepted");
		assert_string_equal(r5->parents[i].conditions.items[0].status, "False");
		assert_string_equal(r5->parents[i].conditions.items[0].reason, "NoMatchingListenerHostname");
	}
	assert_int_equal(r5->nattachments, 0);
	/* The route serves only the intersected names on each listener. */
	const struct gw_httproute *r1 = f.m.httproutes[0];
	assert_int_equal(r1->nattachments, 1);
	assert_int_equal(r1->attachments[0].nhostnames, 1);
	assert_string_equal(r1->attachments[0].hostnames[0], "very.specific.com");
	const struct gw_httproute *r3 = f.m.httproutes[2];
	assert_int_equal(r3->attachments[0].nhostnames, 1);
	assert_string_equal(r3->attachments[0].hostnames[0], "very.specific.com");
	fx_free(&f);
}

#define ISOLATION_GATEWAY \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: Gateway\n" \
	"metadata: {name: gw, namespace: infra}\n" \
	"spec:\n" \
	"  gatewayClassName: gatewayd\n" \
	"  listeners:\n" \
	"  - {name: empty-hostname, port: 80, protocol: HTTP}\n" \
	"  - {name: wildcard-example-com, port: 80, protocol: HTTP, hostname: '*.example.com'}\n" \
	"  - {name: wildcard-foo-example-com, port: 80, protocol: HTTP, hostname: '*.foo.example.com'}\n" \
	"  - {name: abc-foo-example-com, port: 80, protocol: HTTP, hostname: abc.foo.example.com}\n"

#define ISOLATION_ROUTE(name, hostnames) \
	"---\n" \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: HTTPRoute\n" \
	"metadata: {name: " name ", namespace: infra}\n" \
	"spec:\n" \
	"  parentRefs: [{name: gw, sectionName: " name "}]\n" \
	hostnames \
	"  rules: [{matches: [{path: {type: PathPrefix, value: /" name "}}]}]\n"

static const struct fx_case isolation_cases[] = {
	{"bar.com", NULL, "/empty-hostname", {NULL}, "infra/empty-hostname#0"},
	{"bar.com", NULL, "/wildcard-example-com", {NULL}, "404"},
	{"bar.com", NULL, "/wildcard-foo-example-com", {NULL}, "404"},
	{"bar.com", NULL, "/abc-foo-example-com", {NULL}, "404"},
	{"bar.example.com", NULL, "/wildcard-example-com", {NULL}, "infra/wildcard-example-com#0"},
	{"bar.example.com", NULL, "/empty-hostname", {NULL}, "404"},
	{"bar.example.com", NULL, "/wildcard-foo-example-com", {NULL}, "404"},
	{"bar.example.com", NULL, "/abc-foo-example-com", {NULL}, "404"},
	{"bar.foo.example.com", NULL, "/wildcard-foo-example-com", {NULL}, "infra/wildcard-foo-example-com#0"},
	{"bar.foo.example.com", NULL, "/empty-hostname", {NULL}, "404"},
	{"bar.foo.example.com", NULL, "/wildcard-example-com", {NULL}, "404"},
	{"bar.foo.example.com", NULL, "/abc-foo-example-com", {NULL}, "404"},
	{"abc.foo.example.com", NULL, "/abc-foo-example-com", {NULL}, "infra/abc-foo-example-com#0"},
	{"abc.foo.example.com", NULL, "/empty-hostname", {NULL}, "404"},
	{"abc.foo.example.com", NULL, "/wildcard-example-com", {NULL}, "404"},
	{"abc.foo.example.com", NULL, "/wildcard-foo-example-com", {NULL}, "404"},
	/* "*.example.com" never covers "example.com" itself: the catch-all does. */
	{"example.com", NULL, "/empty-hostname", {NULL}, "infra/empty-hostname#0"},
	{"ABC.Foo.Example.COM", NULL, "/abc-foo-example-com", {NULL}, "infra/abc-foo-example-com#0"},
};

/* GatewayHTTPListenerIsolation (§3.1): the most specific listener serves alone. */
static void test_listener_isolation(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, ISOLATION_GATEWAY
		ISOLATION_ROUTE("empty-hostname", "")
		ISOLATION_ROUTE("wildcard-example-com", "")
		ISOLATION_ROUTE("wildcard-foo-example-com", "")
		ISOLATION_ROUTE("abc-foo-example-com", ""));
	FX_RUN(&f, 80, isolation_cases);
	fx_free(&f);
}

/* The second half of the conformance test: every route lists every hostname. */
static void test_listener_isolation_with_all_hostnames(void **state)
{
	(void)state;
	struct fx f;
#define ALL_HOSTS "  hostnames: [bar.com, '*.example.com', '*.foo.example.com', abc.foo.example.com, example.com]\n"
	fx_build(&f, ISOLATION_GATEWAY
		ISOLATION_ROUTE("empty-hostname", ALL_HOSTS)
		ISOLATION_ROUTE("wildcard-example-com", ALL_HOSTS)
		ISOLATION_ROUTE("wildcard-foo-example-com", ALL_HOSTS)
		ISOLATION_ROUTE("abc-foo-example-com", ALL_HOSTS));
#undef ALL_HOSTS
	FX_RUN(&f, 80, isolation_cases);
	fx_free(&f);
}

/* Listener order on a bind: exact, then wildcards by suffix length, then any. */
static void test_bind_listener_order(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, ISOLATION_GATEWAY);
	const struct img_bind *b = fx_bind(&f, AF_INET, 80);
	assert_non_null(b);
	assert_int_equal(b->listeners.count, 4);
	const uint32_t *idx = IMG_ARRAY(f.img, b->listeners, uint32_t);
	const struct img_listener *ls = IMG_ARRAY(f.img, f.img->listeners, struct img_listener);
	static const char *const want[] = {"abc-foo-example-com", "wildcard-foo-example-com",
					   "wildcard-example-com", "empty-hostname"};
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(img_str_ptr(f.img, ls[idx[i]].name), want[i]);
	assert_int_equal(ls[idx[1]].host_kind, IMG_HOST_WILDCARD);
	assert_string_equal(img_str_ptr(f.img, ls[idx[1]].host), ".foo.example.com");
	fx_free(&f);
}

/* HTTPRouteWeight and §3.6: rnd % total over cumulative weights; weight 0 gets nothing;
 * an unresolved ref keeps its share (the caller answers 500). */
static void test_weighted_picks(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GATEWAY_ALL_NS
		"apiVersion: gateway.envoyproxy.io/v1alpha1\n"
		"kind: Backend\n"
		"metadata: {name: v1, namespace: infra}\n"
		"spec: {endpoints: [{ip: {address: 127.0.0.1, port: 3001}}]}\n"
		"---\n"
		"apiVersion: gateway.envoyproxy.io/v1alpha1\n"
		"kind: Backend\n"
		"metadata: {name: v2, namespace: infra}\n"
		"spec: {endpoints: [{ip: {address: '::1', port: 3002}}]}\n"
		"---\n"
		"apiVersion: gateway.envoyproxy.io/v1alpha1\n"
		"kind: Backend\n"
		"metadata: {name: v3, namespace: infra}\n"
		"spec: {endpoints: [{unix: {path: /run/v3.sock}}]}\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: weights, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - matches: [{path: {type: PathPrefix, value: /w}}]\n"
		"    backendRefs:\n"
		"    - {group: gateway.envoyproxy.io, kind: Backend, name: v1, weight: 70}\n"
		"    - {group: gateway.envoyproxy.io, kind: Backend, name: v2, weight: 30}\n"
		"    - {group: gateway.envoyproxy.io, kind: Backend, name: v3, weight: 0}\n"
		"  - matches: [{path: {type: PathPrefix, value: /half}}]\n"
		"    backendRefs:\n"
		"    - {group: gateway.envoyproxy.io, kind: Backend, name: v1}\n"
		"    - {group: gateway.envoyproxy.io, kind: Backend, name: missing}\n"
		"  - matches: [{path: {type: PathPrefix, value: /zero}}]\n"
		"    backendRefs:\n"
		"    - {group: gateway.envoyproxy.io, kind: Backend, name: v1, weight: 0}\n"
		"  - matches: [{path: {type: PathPrefix, value: /none}}]\n");
	const struct img_rule *rules = IMG_ARRAY(f.img, f.img->rules, struct img_rule);
	const struct img_backend *bes = IMG_ARRAY(f.img, f.img->backends, struct img_backend);
	assert_int_equal(f.img->rules.count, 4);
	assert_int_equal(f.img->backends.count, 3);
	assert_string_equal(img_str_ptr(f.img, bes[0].name), "Backend/infra/v1");

	unsigned counts[4] = {0};
	assert_int_equal(rules[0].total_weight, 100);
	for (uint32_t rnd = 0; rnd < 1000; rnd++) {
		uint32_t b = router_pick_backend(f.img, &rules[0], rnd);
		counts[b == IMG_NO_BACKEND ? 3 : b]++;
	}
	assert_int_equal(counts[0], 700);
	assert_int_equal(counts[1], 300);
	assert_int_equal(counts[2], 0);
	assert_int_equal(counts[3], 0);
	assert_int_equal(router_pick_backend(f.img, &rules[0], UINT32_MAX), 1); /* 95 -> v2 */

	memset(counts, 0, sizeof counts);
	assert_int_equal(rules[1].total_weight, 2);
	for (uint32_t rnd = 0; rnd < 1000; rnd++) {
		uint32_t b = router_pick_backend(f.img, &rules[1], rnd);
		counts[b == IMG_NO_BACKEND ? 3 : b]++;
	}
	assert_int_equal(counts[0], 500);
	assert_int_equal(counts[3], 500);

	assert_int_equal(rules[2].total_weight, 0);
	assert_int_equal(router_pick_backend(f.img, &rules[2], 7), IMG_NO_BACKEND);
	assert_int_equal(rules[3].backend_refs.count, 0);
	assert_int_equal(router_pick_backend(f.img, &rules[3], 7), IMG_NO_BACKEND);

	/* Endpoints: IPv4, IPv6, unix. */
	const struct img_endpoint *eps = IMG_ARRAY(f.img, f.img->endpoints, struct img_endpoint);
	assert_int_equal(f.img->endpoints.count, 3);
	assert_int_equal(eps[0].family, AF_INET);
	assert_int_equal(eps[0].port, 3001);
	assert_memory_equal(eps[0].addr, "\x7f\0\0\x01", 4);
	assert_int_equal(eps[1].family, AF_INET6);
	assert_int_equal(eps[1].addr[15], 1);
	assert_int_equal(eps[2].kind, IMG_ENDPOINT_UNIX);
	assert_string_equal(img_str_ptr(f.img, eps[2].path), "/run/v3.sock");
	fx_free(&f);
}

static void test_host_len_strips_port(void **state)
{
	(void)state;
	assert_int_equal(router_host_len("example.com:8080", 16), 11);
	assert_int_equal(router_host_len("example.com", 11), 11);
	assert_int_equal(router_host_len("[::1]:80", 8), 5);
	assert_int_equal(router_host_len("[::1]", 5), 5);
	assert_int_equal(router_host_len("", 0), 0);
	assert_int_equal(router_host_len(NULL, 0), 0);
}

static void test_method_numbering(void **state)
{
	(void)state;
	assert_int_equal(router_method("GET", 3), IMG_METHOD_GET);
	assert_int_equal(router_method("PATCH", 5), IMG_METHOD_PATCH);
	assert_int_equal(router_method("CONNECT", 7), IMG_METHOD_CONNECT);
	assert_int_equal(router_method("get", 3), IMG_METHOD_OTHER);
	assert_int_equal(router_method("PROPFIND", 8), IMG_METHOD_OTHER);
	assert_int_equal(router_method("GETX", 3), IMG_METHOD_GET); /* length decides */
}


/* RegularExpression paths rank after every Exact and PathPrefix match of the same
 * hostname tier, then the longer pattern first (README "Matching"). Patterns are
 * anchored at both ends. */
static void test_regex_path_precedence(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GATEWAY_ALL_NS
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: re, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - matches: [{path: {type: RegularExpression, value: '/.*'}}]\n"
		"  - matches: [{path: {type: RegularExpression, value: '/api/v[0-9]+/.*'}}]\n"
		"  - matches: [{path: {type: PathPrefix, value: /api/v1/legacy}}]\n"
		"  - matches: [{path: {type: Exact, value: /api/v2/exact}}]\n"
		"  - matches: [{path: {type: RegularExpression, value: '/API'}, headers: [{name: x, value: y}]}]\n");
	static const struct fx_case cases[] = {
		{"a", NULL, "/api/v2/exact", {NULL}, "infra/re#3"},
		{"a", NULL, "/api/v1/legacy/x", {NULL}, "infra/re#2"},
		{"a", NULL, "/api/v7/x", {NULL}, "infra/re#1"},
		{"a", NULL, "/api/vx/x", {NULL}, "infra/re#0"},
		/* '/API' (4 characters) ranks before '/.*' (3); case-sensitive */
		{"a", NULL, "/API", {"x: y", NULL}, "infra/re#4"},
		{"a", NULL, "/API", {NULL}, "infra/re#0"},
		{"a", NULL, "/api", {"x: y", NULL}, "infra/re#0"},
		{"a", NULL, "/", {NULL}, "infra/re#0"},
	};
	FX_RUN(&f, 80, cases);
	fx_free(&f);
}

/* A RegularExpression header match sees a repeated field joined with ","; query
 * parameters compare the first occurrence, as sent (no percent-decoding). */
static void test_regex_header_and_query_values(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GATEWAY_ALL_NS
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: rx, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - matches: [{headers: [{type: RegularExpression, name: Tag, value: 'a,b'}]}]\n"
		"  - matches: [{queryParams: [{type: RegularExpression, name: q, value: 'x%2[0-9]y'}]}]\n"
		"  - matches: [{queryParams: [{name: animal, value: whale}]}]\n");
	static const struct fx_case cases[] = {
		{"a", NULL, "/", {"tag: a", "TAG: b", NULL}, "infra/rx#0"},
		{"a", NULL, "/", {"tag: a,b", NULL}, "infra/rx#0"},
		{"a", NULL, "/", {"tag: a", NULL}, "404"},
		{"a", NULL, "/?q=x%20y", {NULL}, "infra/rx#1"},
		{"a", NULL, "/?q=x+y", {NULL}, "404"},
		{"a", NULL, "/?q=zz&q=x%21y", {NULL}, "404"},      /* the first occurrence counts */
		{"a", NULL, "/?animal=whale&other=1", {NULL}, "infra/rx#2"},
		{"a", NULL, "/?ANIMAL=whale", {NULL}, "404"},
		{"a", NULL, "/?animal=whaledolphin", {NULL}, "404"},
	};
	FX_RUN(&f, 80, cases);
	fx_free(&f);
}

/* The compiled host groups (router index) keep §3.4 precedence: the exact hostname's
 * matches first, then wildcard suffixes from the longest, then routes without a
 * hostname, falling back whenever the more specific group has no match that fits. */
static void test_host_groups_fall_back_in_precedence_order(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GATEWAY_ALL_NS
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: any, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /}}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: short, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  hostnames: ['*.a.com']\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /x}}, {path: {type: PathPrefix, value: /y}},\n"
		"                     {path: {type: PathPrefix, value: /z}}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: long, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  hostnames: ['*.b.a.com', c.a.com]\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /x}}, {path: {type: PathPrefix, value: /y}}]}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: exact, namespace: infra}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  hostnames: [foo.b.a.com, d.a.com]\n"
		"  rules: [{matches: [{path: {type: PathPrefix, value: /x}}]}]\n");
	static const struct fx_case cases[] = {
		{"FOO.B.A.com", NULL, "/x", {NULL}, "infra/exact#0"},
		{"foo.b.a.com:8080", NULL, "/x", {NULL}, "infra/exact#0"},
		{"foo.b.a.com", NULL, "/y", {NULL}, "infra/long#0"},
		{"foo.b.a.com", NULL, "/z", {NULL}, "infra/short#0"},
		{"foo.b.a.com", NULL, "/w", {NULL}, "infra/any#0"},
		{"x.y.b.a.com", NULL, "/y", {NULL}, "infra/long#0"},
		{"b.a.com", NULL, "/y", {NULL}, "infra/short#0"},
		{"c.a.com", NULL, "/y", {NULL}, "infra/long#0"},
		{"c.a.com", NULL, "/z", {NULL}, "infra/short#0"},
		{"d.a.com", NULL, "/x", {NULL}, "infra/exact#0"},
		{"a.com", NULL, "/x", {NULL}, "infra/any#0"},
		{".a.com", NULL, "/x", {NULL}, "infra/any#0"},
		{"foo.b.a.com.", NULL, "/x", {NULL}, "infra/any#0"},
		{NULL, NULL, "/x", {NULL}, "infra/any#0"},
	};
	FX_RUN(&f, 80, cases);

	/* One group per hostname: any, *.a.com, *.b.a.com, c.a.com, foo.b.a.com, d.a.com;
	 * the index answers every request exactly as the scan of all matches in order. */
	const struct img_bind *b = fx_bind(&f, AF_INET, 80);
	assert_non_null(b);
	const struct img_listener *l = router_select_listener(f.img, b, "a.com", 5);
	assert_non_null(l);
	assert_int_equal(l->host_groups.count, 6);
	struct img_listener scan = *l;
	scan.host_groups.count = 0;
	static const char *const hosts[] = {"foo.b.a.com", "FOO.b.a.com", "x.b.a.com", "b.a.com",
		"c.a.com", "d.a.com", "e.a.com", "a.com", "com", "", ".b.a.com", "x..a.com"};
	static const char *const paths[] = {"/", "/x", "/y", "/z", "/x/1", "/w"};
	for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
		for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
			struct router_request rq;
			memset(&rq, 0, sizeof rq);
			rq.host = hosts[i];
			rq.host_len = strlen(hosts[i]);
			rq.path = paths[k];
			rq.path_len = strlen(paths[k]);
			rq.method = IMG_METHOD_GET;
			if (router_match(f.img, l, &rq) != router_match(f.img, &scan, &rq))
				fail_msg("%s%s: the index and the scan disagree", hosts[i], paths[k]);
		}
	}
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_match_order),
		cmocka_unit_test(test_exact_path_matching),
		cmocka_unit_test(test_path_prefix_matches_segment_boundary),
		cmocka_unit_test(test_header_matching),
		cmocka_unit_test(test_method_matching),
		cmocka_unit_test(test_query_param_matching),
		cmocka_unit_test(test_regex_path_precedence),
		cmocka_unit_test(test_regex_header_and_query_values),
		cmocka_unit_test(test_matching_across_routes),
		cmocka_unit_test(test_route_age_breaks_ties),
		cmocka_unit_test(test_hostname_intersection),
		cmocka_unit_test(test_host_groups_fall_back_in_precedence_order),
		cmocka_unit_test(test_listener_isolation),
		cmocka_unit_test(test_listener_isolation_with_all_hostnames),
		cmocka_unit_test(test_bind_listener_order),
		cmocka_unit_test(test_weighted_picks),
		cmocka_unit_test(test_host_len_strips_port),
		cmocka_unit_test(test_method_numbering),
	};
	return UNIT_RUN(tests);
}
