/* SPDX-License-Identifier: MIT */
/* test_decode: Gateway API YAML -> model: values and defaults of a valid set, then one
 * test per class of schema error, each asserting the exact diagnostic line. */
#include "config.h"

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "gwapi/gwapi.h"
#include "yaml/ydoc.h"

struct fixture {
	struct arena a;
	struct diag_list dl;
	struct ydoc_set set;
	struct gw_model m;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	arena_init(&f->a);
	diag_list_init(&f->dl);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	diag_list_fini(&f->dl);
	arena_fini(&f->a);
	free(f);
	return 0;
}

static bool decode(struct fixture *f, const char *yaml)
{
	assert_true(ydoc_load_buffer(&f->a, "t.yaml", yaml, strlen(yaml), &f->set, &f->dl));
	return gwapi_decode(&f->a, &f->set, &f->m, &f->dl);
}

static void assert_diag(const struct fixture *f, size_t i, const char *expected)
{
	char line[2048];
	if (i >= f->dl.count) {
		diag_print(&f->dl, stderr);
		fail_msg("diagnostic %zu missing (have %zu)", i, f->dl.count);
	}
	diag_format(&f->dl.items[i], line, sizeof line);
	if (strcmp(line, expected) != 0)
		diag_print(&f->dl, stderr);
	assert_string_equal(line, expected);
}

static void assert_ndiags(const struct fixture *f, size_t n)
{
	if (f->dl.count != n)
		diag_print(&f->dl, stderr);
	assert_int_equal(f->dl.count, n);
}

/* ---- a valid set ---- */

static const char valid_set[] =
	"apiVersion: gateway.networking.k8s.io/v1\n"          /* 1 */
	"kind: GatewayClass\n"
	"metadata:\n"
	"  name: gatewayd\n"
	"  annotations: {note: anything}\n"                    /* 5 */
	"spec:\n"
	"  controllerName: gatewayd.io/gateway-controller\n"
	"  description: the local one\n"
	"---\n"
	"apiVersion: gateway.networking.k8s.io/v1\n"          /* 10 */
	"kind: Gateway\n"
	"metadata:\n"
	"  name: edge\n"
	"  namespace: infra\n"
	"  labels:\n"                                          /* 15 */
	"    tier: front\n"
	"  generation: 4\n"
	"  creationTimestamp: 2024-05-01T12:00:00Z\n"
	"spec:\n"
	"  gatewayClassName: gatewayd\n"                       /* 20 */
	"  addresses:\n"
	"  - value: 127.0.0.1\n"
	"  listeners:\n"
	"  - name: http\n"
	"    port: 80\n"                                       /* 25 */
	"    protocol: HTTP\n"
	"    allowedRoutes:\n"
	"      namespaces:\n"
	"        from: Selector\n"
	"        selector:\n"                                  /* 30 */
	"          matchLabels:\n"
	"            shared: \"true\"\n"
	"          matchExpressions:\n"
	"          - key: env\n"
	"            operator: In\n"                           /* 35 */
	"            values: [prod, staging]\n"
	"  - name: https\n"
	"    hostname: \"*.example.com\"\n"
	"    port: 443\n"
	"    protocol: HTTPS\n"                                /* 40 */
	"    tls:\n"
	"      certificateRefs:\n"
	"      - name: wildcard\n"
	"    allowedRoutes:\n"
	"      kinds:\n"                                       /* 45 */
	"      - kind: HTTPRoute\n"
	"status:\n"
	"  conditions: []\n"
	"---\n"
	"apiVersion: gateway.networking.k8s.io/v1beta1\n"     /* 50 */
	"kind: HTTPRoute\n"
	"metadata:\n"
	"  name: shop\n"
	"spec:\n"
	"  parentRefs:\n"                                      /* 55 */
	"  - name: edge\n"
	"    namespace: infra\n"
	"    sectionName: http\n"
	"  - name: edge\n"
	"    namespace: infra\n"                               /* 60 */
	"    sectionName: https\n"
	"  hostnames: [shop.example.com]\n"
	"  rules:\n"
	"  - name: api\n"
	"    matches:\n"                                       /* 65 */
	"    - path: {type: Exact, value: /api/v1}\n"
	"      method: POST\n"
	"      headers:\n"
	"      - name: X-Version\n"
	"        value: \"2\"\n"                               /* 70 */
	"      - name: x-version\n"
	"        value: \"3\"\n"
	"    backendRefs:\n"
	"    - name: api\n"
	"      port: 8080\n"                                   /* 75 */
	"      weight: 3\n"
	"    - kind: Backend\n"
	"      group: gateway.envoyproxy.io\n"
	"      name: static\n"
	"  - backendRefs:\n"                                   /* 80 */
	"    - name: web\n"
	"      port: 80\n"
	"---\n"
	"apiVersion: gateway.networking.k8s.io/v1\n"
	"kind: HTTPRoute\n"                                    /* 85 */
	"metadata: {name: catchall}\n"
	"spec: {}\n"
	"---\n"
	"apiVersion: gateway.envoyproxy.io/v1alpha1\n"
	"kind: Backend\n"                                      /* 90 */
	"metadata:\n"
	"  name: static\n"
	"spec:\n"
	"  endpoints:\n"
	"  - ip: {address: 10.0.0.5, port: 8080}\n"            /* 95 */
	"  - ip: {address: \"::1\", port: 8081}\n"
	"  - unix: {path: /run/app.sock}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Namespace\n"                                    /* 100 */
	"metadata:\n"
	"  name: infra\n"
	"  labels: {shared: \"true\"}\n";

