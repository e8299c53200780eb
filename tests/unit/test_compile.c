/* SPDX-License-Identifier: MIT */
/* test_compile: resolve (status conditions and reasons of GATEWAY-API.md §4), the
 * status JSON, the image layout (binds, determinism), img_check against truncated and
 * corrupted images, and the pipeline over a directory. */
#include "unit.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compile/pipeline.h"
#include "compile_fixture.h"

static const struct gw_condition *find_cond(const struct gw_conditions *c, const char *type)
{
	for (size_t i = 0; i < c->count; i++)
		if (strcmp(c->items[i].type, type) == 0)
			return &c->items[i];
	return NULL;
}

#define assert_cond(conds, type_, status_, reason_) do { \
	const struct gw_condition *c_ = find_cond((conds), (type_)); \
	if (!c_) \
		fail_msg("no condition %s", (type_)); \
	assert_string_equal(c_->status, (status_)); \
	assert_string_equal(c_->reason, (reason_)); \
} while (0)

#define GW_HEAD(name, ns) \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: Gateway\n" \
	"metadata: {name: " name ", namespace: " ns "}\n" \
	"spec:\n" \
	"  gatewayClassName: gatewayd\n" \
	"  listeners:\n"

#define ROUTE_HEAD(name, ns) \
	"---\n" \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: HTTPRoute\n" \
	"metadata: {name: " name ", namespace: " ns "}\n" \
	"spec:\n"

static void test_gatewayclass_accepted_when_ours(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, "apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: GatewayClass\n"
		"metadata: {name: other}\n"
		"spec: {controllerName: example.org/other}\n");
	assert_int_equal(f.m.ngatewayclasses, 2);
	assert_true(f.m.gatewayclasses[0]->is_ours);
	assert_cond(&f.m.gatewayclasses[0]->conditions, "Accepted", "True", "Accepted");
	assert_int_equal(f.m.gatewayclasses[0]->conditions.items[0].observed_generation, 1);
	assert_false(f.m.gatewayclasses[1]->is_ours);
	assert_cond(&f.m.gatewayclasses[1]->conditions, "Accepted", "Unknown", "Pending");
	fx_free(&f);
}

/* §2.3: gatewayd defines no parameters kind; the class is refused and its Gateways
 * are not served. */
static void test_gatewayclass_with_parameters_is_not_accepted(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, "apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: GatewayClass\n"
		"metadata: {name: params}\n"
		"spec:\n"
		"  controllerName: " FX_CONTROLLER "\n"
		"  parametersRef: {group: example.org, kind: Config, name: x}\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: Gateway\n"
		"metadata: {name: gw}\n"
		"spec:\n"
		"  gatewayClassName: params\n"
		"  listeners: [{name: http, port: 80, protocol: HTTP}]\n");
	assert_cond(&f.m.gatewayclasses[1]->conditions, "Accepted", "False", "InvalidParameters");
	const struct gw_gateway *gw = f.m.gateways[0];
	assert_true(gw->is_ours);
	assert_cond(&gw->conditions, "Accepted", "False", "Invalid");
	assert_cond(&gw->conditions, "Programmed", "False", "Invalid");
	assert_false(gw->listeners[0].status.is_valid);
	assert_int_equal(f.img->binds.count, 0);
	assert_true(fx_has_diag(&f, "Gateway default/gw: GatewayClass \"params\" is not accepted"));
	fx_free(&f);
}

/* GatewayInvalidParametersRef: a Gateway's infrastructure.parametersRef names nothing
 * gatewayd can use: Accepted=False/InvalidParameters, not served; another Gateway of
 * the same class still is. */
static void test_gateway_with_parameters_is_not_accepted(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_HEAD("gw", "default")
		"  - {name: http, port: 80, protocol: HTTP}\n"
		"  infrastructure:\n"
		"    labels: {team: a}\n"
		"    parametersRef: {group: example.org, kind: Config, name: missing}\n"
		"---\n"
		GW_HEAD("other", "default")
		"  - {name: http, port: 81, protocol: HTTP}\n");
	const struct gw_gateway *gw = f.m.gateways[0];
	assert_cond(&gw->conditions, "Accepted", "False", "InvalidParameters");
	assert_cond(&gw->conditions, "Programmed", "False", "Invalid");
	assert_false(gw->listeners[0].status.is_valid);
	assert_cond(&f.m.gateways[1]->conditions, "Accepted", "True", "Accepted");
	const struct img_bind *b = IMG_ARRAY(f.img, f.img->binds, struct img_bind);
	assert_true(f.img->binds.count > 0);
	for (uint32_t i = 0; i < f.img->binds.count; i++)
		assert_int_equal(b[i].port, 81);
	assert_true(fx_has_diag(&f, "Gateway default/gw: gatewayd defines no parameters kind"));
	fx_free(&f);
}

static void test_route_no_matching_parent(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_HEAD("gw", "default")
		"  - {name: http, port: 80, protocol: HTTP}\n"
		ROUTE_HEAD("by-section", "default")
		"  parentRefs: [{name: gw, sectionName: nope}]\n"
		ROUTE_HEAD("by-port", "default")
		"  parentRefs: [{name: gw, port: 8080}]\n"
		ROUTE_HEAD("both-disagree", "default")
		"  parentRefs: [{name: gw, sectionName: http, port: 8080}]\n"
		ROUTE_HEAD("both-agree", "default")
		"  parentRefs: [{name: gw, sectionName: http, port: 80}]\n");
	for (size_t i = 0; i < 3; i++) {
		const struct gw_httproute *r = f.m.httproutes[i];
		assert_int_equal(r->nparents, 1);
		assert_cond(&r->parents[0].conditions, "Accepted", "False", "NoMatchingParent");
		assert_cond(&r->parents[0].conditions, "ResolvedRefs", "True", "ResolvedRefs");
		assert_int_equal(r->nattachments, 0);
	}
	assert_cond(&f.m.httproutes[3]->parents[0].conditions, "Accepted", "True", "Accepted");
	assert_int_equal(f.m.gateways[0]->listeners[0].status.attached_routes, 1);
	assert_true(fx_has_diag(&f, "warning: HTTPRoute default/by-section: spec.parentRefs[0]: Gateway default/gw has no listener \"nope\""));
	fx_free(&f);
}

