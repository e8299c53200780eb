/* SPDX-License-Identifier: MIT */
/* test_l4: layer-4 routes from YAML to image (TLSRoute hostnames as match hosts, bind
 * protocols, UDP and TCP binds apart, listener kinds and conflicts), and the
 * ClientHello reader on crafted records. */
#include "unit.h"

#include "compile_fixture.h"
#include "runtime/client_hello.h"

#define GW(listeners)                                                   \
	"apiVersion: gateway.networking.k8s.io/v1\n"                    \
	"kind: Gateway\n"                                               \
	"metadata: {name: gw, namespace: default}\n"                    \
	"spec:\n"                                                       \
	"  gatewayClassName: gatewayd\n"                                \
	"  addresses: [{type: IPAddress, value: 127.0.0.1}]\n"          \
	"  listeners:\n" listeners

#define BACKENDS                                                        \
	"---\napiVersion: gateway.envoyproxy.io/v1alpha1\nkind: Backend\n" \
	"metadata: {name: a}\nspec: {endpoints: [{ip: {address: 10.0.0.1, port: 443}}]}\n" \
	"---\napiVersion: gateway.envoyproxy.io/v1alpha1\nkind: Backend\n" \
	"metadata: {name: b}\nspec: {endpoints: [{ip: {address: 10.0.0.2, port: 443}}]}\n"

#define ROUTE(kind, name, section, extra)                               \
	"---\napiVersion: gateway.networking.k8s.io/v1\nkind: " kind "\n" \
	"metadata: {name: " name "}\n"                                  \
	"spec:\n"                                                       \
	"  parentRefs: [{name: gw, sectionName: " section "}]\n" extra

static const struct gw_condition *cond(const struct gw_conditions *c, const char *type)
{
	for (size_t i = 0; i < c->count; i++)
		if (!strcmp(c->items[i].type, type))
			return &c->items[i];
	return NULL;
}

static const struct gw_httproute *route(const struct fx *f, const char *kind, const char *name)
{
	for (size_t i = 0; i < f->m.nhttproutes; i++)
		if (!strcmp(f->m.httproutes[i]->meta.kind, kind) && !strcmp(f->m.httproutes[i]->meta.name, name))
			return f->m.httproutes[i];
	fail_msg("%s %s not found", kind, name);
	return NULL;
}

static void test_sni_routes_exact_before_wildcard_and_binds_carry_protocols(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW("  - {name: tls, port: 8443, protocol: TLS, tls: {mode: Passthrough}}\n"
			"  - {name: tcp, port: 9000, protocol: TCP}\n"
			"  - {name: udp, port: 9000, protocol: UDP}\n")
		     ROUTE("TLSRoute", "wild", "tls",
			   "  hostnames: [\"*.example.com\"]\n  rules: [{backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: b}]}]\n")
		     ROUTE("TLSRoute", "exact", "tls",
			   "  hostnames: [a.example.com]\n  rules: [{backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: a}]}]\n")
		     ROUTE("TCPRoute", "t1", "tcp",
			   "  rules: [{backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: a}]}]\n")
		     ROUTE("TCPRoute", "t2", "tcp",
			   "  rules: [{backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: b}]}]\n")
		     ROUTE("UDPRoute", "u", "udp",
			   "  rules: [{backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: b, weight: 3}]}]\n")
		     BACKENDS);
	const struct fx_case cases[] = {
		{ "a.example.com", NULL, "/", {NULL}, "default/exact#0" },
		{ "b.example.com", NULL, "/", {NULL}, "default/wild#0" },
		{ "x.a.example.com", NULL, "/", {NULL}, "default/wild#0" },
		{ "example.com", NULL, "/", {NULL}, "404" },
		{ "", NULL, "/", {NULL}, "404" },
	};
	FX_RUN(&f, 8443, cases);
	/* only the oldest TCPRoute carries traffic; both count */
	assert_string_equal(fx_route(&f, 9000, "", "GET", "/", NULL), "default/t1#0");
	assert_int_equal(f.m.gateways[0]->listeners[1].status.attached_routes, 2);
	assert_true(fx_has_diag(&f, "2 TCPRoutes attached: only the oldest carries traffic"));

	const struct img_bind *b = IMG_ARRAY(f.img, f.img->binds, struct img_bind);
	int tls = 0, tcp = 0, udp = 0;
	for (uint32_t i = 0; i < f.img->binds.count; i++) {
		tls += b[i].port == 8443 && b[i].protocol == IMG_PROTO_TLS;
		tcp += b[i].port == 9000 && b[i].protocol == IMG_PROTO_TCP;
		udp += b[i].port == 9000 && b[i].protocol == IMG_PROTO_UDP;
	}
	assert_int_equal(f.img->binds.count, 3);
	assert_int_equal(tls + tcp + udp, 3);
	const struct gw_listener_status *st = &f.m.gateways[0]->listeners[0].status;
	assert_int_equal(st->nsupported_kinds, 1);
	assert_string_equal(st->supported_kinds[0].kind, "TLSRoute");
	fx_free(&f);
}