static void test_valid_set_decodes_with_defaults(void **state)
{
	struct fixture *f = *state;
	assert_true(decode(f, valid_set));
	assert_ndiags(f, 0);
	const struct gw_model *m = &f->m;
	assert_int_equal(m->ngatewayclasses, 1);
	assert_int_equal(m->ngateways, 1);
	assert_int_equal(m->nhttproutes, 2);
	assert_int_equal(m->nbackends, 1);
	assert_int_equal(m->nnamespaces, 1);
	assert_int_equal(m->nall, 6);
	for (size_t i = 0; i < m->nall; i++)
		assert_int_equal(m->all[i]->load_order, i);

	const struct gw_gatewayclass *gc = m->gatewayclasses[0];
	assert_string_equal(gc->meta.name, "gatewayd");
	assert_string_equal(gc->meta.ns, "");
	assert_string_equal(gc->controller_name, "gatewayd.io/gateway-controller");
	assert_string_equal(gc->description, "the local one");
	assert_false(gc->has_parameters_ref);
	assert_int_equal(gc->meta.pos.line, 1);
	assert_int_equal(gc->meta.generation, 0);

	const struct gw_gateway *gw = m->gateways[0];
	assert_string_equal(gw->meta.api_version, "gateway.networking.k8s.io/v1");
	assert_string_equal(gw->meta.kind, "Gateway");
	assert_string_equal(gw->meta.ns, "infra");
	assert_string_equal(gw->meta.name, "edge");
	assert_int_equal(gw->meta.nlabels, 1);
	assert_string_equal(gw->meta.labels[0].key, "tier");
	assert_string_equal(gw->meta.labels[0].value, "front");
	assert_int_equal(gw->meta.generation, 4);
	assert_string_equal(gw->meta.creation_timestamp, "2024-05-01T12:00:00Z");
	assert_int_equal(gw->meta.pos.line, 10);
	assert_int_equal(gw->meta.pos.col, 1);
	assert_string_equal(gw->meta.pos.file, "t.yaml");
	assert_string_equal(gw->gateway_class_name, "gatewayd");
	assert_int_equal(gw->naddresses, 1);
	assert_string_equal(gw->addresses[0].type, "IPAddress");
	assert_string_equal(gw->addresses[0].value, "127.0.0.1");
	assert_int_equal(gw->nlisteners, 2);
	const struct gw_listener *l0 = &gw->listeners[0], *l1 = &gw->listeners[1];
	assert_string_equal(l0->name, "http");
	assert_null(l0->hostname);
	assert_int_equal(l0->port, 80);
	assert_int_equal(l0->protocol, GW_PROTO_HTTP);
	assert_string_equal(l0->protocol_name, "HTTP");
	assert_false(l0->has_tls);
	assert_int_equal(l0->from, GW_FROM_SELECTOR);
	assert_int_equal(l0->selector.nmatch_labels, 1);
	assert_string_equal(l0->selector.match_labels[0].key, "shared");
	assert_string_equal(l0->selector.match_labels[0].value, "true");
	assert_int_equal(l0->selector.nmatch_expressions, 1);
	assert_string_equal(l0->selector.match_expressions[0].key, "env");
	assert_string_equal(l0->selector.match_expressions[0].op, "In");
	assert_int_equal(l0->selector.match_expressions[0].nvalues, 2);
	assert_string_equal(l0->selector.match_expressions[0].values[1], "staging");
	assert_int_equal(l0->nkinds, 0);
	assert_int_equal(l0->pos.line, 24);
	assert_int_equal(l0->pos.col, 5);
	assert_string_equal(l1->name, "https");
	assert_string_equal(l1->hostname, "*.example.com");
	assert_int_equal(l1->port, 443);
	assert_int_equal(l1->protocol, GW_PROTO_HTTPS);
	assert_true(l1->has_tls);
	assert_int_equal(l1->from, GW_FROM_SAME);
	assert_int_equal(l1->nkinds, 1);
	assert_string_equal(l1->kinds[0].group, GW_GROUP);
	assert_string_equal(l1->kinds[0].kind, "HTTPRoute");

	const struct gw_httproute *r = m->httproutes[0];
	assert_string_equal(r->meta.ns, "default");
	assert_string_equal(r->meta.name, "shop");
	assert_string_equal(r->meta.api_version, "gateway.networking.k8s.io/v1beta1");
	assert_int_equal(r->nparent_refs, 2);
	assert_string_equal(r->parent_refs[0].group, GW_GROUP);
	assert_string_equal(r->parent_refs[0].kind, "Gateway");
	assert_string_equal(r->parent_refs[0].ns, "infra");
	assert_string_equal(r->parent_refs[0].name, "edge");
	assert_string_equal(r->parent_refs[1].section_name, "https");
	assert_int_equal(r->parent_refs[1].port, 0);
	assert_int_equal(r->nhostnames, 1);
	assert_string_equal(r->hostnames[0], "shop.example.com");
	assert_int_equal(r->nrules, 2);
	const struct gw_http_rule *r0 = &r->rules[0], *r1 = &r->rules[1];
	assert_string_equal(r0->name, "api");
	assert_int_equal(r0->nmatches, 1);
	assert_int_equal(r0->matches[0].path_type, GW_PATH_EXACT);
	assert_string_equal(r0->matches[0].path, "/api/v1");
	assert_int_equal(r0->matches[0].method, GW_METHOD_POST);
	/* the repeated header name (other case) keeps only the first entry */
	assert_int_equal(r0->matches[0].nheaders, 1);
	assert_string_equal(r0->matches[0].headers[0].name, "X-Version");
	assert_string_equal(r0->matches[0].headers[0].value, "2");
	assert_int_equal(r0->matches[0].headers[0].type, GW_MATCH_EXACT);
	assert_int_equal(r0->nbackend_refs, 2);
	assert_string_equal(r0->backend_refs[0].group, "");
	assert_string_equal(r0->backend_refs[0].kind, "Service");
	assert_string_equal(r0->backend_refs[0].ns, "default");
	assert_string_equal(r0->backend_refs[0].name, "api");
	assert_int_equal(r0->backend_refs[0].port, 8080);
	assert_int_equal(r0->backend_refs[0].weight, 3);
	assert_string_equal(r0->backend_refs[1].group, GW_ENVOY_GROUP);
	assert_string_equal(r0->backend_refs[1].kind, "Backend");
	assert_int_equal(r0->backend_refs[1].port, 0);
	assert_int_equal(r0->backend_refs[1].weight, 1);
	assert_null(r0->backend_refs[1].resolved);
	assert_null(r1->name);
	assert_int_equal(r1->nmatches, 1);
	assert_int_equal(r1->matches[0].path_type, GW_PATH_PREFIX);
	assert_string_equal(r1->matches[0].path, "/");
	assert_int_equal(r1->matches[0].method, GW_METHOD_ANY);
	assert_int_equal(r1->pos.line, 80);

	const struct gw_httproute *all = m->httproutes[1];
	assert_int_equal(all->nparent_refs, 0);
	assert_int_equal(all->nrules, 1);
	assert_int_equal(all->rules[0].nmatches, 1);
	assert_int_equal(all->rules[0].matches[0].path_type, GW_PATH_PREFIX);
	assert_string_equal(all->rules[0].matches[0].path, "/");
	assert_int_equal(all->rules[0].nbackend_refs, 0);

	const struct gw_backend *be = m->backends[0];
	assert_int_equal(be->nendpoints, 3);
	assert_int_equal(be->endpoints[0].kind, GW_ENDPOINT_IP);
	assert_string_equal(be->endpoints[0].address, "10.0.0.5");
	assert_int_equal(be->endpoints[0].port, 8080);
	assert_string_equal(be->endpoints[1].address, "::1");
	assert_int_equal(be->endpoints[2].kind, GW_ENDPOINT_UNIX);
	assert_string_equal(be->endpoints[2].address, "/run/app.sock");
	assert_int_equal(be->endpoints[2].port, 0);

	const struct gw_namespace *ns = m->namespaces[0];
	assert_string_equal(ns->meta.name, "infra");
	assert_string_equal(ns->meta.ns, "");
	assert_int_equal(ns->meta.nlabels, 1);

	assert_string_equal(gw_method_names[GW_METHOD_PATCH], "PATCH");
	assert_string_equal(gw_method_names[GW_METHOD_ANY], "");
}

