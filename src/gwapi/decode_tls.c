/* SPDX-License-Identifier: MIT */
/* decode_tls: the model side of a listener's tls stanza (certificateRefs and the
 * gatewayd.io options; decode_gateway.c checks its shape) and the Gateway's spec.tls
 * (frontend client-certificate validation, GEP-91, and the backend client certificate;
 * GATEWAY-API.md §2.4). */
#include <string.h>

#include "base/buf.h"
#include "gwapi/decode.h"
#include "gwapi/tls_check.h"

#define OPT_MIN_VERSION "gatewayd.io/min-version"
#define OPT_CIPHERS "gatewayd.io/ciphers"

static const struct dfield gateway_tls_fields[] = {
	{ "frontend", DT_MAP, 0, 0, 0 },
	{ "backend", DT_MAP, 0, 0, 0 },
};

static const struct dfield frontend_fields[] = {
	{ "default", DT_MAP, DF_REQUIRED, 0, 0 },
	{ "perPort", DT_SEQ, 0, 0, 64 },
};

static const struct dfield tls_config_fields[] = {
	{ "validation", DT_MAP, 0, 0, 0 },
};

static const struct dfield port_config_fields[] = {
	{ "port", DT_INT, DF_REQUIRED, 1, 65535 },
	{ "tls", DT_MAP, DF_REQUIRED, 0, 0 },
};

static const struct dfield validation_fields[] = {
	{ "caCertificateRefs", DT_SEQ, DF_REQUIRED, 1, 16 },
	{ "mode", DT_STR, 0, 0, 0 },
};

/* GatewayBackendTLS: the client certificate for TLS backends (§2.4). */
static const struct dfield backend_fields[] = {
	{ "clientCertificateRef", DT_MAP, 0, 0, 0 },
};

