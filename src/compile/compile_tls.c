/* SPDX-License-Identifier: MIT */
/* compile_tls: resolved TLS settings -> image records. Certificates and keys go in as
 * the PEM text resolve_tls.c checked (NUL-terminated in the string area, which
 * mbedTLS's PEM parsers need); a BackendTLSPolicy becomes one img_backend_tls shared by
 * every backend it applies to. A policy whose CA did not resolve keeps an empty bundle
 * and no SYSTEM_CA flag: the runtime then trusts nothing and the requests fail, as
 * upstream expects (GATEWAY-API.md §2.11). A Gateway's backend client certificate goes
 * on each of its listeners (img_listener.backend_cert). */
#include "compile/compile_tls.h"

#include <string.h>

static uint8_t img_version(enum gw_tls_version v)
{
	switch (v) {
	case GW_TLS_1_2:
		return IMG_TLS_1_2;
	case GW_TLS_1_3:
		return IMG_TLS_1_3;
	default:
		return IMG_TLS_DEFAULT;
	}
}

void compile_tls_listener(struct cctx *c, const struct gw_listener *l, struct img_listener *il)
{
	const struct gw_listener_tls *t = l->tls;
	if (l->protocol != GW_PROTO_HTTPS || !t)
		return;
	il->protocol = IMG_PROTO_HTTPS;
	il->tls_min_version = img_version(t->min_version);
	il->ciphers = strtab_add(&c->st, t->ciphers ? t->ciphers : "");
	il->client_validation = t->client_validation == GW_CLIENT_REQUIRE ? IMG_CLIENT_REQUIRE
			      : t->client_validation == GW_CLIENT_OPTIONAL ? IMG_CLIENT_OPTIONAL
									: IMG_CLIENT_NONE;
	il->client_ca = strtab_add(&c->st, t->client_ca_pem ? t->client_ca_pem : "");
	il->certs.off = (uint32_t)c->certs.n;
	for (size_t i = 0; i < t->ncerts; i++) {
		const struct gw_tls_cert *gc = &t->certs[i];
		struct img_cert *ic = vec_push(&c->certs);
		ic->secret = strtab_add(&c->st, arena_printf(&c->a, "%s/%s", gc->secret->meta.ns, gc->secret->meta.name));
		ic->cert_pem = strtab_add(&c->st, gc->cert_pem);
		ic->key_pem = strtab_add(&c->st, gc->key_pem);
	}
	il->certs.count = (uint32_t)t->ncerts;
}

/* One img_cert per Secret: strings are stored once, so equal offsets are the same pair
 * (a listener certificate and a backend client certificate may share it). */
static uint32_t cert_index(struct cctx *c, const struct gw_tls_cert *gc)
{
	struct img_str name = strtab_add(&c->st, arena_printf(&c->a, "%s/%s", gc->secret->meta.ns,
							       gc->secret->meta.name));
	struct img_str crt = strtab_add(&c->st, gc->cert_pem), key = strtab_add(&c->st, gc->key_pem);
	for (size_t i = 0; i < c->certs.n; i++) {
		const struct img_cert *ic = VEC_AT(c->certs, struct img_cert, i);
		if (ic->secret.off == name.off && ic->cert_pem.off == crt.off && ic->key_pem.off == key.off)
			return (uint32_t)i;
	}
	struct img_cert *ic = vec_push(&c->certs);
	ic->secret = name;
	ic->cert_pem = crt;
	ic->key_pem = key;
	return (uint32_t)(c->certs.n - 1);
}

void compile_tls_backend_cert(struct cctx *c, const struct gw_gateway *gw, struct img_listener *il)
{
	il->backend_cert = IMG_NONE;
	if (gw->tls && gw->tls->backend_client)
		il->backend_cert = cert_index(c, gw->tls->backend_client);
}

uint32_t compile_tls_backend(struct cctx *c, const struct gw_backend *b)
{
	const struct gw_backendtlspolicy *p = b->tls_policy;
	if (!p)
		return IMG_NONE;
	/* the string table stores "ns/name" once: equal offsets, same policy */
	struct img_str name = strtab_add(&c->st, arena_printf(&c->a, "%s/%s", p->meta.ns, p->meta.name));
	for (size_t i = 0; i < c->btls.n; i++) {
		const struct img_backend_tls *t = VEC_AT(c->btls, struct img_backend_tls, i);
		if (t->policy.off == name.off && t->policy.len == name.len)
			return (uint32_t)i;
	}
	uint32_t san_at = (uint32_t)c->fstrs.n;
	for (size_t i = 0; i < p->nsans; i++)
		*(struct img_str *)vec_push(&c->fstrs) = strtab_add(&c->st, p->sans[i].value);
	struct img_backend_tls *t = vec_push(&c->btls);
	t->policy = name;
	t->sni = strtab_add_lower(&c->st, p->hostname);
	t->ca_pem = strtab_add(&c->st, p->ca_pem ? p->ca_pem : "");
	t->flags = p->system_ca ? IMG_BTLS_SYSTEM_CA : 0;
	t->san.off = san_at;
	t->san.count = (uint32_t)p->nsans;
	return (uint32_t)(c->btls.n - 1);
}