static uint64_t hash_of(const char *yaml)
{
	struct arena a;
	struct diag_list dl;
	struct ydoc_set set = { 0 };
	struct gw_model m;
	arena_init(&a);
	diag_list_init(&dl);
	assert_true(ydoc_load_buffer(&a, "h.yaml", yaml, strlen(yaml), &set, &dl));
	assert_true(gwapi_decode(&a, &set, &m, &dl));
	assert_int_equal(m.nall, 1);
	uint64_t h = m.all[0]->content_hash;
	diag_list_fini(&dl);
	arena_fini(&a);
	return h;
}

static void test_content_hash_ignores_order_status_and_other_metadata(void **state)
{
	(void)state;
	uint64_t base = hash_of("apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: Backend\n"
				"metadata: {name: b, labels: {x: \"1\", y: \"2\"}}\n"
				"spec: {endpoints: [{ip: {address: 10.0.0.1, port: 80}}]}\n");
	uint64_t same = hash_of("kind: Backend\napiVersion: gateway.envoyproxy.io/v1alpha1\n"
				"spec: {endpoints: [{ip: {port: 80, address: \"10.0.0.1\"}}]}\n"
				"metadata: {labels: {y: \"2\", x: \"1\"}, namespace: default, name: b,\n"
				"  resourceVersion: \"12\", uid: abc, generation: 3}\n"
				"status: {conditions: []}\n");
	uint64_t other_port = hash_of("apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: Backend\n"
				      "metadata: {name: b, labels: {x: \"1\", y: \"2\"}}\n"
				      "spec: {endpoints: [{ip: {address: 10.0.0.1, port: 81}}]}\n");
	uint64_t other_label = hash_of("apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: Backend\n"
				       "metadata: {name: b, labels: {x: \"1\", y: \"3\"}}\n"
				       "spec: {endpoints: [{ip: {address: 10.0.0.1, port: 80}}]}\n");
	assert_true(base == same);
	assert_true(base != other_port);
	assert_true(base != other_label);
}