static void test_route_not_allowed_by_listeners(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_HEAD("gw", "infra")
		"  - {name: same, port: 80, protocol: HTTP}\n"
		"  - name: grpc-only\n"
		"    port: 81\n"
		"    protocol: HTTP\n"
		"    allowedRoutes: {kinds: [{kind: GRPCRoute}]}\n"
		ROUTE_HEAD("other-ns", "apps")
		"  parentRefs: [{name: gw, namespace: infra, sectionName: same}]\n"
		ROUTE_HEAD("kind", "infra")
		"  parentRefs: [{name: gw, sectionName: grpc-only}]\n"
		ROUTE_HEAD("same-ns", "infra")
		"  parentRefs: [{name: gw}]\n");
	const struct gw_gateway *gw = f.m.gateways[0];
	assert_cond(&f.m.httproutes[0]->parents[0].conditions, "Accepted", "False", "NotAllowedByListeners");
	/* ResolvedRefs is judged independently of acceptance (§4.4). */
	assert_cond(&f.m.httproutes[0]->parents[0].conditions, "ResolvedRefs", "True", "ResolvedRefs");
	assert_cond(&f.m.httproutes[1]->parents[0].conditions, "Accepted", "False", "NotAllowedByListeners");
	assert_cond(&f.m.httproutes[2]->parents[0].conditions, "Accepted", "True", "Accepted");
	assert_int_equal(f.m.httproutes[2]->nattachments, 1);
	assert_int_equal(gw->listeners[0].status.attached_routes, 1);
	assert_int_equal(gw->listeners[1].status.attached_routes, 0);
	/* A listener whose only kind is invalid: supportedKinds [] and InvalidRouteKinds. */
	assert_int_equal(gw->listeners[1].status.nsupported_kinds, 0);
	assert_cond(&gw->listeners[1].status.conditions, "ResolvedRefs", "False", "InvalidRouteKinds");
	assert_cond(&gw->conditions, "Accepted", "True", "ListenersNotValid");
	fx_free(&f);
}

static void test_allowed_routes_selector_uses_namespace_labels(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f,
		"apiVersion: v1\n"
		"kind: Namespace\n"
		"metadata: {name: backend-a, labels: {gateway-conformance: backend}}\n"
		"---\n"
		GW_HEAD("gw", "infra")
		"  - name: by-label\n"
		"    port: 80\n"
		"    protocol: HTTP\n"
		"    allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {gateway-conformance: backend}}}}\n"
		"  - name: by-name\n"
		"    port: 81\n"
		"    protocol: HTTP\n"
		"    allowedRoutes:\n"
		"      namespaces:\n"
		"        from: Selector\n"
		"        selector:\n"
		"          matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [no-object]}]\n"
		ROUTE_HEAD("labelled", "backend-a")
		"  parentRefs: [{name: gw, namespace: infra, sectionName: by-label}]\n"
		ROUTE_HEAD("unlabelled", "no-object")
		"  parentRefs: [{name: gw, namespace: infra, sectionName: by-label}]\n"
		ROUTE_HEAD("implicit-label", "no-object")
		"  parentRefs: [{name: gw, namespace: infra, sectionName: by-name}]\n"
		ROUTE_HEAD("implicit-label-other", "backend-a")
		"  parentRefs: [{name: gw, namespace: infra, sectionName: by-name}]\n");
	assert_cond(&f.m.httproutes[0]->parents[0].conditions, "Accepted", "True", "Accepted");
	assert_cond(&f.m.httproutes[1]->parents[0].conditions, "Accepted", "False", "NotAllowedByListeners");
	assert_cond(&f.m.httproutes[2]->parents[0].conditions, "Accepted", "True", "Accepted");
	assert_cond(&f.m.httproutes[3]->parents[0].conditions, "Accepted", "False", "NotAllowedByListeners");
	fx_free(&f);
}

static void test_hostname_conflict_across_gateways(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_HEAD("one", "default")
		"  - {name: a, port: 80, protocol: HTTP, hostname: a.example.com}\n"
		"  - {name: b, port: 80, protocol: HTTP, hostname: b.example.com}\n"
		"---\n"
		GW_HEAD("two", "default")
		"  - {name: a-again, port: 80, protocol: HTTP, hostname: a.example.com}\n"
		"  - {name: other-port, port: 8080, protocol: HTTP, hostname: a.example.com}\n"
		"---\n"
		GW_HEAD("three", "default")
		"  - {name: elsewhere, port: 80, protocol: HTTP, hostname: a.example.com}\n"
		"  addresses: [{type: IPAddress, value: 127.0.0.2}]\n"
		"---\n"
		GW_HEAD("four", "default")
		"  - {name: elsewhere-too, port: 80, protocol: HTTP, hostname: c.example.com}\n"
		"  addresses: [{value: 127.0.0.3}]\n");
	const struct gw_gateway *one = f.m.gateways[0], *two = f.m.gateways[1];
	/* "three" binds 127.0.0.2 only, but "one" binds every address: they overlap. */
	const struct gw_gateway *three = f.m.gateways[2], *four = f.m.gateways[3];
	assert_cond(&one->listeners[0].status.conditions, "Accepted", "False", "HostnameConflict");
	assert_cond(&one->listeners[0].status.conditions, "Conflicted", "True", "HostnameConflict");
	assert_cond(&one->listeners[0].status.conditions, "Programmed", "False", "HostnameConflict");
	assert_false(one->listeners[0].status.is_valid);
	assert_null(find_cond(&one->listeners[1].status.conditions, "Conflicted"));
	assert_true(one->listeners[1].status.is_valid);
	assert_cond(&two->listeners[0].status.conditions, "Conflicted", "True", "HostnameConflict");
	assert_true(two->listeners[1].status.is_valid);
	assert_cond(&three->listeners[0].status.conditions, "Conflicted", "True", "HostnameConflict");
	assert_true(four->listeners[0].status.is_valid);
	assert_cond(&one->conditions, "Accepted", "True", "ListenersNotValid");
	assert_cond(&one->conditions, "Programmed", "True", "Programmed");
	assert_cond(&three->conditions, "Accepted", "False", "ListenersNotValid");
	assert_cond(&three->conditions, "Programmed", "False", "Invalid");

	/* Conflicted listeners get no traffic; the others still do. */
	const struct img_listener *ls = IMG_ARRAY(f.img, f.img->listeners, struct img_listener);
	assert_int_equal(f.img->listeners.count, 3);
	assert_string_equal(img_str_ptr(f.img, ls[0].name), "b");
	assert_string_equal(img_str_ptr(f.img, ls[1].name), "other-port");
	assert_string_equal(img_str_ptr(f.img, ls[2].name), "elsewhere-too");
	fx_free(&f);
}

static void test_unsupported_protocol_and_protocol_conflict(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_HEAD("mixed", "default")
		"  - {name: http, port: 80, protocol: HTTP}\n"
		"  - {name: tcp, port: 9000, protocol: example.com/tcp}\n"
		"  - {name: udp, port: 80, protocol: UDP}\n"
		"---\n"
		GW_HEAD("clash", "default")
		"  - {name: http, port: 8443, protocol: HTTP}\n"
		"  - {name: tcp, port: 8443, protocol: TCP}\n");
	const struct gw_gateway *mixed = f.m.gateways[0], *clash = f.m.gateways[1];
	const struct gw_listener_status *tcp = &mixed->listeners[1].status;
	assert_cond(&tcp->conditions, "Accepted", "False", "UnsupportedProtocol");
	assert_cond(&tcp->conditions, "Programmed", "False", "Invalid");
	assert_int_equal(tcp->nsupported_kinds, 0);
	/* UDP port 80 is not TCP port 80: no conflict with the HTTP listener. */
	assert_true(mixed->listeners[0].status.is_valid);
	assert_null(find_cond(&mixed->listeners[0].status.conditions, "Conflicted"));
	assert_int_equal(mixed->listeners[0].status.nsupported_kinds, 1);
	assert_string_equal(mixed->listeners[0].status.supported_kinds[0].kind, "HTTPRoute");
	assert_cond(&mixed->conditions, "Accepted", "True", "ListenersNotValid");

	assert_cond(&clash->listeners[0].status.conditions, "Accepted", "False", "ProtocolConflict");
	assert_cond(&clash->listeners[0].status.conditions, "Conflicted", "True", "ProtocolConflict");
	assert_cond(&clash->listeners[1].status.conditions, "Accepted", "False", "ProtocolConflict");
	assert_cond(&clash->listeners[1].status.conditions, "Conflicted", "True", "ProtocolConflict");
	assert_cond(&clash->conditions, "Accepted", "False", "ListenersNotValid");
	assert_true(fx_has_diag(&f, "protocol \"example.com/tcp\" is not supported"));
	fx_free(&f);
}