static void test_kinds_on_other_listeners_are_not_allowed(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW("  - {name: http, port: 8080, protocol: HTTP}\n"
			"  - {name: tls, port: 8443, protocol: TLS, tls: {mode: Passthrough}}\n")
		     ROUTE("TCPRoute", "t", "http",
			   "  rules: [{backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: a}]}]\n")
		     ROUTE("TLSRoute", "x", "nosuch",
			   "  hostnames: [a.example.com]\n  rules: [{backendRefs: [{name: svc, port: 443}]}]\n")
		     ROUTE("UDPRoute", "u", "tls",
			   "  rules: [{backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: a}]}]\n")
		     BACKENDS);
	const struct gw_httproute *t = route(&f, "TCPRoute", "t");
	assert_string_equal(cond(&t->parents[0].conditions, "Accepted")->reason, "NotAllowedByListeners");
	const struct gw_httproute *x = route(&f, "TLSRoute", "x");
	assert_string_equal(cond(&x->parents[0].conditions, "Accepted")->reason, "NoMatchingParent");
	assert_string_equal(cond(&x->parents[0].conditions, "ResolvedRefs")->reason, "BackendNotFound");
	const struct gw_httproute *u = route(&f, "UDPRoute", "u");
	assert_string_equal(cond(&u->parents[0].conditions, "Accepted")->reason, "NotAllowedByListeners");
	assert_int_equal(f.m.gateways[0]->listeners[0].status.attached_routes, 0);
	fx_free(&f);
}

/* §2.10: the grant names the route's own kind. */
static void test_reference_grant_from_the_route_kind(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW("  - {name: tcp, port: 9000, protocol: TCP}\n"
			"  - {name: tcp2, port: 9001, protocol: TCP}\n")
		     ROUTE("TCPRoute", "ok", "tcp",
			   "  rules: [{backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: a, namespace: other}]}]\n")
		     "---\napiVersion: gateway.networking.k8s.io/v1\nkind: UDPRoute\nmetadata: {name: no}\n"
		     "spec:\n  parentRefs: [{name: gw}]\n"
		     "  rules: [{backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: a, namespace: other}]}]\n"
		     "---\napiVersion: gateway.envoyproxy.io/v1alpha1\nkind: Backend\n"
		     "metadata: {name: a, namespace: other}\nspec: {endpoints: [{ip: {address: 10.0.0.1, port: 1}}]}\n"
		     "---\napiVersion: gateway.networking.k8s.io/v1\nkind: ReferenceGrant\n"
		     "metadata: {name: g, namespace: other}\n"
		     "spec:\n  from: [{group: gateway.networking.k8s.io, kind: TCPRoute, namespace: default}]\n"
		     "  to: [{group: gateway.envoyproxy.io, kind: Backend}]\n");
	const struct gw_httproute *ok = route(&f, "TCPRoute", "ok");
	assert_string_equal(cond(&ok->parents[0].conditions, "ResolvedRefs")->status, "True");
	const struct gw_httproute *no = route(&f, "UDPRoute", "no");
	assert_string_equal(cond(&no->parents[0].conditions, "ResolvedRefs")->reason, "RefNotPermitted");
	assert_string_equal(cond(&no->parents[0].conditions, "Accepted")->reason, "NotAllowedByListeners");
	fx_free(&f);
}