/* ---- one test per class of error ---- */

#define GW_HEAD "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: edge}\nspec:\n" \
		"  gatewayClassName: gatewayd\n"
#define ROUTE_HEAD "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: shop}\nspec:\n"

static void test_wrong_type_is_reported(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: edge}\n"
			       "spec:\n"
			       "  gatewayClassName: [a]\n"
			       "  listeners:\n"
			       "  - {name: http, port: 80, protocol: HTTP}\n"));
	assert_ndiags(f, 1);
	assert_diag(f, 0, "t.yaml:5:21: error: Gateway default/edge: spec.gatewayClassName: must be a string, got a sequence");
}

static void test_unquoted_number_where_a_string_is_required(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, ROUTE_HEAD
			       "  rules:\n"
			       "  - matches:\n"
			       "    - headers: [{name: X-Version, value: 2}]\n"));
	assert_ndiags(f, 1);
	assert_diag(f, 0, "t.yaml:7:42: error: HTTPRoute default/shop: spec.rules[0].matches[0].headers[0].value: "
			  "must be a string, got an integer \"2\" (quote it)");
}

static void test_unknown_field_is_reported_at_its_key(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, GW_HEAD
			       "  listeners:\n"
			       "  - name: http\n"
			       "    hostnmae: a.example.com\n"
			       "    port: 80\n"
			       "    protocol: HTTP\n"));
	assert_ndiags(f, 1);
	assert_diag(f, 0, "t.yaml:8:5: error: Gateway default/edge: spec.listeners[0]: unknown field \"hostnmae\"");
}

static void test_unknown_enum_value_lists_the_expected_ones(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, ROUTE_HEAD
			       "  rules:\n"
			       "  - matches:\n"
			       "    - path:\n"
			       "        type: Prefix\n"
			       "        value: /shop\n"));
	assert_ndiags(f, 1);
	assert_diag(f, 0, "t.yaml:8:15: error: HTTPRoute default/shop: spec.rules[0].matches[0].path.type: "
			  "unsupported value \"Prefix\" (expected Exact, PathPrefix or RegularExpression)");
}

static void test_missing_required_field_is_reported_at_the_mapping(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, ROUTE_HEAD
			       "  parentRefs:\n"
			       "  - sectionName: http\n"));
	assert_ndiags(f, 1);
	assert_diag(f, 0, "t.yaml:6:5: error: HTTPRoute default/shop: spec.parentRefs[0]: missing required field \"name\"");
}

static void test_more_than_64_listeners_is_refused(void **state)
{
	struct fixture *f = *state;
	struct buf b = BUF_INIT;
	buf_puts(&b, GW_HEAD "  listeners:\n");
	for (int i = 0; i < 65; i++)
		buf_printf(&b, "  - {name: l%d, port: %d, protocol: HTTP}\n", i, 8000 + i);
	assert_false(decode(f, b.data));
	buf_free(&b);
	assert_ndiags(f, 1);
	assert_diag(f, 0, "t.yaml:7:3: error: Gateway default/edge: spec.listeners: must have at most 64 items, got 65");
}

static void test_more_than_16_hostnames_is_refused(void **state)
{
	struct fixture *f = *state;
	struct buf b = BUF_INIT;
	buf_puts(&b, ROUTE_HEAD "  hostnames:\n");
	for (int i = 0; i < 17; i++)
		buf_printf(&b, "  - h%d.example.com\n", i);
	assert_false(decode(f, b.data));
	buf_free(&b);
	assert_ndiags(f, 1);
	assert_diag(f, 0, "t.yaml:6:3: error: HTTPRoute default/shop: spec.hostnames: must have at most 16 items, got 17");
}