static void test_backend_ref_reasons(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f,
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: Gateway\n"
		"metadata: {name: gw, namespace: default}\n"
		"spec:\n"
		"  gatewayClassName: gatewayd\n"
		"  listeners:\n"
		"  - {name: http, port: 80, protocol: HTTP}\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: web, namespace: default}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - backendRefs:\n"
		"    - {group: gateway.envoyproxy.io, kind: Backend, name: api}\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: svc, namespace: default}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - backendRefs: [{name: echo, port: 8080}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: cross, namespace: default}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: b, namespace: other}]\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: kind, namespace: default}\n"
		"spec:\n"
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: ok}]\n"
		"  - backendRefs: [{group: example.org, kind: Bucket, name: b}, {group: gateway.envoyproxy.io, kind: Backend, name: nope}]\n"
		"---\n"
		"apiVersion: gateway.envoyproxy.io/v1alpha1\n"
		"kind: Backend\n"
		"metadata: {name: ok, namespace: default}\n"
		"spec: {endpoints: [{ip: {address: 10.0.0.1, port: 80}}]}\n"
		"---\n"
		"apiVersion: gateway.envoyproxy.io/v1alpha1\n"
		"kind: Backend\n"
		"metadata: {name: b, namespace: other}\n"
		"spec: {endpoints: [{ip: {address: 10.0.0.2, port: 80}}]}\n");
	const struct gw_httproute *web = f.m.httproutes[0], *svc = f.m.httproutes[1],
				  *cross = f.m.httproutes[2], *kind = f.m.httproutes[3];
	/* Invalid backends leave the route Accepted (§3.6). */
	assert_cond(&web->parents[0].conditions, "Accepted", "True", "Accepted");
	assert_cond(&web->parents[0].conditions, "ResolvedRefs", "False", "BackendNotFound");
	assert_null(web->rules[0].backend_refs[0].resolved);
	assert_true(fx_has_diag(&f, "routes.yaml:16:7: warning: HTTPRoute default/web: spec.rules[0].backendRefs[0]: Backend \"api\" not found"));

	assert_cond(&svc->parents[0].conditions, "ResolvedRefs", "False", "BackendNotFound");
	assert_non_null(strstr(find_cond(&svc->parents[0].conditions, "ResolvedRefs")->message,
			       "Service \"echo\" not found"));
	assert_cond(&cross->parents[0].conditions, "ResolvedRefs", "False", "RefNotPermitted");
	assert_null(cross->rules[0].backend_refs[0].resolved);
	/* The first failing ref gives the reason. */
	assert_cond(&kind->parents[0].conditions, "ResolvedRefs", "False", "InvalidKind");
	assert_ptr_equal(kind->rules[0].backend_refs[0].resolved, f.m.backends[0]);
	assert_true(fx_has_diag(&f, "HTTPRoute default/kind: spec.rules[1].backendRefs[1]: Backend \"nope\" not found"));

	/* In the image: the unresolved share answers 500 (IMG_NO_BACKEND). */
	const struct img_rule *rules = IMG_ARRAY(f.img, f.img->rules, struct img_rule);
	assert_int_equal(f.img->rules.count, 5);
	assert_string_equal(img_str_ptr(f.img, rules[3].route), "default/kind");
	const struct img_backend_ref *kr = IMG_ARRAY(f.img, rules[3].backend_refs, struct img_backend_ref);
	assert_int_equal(kr[0].backend, 0);
	const struct img_backend_ref *kr2 = IMG_ARRAY(f.img, rules[4].backend_refs, struct img_backend_ref);
	assert_int_equal(kr2[0].backend, IMG_NO_BACKEND);
	assert_int_equal(kr2[1].backend, IMG_NO_BACKEND);
	fx_free(&f);
}

static void test_gateway_address_problems(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_HEAD("hostname-address", "default")
		"  - {name: http, port: 80, protocol: HTTP}\n"
		"  addresses: [{type: Hostname, value: gw.example.com}]\n"
		"---\n"
		GW_HEAD("ok", "default")
		"  - {name: http, port: 80, protocol: HTTP}\n"
		"  addresses: [{type: IPAddress, value: 127.0.0.1}, {value: '::1'}]\n");
	assert_cond(&f.m.gateways[0]->conditions, "Accepted", "False", "UnsupportedAddress");
	assert_cond(&f.m.gateways[0]->conditions, "Programmed", "False", "Invalid");
	assert_false(f.m.gateways[0]->listeners[0].status.is_valid);
	/* A Gateway that does not bind takes no part in conflicts. */
	assert_true(f.m.gateways[1]->listeners[0].status.is_valid);
	assert_cond(&f.m.gateways[1]->conditions, "Accepted", "True", "Accepted");

	assert_int_equal(f.img->binds.count, 2);
	const struct img_bind *b4 = fx_bind(&f, AF_INET, 80), *b6 = fx_bind(&f, AF_INET6, 80);
	assert_non_null(b4);
	assert_non_null(b6);
	assert_memory_equal(b4->addr, "\x7f\0\0\x01", 4);
	assert_int_equal(b6->addr[15], 1);
	fx_free(&f);
}

static void test_missing_class_gets_pending_status(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f,
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: Gateway\n"
		"metadata: {name: orphan}\n"
		"spec:\n"
		"  gatewayClassName: nowhere\n"
		"  listeners: [{name: http, port: 80, protocol: HTTP}]\n"
		ROUTE_HEAD("r", "default")
		"  parentRefs: [{name: orphan}, {name: absent}]\n");
	const struct gw_gateway *gw = f.m.gateways[0];
	assert_false(gw->is_ours);
	assert_cond(&gw->conditions, "Accepted", "Unknown", "Pending");
	assert_cond(&gw->conditions, "Programmed", "Unknown", "Pending");
	assert_true(fx_has_diag(&f, "Gateway default/orphan: spec.gatewayClassName: GatewayClass \"nowhere\" not found"));
	assert_true(fx_has_diag(&f, "HTTPRoute default/r: spec.parentRefs[1]: Gateway \"default/absent\" not found"));
	/* Neither parent is ours: no status entry, nothing compiled. */
	assert_int_equal(f.m.httproutes[0]->nparents, 0);
	assert_int_equal(f.img->binds.count, 0);
	assert_int_equal(f.img->listeners.count, 0);
	fx_free(&f);
}