static void test_terminate_tls_and_http_tls_port_sharing_are_refused(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW("  - {name: term, port: 8443, protocol: TLS, tls: {mode: Terminate, options: {example.com/a: b}}}\n"
			"  - {name: pass, port: 9443, protocol: TLS, hostname: a.example.com, tls: {mode: Passthrough}}\n"
			"  - {name: web, port: 9443, protocol: HTTP, hostname: b.example.com}\n"));
	const struct gw_listener *ls = f.m.gateways[0]->listeners;
	assert_string_equal(cond(&ls[0].status.conditions, "Accepted")->reason, "UnsupportedValue");
	assert_string_equal(cond(&ls[1].status.conditions, "Conflicted")->reason, "ProtocolConflict");
	assert_string_equal(cond(&ls[2].status.conditions, "Conflicted")->reason, "ProtocolConflict");
	assert_int_equal(f.img->binds.count, 0);
	fx_free(&f);
}

static void test_v1_shape_rules_are_errors(void **state)
{
	(void)state;
	struct arena a;
	struct diag_list dl;
	struct ydoc_set docs = {0};
	struct gw_model m;
	const char *yaml =
		"apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\nmetadata: {name: t}\n"
		"spec: {rules: [{backendRefs: [{name: s, port: 1}]}]}\n"
		"---\napiVersion: gateway.networking.k8s.io/v1\nkind: TCPRoute\nmetadata: {name: c}\n"
		"spec: {rules: [{backendRefs: [{name: s, port: 1}]}, {backendRefs: [{name: s, port: 2}]}]}\n"
		"---\napiVersion: gateway.networking.k8s.io/v1alpha2\nkind: UDPRoute\nmetadata: {name: u}\n"
		"spec: {rules: [{backendRefs: [{name: s, port: 1}]}, {backendRefs: [{name: s, port: 2, filters: []}]}]}\n";
	arena_init(&a);
	diag_list_init(&dl);
	assert_true(ydoc_load_buffer(&a, "t.yaml", yaml, strlen(yaml), &docs, &dl));
	assert_false(gwapi_decode(&a, &docs, &m, &dl));
	char line[1024];
	bool hostnames = false, one_rule = false, filters = false, deprecated = false;
	for (size_t i = 0; i < dl.count; i++) {
		diag_format(&dl.items[i], line, sizeof line);
		hostnames |= strstr(line, "TLSRoute default/t: spec.hostnames: missing required field") != NULL;
		one_rule |= strstr(line, "TCPRoute default/c: spec.rules: must have at most 1 item") != NULL;
		filters |= strstr(line, "unknown field \"filters\"") != NULL;
		deprecated |= strstr(line, "UDPRoute default/u: apiVersion: \"gateway.networking.k8s.io/v1alpha2\" is deprecated") != NULL;
	}
	assert_true(hostnames);
	assert_true(one_rule);
	assert_true(filters);
	assert_true(deprecated);
	diag_list_fini(&dl);
	arena_fini(&a);
}

/* A TLS 1.2 ClientHello with the given extensions block (ext bytes, ext_len). */
static size_t hello(uint8_t *out, const uint8_t *ext, size_t ext_len)
{
	uint8_t body[600];
	size_t n = 0;
	body[n++] = 3, body[n++] = 3;                /* legacy_version */
	memset(body + n, 7, 32), n += 32;            /* random */
	body[n++] = 0;                               /* session id */
	body[n++] = 0, body[n++] = 2, body[n++] = 0x13, body[n++] = 0x01; /* one suite */
	body[n++] = 1, body[n++] = 0;                /* compression: null */
	body[n++] = (uint8_t)(ext_len >> 8), body[n++] = (uint8_t)ext_len;
	memcpy(body + n, ext, ext_len), n += ext_len;
	size_t hs = n + 4;
	out[0] = 22, out[1] = 3, out[2] = 1, out[3] = (uint8_t)(hs >> 8), out[4] = (uint8_t)hs;
	out[5] = 1, out[6] = 0, out[7] = (uint8_t)(n >> 8), out[8] = (uint8_t)n;
	memcpy(out + 9, body, n);
	return 9 + n;
}