static void test_wildcard_only_as_the_whole_first_label(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, ROUTE_HEAD "  hostnames: [\"*.*.x\", \"10.1.2.3\", \"*.ok.example\"]\n"));
	assert_ndiags(f, 2);
	assert_diag(f, 0, "t.yaml:5:15: error: HTTPRoute default/shop: spec.hostnames[0]: must be a valid hostname "
			  "(lowercase RFC 1123 labels, optionally starting with \"*.\"), got \"*.*.x\"");
	assert_diag(f, 1, "t.yaml:5:24: error: HTTPRoute default/shop: spec.hostnames[1]: must be a hostname, "
			  "not an IP address, got \"10.1.2.3\"");
	assert_int_equal(f->m.httproutes[0]->nhostnames, 1);
}

static void test_path_with_empty_segment_is_refused(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, ROUTE_HEAD
			       "  rules:\n"
			       "  - matches:\n"
			       "    - path: {value: /a//b}\n"));
	assert_ndiags(f, 1);
	assert_diag(f, 0, "t.yaml:7:21: error: HTTPRoute default/shop: spec.rules[0].matches[0].path.value: "
			  "must not contain \"//\", got \"/a//b\"");
}

static void test_duplicate_listener_name_is_refused(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, GW_HEAD
			       "  listeners:\n"
			       "  - {name: http, port: 80, protocol: HTTP}\n"
			       "  - {name: http, port: 8080, protocol: HTTP}\n"));
	assert_ndiags(f, 1);
	assert_diag(f, 0, "t.yaml:8:12: error: Gateway default/edge: spec.listeners[1].name: "
			  "listener name \"http\" is already used by spec.listeners[0]");
}

static void test_same_port_protocol_and_hostname_conflict(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, GW_HEAD
			       "  listeners:\n"
			       "  - {name: a, port: 80, protocol: HTTP, hostname: a.example.com}\n"
			       "  - {name: b, port: 80, protocol: HTTP, hostname: b.example.com}\n"
			       "  - {name: c, port: 80, protocol: HTTP, hostname: a.example.com}\n"
			       "  - {name: d, port: 80, protocol: HTTP}\n"
			       "  - {name: e, port: 80, protocol: HTTP}\n"));
	assert_ndiags(f, 2);
	assert_diag(f, 0, "t.yaml:9:5: error: Gateway default/edge: spec.listeners[2]: port 80, protocol \"HTTP\" "
			  "and hostname \"a.example.com\" are already used by spec.listeners[0]");
	assert_diag(f, 1, "t.yaml:11:5: error: Gateway default/edge: spec.listeners[4]: port 80, protocol \"HTTP\" "
			  "and hostname (none) are already used by spec.listeners[3]");
}

static void test_duplicate_object_points_at_the_first(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
			       "---\n"
			       "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"));
	assert_ndiags(f, 2);
	assert_diag(f, 0, "t.yaml:8:9: error: Namespace shop: defined more than once");
	assert_diag(f, 1, "t.yaml:3:18: note: Namespace shop: first defined here");
	assert_int_equal(f->m.nnamespaces, 1);
	assert_int_equal(f->m.nall, 1);
}

static void test_quoted_port_is_a_string(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, GW_HEAD
			       "  listeners:\n"
			       "  - name: http\n"
			       "    port: \"80\"\n"
			       "    protocol: HTTP\n"
			       "  - name: other\n"
			       "    port: http\n"
			       "    protocol: HTTP\n"));
	assert_ndiags(f, 2);
	assert_diag(f, 0, "t.yaml:8:11: error: Gateway default/edge: spec.listeners[0].port: "
			  "must be an integer between 1 and 65535, got \"80\" (a quoted string)");
	assert_diag(f, 1, "t.yaml:11:11: error: Gateway default/edge: spec.listeners[1].port: "
			  "must be an integer between 1 and 65535, got \"http\"");
}

static void test_filters_are_checked_and_mirror_accepted(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, ROUTE_HEAD
			       "  rules:\n"
			       "  - filters:\n"
			       "    - type: RequestHeaderModifier\n"
			       "      requestHeaderModifier:\n"
			       "        set: [{name: X-A, value: b}]\n"
			       "    - type: URLRewrite\n"
			       "      requestRedirect: {statusCode: 302}\n"
			       "    - type: RequestMirror\n"
			       "      requestMirror: {backendRef: {name: m, port: 80}}\n"
			       "    timeouts: {request: 10s, backendRequest: 20s}\n"));
	assert_ndiags(f, 3);
	assert_diag(f, 0, "t.yaml:10:7: error: HTTPRoute default/shop: spec.rules[0].filters[1]: "
			  "filter.urlRewrite must be specified for URLRewrite filter.type");
	assert_diag(f, 1, "t.yaml:11:7: error: HTTPRoute default/shop: spec.rules[0].filters[1]: "
			  "filter.requestRedirect must be nil if the filter.type is not RequestRedirect");
	assert_diag(f, 2, "t.yaml:14:46: error: HTTPRoute default/shop: spec.rules[0].timeouts.backendRequest: "
			  "backendRequest timeout cannot be longer than request timeout");
}