/* RegularExpression path, header and query matches are routed: each pattern is
 * stored once in the image, and the route is fully Accepted. */
static void test_regex_rules_are_routed(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_HEAD("gw", "default")
		"  - {name: http, port: 80, protocol: HTTP}\n"
		ROUTE_HEAD("re", "default")
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - matches: [{path: {type: RegularExpression, value: '/re/[0-9]+'}}]\n"
		"  - matches: [{headers: [{type: RegularExpression, name: X-Id, value: '[a-f]{4}'}]}]\n"
		"  - matches: [{queryParams: [{type: RegularExpression, name: q, value: 'v[0-9]'}]},\n"
		"              {path: {type: RegularExpression, value: '/re/[0-9]+'}, method: POST}]\n");
	const struct gw_httproute *r = f.m.httproutes[0];
	assert_cond(&r->parents[0].conditions, "Accepted", "True", "Accepted");
	assert_null(find_cond(&r->parents[0].conditions, "PartiallyInvalid"));
	/* Three distinct patterns: "/re/[0-9]+" is shared by two matches. */
	assert_int_equal(f.img->patterns.count, 3);
	assert_int_equal(regex_set_count(f.rx), 3);
	static const struct fx_case cases[] = {
		{"a", NULL, "/re/42", {NULL}, "default/re#0"},
		{"a", "POST", "/re/42", {NULL}, "default/re#2"},
		{"a", NULL, "/re/42/x", {NULL}, "404"},     /* the whole path must match */
		{"a", NULL, "/x/re/42", {NULL}, "404"},
		/* a PathPrefix (here the default "/") outranks any regular expression */
		{"a", NULL, "/re/4?q=v1", {NULL}, "default/re#2"},
		{"a", NULL, "/re/4?q=x", {NULL}, "default/re#0"},
		{"a", NULL, "/other?q=v1", {NULL}, "default/re#2"},
		{"a", NULL, "/other?q=v12", {NULL}, "404"},
		{"a", NULL, "/other", {"x-id: beef", NULL}, "default/re#1"},
		{"a", NULL, "/other", {"X-ID: beefy", NULL}, "404"},
	};
	FX_RUN(&f, 80, cases);
	fx_free(&f);
}

static void test_status_json_shape(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_HEAD("gw", "default")
		"  - {name: http, port: 80, protocol: HTTP}\n"
		ROUTE_HEAD("web", "default")
		"  parentRefs: [{name: gw, sectionName: http, port: 80}]\n");
	const char *want =
		"[{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"GatewayClass\",\"name\":\"gatewayd\","
		"\"source\":\"class.yaml:1\",\"status\":{\"conditions\":[{\"type\":\"Accepted\",\"status\":\"True\","
		"\"reason\":\"Accepted\",\"message\":\"Valid GatewayClass\",\"observedGeneration\":1}]}},"
		"{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\",\"namespace\":\"default\","
		"\"name\":\"gw\",\"source\":\"routes.yaml:1\",\"status\":{\"conditions\":["
		"{\"type\":\"Accepted\",\"status\":\"True\",\"reason\":\"Accepted\",\"message\":\"Gateway is accepted\",\"observedGeneration\":1},"
		"{\"type\":\"Programmed\",\"status\":\"True\",\"reason\":\"Programmed\",\"message\":\"Gateway is programmed\",\"observedGeneration\":1}],"
		"\"listeners\":[{\"name\":\"http\",\"supportedKinds\":[{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"HTTPRoute\"}],"
		"\"attachedRoutes\":1,\"conditions\":["
		"{\"type\":\"Accepted\",\"status\":\"True\",\"reason\":\"Accepted\",\"message\":\"Listener is accepted\",\"observedGeneration\":1},"
		"{\"type\":\"Programmed\",\"status\":\"True\",\"reason\":\"Programmed\",\"message\":\"Listener is programmed\",\"observedGeneration\":1},"
		"{\"type\":\"ResolvedRefs\",\"status\":\"True\",\"reason\":\"ResolvedRefs\",\"message\":\"Listener references are resolved\",\"observedGeneration\":1}]}],"
		"\"attachedListenerSets\":0}},"
		"{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\",\"namespace\":\"default\","
		"\"name\":\"web\",\"source\":\"routes.yaml:9\",\"status\":{\"parents\":[{\"parentRef\":"
		"{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"Gateway\",\"namespace\":\"default\",\"name\":\"gw\","
		"\"sectionName\":\"http\",\"port\":80},\"controllerName\":\"gatewayd.io/gateway-controller\",\"conditions\":["
		"{\"type\":\"Accepted\",\"status\":\"True\",\"reason\":\"Accepted\",\"message\":\"Route is accepted\",\"observedGeneration\":1},"
		"{\"type\":\"ResolvedRefs\",\"status\":\"True\",\"reason\":\"ResolvedRefs\",\"message\":\"Resolved all the Object references for the Route\",\"observedGeneration\":1}]}]}}]";
	assert_string_equal(f.status.data, want);
	/* The image carries the same text and the digest. */
	assert_string_equal(img_str_ptr(f.img, f.img->status_json), want);
	assert_string_equal(img_str_ptr(f.img, f.img->source_digest), "digest");
	fx_free(&f);
}

static void test_any_address_gateway_binds_ipv4_and_ipv6(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_HEAD("any", "default")
		"  - {name: http, port: 8080, protocol: HTTP, hostname: any.example.com}\n"
		"---\n"
		GW_HEAD("local", "default")
		"  - {name: http, port: 8080, protocol: HTTP, hostname: local.example.com}\n"
		"  addresses: [{value: 127.0.0.1}]\n");
	assert_int_equal(f.img->binds.count, 3);
	const struct img_bind *b = IMG_ARRAY(f.img, f.img->binds, struct img_bind);
	static const uint8_t zero[16];
	/* Sorted by port, family, address: 0.0.0.0, 127.0.0.1, [::]. */
	assert_int_equal(b[0].family, AF_INET);
	assert_memory_equal(b[0].addr, zero, 16);
	assert_int_equal(b[0].listeners.count, 1);
	assert_int_equal(b[1].family, AF_INET);
	assert_int_equal(b[1].addr[0], 127);
	/* 127.0.0.1:8080 takes every connection to that address: it carries the
	 * any-address Gateway's listener too. */
	assert_int_equal(b[1].listeners.count, 2);
	assert_int_equal(b[2].family, AF_INET6);
	assert_memory_equal(b[2].addr, zero, 16);
	assert_int_equal(b[2].port, 8080);
	const struct img_listener *l = router_select_listener(f.img, &b[1], "any.example.com", 15);
	assert_non_null(l);
	assert_string_equal(img_str_ptr(f.img, l->gateway), "default/any");
	assert_null(router_select_listener(f.img, &b[0], "local.example.com", 17));
	fx_free(&f);
}