/* SecretObjectReference: group "" and kind Secret by default (§2.2). */
static const struct dfield secret_ref_fields[] = {
	{ "group", DT_STR, 0, 0, 253 },
	{ "kind", DT_STR, 0, 1, 63 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
	{ "namespace", DT_STR, 0, 1, 63 },
};

/* ObjectReference: group and kind required (§2.2). */
static const struct dfield object_ref_fields[] = {
	{ "group", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
	{ "namespace", DT_STR, 0, 0, 0 },
};

static const char *const validation_modes[] = { "AllowValidOnly", "AllowInsecureFallback" };

/* A string field of an already checked mapping, or NULL. */
static const char *str_of(const struct ynode *map, const char *key)
{
	const struct ynode *n = ynode_get(map, key);
	return n && n->kind == YNODE_SCALAR && !ynode_is_null(n) ? n->scalar : NULL;
}

/* "TLS_A, TLS_B:TLS_C" -> the suites this mbedTLS has, ":"-joined. Unknown names are
 * errors; TLS 1.3 suites without TLS 1.3 support only a warning (they are real). */
static void decode_ciphers(struct dctx *c, const struct ynode *v, const char *path, struct gw_listener_tls *t)
{
	struct buf b = BUF_INIT;
	size_t given = 0;
	const char *s = v->scalar;
	while (*s) {
		size_t n = strcspn(s, ",:");
		const char *start = s;
		s += n;
		if (*s)
			s++;
		while (n && (*start == ' ' || *start == '\t'))
			start++, n--;
		while (n && (start[n - 1] == ' ' || start[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		given++;
		const char *name = arena_strndup(c->a, start, n);
		if (tls_cipher_id(name) != 0) {
			buf_printf(&b, "%s%s", b.len ? ":" : "", name);
		} else if (tls_cipher_is_tls13(name)) {
			decode_warning(c, v, path, "cipher suite %s needs TLS 1.3, which mbedTLS %s lacks: ignored",
				       decode_quote(c, name), tls_library_version());
		} else {
			decode_error(c, v, path, "unknown cipher suite %s (IANA names such as "
				     "\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\" or \"TLS_AES_128_GCM_SHA256\", "
				     "supported by mbedTLS %s)", decode_quote(c, name), tls_library_version());
		}
	}
	if (given == 0)
		decode_error(c, v, path, "must name at least one cipher suite");
	if (b.len)
		t->ciphers = arena_strdup(c->a, b.data);
	else
		t->ciphers_unusable = given > 0;
	buf_free(&b);
}

static void decode_options(struct dctx *c, const struct ynode *opts, const char *path, struct gw_listener_tls *t)
{
	t->options_pos = decode_pos(opts);
	for (size_t i = 0; i < opts->count; i++) {
		const struct ynode *k = opts->pairs[i].key, *v = opts->pairs[i].value;
		if (!v || v->kind != YNODE_SCALAR || ynode_is_null(v))
			continue; /* decode_gateway.c reported it */
		const char *vpath = decode_path(c, path, k->scalar);
		if (!strcmp(k->scalar, OPT_MIN_VERSION)) {
			if (!strcmp(v->scalar, "1.2"))
				t->min_version = GW_TLS_1_2;
			else if (!strcmp(v->scalar, "1.3"))
				t->min_version = GW_TLS_1_3;
			else
				decode_error(c, v, vpath, "unsupported value %s (expected \"1.2\" or \"1.3\")",
					     decode_quote(c, v->scalar));
		} else if (!strcmp(k->scalar, OPT_CIPHERS)) {
			decode_ciphers(c, v, vpath, t);
		} else if (!strncmp(k->scalar, "gatewayd.io/", 12)) {
			decode_error(c, k, path, "unknown option %s (expected \"" OPT_MIN_VERSION "\" or \""
				     OPT_CIPHERS "\")", decode_quote(c, k->scalar));
		} else {
			decode_warning(c, k, path, "option %s is not a gatewayd option: ignored",
				       decode_quote(c, k->scalar));
		}
	}
}

void decode_listener_tls_model(struct dctx *c, const struct ynode *n, const char *path, struct gw_listener *l)
{
	struct gw_listener_tls *t = arena_alloc(c->a, sizeof *t);
	l->tls = t;
	const char *mode = str_of(n, "mode");
	t->passthrough = mode && !strcmp(mode, "Passthrough");
	const struct ynode *refs = ynode_get(n, "certificateRefs");
	if (refs && refs->kind == YNODE_SEQ) {
		t->certificate_refs = arena_alloc(c->a, (refs->count + 1) * sizeof *t->certificate_refs);
		for (size_t i = 0; i < refs->count; i++) {
			const struct ynode *r = refs->items[i];
			const char *name = str_of(r, "name");
			if (r->kind != YNODE_MAP || !name)
				continue;
			const char *group = str_of(r, "group"), *kind = str_of(r, "kind");
			t->certificate_refs[t->ncertificate_refs++] = (struct gw_object_ref){
				.group = group ? group : "", .kind = kind ? kind : "Secret",
				.ns = str_of(r, "namespace"), .name = name, .pos = decode_pos(r),
			};
		}
	}
	const struct ynode *opts = ynode_get(n, "options");
	if (opts && opts->kind == YNODE_MAP)
		decode_options(c, opts, decode_path(c, path, "options"), t);
}

static void decode_object_refs(struct dctx *c, const struct ynode *seq, const char *path,
			       struct gw_object_ref **out, size_t *nout)
{
	*out = arena_alloc(c->a, (seq->count + 1) * sizeof **out);
	*nout = 0;
	for (size_t i = 0; i < seq->count; i++) {
		const char *ip = decode_path_index(c, path, i);
		struct dval r[4];
		if (!DECODE_FIELDS(c, seq->items[i], ip, object_ref_fields, r))
			continue;
		if (!decode_group_name(c, r[0].val, decode_path(c, ip, "group")) ||
		    !decode_kind_name(c, r[1].val, decode_path(c, ip, "kind")) ||
		    (r[3].val && !decode_dns_label(c, r[3].val, decode_path(c, ip, "namespace"))))
			continue;
		(*out)[(*nout)++] = (struct gw_object_ref){
			.group = r[0].val->scalar, .kind = r[1].val->scalar, .name = r[2].val->scalar,
			.ns = r[3].val ? r[3].val->scalar : NULL, .pos = decode_pos(seq->items[i]),
		};
	}
}

/* TLSConfig: {validation?} */
static void decode_tls_config(struct dctx *c, const struct ynode *n, const char *path,
			      struct gw_frontend_validation *fv)
{
	struct dval v[1];
	DECODE_FIELDS(c, n, path, tls_config_fields, v);
	if (!v[0].val)
		return;
	const char *vpath = decode_path(c, path, "validation");
	struct dval f[2];
	DECODE_FIELDS(c, v[0].val, vpath, validation_fields, f);
	fv->set = true;
	fv->pos = decode_pos(v[0].val);
	if (f[0].val)
		decode_object_refs(c, f[0].val, decode_path(c, vpath, "caCertificateRefs"), &fv->ca_refs, &fv->nca_refs);
	if (f[1].val)
		fv->insecure_fallback = decode_enum(c, f[1].val, decode_path(c, vpath, "mode"), validation_modes, 2) == 1;
}

/* spec.tls.backend: resolve_tls.c checks the Secret and sets the Gateway's ResolvedRefs. */
static void decode_backend_tls(struct dctx *c, const struct ynode *n, struct gw_gateway_tls *t)
{
	const char *path = "spec.tls.backend";
	struct dval v[1];
	DECODE_FIELDS(c, n, path, backend_fields, v);
	if (!v[0].val)
		return;
	const char *rpath = decode_path(c, path, "clientCertificateRef");
	struct dval r[4];
	if (!DECODE_FIELDS(c, v[0].val, rpath, secret_ref_fields, r))
		return;
	if ((r[0].val && !decode_group_name(c, r[0].val, decode_path(c, rpath, "group"))) ||
	    (r[1].val && !decode_kind_name(c, r[1].val, decode_path(c, rpath, "kind"))) ||
	    (r[3].val && !decode_dns_label(c, r[3].val, decode_path(c, rpath, "namespace"))))
		return;
	t->has_backend_client = true;
	t->backend_client_ref = (struct gw_object_ref){
		.group = r[0].val ? r[0].val->scalar : "", .kind = r[1].val ? r[1].val->scalar : "Secret",
		.ns = r[3].val ? r[3].val->scalar : NULL, .name = r[2].val->scalar, .pos = decode_pos(v[0].val),
	};
}

void decode_gateway_tls(struct dctx *c, const struct dval *tv, struct gw_gateway *gw)
{
	struct dval v[2];
	DECODE_FIELDS(c, tv->val, "spec.tls", gateway_tls_fields, v);
	struct gw_gateway_tls *t = arena_alloc(c->a, sizeof *t);
	gw->tls = t;
	if (v[1].val) /* the client certificate presented to TLS backends */
		decode_backend_tls(c, v[1].val, t);
	if (!v[0].val)
		return;
	const char *fpath = "spec.tls.frontend";
	struct dval f[2];
	DECODE_FIELDS(c, v[0].val, fpath, frontend_fields, f);
	if (f[0].val)
		decode_tls_config(c, f[0].val, "spec.tls.frontend.default", &t->frontend_default);
	if (!f[1].val)
		return;
	const struct ynode *seq = f[1].val;
	t->per_port = arena_alloc(c->a, (seq->count + 1) * sizeof *t->per_port);
	for (size_t i = 0; i < seq->count; i++) {
		const char *ip = decode_path_index(c, "spec.tls.frontend.perPort", i);
		struct dval p[2];
		if (!DECODE_FIELDS(c, seq->items[i], ip, port_config_fields, p))
			continue;
		struct gw_frontend_port *fp = &t->per_port[t->nper_port];
		fp->port = (uint16_t)decode_int_value(p[0].val);
		fp->pos = decode_pos(seq->items[i]);
		/* CEL: "Port for TLS configuration must be unique within the Gateway" */
		bool dup = false;
		for (size_t k = 0; k < t->nper_port && !dup; k++)
			dup = t->per_port[k].port == fp->port;
		if (dup) {
			decode_error(c, p[0].val, decode_path(c, ip, "port"),
				     "port %u is already configured: ports must be unique", (unsigned)fp->port);
			continue;
		}
		decode_tls_config(c, p[1].val, decode_path(c, ip, "tls"), &fp->validation);
		t->nper_port++;
	}
}