static void test_service_backend_ref_needs_a_port(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, ROUTE_HEAD
			       "  rules:\n"
			       "  - backendRefs:\n"
			       "    - name: web\n"
			       "      weight: 2000000\n"));
	assert_ndiags(f, 2);
	assert_diag(f, 0, "t.yaml:8:15: error: HTTPRoute default/shop: spec.rules[0].backendRefs[0].weight: "
			  "must be an integer between 0 and 1000000, got \"2000000\"");
	assert_diag(f, 1, "t.yaml:7:7: error: HTTPRoute default/shop: spec.rules[0].backendRefs[0]: "
			  "must have port for Service reference");
}

static void test_parent_refs_to_one_gateway_need_distinct_section_names(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, ROUTE_HEAD
			       "  parentRefs:\n"
			       "  - {name: edge}\n"
			       "  - {name: edge, sectionName: http}\n"
			       "  - {name: other, sectionName: a}\n"
			       "  - {name: other, sectionName: a}\n"));
	assert_ndiags(f, 2);
	assert_diag(f, 0, "t.yaml:7:5: error: HTTPRoute default/shop: spec.parentRefs[1]: sectionName or port must be "
			  "specified when parentRefs includes 2 or more references to the same parent (see spec.parentRefs[0])");
	assert_diag(f, 1, "t.yaml:9:5: error: HTTPRoute default/shop: spec.parentRefs[3]: sectionName or port must be "
			  "unique when parentRefs includes 2 or more references to the same parent (see spec.parentRefs[2])");
}

static void test_listener_tls_rules_follow_the_protocol(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, GW_HEAD
			       "  listeners:\n"
			       "  - {name: a, port: 80, protocol: HTTP, tls: {certificateRefs: [{name: c}]}}\n"
			       "  - {name: b, port: 443, protocol: HTTPS, tls: {mode: Passthrough}}\n"
			       "  - {name: c, port: 8443, protocol: TLS}\n"
			       "  - {name: d, port: 9000, protocol: TCP, hostname: a.example.com}\n"
			       "  - {name: e, port: 9443, protocol: HTTPS, tls: {}}\n"));
	assert_ndiags(f, 5);
	assert_diag(f, 0, "t.yaml:7:41: error: Gateway default/edge: spec.listeners[0].tls: "
			  "must not be specified for protocol \"HTTP\"");
	assert_diag(f, 1, "t.yaml:8:55: error: Gateway default/edge: spec.listeners[1].tls.mode: "
			  "must be Terminate for protocol HTTPS, got \"Passthrough\"");
	assert_diag(f, 2, "t.yaml:9:5: error: Gateway default/edge: spec.listeners[2]: tls.mode must be set for protocol TLS");
	assert_diag(f, 3, "t.yaml:10:52: error: Gateway default/edge: spec.listeners[3].hostname: "
			  "must not be specified for protocol \"TCP\"");
	assert_diag(f, 4, "t.yaml:11:49: error: Gateway default/edge: spec.listeners[4].tls: "
			  "certificateRefs or options must be specified when mode is Terminate");
}

static void test_addresses_must_be_unique_ips(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, GW_HEAD
			       "  addresses:\n"
			       "  - {value: \"::1\"}\n"
			       "  - {type: IPAddress, value: \"0::1\"}\n"
			       "  - {value: example.com}\n"
			       "  listeners: [{name: a, port: 80, protocol: HTTP}]\n"));
	assert_ndiags(f, 2);
	assert_diag(f, 0, "t.yaml:8:30: error: Gateway default/edge: spec.addresses[1].value: duplicate IPAddress value \"0::1\"");
	assert_diag(f, 1, "t.yaml:9:13: error: Gateway default/edge: spec.addresses[2].value: "
			  "must be an IPv4 or IPv6 address, got \"example.com\"");
}

static void test_unknown_and_later_kinds_are_warnings(void **state)
{
	struct fixture *f = *state;
	assert_true(decode(f, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
			      "---\n"
			      "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: t}\n"
			      "---\n"
			      "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: Gateway\nmetadata: {name: g}\n"));
	assert_ndiags(f, 3);
	assert_diag(f, 0, "t.yaml:2:7: warning: unknown kind \"Widget\" (apiVersion \"example.com/v1\"), ignored");
	assert_diag(f, 1, "t.yaml:6:7: warning: GRPCRoute default/t: this kind is not supported yet, ignored");
	assert_diag(f, 2, "t.yaml:9:13: warning: apiVersion \"gateway.networking.k8s.io/v1alpha2\" is not served for "
			  "kind \"Gateway\" (expected gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1beta1), ignored");
	assert_int_equal(f->m.nall, 0);
}

static void test_document_shape_errors(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, "- a\n---\napiVersion: v1\nmetadata: {name: x}\n---\nkind: Gateway\nmetadata: {name: x}\n"
			       "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x, uid: u, bogus: 1}\nextra: 1\n"));
	assert_ndiags(f, 5);
	assert_diag(f, 0, "t.yaml:1:1: error: a document must be a mapping, got a sequence");
	assert_diag(f, 1, "t.yaml:3:1: error: missing required field \"kind\"");
	assert_diag(f, 2, "t.yaml:6:1: error: Gateway: missing required field \"apiVersion\"");
	assert_diag(f, 3, "t.yaml:12:1: error: Namespace x: unknown field \"extra\"");
	assert_diag(f, 4, "t.yaml:11:29: error: Namespace x: metadata: unknown field \"bogus\"");
}