static const char determinism_yaml[] =
	GW_HEAD("gw", "default")
	"  - {name: a, port: 80, protocol: HTTP, hostname: '*.example.com'}\n"
	"  - {name: b, port: 80, protocol: HTTP}\n"
	ROUTE_HEAD("r1", "default")
	"  parentRefs: [{name: gw}]\n"
	"  hostnames: [x.example.com, '*.example.com', other.org]\n"
	"  rules:\n"
	"  - matches: [{path: {type: Exact, value: /x}, headers: [{name: A, value: '1'}, {name: a, value: '2'}]}]\n"
	"  - matches: [{path: {value: /y/}, method: GET}]\n"
	ROUTE_HEAD("r2", "default")
	"  parentRefs: [{name: gw, sectionName: b}]\n";

/* determinism_yaml plus a query param on r1's second rule, set on the model. */
static void build_sample(struct fx *f)
{
	fx_load(f, determinism_yaml);
	struct gw_http_match *m = &f->m.httproutes[0]->rules[1].matches[0];
	m->query_params = arena_alloc(&f->a, sizeof *m->query_params);
	m->query_params[0].name = "q";
	m->query_params[0].value = "v";
	m->nquery_params = 1;
	fx_finish(f);
}

static void test_compile_is_deterministic(void **state)
{
	(void)state;
	struct fx f1, f2;
	build_sample(&f1);
	build_sample(&f2);
	assert_int_equal(f1.image.len, f2.image.len);
	assert_memory_equal(f1.image.data, f2.image.data, f1.image.len);
	/* Images are padded to at least a page so that LMDB keeps them page-aligned. */
	size_t page = sysconf(_SC_PAGESIZE) > 4096 ? (size_t)sysconf(_SC_PAGESIZE) : 4096;
	assert_true(f1.image.len >= page);
	assert_int_equal(f1.img->size, f1.image.len);
	/* A repeated header name counts once (the first); names are lowercase;
	 * PathPrefix "/y/" is stored as "/y". */
	const struct img_listener *ls = IMG_ARRAY(f1.img, f1.img->listeners, struct img_listener);
	const struct img_match *lm = IMG_ARRAY(f1.img, ls[0].matches, struct img_match);
	/* Listener a: hostnames x.example.com and *.example.com, 2 matches each. */
	assert_int_equal(ls[0].matches.count, 4);
	assert_int_equal(lm[0].host_kind, IMG_HOST_EXACT);
	assert_string_equal(img_str_ptr(f1.img, lm[0].host), "x.example.com");
	assert_int_equal(lm[0].path_kind, IMG_PATH_EXACT);
	assert_int_equal(lm[0].headers.count, 1);
	const struct img_header_match *hm = IMG_ARRAY(f1.img, lm[0].headers, struct img_header_match);
	assert_string_equal(img_str_ptr(f1.img, hm[0].name), "a");
	assert_string_equal(img_str_ptr(f1.img, hm[0].value), "1");
	assert_string_equal(img_str_ptr(f1.img, lm[1].path), "/y");
	assert_int_equal(lm[1].method, IMG_METHOD_GET);
	assert_int_equal(lm[1].query_params.count, 1);
	assert_int_equal(lm[2].host_kind, IMG_HOST_WILDCARD);
	fx_free(&f1);
	fx_free(&f2);
}

/* ---- img_check ---- */

static void *aligned_copy(const void *data, size_t len)
{
	void *p = NULL;
	assert_int_equal(posix_memalign(&p, 16, len ? len : 1), 0);
	memcpy(p, data, len);
	return p;
}

static void test_img_check_rejects_every_truncation(void **state)
{
	(void)state;
	struct fx f;
	build_sample(&f);
	for (size_t len = 0; len < f.image.len; len++) {
		void *p = aligned_copy(f.image.data, len);
		assert_int_equal(img_check(p, len), -1);
		free(p);
	}
	fx_free(&f);
}

/* Every single-byte change is either rejected or still a well-formed image; under
 * ASan this also proves img_check never reads out of bounds. */
static void test_img_check_survives_single_byte_corruption(void **state)
{
	(void)state;
	struct fx f;
	build_sample(&f);
	uint8_t *p = aligned_copy(f.image.data, f.image.len);
	/* The header and records: the string area is free text. */
	size_t end = ((const struct img_header *)f.image.data)->strings.off;
	static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
	size_t rejected = 0;
	for (size_t i = 0; i < end; i++) {
		uint8_t saved = p[i];
		for (size_t v = 0; v < sizeof values; v++) {
			p[i] = values[v];
			rejected += img_check(p, f.image.len) != 0;
		}
		p[i] = (uint8_t)(saved ^ 0x55);
		rejected += img_check(p, f.image.len) != 0;
		p[i] = saved;
	}
	assert_true(rejected > 0);
	assert_int_equal(img_check(p, f.image.len), 0);
	free(p);
	fx_free(&f);
}

/* Several bytes at once, from a fixed-seed generator: accepted images must also be
 * safe to route through (ASan watches the reads). */
static void test_img_check_survives_random_corruption(void **state)
{
	(void)state;
	struct fx f;
	build_sample(&f);
	uint8_t *p = aligned_copy(f.image.data, f.image.len);
	size_t end = ((const struct img_header *)f.image.data)->strings.off;
	uint32_t seed = 12345;
	for (int round = 0; round < 20000; round++) {
		memcpy(p, f.image.data, f.image.len);
		for (int k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % end;
			seed = seed * 1103515245u + 12345u;
			p[at] = (uint8_t)(seed >> 16);
		}
		if (img_check(p, f.image.len) != 0)
			continue;
		const struct img_header *h = (const struct img_header *)p;
		const struct img_bind *b = IMG_ARRAY(h, h->binds, struct img_bind);
		struct router_request rq = {
			.host = "x.example.com", .host_len = 13, .path = "/y", .path_len = 2,
			.query = "q=v", .query_len = 3, .method = IMG_METHOD_GET,
		};
		for (uint32_t i = 0; i < h->binds.count; i++) {
			const struct img_listener *l = router_select_listener(h, &b[i], rq.host, rq.host_len);
			const struct img_rule *r = l ? router_match(h, l, &rq) : NULL;
			if (r)
				(void)router_pick_backend(h, r, seed);
		}
	}
	free(p);
	fx_free(&f);
}

