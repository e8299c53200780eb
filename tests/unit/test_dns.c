/* SPDX-License-Identifier: MIT */
/* test_dns: re-resolution delays (TTL clamping, failure backoff), fqdn endpoints and
 * ExternalName Services in the image, and the hostnames the daemon hands the resolver. */
#include "unit.h"

#include <stdlib.h>

#include "compile_fixture.h"
#include "discover/dns_report.h"
#include "discover/dns_ttl.h"

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

/* ---- dns_ttl ---- */

static void test_ttl_inside_bounds_is_used_as_is(void **state)
{
	(void)state;
	assert_int_equal(dns_ttl_refresh_ms(30, 5000, 300000), 30000);
	assert_int_equal(dns_ttl_refresh_ms(5, 5000, 300000), 5000);
	assert_int_equal(dns_ttl_refresh_ms(300, 5000, 300000), 300000);
}

static void test_ttl_is_clamped_to_min_and_max(void **state)
{
	(void)state;
	assert_int_equal(dns_ttl_refresh_ms(1, 5000, 300000), 5000);
	assert_int_equal(dns_ttl_refresh_ms(0, 5000, 300000), 5000);
	assert_int_equal(dns_ttl_refresh_ms(86400, 5000, 300000), 300000);
	/* a 32-bit TTL does not overflow */
	assert_int_equal(dns_ttl_refresh_ms(UINT32_MAX, 1000, 7 * 86400000ull), 7 * 86400000ull);
}

static void test_ttl_zero_with_min_ttl_zero_is_floored(void **state)
{
	(void)state;
	assert_int_equal(dns_ttl_refresh_ms(0, 0, 300000), DNS_TTL_FLOOR_MS);
	assert_int_equal(dns_ttl_refresh_ms(2, 0, 300000), 2000);
}

static void test_backoff_doubles_from_min_ttl_up_to_eight_times(void **state)
{
	(void)state;
	static const uint64_t want[] = {5000, 10000, 20000, 40000, 40000, 40000};
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(dns_ttl_backoff_ms(i + 1, 5000, 300000), want[i]);
	assert_int_equal(dns_ttl_backoff_ms(1000, 5000, 300000), 40000);
}

static void test_backoff_never_exceeds_max_ttl(void **state)
{
	(void)state;
	assert_int_equal(dns_ttl_backoff_ms(1, 1000, 3000), 1000);
	assert_int_equal(dns_ttl_backoff_ms(2, 1000, 3000), 2000);
	assert_int_equal(dns_ttl_backoff_ms(3, 1000, 3000), 3000);
	assert_int_equal(dns_ttl_backoff_ms(9, 1000, 3000), 3000);
	/* max below the floor: the floor wins */
	assert_int_equal(dns_ttl_backoff_ms(4, 0, 100), DNS_TTL_FLOOR_MS);
}

/* ---- compile ---- */

#define GW_AND_ROUTE(refs) \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n" \
	"metadata: {name: gw, namespace: default}\n" \
	"spec:\n  gatewayClassName: gatewayd\n  listeners:\n  - {name: http, port: 80, protocol: HTTP}\n" \
	"---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n" \
	"metadata: {name: r, namespace: default}\n" \
	"spec:\n  parentRefs: [{name: gw}]\n  rules: [{backendRefs: " refs "}]\n"

static const struct img_endpoint *backend_endpoints(const struct fx *f, const char *name, uint32_t *n)
{
	const struct img_backend *bs = IMG_ARRAY(f->img, f->img->backends, struct img_backend);
	const struct img_endpoint *eps = IMG_ARRAY(f->img, f->img->endpoints, struct img_endpoint);
	for (uint32_t i = 0; i < f->img->backends.count; i++) {
		if (bs[i].name.len != strlen(name) || memcmp(img_str_ptr(f->img, bs[i].name), name, bs[i].name.len))
			continue;
		*n = bs[i].endpoints.count;
		return &eps[(bs[i].endpoints.off - f->img->endpoints.off) / sizeof(struct img_endpoint)];
	}
	fail_msg("no backend %s", name);
	return NULL;
}

static void assert_fqdn(const struct fx *f, const struct img_endpoint *e, const char *host, uint16_t port)
{
	assert_int_equal(e->kind, IMG_ENDPOINT_FQDN);
	assert_int_equal(e->port, port);
	assert_int_equal(e->path.len, strlen(host));
	assert_memory_equal(img_str_ptr(f->img, e->path), host, strlen(host));
}