static void test_backend_endpoints_take_exactly_one_address(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, "apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: Backend\nmetadata: {name: b}\n"
			       "spec:\n"
			       "  endpoints:\n"
			       "  - {ip: {address: 10.0.0.1, port: 80}, fqdn: {hostname: a.example.com, port: 80}}\n"
			       "  - {ip: {address: 10.0.0.300, port: 80}}\n"
			       "  - {unix: {path: run/x.sock}}\n"
			       "  - {fqdn: {hostname: a.example.com, port: 80}}\n"
			       "  appProtocols: [gateway.envoyproxy.io/h2c, gateway.envoyproxy.io/wss]\n"));
	assert_ndiags(f, 5);
	assert_diag(f, 0, "t.yaml:10:45: error: Backend default/b: spec.appProtocols[1]: "
			  "\"gateway.envoyproxy.io/wss\" is not supported (no TLS to Backends)");
	assert_diag(f, 1, "t.yaml:6:5: error: Backend default/b: spec.endpoints[0]: only one of fqdn, ip or unix can be specified");
	assert_diag(f, 2, "t.yaml:7:20: error: Backend default/b: spec.endpoints[1].ip.address: "
			  "must be an IPv4 or IPv6 address, got \"10.0.0.300\"");
	assert_diag(f, 3, "t.yaml:8:19: error: Backend default/b: spec.endpoints[2].unix.path: "
			  "must be an absolute path, got \"run/x.sock\"");
	assert_int_equal(f->m.backends[0]->nendpoints, 1);
	/* judged on the endpoints as written, like the CRD's rule */
	assert_diag(f, 4, "t.yaml:6:3: error: Backend default/b: spec.endpoints: fqdn addresses cannot be mixed with other address types");
}


static void test_invalid_regex_is_an_error_with_pcre2_message_and_offset(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, ROUTE_HEAD
			       "  rules:\n"
			       "  - matches:\n"
			       "    - path: {type: RegularExpression, value: '/a/(b'}\n"
			       "    - headers: [{type: RegularExpression, name: x, value: '[z-a]'}]\n"
			       "      queryParams: [{type: RegularExpression, name: q, value: 'ok+'}]\n"));
	assert_ndiags(f, 2);
	assert_diag(f, 0, "t.yaml:7:46: error: HTTPRoute default/shop: spec.rules[0].matches[0].path.value: "
			  "invalid regular expression \"/a/(b\": missing closing parenthesis at offset 5");
	assert_diag(f, 1, "t.yaml:8:59: error: HTTPRoute default/shop: spec.rules[0].matches[1].headers[0].value: "
			  "invalid regular expression \"[z-a]\": range out of order in character class at offset 3");
}

static void test_regex_and_query_matches_decode(void **state)
{
	struct fixture *f = *state;
	assert_true(decode(f, ROUTE_HEAD
			      "  rules:\n"
			      "  - matches:\n"
			      "    - path: {type: RegularExpression, value: '/v[0-9]+/.*'}\n"
			      "      queryParams: [{name: animal, value: whale}, {name: animal, value: dolphin},\n"
			      "                    {type: RegularExpression, name: ANIMAL, value: 'W.*'}]\n"));
	assert_ndiags(f, 0);
	const struct gw_http_match *m = &f->m.httproutes[0]->rules[0].matches[0];
	assert_int_equal(m->path_type, GW_PATH_REGEX);
	assert_string_equal(m->path, "/v[0-9]+/.*");
	/* names are case-sensitive: "ANIMAL" is another parameter; a repeat is dropped */
	assert_int_equal(m->nquery_params, 2);
	assert_string_equal(m->query_params[0].value, "whale");
	assert_int_equal(m->query_params[1].type, GW_MATCH_REGEX);
}

static void test_service_and_endpointslice_decode(void **state)
{
	struct fixture *f = *state;
	assert_true(decode(f, "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: app}\n"
			      "spec:\n"
			      "  clusterIP: None\n"
			      "  ports:\n"
			      "  - {name: http, port: 8080, targetPort: 3000}\n"
			      "  - {name: named, port: 8081, targetPort: web-port, appProtocol: kubernetes.io/h2c}\n"
			      "---\n"
			      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
			      "metadata: {name: web-1, namespace: app, labels: {kubernetes.io/service-name: web}}\n"
			      "addressType: IPv6\n"
			      "ports: [{name: http, port: 3000}]\n"
			      "endpoints:\n"
			      "- addresses: ['::1']\n"
			      "- addresses: ['::2']\n"
			      "  conditions: {ready: false}\n"));
	assert_ndiags(f, 0);
	const struct gw_service *s = f->m.services[0];
	assert_int_equal(s->nports, 2);
	assert_int_equal(s->ports[0].target_port, 3000);
	assert_string_equal(s->ports[1].target_port_name, "web-port");
	assert_string_equal(s->ports[1].app_protocol, "kubernetes.io/h2c");
	const struct gw_endpointslice *es = f->m.endpointslices[0];
	assert_string_equal(es->service_name, "web");
	assert_int_equal(es->address_type, GW_ADDRESS_IPV6);
	assert_int_equal(es->nendpoints, 2);
	assert_true(es->endpoints[0].ready);
	assert_false(es->endpoints[1].ready);
	assert_int_equal(es->ports[0].port, 3000);
}