static void test_img_check_rejects_bad_fields(void **state)
{
	(void)state;
	struct fx f;
	build_sample(&f);
	uint8_t *p = aligned_copy(f.image.data, f.image.len);
	struct img_header *h = (struct img_header *)p;

#define EXPECT_REJECTED(mutation) do { \
	memcpy(p, f.image.data, f.image.len); \
	mutation; \
	assert_int_equal(img_check(p, f.image.len), -1); \
} while (0)
	EXPECT_REJECTED(h->magic ^= 1);
	EXPECT_REJECTED(h->version = 1);
	EXPECT_REJECTED(h->size = (uint32_t)f.image.len + 1);
	EXPECT_REJECTED(h->rules.count += 1000);
	EXPECT_REJECTED(h->matches.off += 1);
	EXPECT_REJECTED(h->strings.count = h->size - h->strings.off + 1);
	EXPECT_REJECTED(h->status_json.len += 1);
	EXPECT_REJECTED(((struct img_match *)(p + h->matches.off))[0].rule = h->rules.count);
	EXPECT_REJECTED(((struct img_match *)(p + h->matches.off))[0].path_kind = 3);
	/* A regex path needs a pattern, and only a regex path may name one. */
	EXPECT_REJECTED(((struct img_match *)(p + h->matches.off))[0].path_kind = IMG_PATH_REGEX);
	EXPECT_REJECTED(((struct img_match *)(p + h->matches.off))[0].path_regex = 0);
	EXPECT_REJECTED(((struct img_header_match *)(p + h->header_matches.off))[0].value_kind = 2);
	EXPECT_REJECTED(((struct img_header_match *)(p + h->header_matches.off))[0].value_kind = IMG_VALUE_REGEX);
	EXPECT_REJECTED(h->patterns.count += 1000);
	EXPECT_REJECTED(((struct img_match *)(p + h->matches.off))[0].headers.count = 100);
	EXPECT_REJECTED(((struct img_match *)(p + h->matches.off))[0].headers.off -= 4);
	EXPECT_REJECTED(((struct img_listener *)(p + h->listeners.off))[0].host_kind = 3);
	EXPECT_REJECTED(((uint32_t *)(p + h->listener_index.off))[0] = h->listeners.count);
	EXPECT_REJECTED(((struct img_bind *)(p + h->binds.off))[0].family = 0);
	EXPECT_REJECTED(((struct img_rule *)(p + h->rules.off))[0].total_weight += 1);
	/* Host groups (the router's index): inside the array, a range inside the
	 * listener's matches, a known kind. */
	assert_true(h->host_groups.count > 0);
	EXPECT_REJECTED(h->host_groups.count += 1000);
	EXPECT_REJECTED(((struct img_listener *)(p + h->listeners.off))[0].host_groups.count += 1000);
	EXPECT_REJECTED(((struct img_host_group *)(p + h->host_groups.off))[0].count += 1000);
	EXPECT_REJECTED(((struct img_host_group *)(p + h->host_groups.off))[0].first = UINT32_MAX);
	EXPECT_REJECTED(((struct img_host_group *)(p + h->host_groups.off))[0].kind = 3);
	/* A string whose NUL is missing. */
	EXPECT_REJECTED(p[h->strings.off + h->source_digest.off + h->source_digest.len] = 'x');
#undef EXPECT_REJECTED
	memcpy(p, f.image.data, f.image.len);
	assert_int_equal(img_check(p, f.image.len), 0);
	/* Records are read in place: a misaligned image is refused. */
	uint8_t *q = malloc(f.image.len + 1);
	assert_non_null(q);
	memcpy(q + 1, f.image.data, f.image.len);
	assert_int_equal(img_check(q + 1, f.image.len), -1);
	free(q);
	assert_int_equal(img_check(NULL, 0), -1);
	free(p);
	fx_free(&f);
}

/* ---- pipeline ---- */

static char *make_temp_dir(void)
{
	char *dir = strdup("/tmp/gwtest-pipeline-XXXXXX");
	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void remove_file(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
}

static void test_pipeline_builds_a_directory(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	write_file(dir, "a-class.yaml", fx_class_yaml);
	write_file(dir, "b-gw.yaml", GW_HEAD("gw", "default") "  - {name: http, port: 80, protocol: HTTP}\n");
	struct pipeline_result res;
	assert_true(pipeline_build(dir, FX_CONTROLLER, NULL, true, &res));
	assert_true(res.ok);
	assert_int_equal(res.diags.errors, 0);
	assert_int_equal(img_check(res.image.data, res.image.len), 0);
	/* sha256("a-class.yaml\0" + file + "b-gw.yaml\0" + file), by Python's hashlib. */
	assert_string_equal(res.digest, "3851ac5cecffbfe48b1f25f66c32b4e88645fe02bb0dadaadab4783cada28103");
	const struct img_header *h = (const struct img_header *)res.image.data;
	assert_string_equal(img_str_ptr(h, h->source_digest), res.digest);
	assert_non_null(strstr(res.status_json.data, "\"source\":\""));
	pipeline_result_fini(&res);

	/* An error anywhere: nothing to apply. */
	write_file(dir, "c-bad.yaml", "kind: [unterminated\n");
	assert_false(pipeline_build(dir, FX_CONTROLLER, NULL, true, &res));
	assert_false(res.ok);
	assert_true(res.diags.errors > 0);
	assert_int_equal(res.image.len, 0);
	pipeline_result_fini(&res);

	remove_file(dir, "a-class.yaml");
	remove_file(dir, "b-gw.yaml");
	remove_file(dir, "c-bad.yaml");
	rmdir(dir);
	free(dir);
}

/* Without metadata.generation, observedGeneration counts content changes that were
 * applied (committed to the store). */
static void test_pipeline_counts_generations_with_a_store(void **state)
{
	(void)state;
	char *dir = make_temp_dir();
	char *state_dir = make_temp_dir();
	char err[256];
	struct store *st = NULL;
	assert_int_equal(store_open(&st, state_dir, 0, err, sizeof err), 0);
	write_file(dir, "a-class.yaml", fx_class_yaml);
	write_file(dir, "b-gw.yaml", GW_HEAD("gw", "default") "  - {name: http, port: 80, protocol: HTTP}\n");

	struct pipeline_result res;
	uint64_t gen = 0;
	assert_true(pipeline_build(dir, FX_CONTROLLER, st, false, &res));
	assert_non_null(strstr(res.status_json.data, "\"message\":\"Gateway is accepted\",\"observedGeneration\":1}"));
	assert_int_equal(store_commit(st, res.image.data, res.image.len, res.digest, 5, &gen, err, sizeof err), 0);
	pipeline_result_fini(&res);

	write_file(dir, "b-gw.yaml", GW_HEAD("gw", "default") "  - {name: http, port: 81, protocol: HTTP}\n");
	assert_true(pipeline_build(dir, FX_CONTROLLER, st, true, &res));
	assert_non_null(strstr(res.status_json.data, "\"message\":\"Gateway is accepted\",\"observedGeneration\":2}"));
	/* The class did not change. */
	assert_non_null(strstr(res.status_json.data, "\"message\":\"Valid GatewayClass\",\"observedGeneration\":1}"));
	pipeline_result_fini(&res);

	store_close(st);
	remove_file(dir, "a-class.yaml");
	remove_file(dir, "b-gw.yaml");
	rmdir(dir);
	free(dir);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", state_dir);
	assert_int_equal(system(cmd), 0);
	free(state_dir);
}


#define SVC_YAML \
	"---\n" \
	"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n" \
	"spec:\n" \
	"  ports:\n" \
	"  - {name: http, port: 8080, targetPort: 3000}\n" \
	"  - {name: alt, port: 8081, targetPort: 3001}\n" \
	"  - {name: h2c, port: 8082, targetPort: 3000, appProtocol: kubernetes.io/h2c}\n" \
	"  - {name: none, port: 8083, targetPort: 3009}\n" \
	"  - {name: wss, port: 8084, targetPort: 3000, appProtocol: kubernetes.io/wss}\n" \
	"---\n" \
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n" \
	"metadata: {name: web-a, namespace: default, labels: {kubernetes.io/service-name: web}}\n" \
	"addressType: IPv4\n" \
	"ports: [{name: http, port: 3000}, {name: alt, port: 3001}]\n" \
	"endpoints:\n" \
	"- addresses: [10.0.0.1]\n" \
	"- addresses: [10.0.0.2]\n" \
	"  conditions: {ready: false}\n" \
	"---\n" \
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n" \
	"metadata: {name: web-b, namespace: default, labels: {kubernetes.io/service-name: web}}\n" \
	"addressType: IPv6\n" \
	"ports: [{name: http, port: 3000}]\n" \
	"endpoints: [{addresses: ['::1']}]\n"

static const struct img_backend *img_backend_named(const struct fx *f, const char *name)
{
	const struct img_backend *b = IMG_ARRAY(f->img, f->img->backends, struct img_backend);
	for (uint32_t i = 0; i < f->img->backends.count; i++)
		if (!strcmp(img_str_ptr(f->img, b[i].name), name))
			return &b[i];
	return NULL;
}

/* Service port -> its name -> the EndpointSlice port of that name; every ready address
 * of every slice of the Service is an endpoint (IPv4 and IPv6). */
static void test_service_backend_from_endpointslices(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_HEAD("gw", "default")
		"  - {name: http, port: 80, protocol: HTTP}\n"
		ROUTE_HEAD("r", "default")
		"  parentRefs: [{name: gw}]\n"
		"  rules:\n"
		"  - matches: [{path: {value: /a}}]\n"
		"    backendRefs: [{name: web, port: 8080}]\n"
		"  - matches: [{path: {value: /b}}]\n"
		"    backendRefs: [{name: web, port: 8081}, {name: web, port: 8080}]\n"
		"  - matches: [{path: {value: /c}}]\n"
		"    backendRefs: [{name: web, port: 8083}]\n"
		SVC_YAML);
	const struct gw_httproute *r = f.m.httproutes[0];
	assert_cond(&r->parents[0].conditions, "ResolvedRefs", "True", "ResolvedRefs");
	/* one backend per Service port, shared by the refs that name it */
	assert_int_equal(f.m.nservice_backends, 3);
	const struct img_backend *b = img_backend_named(&f, "Service/default/web:8080");
	assert_non_null(b);
	assert_int_equal(b->endpoints.count, 2);
	const struct img_endpoint *ep = IMG_ARRAY(f.img, b->endpoints, struct img_endpoint);
	assert_int_equal(ep[0].family, AF_INET);
	assert_int_equal(ep[0].port, 3000);
	assert_int_equal(ep[0].addr[3], 1);
	assert_int_equal(ep[1].family, AF_INET6);
	assert_int_equal(ep[1].addr[15], 1);
	b = img_backend_named(&f, "Service/default/web:8081");
	assert_int_equal(b->endpoints.count, 1);
	assert_int_equal(IMG_ARRAY(f.img, b->endpoints, struct img_endpoint)[0].port, 3001);
	/* no slice port for "none": a backend without endpoints (the runtime answers 503) */
	b = img_backend_named(&f, "Service/default/web:8083");
	assert_non_null(b);
	assert_int_equal(b->endpoints.count, 0);
	assert_true(fx_has_diag(&f, "EndpointSlice default/web-a: no port for Service \"web\" port 8083"));
	fx_free(&f);
}