/* A server_name extension naming host. */
static size_t sni_ext(uint8_t *out, const char *host)
{
	size_t h = strlen(host);
	out[0] = 0, out[1] = 0;                           /* type server_name */
	out[2] = (uint8_t)((h + 5) >> 8), out[3] = (uint8_t)(h + 5);
	out[4] = (uint8_t)((h + 3) >> 8), out[5] = (uint8_t)(h + 3);
	out[6] = 0;                                       /* host_name */
	out[7] = (uint8_t)(h >> 8), out[8] = (uint8_t)h;
	memcpy(out + 9, host, h);
	return 9 + h;
}

static void test_client_hello_sni_on_every_prefix(void **state)
{
	(void)state;
	uint8_t ext[300], buf[700];
	char name[CH_SNI_MAX + 1];
	size_t len;
	size_t n = hello(buf, ext, sni_ext(ext, "Foo.Example.COM"));
	for (size_t k = 0; k < n; k++)
		assert_int_equal(client_hello_parse(buf, k, name, &len), CH_NEED_MORE);
	assert_int_equal(client_hello_parse(buf, n, name, &len), CH_SNI);
	assert_string_equal(name, "foo.example.com");
	assert_int_equal(len, 15);
	/* bytes after the ClientHello's record are the backend's */
	buf[n] = 23;
	assert_int_equal(client_hello_parse(buf, n + 1, name, &len), CH_SNI);
}

static void test_client_hello_refuses_bad_names_and_repeats(void **state)
{
	(void)state;
	uint8_t ext[300], buf[700];
	char name[CH_SNI_MAX + 1];
	size_t len;
	const char *bad[] = { "10.0.0.1", "a..b", "-a.b", "a_b.c", "a.b." };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = hello(buf, ext, sni_ext(ext, bad[i]));
		assert_int_equal(client_hello_parse(buf, n, name, &len), CH_INVALID);
		assert_int_equal(len, 0);
	}
	size_t e = sni_ext(ext, "a.example.com");
	e += sni_ext(ext + e, "b.example.com");  /* server_name twice */
	assert_int_equal(client_hello_parse(buf, hello(buf, ext, e), name, &len), CH_INVALID);
	/* no extensions at all: a well-formed hello without SNI */
	size_t n = hello(buf, ext, 0) - 2;
	buf[4] = (uint8_t)(buf[4] - 2), buf[8] = (uint8_t)(buf[8] - 2);
	assert_int_equal(client_hello_parse(buf, n, name, &len), CH_NO_SNI);
	/* not a handshake record */
	assert_int_equal(client_hello_parse((const uint8_t *)"GET / HTTP/1.1\r\n", 16, name, &len), CH_INVALID);
	/* a record longer than 2^14 */
	const uint8_t big[] = { 22, 3, 1, 0x40, 0x01 };
	assert_int_equal(client_hello_parse(big, sizeof big, name, &len), CH_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sni_routes_exact_before_wildcard_and_binds_carry_protocols),
		cmocka_unit_test(test_kinds_on_other_listeners_are_not_allowed),
		cmocka_unit_test(test_reference_grant_from_the_route_kind),
		cmocka_unit_test(test_terminate_tls_and_http_tls_port_sharing_are_refused),
		cmocka_unit_test(test_v1_shape_rules_are_errors),
		cmocka_unit_test(test_client_hello_sni_on_every_prefix),
		cmocka_unit_test(test_client_hello_refuses_bad_names_and_repeats),
	};
	return UNIT_RUN(tests);
}