static void test_service_and_slice_schema_errors(void **state)
{
	struct fixture *f = *state;
	assert_false(decode(f, "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
			       "spec:\n"
			       "  ports:\n"
			       "  - {port: 80}\n"
			       "  - {name: Bad_Name, port: 81, targetPort: 70000}\n"
			       "---\n"
			       "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
			       "metadata: {name: s, labels: {kubernetes.io/service-name: web}}\n"
			       "addressType: IPv4\n"
			       "endpoints: [{addresses: ['::1']}]\n"));
	assert_ndiags(f, 4);
	assert_diag(f, 0, "t.yaml:6:5: error: Service default/web: spec.ports[0].name: required when the Service has more than one port");
	assert_diag(f, 1, "t.yaml:7:12: error: Service default/web: spec.ports[1].name: must be an IANA service name "
			  "(1-15 lowercase letters, digits or '-', with at least one letter), got \"Bad_Name\"");
	assert_diag(f, 2, "t.yaml:7:44: error: Service default/web: spec.ports[1].targetPort: must be an integer between 1 and 65535, got \"70000\"");
	assert_diag(f, 3, "t.yaml:13:26: error: EndpointSlice default/s: endpoints[0].addresses[0]: must be an IPv4 address, got \"::1\"");
}

static void test_referencegrant_and_listenerset_decode(void **state)
{
	struct fixture *f = *state;
	assert_true(decode(f, "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
			      "metadata: {name: g, namespace: web}\n"
			      "spec:\n"
			      "  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]\n"
			      "  to: [{group: '', kind: Service, name: web}, {group: '', kind: Service}]\n"
			      "---\n"
			      "apiVersion: gateway.networking.k8s.io/v1\nkind: ListenerSet\n"
			      "metadata: {name: ls, namespace: web}\n"
			      "spec:\n"
			      "  parentRef: {name: gw, namespace: infra}\n"
			      "  listeners: [{name: extra, port: 8080, protocol: HTTP, hostname: a.example.com}]\n"));
	assert_ndiags(f, 0);
	const struct gw_referencegrant *g = f->m.referencegrants[0];
	assert_int_equal(g->nfrom, 1);
	assert_string_equal(g->from[0].ns, "infra");
	assert_int_equal(g->nto, 2);
	assert_string_equal(g->to[0].name, "web");
	assert_null(g->to[1].name);
	const struct gw_listenerset *ls = f->m.listenersets[0];
	assert_string_equal(ls->parent_ns, "infra");
	assert_string_equal(ls->parent_kind, "Gateway");
	assert_int_equal(ls->nlisteners, 1);
	assert_int_equal(ls->listeners[0].port, 8080);
	assert_int_equal(ls->listeners[0].from, GW_FROM_SAME);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_valid_set_decodes_with_defaults),
		T(test_content_hash_ignores_order_status_and_other_metadata),
		T(test_wrong_type_is_reported),
		T(test_unquoted_number_where_a_string_is_required),
		T(test_unknown_field_is_reported_at_its_key),
		T(test_unknown_enum_value_lists_the_expected_ones),
		T(test_missing_required_field_is_reported_at_the_mapping),
		T(test_more_than_64_listeners_is_refused),
		T(test_more_than_16_hostnames_is_refused),
		T(test_wildcard_only_as_the_whole_first_label),
		T(test_path_with_empty_segment_is_refused),
		T(test_duplicate_listener_name_is_refused),
		T(test_same_port_protocol_and_hostname_conflict),
		T(test_duplicate_object_points_at_the_first),
		T(test_quoted_port_is_a_string),
		T(test_filters_are_checked_and_mirror_accepted),
		T(test_service_backend_ref_needs_a_port),
		T(test_parent_refs_to_one_gateway_need_distinct_section_names),
		T(test_listener_tls_rules_follow_the_protocol),
		T(test_addresses_must_be_unique_ips),
		T(test_unknown_and_later_kinds_are_warnings),
		T(test_document_shape_errors),
		T(test_backend_endpoints_take_exactly_one_address),
		T(test_invalid_regex_is_an_error_with_pcre2_message_and_offset),
		T(test_regex_and_query_matches_decode),
		T(test_service_and_endpointslice_decode),
		T(test_service_and_slice_schema_errors),
		T(test_referencegrant_and_listenerset_decode),
#undef T
	};
	return UNIT_RUN(tests);
}