static void test_service_ref_failures(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_HEAD("gw", "default")
		"  - {name: http, port: 80, protocol: HTTP}\n"
		ROUTE_HEAD("h2c", "default")
		"  parentRefs: [{name: gw}]\n"
		"  rules: [{backendRefs: [{name: web, port: 8082}]}]\n"
		ROUTE_HEAD("noport", "default")
		"  parentRefs: [{name: gw}]\n"
		"  rules: [{backendRefs: [{name: web, port: 9999}]}]\n"
		ROUTE_HEAD("wss", "default")
		"  parentRefs: [{name: gw}]\n"
		"  rules: [{backendRefs: [{name: web, port: 8084}]}]\n"
		SVC_YAML);
	/* GEP-1911 kubernetes.io/h2c: spoken to in HTTP/2 with prior knowledge */
	assert_cond(&f.m.httproutes[0]->parents[0].conditions, "ResolvedRefs", "True", "ResolvedRefs");
	assert_int_equal(f.m.httproutes[0]->rules[0].backend_refs[0].resolved->app_protocol, GW_APP_H2C);
	assert_int_equal(img_backend_named(&f, "Service/default/web:8082")->app_protocol, IMG_APP_H2C);
	assert_cond(&f.m.httproutes[1]->parents[0].conditions, "ResolvedRefs", "False", "BackendNotFound");
	assert_cond(&f.m.httproutes[2]->parents[0].conditions, "ResolvedRefs", "False", "UnsupportedProtocol");
	assert_cond(&f.m.httproutes[2]->parents[0].conditions, "Accepted", "True", "Accepted");
	fx_free(&f);
}

/* HTTPRouteReferenceGrant / HTTPRouteInvalidReferenceGrant: one good grant, and the
 * seven near misses of the conformance test, each of which must be ignored. */
static void test_reference_grants(void **state)
{
	(void)state;
	static const char *const near_misses[] = {
		/* wrong namespace (the grant must live with the target) */
		"metadata: {name: g, namespace: infra}\nspec:\n"
		"  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]\n"
		"  to: [{group: '', kind: Service}]\n",
		"metadata: {name: g, namespace: web}\nspec:\n"
		"  from: [{group: not-the-group.example.com, kind: HTTPRoute, namespace: infra}]\n"
		"  to: [{group: '', kind: Service}]\n",
		"metadata: {name: g, namespace: web}\nspec:\n"
		"  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}]\n"
		"  to: [{group: '', kind: Service}]\n",
		"metadata: {name: g, namespace: web}\nspec:\n"
		"  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: other}]\n"
		"  to: [{group: '', kind: Service}]\n",
		"metadata: {name: g, namespace: web}\nspec:\n"
		"  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]\n"
		"  to: [{group: not-the-group.example.com, kind: Service}]\n",
		"metadata: {name: g, namespace: web}\nspec:\n"
		"  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]\n"
		"  to: [{group: '', kind: Secret}]\n",
		"metadata: {name: g, namespace: web}\nspec:\n"
		"  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]\n"
		"  to: [{group: '', kind: Service, name: not-web}]\n",
		/* and the one that works */
		"metadata: {name: g, namespace: web}\nspec:\n"
		"  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]\n"
		"  to: [{group: '', kind: Service, name: web}]\n",
	};
	for (size_t i = 0; i < sizeof near_misses / sizeof near_misses[0]; i++) {
		char yaml[4096];
		snprintf(yaml, sizeof yaml, "%s%s%s%s%s", GW_HEAD("gw", "infra")
			 "  - {name: http, port: 80, protocol: HTTP}\n",
			 ROUTE_HEAD("r", "infra")
			 "  parentRefs: [{name: gw}]\n"
			 "  rules: [{backendRefs: [{name: web, namespace: web, port: 8080}]}]\n"
			 "---\n"
			 "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: web}\n"
			 "spec: {ports: [{port: 8080}]}\n",
			 "---\napiVersion: gateway.networking.k8s.io/v1\nkind: ReferenceGrant\n",
			 near_misses[i], "");
		struct fx f;
		fx_build(&f, yaml);
		const struct gw_conditions *cs = &f.m.httproutes[0]->parents[0].conditions;
		if (i + 1 < sizeof near_misses / sizeof near_misses[0]) {
			assert_cond(cs, "ResolvedRefs", "False", "RefNotPermitted");
			assert_null(f.m.httproutes[0]->rules[0].backend_refs[0].resolved);
		} else {
			assert_cond(cs, "ResolvedRefs", "True", "ResolvedRefs");
			assert_non_null(f.m.httproutes[0]->rules[0].backend_refs[0].resolved);
		}
		assert_cond(cs, "Accepted", "True", "Accepted");
		fx_free(&f);
	}
}

