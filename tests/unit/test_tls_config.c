/* SPDX-License-Identifier: MIT */
/* test_tls_config: the TLS control plane from YAML to image: Secrets and ConfigMaps,
 * HTTPS listeners (certificates, options, frontend validation), BackendTLSPolicy.
 * Certificates are made at run time with the openssl CLI in a temp dir; every case
 * runs the whole pipeline on a directory, as `gatewayd check` does. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "compile/image.h"
#include "compile/pipeline.h"
#include "gwapi/tls_check.h"

#define CONTROLLER "gatewayd.io/gateway-controller"

static const char class_yaml[] =
	"apiVersion: gateway.networking.k8s.io/v1\n"
	"kind: GatewayClass\n"
	"metadata: {name: gatewayd}\n"
	"spec: {controllerName: " CONTROLLER "}\n";

/* ---- certificates (made once) ---- */

static char pki[64];
static char *rsa_crt, *rsa_key, *ec_crt, *ec_key, *expired_crt, *soon_crt, *ca_crt, *other_key;

static char *slurp(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", pki, name);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_append(&b, chunk, n);
	fclose(fp);
	buf_putc(&b, '\0');
	return buf_steal(&b);
}

static int run(const char *command)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "cd %s && %s >/dev/null 2>&1", pki, command);
	return system(cmd);
}

static int make_pki(void)
{
	snprintf(pki, sizeof pki, "/tmp/gwtest-tlscp-XXXXXX");
	if (!mkdtemp(pki))
		return -1;
#define EC "-newkey ec -pkeyopt ec_paramgen_curve:P-256"
	if (run("openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.crt -subj /CN=rsa.example.org -days 365") ||
	    run("openssl req -x509 " EC " -nodes -keyout ec.key -out ec.crt -subj /CN=ec.example.org -days 365") ||
	    run("openssl req -x509 " EC " -nodes -keyout ca.key -out ca.crt -subj /CN=Test-CA -days 365") ||
	    run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key") ||
	    /* openssl 3.0 has no -not_after: a negative validity makes an expired one */
	    run("openssl req -new -key rsa.key -subj /CN=expired.example.org -out exp.csr && "
		"openssl x509 -req -in exp.csr -signkey rsa.key -days -1 -out expired.crt") ||
	    run("openssl req -x509 -key ec.key -subj /CN=soon.example.org -days 10 -out soon.crt"))
		return -1;
#undef EC
	rsa_crt = slurp("rsa.crt");
	rsa_key = slurp("rsa.key");
	ec_crt = slurp("ec.crt");
	ec_key = slurp("ec.key");
	expired_crt = slurp("expired.crt");
	soon_crt = slurp("soon.crt");
	ca_crt = slurp("ca.crt");
	other_key = slurp("other.key");
	return rsa_crt && rsa_key && ec_crt && ec_key && expired_crt && soon_crt && ca_crt && other_key ? 0 : -1;
}

static void drop_pki(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", pki);
	free(rsa_crt);
	free(rsa_key);
	free(ec_crt);
	free(ec_key);
	free(expired_crt);
	free(soon_crt);
	free(ca_crt);
	free(other_key);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", pki);
}

/* ---- YAML helpers ---- */

static void b64(struct buf *b, const char *s)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		buf_putc(b, tab[v >> 18 & 63]);
		buf_putc(b, tab[v >> 12 & 63]);
		buf_putc(b, i + 1 < n ? tab[v >> 6 & 63] : '=');
		buf_putc(b, i + 2 < n ? tab[v & 63] : '=');
	}
}

static void block(struct buf *b, const char *pem)
{
	buf_puts(b, "|\n");
	for (const char *p = pem; *p;) {
		size_t n = strcspn(p, "\n");
		buf_puts(b, "    ");
		buf_append(b, p, n);
		buf_putc(b, '\n');
		p += n + (p[n] == '\n');
	}
}

/* A kubernetes.io/tls Secret: base64 `data` or PEM `stringData`. */
static void secret(struct buf *b, const char *ns, const char *name, const char *crt, const char *key, bool base64)
{
	buf_printf(b, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: %s}\n"
		   "type: kubernetes.io/tls\n%s:\n  tls.crt: ", name, ns, base64 ? "data" : "stringData");
	if (base64) {
		b64(b, crt);
		buf_puts(b, "\n  tls.key: ");
		b64(b, key);
		buf_putc(b, '\n');
	} else {
		block(b, crt);
		buf_puts(b, "  tls.key: ");
		block(b, key);
	}
}