static void test_fqdn_endpoints_compile_as_fqdn(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_AND_ROUTE("[{group: gateway.envoyproxy.io, kind: Backend, name: b}]")
		 "---\napiVersion: gateway.envoyproxy.io/v1alpha1\nkind: Backend\n"
		 "metadata: {name: b, namespace: default}\n"
		 "spec:\n  endpoints:\n"
		 "  - {fqdn: {hostname: api.example.com, port: 8080}}\n"
		 "  - {fqdn: {hostname: 10.1.2.3, port: 81}}\n");
	uint32_t n = 0;
	const struct img_endpoint *e = backend_endpoints(&f, "Backend/default/b", &n);
	assert_int_equal(n, 2);
	assert_fqdn(&f, &e[0], "api.example.com", 8080);
	/* an IP literal is what DNS would answer for it */
	assert_int_equal(e[1].kind, IMG_ENDPOINT_IP);
	assert_int_equal(e[1].family, AF_INET);
	assert_int_equal(e[1].port, 81);
	assert_memory_equal(e[1].addr, "\x0a\x01\x02\x03", 4);
	assert_false(fx_has_diag(&f, "skipped"));

	struct dns_uses u = {0};
	dns_uses_from_image(&u, f.img);
	assert_int_equal(u.n, 1);
	assert_string_equal(u.names[0], "api.example.com");
	assert_int_equal(u.items[0].nbackends, 1);
	assert_string_equal(u.items[0].backends[0], "Backend/default/b");
	dns_uses_fini(&u);
	assert_int_equal(u.n, 0);
	fx_free(&f);
}

/* Kubernetes' ExternalName is a CNAME: the client keeps the Service port. */
static void test_external_name_service_is_one_fqdn_endpoint_on_the_service_port(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_AND_ROUTE("[{name: ext, port: 443}, {name: bare, port: 8080}]")
		 "---\napiVersion: v1\nkind: Service\nmetadata: {name: ext, namespace: default}\n"
		 "spec: {type: ExternalName, externalName: db.example.org, ports: [{port: 443, targetPort: 9443}]}\n"
		 "---\napiVersion: v1\nkind: Service\nmetadata: {name: bare, namespace: default}\n"
		 "spec: {type: ExternalName, externalName: db.example.org}\n");
	const struct gw_httproute *r = f.m.httproutes[0];
	assert_cond(&r->parents[0].conditions, "ResolvedRefs", "True", "ResolvedRefs");
	uint32_t n = 0;
	const struct img_endpoint *e = backend_endpoints(&f, "Service/default/ext:443", &n);
	assert_int_equal(n, 1);
	assert_fqdn(&f, &e[0], "db.example.org", 443);
	e = backend_endpoints(&f, "Service/default/bare:8080", &n);
	assert_int_equal(n, 1);
	assert_fqdn(&f, &e[0], "db.example.org", 8080);

	struct dns_uses u = {0};
	dns_uses_from_image(&u, f.img);
	assert_int_equal(u.n, 1);
	assert_string_equal(u.names[0], "db.example.org");
	assert_int_equal(u.items[0].nbackends, 2);
	assert_string_equal(u.items[0].backends[0], "Service/default/ext:443");
	assert_string_equal(u.items[0].backends[1], "Service/default/bare:8080");
	dns_uses_fini(&u);
	fx_free(&f);
}

static void test_external_name_port_must_be_listed_when_ports_are_given(void **state)
{
	(void)state;
	struct fx f;
	fx_build(&f, GW_AND_ROUTE("[{name: ext, port: 80}]")
		 "---\napiVersion: v1\nkind: Service\nmetadata: {name: ext, namespace: default}\n"
		 "spec: {type: ExternalName, externalName: db.example.org, ports: [{port: 443}]}\n");
	assert_cond(&f.m.httproutes[0]->parents[0].conditions, "ResolvedRefs", "False", "BackendNotFound");
	assert_null(f.m.httproutes[0]->rules[0].backend_refs[0].resolved);
	fx_free(&f);
}

static void test_status_gets_a_dns_member(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_puts(&b, "{\"generation\":1}\n");
	dns_report_add_to_status(&b, NULL, NULL);
	assert_string_equal(b.data, "{\"generation\":1,\"dns\":[]}\n");
	b.len = 0;
	buf_puts(&b, "{}");
	dns_report_add_to_status(&b, NULL, NULL);
	assert_string_equal(b.data, "{\"dns\":[]}");
	b.len = 0;
	buf_puts(&b, "[1]");
	dns_report_add_to_status(&b, NULL, NULL);
	assert_string_equal(b.data, "[1]");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl_inside_bounds_is_used_as_is),
		cmocka_unit_test(test_ttl_is_clamped_to_min_and_max),
		cmocka_unit_test(test_ttl_zero_with_min_ttl_zero_is_floored),
		cmocka_unit_test(test_backoff_doubles_from_min_ttl_up_to_eight_times),
		cmocka_unit_test(test_backoff_never_exceeds_max_ttl),
		cmocka_unit_test(test_fqdn_endpoints_compile_as_fqdn),
		cmocka_unit_test(test_external_name_service_is_one_fqdn_endpoint_on_the_service_port),
		cmocka_unit_test(test_external_name_port_must_be_listed_when_ports_are_given),
		cmocka_unit_test(test_status_gets_a_dns_member),
	};
	return UNIT_RUN(tests);
}