#define LS_HEAD(name, ns) \
	"---\n" \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: ListenerSet\n" \
	"metadata: {name: " name ", namespace: " ns "}\n" \
	"spec:\n"

/* §2.5: allowedListeners defaults to None; Same lets the Gateway's namespace in. */
static void test_listenerset_attachment(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_HEAD("closed", "infra")
		"  - {name: http, port: 80, protocol: HTTP}\n"
		"---\n"
		"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: open, namespace: infra}\n"
		"spec:\n"
		"  gatewayClassName: gatewayd\n"
		"  allowedListeners: {namespaces: {from: Same}}\n"
		"  listeners: [{name: http, port: 81, protocol: HTTP, hostname: a.example.com}]\n"
		LS_HEAD("denied", "infra")
		"  parentRef: {name: closed}\n"
		"  listeners: [{name: extra, port: 82, protocol: HTTP}]\n"
		LS_HEAD("other-ns", "web")
		"  parentRef: {name: open, namespace: infra}\n"
		"  listeners: [{name: extra, port: 83, protocol: HTTP}]\n"
		LS_HEAD("ok", "infra")
		"  parentRef: {name: open}\n"
		"  listeners:\n"
		"  - {name: extra, port: 84, protocol: HTTP}\n"
		"  - {name: same-as-gw, port: 81, protocol: HTTP, hostname: a.example.com}\n"
		ROUTE_HEAD("via-set", "infra")
		"  parentRefs: [{kind: ListenerSet, name: ok, sectionName: extra}]\n"
		"  rules: [{matches: [{path: {value: /set}}]}]\n"
		ROUTE_HEAD("gw-section", "infra")
		"  parentRefs: [{name: open, sectionName: extra}]\n"
		ROUTE_HEAD("via-denied", "infra")
		"  parentRefs: [{kind: ListenerSet, name: denied}]\n");
	const struct gw_listenerset *denied = f.m.listenersets[0], *other = f.m.listenersets[1],
				    *ok = f.m.listenersets[2];
	assert_cond(&denied->conditions, "Accepted", "False", "NotAllowed");
	assert_cond(&other->conditions, "Accepted", "False", "NotAllowed");
	assert_null(denied->gateway);
	/* ListenersNotValid: its second listener conflicts with the Gateway's own, which wins */
	assert_cond(&ok->conditions, "Accepted", "True", "ListenersNotValid");
	assert_cond(&ok->conditions, "Programmed", "True", "Programmed");
	assert_cond(&ok->listeners[0].status.conditions, "Accepted", "True", "Accepted");
	assert_cond(&ok->listeners[1].status.conditions, "Conflicted", "True", "HostnameConflict");
	assert_cond(&f.m.gateways[1]->listeners[0].status.conditions, "Accepted", "True", "Accepted");
	assert_null(find_cond(&f.m.gateways[1]->listeners[0].status.conditions, "Conflicted"));
	assert_int_equal(f.m.gateways[1]->attached_listener_sets, 1);
	assert_int_equal(f.m.gateways[0]->attached_listener_sets, 0);
	/* routes: through the set; a Gateway parentRef cannot name a set's listener */
	assert_cond(&f.m.httproutes[0]->parents[0].conditions, "Accepted", "True", "Accepted");
	assert_int_equal(ok->listeners[0].status.attached_routes, 1);
	assert_cond(&f.m.httproutes[1]->parents[0].conditions, "Accepted", "False", "NoMatchingParent");
	assert_cond(&f.m.httproutes[2]->parents[0].conditions, "Accepted", "False", "NoMatchingParent");
	assert_string_equal(fx_route(&f, 84, "x", "GET", "/set", NULL), "infra/via-set#0");
	assert_string_equal(fx_route(&f, 84, "x", "GET", "/", NULL), "404");
	assert_null(fx_bind(&f, AF_INET, 82));
	assert_null(fx_bind(&f, AF_INET, 83));
	assert_non_null(strstr(f.status.data, "\"attachedListenerSets\":1"));
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gatewayclass_accepted_when_ours),
		cmocka_unit_test(test_gatewayclass_with_parameters_is_not_accepted),
		cmocka_unit_test(test_gateway_with_parameters_is_not_accepted),
		cmocka_unit_test(test_route_no_matching_parent),
		cmocka_unit_test(test_route_not_allowed_by_listeners),
		cmocka_unit_test(test_allowed_routes_selector_uses_namespace_labels),
		cmocka_unit_test(test_hostname_conflict_across_gateways),
		cmocka_unit_test(test_unsupported_protocol_and_protocol_conflict),
		cmocka_unit_test(test_backend_ref_reasons),
		cmocka_unit_test(test_gateway_address_problems),
		cmocka_unit_test(test_missing_class_gets_pending_status),
		cmocka_unit_test(test_regex_rules_are_routed),
		cmocka_unit_test(test_service_backend_from_endpointslices),
		cmocka_unit_test(test_service_ref_failures),
		cmocka_unit_test(test_reference_grants),
		cmocka_unit_test(test_listenerset_attachment),
		cmocka_unit_test(test_status_json_shape),
		cmocka_unit_test(test_any_address_gateway_binds_ipv4_and_ipv6),
		cmocka_unit_test(test_compile_is_deterministic),
		cmocka_unit_test(test_img_check_rejects_every_truncation),
		cmocka_unit_test(test_img_check_survives_single_byte_corruption),
		cmocka_unit_test(test_img_check_survives_random_corruption),
		cmocka_unit_test(test_img_check_rejects_bad_fields),
		cmocka_unit_test(test_pipeline_builds_a_directory),
		cmocka_unit_test(test_pipeline_counts_generations_with_a_store),
	};
	return UNIT_RUN(tests);
}