static void configmap(struct buf *b, const char *name, const char *pem)
{
	buf_printf(b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata:\n  ca.crt: ", name);
	block(b, pem);
}

struct run {
	char dir[128];
	struct pipeline_result res;
	const struct img_header *img;
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* gateway.yaml and secrets.yaml (either may be NULL) beside the class, then the
 * pipeline; ok: whether it must succeed. */
static void build(struct run *r, const char *gateway, const char *secrets, bool ok)
{
	snprintf(r->dir, sizeof r->dir, "%s/conf-XXXXXX", pki);
	assert_non_null(mkdtemp(r->dir));
	write_file(r->dir, "a-class.yaml", class_yaml);
	if (gateway)
		write_file(r->dir, "b-gateway.yaml", gateway);
	if (secrets)
		write_file(r->dir, "c-secrets.yaml", secrets);
	bool built = pipeline_build(r->dir, CONTROLLER, NULL, true, &r->res);
	if (built != ok)
		diag_print(&r->res.diags, stderr);
	assert_int_equal(built, ok);
	r->img = ok ? (const struct img_header *)r->res.image.data : NULL;
	if (ok)
		assert_int_equal(img_check(r->res.image.data, r->res.image.len), 0);
}

static void done(struct run *r)
{
	char cmd[256];
	pipeline_result_fini(&r->res);
	snprintf(cmd, sizeof cmd, "rm -rf %s", r->dir);
	assert_int_equal(system(cmd), 0);
}

/* The diagnostic whose message contains needle: its file's base name and line. */
static const struct diag *find_diag(const struct run *r, enum diag_severity sev, const char *needle)
{
	for (size_t i = 0; i < r->res.diags.count; i++) {
		const struct diag *d = &r->res.diags.items[i];
		if (d->severity == sev && strstr(d->message, needle))
			return d;
	}
	diag_print(&r->res.diags, stderr);
	fail_msg("no diagnostic with \"%s\"", needle);
	return NULL;
}

static void assert_at(const struct diag *d, const char *file, int line)
{
	const char *slash = strrchr(d->file, '/');
	assert_string_equal(slash ? slash + 1 : d->file, file);
	assert_int_equal(d->line, line);
}

/* Does the status JSON show, for the listener named name (within the Gateway or
 * ListenerSet it comes first in), a condition type/status/reason? */
static bool listener_has(const struct run *r, const char *name, const char *type, const char *status,
			 const char *reason)
{
	char key[128], cond[256];
	snprintf(key, sizeof key, "{\"name\":\"%s\",\"supportedKinds\"", name);
	snprintf(cond, sizeof cond, "{\"type\":\"%s\",\"status\":\"%s\",\"reason\":\"%s\"", type, status, reason);
	const char *start = strstr(r->res.status_json.data, key);
	if (!start)
		return false;
	const char *end = strstr(start + 1, "{\"name\":\"");
	const char *hit = strstr(start, cond);
	return hit && (!end || hit < end);
}

static const struct img_listener *img_listener(const struct run *r, const char *name)
{
	const struct img_listener *ls = IMG_ARRAY(r->img, r->img->listeners, struct img_listener);
	for (uint32_t i = 0; i < r->img->listeners.count; i++)
		if (!strcmp(img_str_ptr(r->img, ls[i].name), name))
			return &ls[i];
	return NULL;
}

static const struct img_cert *img_certs(const struct run *r, const struct img_listener *l)
{
	return (const struct img_cert *)((const char *)r->img + l->certs.off);
}

#define GATEWAY_HEAD \
	"apiVersion: gateway.networking.k8s.io/v1\n" \
	"kind: Gateway\n" \
	"metadata: {name: gw, namespace: default}\n" \
	"spec:\n" \
	"  gatewayClassName: gatewayd\n"

/* ---- listeners ---- */

static void test_https_listener_carries_pem_certificates_and_options(void **state)
{
	(void)state;
	struct buf s = BUF_INIT;
	secret(&s, "default", "rsa", rsa_crt, rsa_key, true);
	secret(&s, "default", "ec", ec_crt, ec_key, false);
	struct run r;
	build(&r, GATEWAY_HEAD
	      "  listeners:\n"
	      "  - name: https\n"
	      "    port: 8443\n"
	      "    protocol: HTTPS\n"
	      "    tls:\n"
	      "      certificateRefs: [{name: rsa}, {kind: Secret, group: \"\", name: ec}]\n"
	      "      options:\n"
	      "        gatewayd.io/min-version: \"1.2\"\n"
	      "        gatewayd.io/ciphers: \"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\"\n",
	      s.data, true);
	assert_int_equal(r.res.diags.warnings, 0);
	const struct img_listener *l = img_listener(&r, "https");
	assert_non_null(l);
	assert_int_equal(l->protocol, IMG_PROTO_HTTPS);
	assert_int_equal(l->tls_min_version, IMG_TLS_1_2);
	assert_int_equal(l->client_validation, IMG_CLIENT_NONE);
	assert_string_equal(img_str_ptr(r.img, l->ciphers),
			    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
	assert_string_equal(img_str_ptr(r.img, l->client_ca), "");
	assert_int_equal(l->certs.count, 2);
	const struct img_cert *c = img_certs(&r, l);
	/* base64 data decoded once; both in PEM, byte for byte */
	assert_string_equal(img_str_ptr(r.img, c[0].secret), "default/rsa");
	assert_string_equal(img_str_ptr(r.img, c[0].cert_pem), rsa_crt);
	assert_string_equal(img_str_ptr(r.img, c[0].key_pem), rsa_key);
	assert_string_equal(img_str_ptr(r.img, c[1].secret), "default/ec");
	assert_string_equal(img_str_ptr(r.img, c[1].cert_pem), ec_crt);
	assert_string_equal(img_str_ptr(r.img, c[1].key_pem), ec_key);
	const struct img_bind *b = IMG_ARRAY(r.img, r.img->binds, struct img_bind);
	assert_true(r.img->binds.count >= 1);
	assert_int_equal(b[0].port, 8443);
	assert_int_equal(b[0].protocol, IMG_PROTO_HTTPS);
	assert_true(listener_has(&r, "https", "ResolvedRefs", "True", "ResolvedRefs"));
	assert_true(listener_has(&r, "https", "Programmed", "True", "Programmed"));
	buf_free(&s);
	done(&r);
}

static void test_missing_secret_stops_only_its_listener(void **state)
{
	(void)state;
	struct run r;
	build(&r, GATEWAY_HEAD
	      "  listeners:\n"
	      "  - {name: http, port: 8080, protocol: HTTP}\n"
	      "  - name: https\n"                                  /* 8 */
	      "    port: 8443\n"
	      "    protocol: HTTPS\n"
	      "    tls:\n"
	      "      certificateRefs:\n"
	      "      - name: nowhere\n"                            /* 13 */
	      "---\n"
	      "apiVersion: gateway.networking.k8s.io/v1\n"
	      "kind: HTTPRoute\n"
	      "metadata: {name: web}\n"
	      "spec:\n"
	      "  parentRefs: [{name: gw}]\n",
	      NULL, true);
	const struct diag *d = find_diag(&r, DIAG_WARNING, "Secret \"default/nowhere\" not found");
	assert_at(d, "b-gateway.yaml", 13);
	assert_string_equal(d->message, "Gateway default/gw: listener \"https\": tls.certificateRefs[0]: "
			    "Secret \"default/nowhere\" not found: the listener is not served");
	assert_non_null(img_listener(&r, "http"));
	assert_null(img_listener(&r, "https"));
	assert_true(listener_has(&r, "https", "ResolvedRefs", "False", "InvalidCertificateRef"));
	assert_true(listener_has(&r, "https", "Programmed", "False", "Invalid"));
	assert_true(listener_has(&r, "https", "Accepted", "True", "Accepted"));
	/* GatewayWithAttachedRoutes: the route still counts on the unserved listener */
	assert_non_null(strstr(r.res.status_json.data, "{\"name\":\"https\",\"supportedKinds\":[{\"group\":"
			       "\"gateway.networking.k8s.io\",\"kind\":\"HTTPRoute\"}],\"attachedRoutes\":1"));
	assert_non_null(strstr(r.res.status_json.data, "\"reason\":\"ListenersNotValid\""));
	done(&r);
}

static void test_bad_secret_is_reported_at_the_secret(void **state)
{
	(void)state;
	struct buf s = BUF_INIT;
	/* line 2 of c-secrets.yaml is the document of "garbled": tls.crt on line 7 */
	buf_puts(&s, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: garbled}\ntype: kubernetes.io/tls\n"
		 "stringData:\n  tls.crt: \"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"\n"
		 "  tls.key: x\n");
	secret(&s, "default", "mismatch", rsa_crt, other_key, true);  /* lines 9-16, tls.key on 16 */
	buf_puts(&s, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: opaque}\n"
		 "stringData: {tls.crt: a, tls.key: b}\n");
	struct run r;
	build(&r, GATEWAY_HEAD
	      "  listeners:\n"
	      "  - {name: a, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: garbled}]}}\n"
	      "  - {name: b, port: 8444, protocol: HTTPS, tls: {certificateRefs: [{name: mismatch}]}}\n"
	      "  - {name: c, port: 8445, protocol: HTTPS, tls: {certificateRefs: [{name: opaque}]}}\n",
	      s.data, true);
	const struct diag *d = find_diag(&r, DIAG_WARNING, "Secret default/garbled: tls.crt: ");
	assert_at(d, "c-secrets.yaml", 7);
	assert_non_null(strstr(d->message, "Gateway default/gw listener \"a\" is not served"));
	d = find_diag(&r, DIAG_WARNING, "Secret default/mismatch: tls.key does not match the certificate");
	assert_at(d, "c-secrets.yaml", 16);
	assert_non_null(strstr(d->message, "Gateway default/gw listener \"b\" is not served (its tls.certificateRefs[0])"));
	d = find_diag(&r, DIAG_WARNING, "Secret default/opaque: type \"Opaque\" cannot be used as a certificate");
	assert_at(d, "c-secrets.yaml", 18); /* the document: its type is the problem */
	assert_int_equal(r.img->listeners.count, 0);
	assert_true(listener_has(&r, "a", "ResolvedRefs", "False", "InvalidCertificateRef"));
	assert_true(listener_has(&r, "b", "ResolvedRefs", "False", "InvalidCertificateRef"));
	assert_true(listener_has(&r, "c", "ResolvedRefs", "False", "InvalidCertificateRef"));
	assert_non_null(strstr(r.res.status_json.data, "\"type\":\"Accepted\",\"status\":\"False\","
			       "\"reason\":\"ListenersNotValid\""));
	buf_free(&s);
	done(&r);
}

static void test_cross_namespace_certificate_needs_a_grant(void **state)
{
	(void)state;
	struct buf s = BUF_INIT;
	secret(&s, "certs", "shared", ec_crt, ec_key, true);
	const char *gw = GATEWAY_HEAD
		"  listeners:\n"
		"  - {name: https, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: shared, namespace: certs}]}}\n";
	struct run r;
	build(&r, gw, s.data, true);
	assert_true(listener_has(&r, "https", "ResolvedRefs", "False", "RefNotPermitted"));
	assert_null(img_listener(&r, "https"));
	find_diag(&r, DIAG_WARNING, "no ReferenceGrant allows it: the listener is not served");
	done(&r);

	/* a grant for another Secret does not count; one without a name does */
	struct buf s2 = BUF_INIT;
	buf_puts(&s2, s.data);
	buf_puts(&s2, "---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
		 "metadata: {name: other, namespace: certs}\n"
		 "spec:\n  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: default}]\n"
		 "  to: [{group: \"\", kind: Secret, name: someone-else}]\n");
	build(&r, gw, s2.data, true);
	assert_true(listener_has(&r, "https", "ResolvedRefs", "False", "RefNotPermitted"));
	done(&r);
	buf_puts(&s2, "---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
		 "metadata: {name: all, namespace: certs}\n"
		 "spec:\n  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: default}]\n"
		 "  to: [{group: \"\", kind: Secret}]\n");
	build(&r, gw, s2.data, true);
	assert_true(listener_has(&r, "https", "ResolvedRefs", "True", "ResolvedRefs"));
	assert_true(listener_has(&r, "https", "Programmed", "True", "Programmed"));
	assert_non_null(img_listener(&r, "https"));
	done(&r);
	buf_free(&s);
	buf_free(&s2);
}

static void test_some_bad_certificates_leave_the_good_ones_served(void **state)
{
	(void)state;
	struct buf s = BUF_INIT;
	secret(&s, "default", "good", ec_crt, ec_key, true);
	struct run r;
	build(&r, GATEWAY_HEAD
	      "  listeners:\n"
	      "  - name: https\n"
	      "    port: 8443\n"
	      "    protocol: HTTPS\n"
	      "    tls:\n"
	      "      certificateRefs: [{name: good}, {name: gone}, {kind: ConfigMap, name: good}]\n",
	      s.data, true);
	const struct img_listener *l = img_listener(&r, "https");
	assert_non_null(l);
	assert_int_equal(l->certs.count, 1);
	assert_string_equal(img_str_ptr(r.img, img_certs(&r, l)[0].secret), "default/good");
	assert_true(listener_has(&r, "https", "ResolvedRefs", "False", "InvalidCertificateRef"));
	assert_true(listener_has(&r, "https", "Programmed", "True", "Programmed"));
	find_diag(&r, DIAG_WARNING, "tls.certificateRefs[1]: Secret \"default/gone\" not found: the listener is served "
		  "with its other certificates");
	find_diag(&r, DIAG_WARNING, "tls.certificateRefs[2]: kind \"ConfigMap\" in group \"\" is not supported");
	buf_free(&s);
	done(&r);
}

static void test_expiring_certificates_are_warned_about_and_served(void **state)
{
	(void)state;
	struct buf s = BUF_INIT;
	/* a block scalar's position is its first line of content: line 8 */
	secret(&s, "default", "old", expired_crt, rsa_key, false);
	struct run r;
	secret(&s, "default", "soon", soon_crt, ec_key, true);
	build(&r, GATEWAY_HEAD
	      "  listeners:\n"
	      "  - {name: a, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: old}]}}\n"
	      "  - {name: b, port: 8444, protocol: HTTPS, tls: {certificateRefs: [{name: soon}]}}\n",
	      s.data, true);
	const struct diag *d = find_diag(&r, DIAG_WARNING, "Secret default/old: tls.crt: the certificate "
					 "\"CN=expired.example.org\" expired on ");
	assert_at(d, "c-secrets.yaml", 8);
	d = find_diag(&r, DIAG_WARNING, "Secret default/soon: tls.crt: the certificate \"CN=soon.example.org\" expires on ");
	assert_non_null(strstr(d->message, "in less than 30 days"));
	assert_int_equal(r.res.diags.warnings, 2);
	assert_non_null(img_listener(&r, "a"));
	assert_non_null(img_listener(&r, "b"));
	buf_free(&s);
	done(&r);
}

static void test_http_and_https_on_one_port_conflict(void **state)
{
	(void)state;
	struct buf s = BUF_INIT;
	secret(&s, "default", "ec", ec_crt, ec_key, true);
	struct run r;
	build(&r, GATEWAY_HEAD
	      "  listeners:\n"
	      "  - {name: http, port: 8443, protocol: HTTP}\n"
	      "  - {name: https, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: ec}]}}\n"
	      "  - {name: wild, port: 9443, hostname: \"*.example.org\", protocol: HTTPS, tls: {certificateRefs: [{name: ec}]}}\n"
	      "  - {name: exact, port: 9443, hostname: a.example.org, protocol: HTTPS, tls: {certificateRefs: [{name: ec}]}}\n",
	      s.data, true);
	assert_true(listener_has(&r, "http", "Accepted", "False", "ProtocolConflict"));
	assert_true(listener_has(&r, "https", "Conflicted", "True", "ProtocolConflict"));
	assert_null(img_listener(&r, "http"));
	assert_null(img_listener(&r, "https"));
	/* overlapping hostnames on one port: served, with the negative-polarity condition */
	assert_true(listener_has(&r, "wild", "OverlappingTLSConfig", "True", "OverlappingHostnames"));
	assert_true(listener_has(&r, "exact", "OverlappingTLSConfig", "True", "OverlappingHostnames"));
	assert_non_null(img_listener(&r, "wild"));
	buf_free(&s);
	done(&r);
}

/* TLS 1.3 names are real suites: without TLS 1.3 in mbedTLS (2.28) they are dropped
 * with a warning, and a listener that can do nothing else is not served. */
static void test_tls13_options_follow_the_library(void **state)
{
	(void)state;
	struct buf s = BUF_INIT;
	secret(&s, "default", "ec", ec_crt, ec_key, true);
	struct run r;
	build(&r, GATEWAY_HEAD
	      "  listeners:\n"
	      "  - name: a\n"
	      "    port: 8443\n"
	      "    protocol: HTTPS\n"
	      "    tls:\n"
	      "      certificateRefs: [{name: ec}]\n"
	      "      options: {gatewayd.io/ciphers: \"TLS_AES_128_GCM_SHA256:TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"}\n"
	      "  - name: b\n"
	      "    port: 8444\n"
	      "    protocol: HTTPS\n"
	      "    tls:\n"
	      "      certificateRefs: [{name: ec}]\n"
	      "      options: {gatewayd.io/min-version: \"1.3\"}\n",
	      s.data, true);
	const struct img_listener *a = img_listener(&r, "a"), *b = img_listener(&r, "b");
	assert_non_null(a);
	if (tls_have_tls13()) {
		assert_string_equal(img_str_ptr(r.img, a->ciphers),
				    "TLS_AES_128_GCM_SHA256:TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
		assert_non_null(b);
		assert_int_equal(b->tls_min_version, IMG_TLS_1_3);
		assert_int_equal(r.res.diags.warnings, 0);
	} else {
		assert_string_equal(img_str_ptr(r.img, a->ciphers), "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
		find_diag(&r, DIAG_WARNING, "cipher suite \"TLS_AES_128_GCM_SHA256\" needs TLS 1.3");
		assert_null(b);
		assert_true(listener_has(&r, "b", "Accepted", "False", "UnsupportedValue"));
		find_diag(&r, DIAG_WARNING, "has no TLS 1.3: the listener is not served");
	}
	buf_free(&s);
	done(&r);
}

/* ---- frontend client-certificate validation ---- */

static void test_frontend_validation_per_port_overrides_default(void **state)
{
	(void)state;
	struct buf s = BUF_INIT;
	secret(&s, "default", "ec", ec_crt, ec_key, true);
	configmap(&s, "default-ca", ca_crt);
	configmap(&s, "port-ca", rsa_crt);
	struct run r;
	build(&r, GATEWAY_HEAD
	      "  tls:\n"
	      "    frontend:\n"
	      "      default:\n"
	      "        validation:\n"
	      "          caCertificateRefs: [{group: \"\", kind: ConfigMap, name: default-ca}]\n"
	      "      perPort:\n"
	      "      - port: 8444\n"
	      "        tls:\n"
	      "          validation:\n"
	      "            mode: AllowInsecureFallback\n"
	      "            caCertificateRefs: [{group: \"\", kind: ConfigMap, name: port-ca}]\n"
	      "  listeners:\n"
	      "  - {name: http, port: 8080, protocol: HTTP}\n"
	      "  - {name: a, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: ec}]}}\n"
	      "  - {name: b, port: 8444, protocol: HTTPS, tls: {certificateRefs: [{name: ec}]}}\n",
	      s.data, true);
	const struct img_listener *a = img_listener(&r, "a"), *b = img_listener(&r, "b"), *h = img_listener(&r, "http");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(h);
	assert_int_equal(a->client_validation, IMG_CLIENT_REQUIRE);
	assert_string_equal(img_str_ptr(r.img, a->client_ca), ca_crt);
	assert_int_equal(b->client_validation, IMG_CLIENT_OPTIONAL);
	assert_string_equal(img_str_ptr(r.img, b->client_ca), rsa_crt);
	assert_int_equal(h->client_validation, IMG_CLIENT_NONE);
	assert_non_null(strstr(r.res.status_json.data, "{\"type\":\"InsecureFrontendValidationMode\",\"status\":\"True\","
			       "\"reason\":\"ConfigurationChanged\""));
	buf_free(&s);
	done(&r);
}

static void test_frontend_validation_without_a_valid_ca_stops_https_only(void **state)
{
	(void)state;
	struct buf s = BUF_INIT;
	secret(&s, "default", "ec", ec_crt, ec_key, true);
	struct run r;
	build(&r, GATEWAY_HEAD
	      "  tls:\n"
	      "    frontend:\n"
	      "      default:\n"
	      "        validation:\n"
	      "          caCertificateRefs: [{group: \"\", kind: ConfigMap, name: missing}]\n"
	      "      perPort:\n"
	      "      - port: 8444\n"
	      "        tls:\n"
	      "          validation:\n"
	      "            caCertificateRefs: [{group: example.org, kind: Bundle, name: x}]\n"
	      "  listeners:\n"
	      "  - {name: http, port: 8080, protocol: HTTP}\n"
	      "  - {name: a, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: ec}]}}\n"
	      "  - {name: b, port: 8444, protocol: HTTPS, tls: {certificateRefs: [{name: ec}]}}\n",
	      s.data, true);
	assert_non_null(img_listener(&r, "http"));
	assert_null(img_listener(&r, "a"));
	assert_null(img_listener(&r, "b"));
	assert_true(listener_has(&r, "a", "Accepted", "False", "NoValidCACertificate"));
	assert_true(listener_has(&r, "a", "ResolvedRefs", "False", "InvalidCACertificateRef"));
	assert_true(listener_has(&r, "b", "ResolvedRefs", "False", "InvalidCACertificateKind"));
	assert_true(listener_has(&r, "b", "Programmed", "False", "Invalid"));
	assert_true(listener_has(&r, "http", "Accepted", "True", "Accepted"));
	buf_free(&s);
	done(&r);
}

/* ---- BackendTLSPolicy ---- */

#define BACKEND_SETUP \
	"---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: web}\n" \
	"spec:\n  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs: [{name: api, port: 443}, {name: api, port: 8443}]\n" \
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: api}\n" \
	"spec:\n  ports: [{name: https, port: 443}, {name: alt, port: 8443}]\n" \
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n" \
	"metadata: {name: api-1, labels: {kubernetes.io/service-name: api}}\naddressType: IPv4\n" \
	"endpoints: [{addresses: [127.0.0.1]}]\nports: [{name: https, port: 9443}, {name: alt, port: 9444}]\n"

#define POLICY(name, ts, section, validation) \
	"---\napiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\n" \
	"metadata: {name: " name ", creationTimestamp: \"" ts "\"}\n" \
	"spec:\n  targetRefs: [{group: \"\", kind: Service, name: api" section "}]\n" \
	"  validation:\n" validation

static const struct img_backend_tls *backend_tls_of(const struct run *r, const char *backend)
{
	const struct img_backend *bs = IMG_ARRAY(r->img, r->img->backends, struct img_backend);
	for (uint32_t i = 0; i < r->img->backends.count; i++) {
		if (strcmp(img_str_ptr(r->img, bs[i].name), backend) != 0)
			continue;
		if (bs[i].tls == IMG_NONE)
			return NULL;
		assert_true(bs[i].tls < r->img->backend_tls.count);
		return IMG_ARRAY(r->img, r->img->backend_tls, struct img_backend_tls) + bs[i].tls;
	}
	fail_msg("no backend %s", backend);
	return NULL;
}

static void test_backend_tls_policy_compiles_per_port(void **state)
{
	(void)state;
	struct buf s = BUF_INIT;
	configmap(&s, "backend-ca", ca_crt);
	buf_puts(&s, POLICY("whole", "2024-01-01T00:00:00Z", "",
			    "    caCertificateRefs: [{group: \"\", kind: ConfigMap, name: backend-ca}]\n"
			    "    hostname: api.example.org\n"
			    "    subjectAltNames:\n"
			    "    - {type: Hostname, hostname: api.internal}\n"
			    "    - {type: URI, uri: \"spiffe://example.org/api\"}\n"));
	buf_puts(&s, POLICY("alt-port", "2025-01-01T00:00:00Z", ", sectionName: alt",
			    "    wellKnownCACertificates: System\n"
			    "    hostname: alt.example.org\n"));
	struct run r;
	build(&r, GATEWAY_HEAD "  listeners: [{name: http, port: 8080, protocol: HTTP}]\n" BACKEND_SETUP, s.data, true);
	const struct img_backend_tls *t = backend_tls_of(&r, "Service/default/api:443");
	assert_non_null(t);
	assert_string_equal(img_str_ptr(r.img, t->policy), "default/whole");
	assert_string_equal(img_str_ptr(r.img, t->sni), "api.example.org");
	assert_string_equal(img_str_ptr(r.img, t->ca_pem), ca_crt);
	assert_int_equal(t->flags, 0);
	assert_int_equal(t->san.count, 2);
	const struct img_str *san = (const struct img_str *)((const char *)r.img + t->san.off);
	assert_string_equal(img_str_ptr(r.img, san[0]), "api.internal");
	assert_string_equal(img_str_ptr(r.img, san[1]), "spiffe://example.org/api");
	/* the policy naming the port wins there, and does not conflict */
	t = backend_tls_of(&r, "Service/default/api:8443");
	assert_non_null(t);
	assert_string_equal(img_str_ptr(r.img, t->policy), "default/alt-port");
	assert_int_equal(t->flags, IMG_BTLS_SYSTEM_CA);
	assert_string_equal(img_str_ptr(r.img, t->ca_pem), "");
	assert_int_equal(t->san.count, 0);
	assert_null(strstr(r.res.status_json.data, "Conflicted"));
	assert_non_null(strstr(r.res.status_json.data, "\"ancestors\":[{\"ancestorRef\":{\"group\":\"gateway.networking.k8s.io\","
			       "\"kind\":\"Gateway\",\"namespace\":\"default\",\"name\":\"gw\"},\"controllerName\":\""
			       CONTROLLER "\",\"conditions\":[{\"type\":\"Accepted\",\"status\":\"True\""));
	buf_free(&s);
	done(&r);
}

static void test_backend_tls_policy_conflict_and_bad_ca(void **state)
{
	(void)state;
	struct buf s = BUF_INIT;
	buf_puts(&s, POLICY("newer", "2025-01-01T00:00:00Z", "",
			    "    wellKnownCACertificates: System\n    hostname: newer.example.org\n"));
	buf_puts(&s, POLICY("older", "2024-01-01T00:00:00Z", "",
			    "    caCertificateRefs: [{group: \"\", kind: ConfigMap, name: nowhere}]\n"
			    "    hostname: older.example.org\n"));
	struct run r;
	build(&r, GATEWAY_HEAD "  listeners: [{name: http, port: 8080, protocol: HTTP}]\n" BACKEND_SETUP, s.data, true);
	/* the older one applies, with nothing trusted: requests fail rather than go out unverified */
	const struct img_backend_tls *t = backend_tls_of(&r, "Service/default/api:443");
	assert_non_null(t);
	assert_string_equal(img_str_ptr(r.img, t->policy), "default/older");
	assert_string_equal(img_str_ptr(r.img, t->ca_pem), "");
	assert_int_equal(t->flags, 0);
	const char *js = r.res.status_json.data;
	const char *newer = strstr(js, "\"name\":\"newer\""), *older = strstr(js, "\"name\":\"older\"");
	assert_non_null(newer);
	assert_non_null(older);
	assert_true(newer < older);
	const char *c1 = strstr(newer, "{\"type\":\"Accepted\",\"status\":\"False\",\"reason\":\"Conflicted\"");
	assert_non_null(c1);
	assert_true(c1 < older);
	assert_non_null(strstr(older, "{\"type\":\"Accepted\",\"status\":\"False\",\"reason\":\"NoValidCACertificate\""));
	assert_non_null(strstr(older, "{\"type\":\"ResolvedRefs\",\"status\":\"False\",\"reason\":\"InvalidCACertificateRef\""));
	find_diag(&r, DIAG_WARNING, "is already the target of BackendTLSPolicy default/older");
	buf_free(&s);
	done(&r);
}

/* ---- schema errors ---- */

static void test_schema_errors_are_refused(void **state)
{
	(void)state;
	struct run r;
	build(&r, GATEWAY_HEAD
	      "  listeners:\n"
	      "  - name: https\n"
	      "    port: 8443\n"
	      "    protocol: HTTPS\n"
	      "    tls:\n"
	      "      certificateRefs: [{name: x}]\n"
	      "      options:\n"
	      "        gatewayd.io/min-version: \"1.1\"\n"              /* 13 */
	      "        gatewayd.io/ciphers: \"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:TLS_BOGUS\"\n"
	      "        gatewayd.io/colour: blue\n"
	      "        example.com/other: x\n",
	      "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ntype: kubernetes.io/tls\n"
	      "data: {tls.crt: \"not base64!\"}\n"
	      "---\napiVersion: gateway.networking.k8s.io/v1alpha3\nkind: BackendTLSPolicy\nmetadata: {name: p}\n"
	      "spec:\n  targetRefs: [{group: \"\", kind: Service, name: s}, {group: \"\", kind: Service, name: s}]\n"
	      "  validation:\n    wellKnownCACertificates: System\n"
	      "    caCertificateRefs: [{group: \"\", kind: ConfigMap, name: c}]\n    hostname: \"*.example.org\"\n"
	      "    subjectAltNames: [{type: URI, hostname: a.example.org}]\n",
	      false);
	assert_at(find_diag(&r, DIAG_ERROR, "gatewayd.io/min-version: unsupported value \"1.1\""), "b-gateway.yaml", 13);
	find_diag(&r, DIAG_ERROR, "unknown cipher suite \"TLS_BOGUS\"");
	find_diag(&r, DIAG_ERROR, "unknown option \"gatewayd.io/colour\"");
	find_diag(&r, DIAG_WARNING, "option \"example.com/other\" is not a gatewayd option: ignored");
	assert_at(find_diag(&r, DIAG_ERROR, "Secret default/x: data.tls.crt: illegal base64 data"), "c-secrets.yaml", 5);
	find_diag(&r, DIAG_WARNING, "apiVersion \"gateway.networking.k8s.io/v1alpha3\" is deprecated");
	find_diag(&r, DIAG_ERROR, "sectionName must be specified when targetRefs includes 2 or more references");
	find_diag(&r, DIAG_ERROR, "must not contain both CACertificateRefs and WellKnownCACertificates");
	find_diag(&r, DIAG_ERROR, "spec.validation.hostname");
	find_diag(&r, DIAG_ERROR, "SubjectAltName element must not contain Hostname, if Type is set to URI");
	done(&r);

	build(&r, NULL, "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ntype: kubernetes.io/tls\n"
	      "stringData: {tls.crt: a}\n"
	      "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {ca.crt: a}\nbinaryData: {ca.crt: YQ==}\n",
	      false);
	find_diag(&r, DIAG_ERROR, "a Secret of type \"kubernetes.io/tls\" must have the key \"tls.key\"");
	find_diag(&r, DIAG_ERROR, "duplicate of key \"ca.crt\" in data");
	done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_https_listener_carries_pem_certificates_and_options),
		cmocka_unit_test(test_missing_secret_stops_only_its_listener),
		cmocka_unit_test(test_bad_secret_is_reported_at_the_secret),
		cmocka_unit_test(test_cross_namespace_certificate_needs_a_grant),
		cmocka_unit_test(test_some_bad_certificates_leave_the_good_ones_served),
		cmocka_unit_test(test_expiring_certificates_are_warned_about_and_served),
		cmocka_unit_test(test_http_and_https_on_one_port_conflict),
		cmocka_unit_test(test_tls13_options_follow_the_library),
		cmocka_unit_test(test_frontend_validation_per_port_overrides_default),
		cmocka_unit_test(test_frontend_validation_without_a_valid_ca_stops_https_only),
		cmocka_unit_test(test_backend_tls_policy_compiles_per_port),
		cmocka_unit_test(test_backend_tls_policy_conflict_and_bad_ca),
		cmocka_unit_test(test_schema_errors_are_refused),
	};
	/* one set of keys for every case: RSA keys take a while to make */
	if (make_pki() != 0) {
		fprintf(stderr, "cannot make certificates with the openssl CLI in %s\n", pki);
		return 1;
	}
	atexit(drop_pki);
	return UNIT_RUN(tests);
}
