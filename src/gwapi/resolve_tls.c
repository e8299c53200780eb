/* SPDX-License-Identifier: MIT */
/* resolve_tls: HTTPS listeners' certificateRefs and frontend client-certificate
 * validation (GATEWAY-API.md §2.4, §4.3, GEP-91), and the Gateway-wide TLS conditions.
 * A certificateRef that does not resolve makes the listener ResolvedRefs=False with
 * InvalidCertificateRef (or RefNotPermitted without a ReferenceGrant); a listener left
 * without any usable certificate is Programmed=False and not served, while the rest of
 * the configuration applies (DESIGN.md). Several certificates are implementation-
 * specific upstream: gatewayd serves the usable ones and reports the others. Also the
 * Gateway's backend client certificate (spec.tls.backend). */
#include "gwapi/resolve_tls.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "gwapi/resolve.h"
#include "gwapi/resolve_tls_int.h"
#include "gwapi/tls_check.h"

#define SECRET_TYPE_TLS "kubernetes.io/tls"
#define EXPIRY_WARN_DAYS 30

/* ---- shared with resolve_backendtls.c ---- */

const struct gw_secret *rtls_find_secret(const struct gw_model *m, const char *ns, const char *name)
{
	for (size_t i = 0; i < m->nsecrets; i++)
		if (!strcmp(m->secrets[i]->meta.ns, ns) && !strcmp(m->secrets[i]->meta.name, name))
			return m->secrets[i];
	return NULL;
}

static const struct gw_configmap *find_configmap(const struct gw_model *m, const char *ns, const char *name)
{
	for (size_t i = 0; i < m->nconfigmaps; i++)
		if (!strcmp(m->configmaps[i]->meta.ns, ns) && !strcmp(m->configmaps[i]->meta.name, name))
			return m->configmaps[i];
	return NULL;
}

enum rtls_ca rtls_load_ca(struct arena *a, const struct gw_model *m, const struct gw_object_ref *r,
			  const char *ns, struct rtls_ca_result *out)
{
	memset(out, 0, sizeof *out);
	out->pos = r->pos;
	bool core = r->group[0] == '\0';
	bool is_cm = core && !strcmp(r->kind, "ConfigMap"), is_secret = core && !strcmp(r->kind, "Secret");
	if (!is_cm && !is_secret) {
		out->problem = arena_printf(a, "kind \"%s\" in group \"%s\" cannot hold a CA certificate "
					    "(ConfigMap or Secret with the key ca.crt)", r->kind, r->group);
		return RTLS_CA_BAD_KIND;
	}
	const char *pem = NULL;
	size_t len = 0;
	if (is_cm) {
		const struct gw_configmap *cm = find_configmap(m, ns, r->name);
		if (!cm) {
			out->problem = arena_printf(a, "ConfigMap \"%s/%s\" not found", ns, r->name);
			return RTLS_CA_NOT_FOUND;
		}
		out->obj = &cm->meta;
		out->pos = cm->ca_crt ? cm->ca_crt_pos : cm->meta.pos;
		pem = cm->ca_crt;
		len = cm->ca_crt_len;
	} else {
		const struct gw_secret *s = rtls_find_secret(m, ns, r->name);
		if (!s) {
			out->problem = arena_printf(a, "Secret \"%s/%s\" not found", ns, r->name);
			return RTLS_CA_NOT_FOUND;
		}
		out->obj = &s->meta;
		out->pos = s->ca_crt ? s->ca_crt_pos : s->meta.pos;
		pem = s->ca_crt;
		len = s->ca_crt_len;
	}
	if (!pem) {
		out->problem = arena_printf(a, "%s \"%s/%s\" has no key ca.crt", r->kind, ns, r->name);
		return RTLS_CA_INVALID;
	}
	char err[256];
	if (!tls_check_ca(pem, len, err, sizeof err)) {
		out->problem = arena_printf(a, "%s \"%s/%s\": ca.crt: %s", r->kind, ns, r->name, err);
		return RTLS_CA_INVALID;
	}
	out->pem = pem;
	out->len = len;
	return RTLS_CA_OK;
}

void rtls_append_pem(struct buf *b, const char *pem, size_t len)
{
	if (b->len && b->data[b->len - 1] != '\n')
		buf_putc(b, '\n');
	buf_append(b, pem, len);
}

static const char *utc_date(struct arena *a, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32] = "?";
	if (gmtime_r(&tt, &tm))
		strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return arena_strdup(a, s);
}

/* The pair of a kubernetes.io/tls Secret, checked once whoever refers to it; the
 * validity warnings come with that first check. */
static bool secret_usable(struct arena *a, struct gw_secret *s, struct diag_list *dl)
{
	if (s->checked)
		return s->checked > 0;
	struct tls_pair_info info;
	char err[320];
	if (!tls_check_pair(s->tls_crt, s->tls_crt_len, s->tls_key, s->tls_key_len, &info, err, sizeof err)) {
		s->checked = -1;
		s->problem = strncmp(err, "tls.key", 7) == 0 ? arena_strdup(a, err)
							     : arena_printf(a, "tls.crt: %s", err);
		return false;
	}
	s->checked = 1;
	int64_t now = (int64_t)time(NULL);
	if (info.not_after < now)
		resolve_warn(dl, &s->meta, &s->tls_crt_pos, "tls.crt: the certificate \"%s\" expired on %s "
			     "(still served; clients will refuse it)", info.subject, utc_date(a, info.not_after));
	else if (info.not_after - now < (int64_t)EXPIRY_WARN_DAYS * 86400)
		resolve_warn(dl, &s->meta, &s->tls_crt_pos, "tls.crt: the certificate \"%s\" expires on %s, "
			     "in less than %d days", info.subject, utc_date(a, info.not_after), EXPIRY_WARN_DAYS);
	if (info.not_before > now)
		resolve_warn(dl, &s->meta, &s->tls_crt_pos, "tls.crt: the certificate \"%s\" is not valid "
			     "before %s", info.subject, utc_date(a, info.not_before));
	return true;
}

/* ---- certificateRefs ---- */

struct cert_problem {
	size_t index;                /* in certificateRefs */
	const char *reason;          /* InvalidCertificateRef or RefNotPermitted */
	const char *msg;
	const struct gw_meta *at_meta; /* the Secret, or the listener's owner when missing */
	struct gw_pos pos;
};

/* One ref: NULL and the usable Secret in *out, or the problem. */
static bool resolve_cert_ref(struct arena *a, struct gw_model *m, const struct gw_meta *owner,
			     const struct gw_object_ref *r, struct gw_secret **out, struct cert_problem *p,
			     struct diag_list *dl)
{
	const char *ns = r->ns ? r->ns : owner->ns;
	*out = NULL;
	p->at_meta = owner;
	p->pos = r->pos;
	p->reason = "InvalidCertificateRef";
	if (r->group[0] != '\0' || strcmp(r->kind, "Secret") != 0) {
		p->msg = arena_printf(a, "kind \"%s\" in group \"%s\" is not supported (a Secret of type %s)",
				      r->kind, r->group, SECRET_TYPE_TLS);
		return false;
	}
	if (strcmp(ns, owner->ns) != 0 &&
	    !refs_granted(m, GW_GROUP, owner->kind, owner->ns, "", "Secret", ns, r->name)) {
		p->reason = "RefNotPermitted";
		p->msg = arena_printf(a, "Secret \"%s/%s\" is in another namespace and no ReferenceGrant "
				      "allows it", ns, r->name);
		return false;
	}
	struct gw_secret *s = (struct gw_secret *)rtls_find_secret(m, ns, r->name);
	if (!s) {
		p->msg = arena_printf(a, "Secret \"%s/%s\" not found", ns, r->name);
		return false;
	}
	p->at_meta = &s->meta;
	p->pos = s->meta.pos;
	if (strcmp(s->type, SECRET_TYPE_TLS) != 0) {
		p->msg = arena_printf(a, "type \"%s\" cannot be used as a certificate (type %s)", s->type,
				      SECRET_TYPE_TLS);
		return false;
	}
	if (!secret_usable(a, s, dl)) {
		p->pos = strncmp(s->problem, "tls.key", 7) == 0 ? s->tls_key_pos : s->tls_crt_pos;
		p->msg = s->problem;
		return false;
	}
	*out = s;
	return true;
}

static bool cond_true(const struct gw_conditions *cs, const char *type)
{
	for (size_t i = 0; i < cs->count; i++)
		if (!strcmp(cs->items[i].type, type))
			return !strcmp(cs->items[i].status, "True");
	return false;
}

/* Downgrades a listener: the condition becomes False unless it already is. */
static void listener_false(struct gw_listener *l, const char *type, const char *reason, const char *msg,
			   int64_t gen)
{
	if (cond_true(&l->status.conditions, type))
		gw_conditions_set(&l->status.conditions, type, false, reason, msg, gen);
}

static void resolve_certificates(struct arena *a, struct gw_model *m, const struct gw_meta *owner,
				 struct gw_listener *l, const char *who, struct diag_list *dl)
{
	struct gw_listener_tls *t = l->tls;
	int64_t gen = owner->generation;
	size_t n = t->ncertificate_refs;
	struct cert_problem *probs = arena_alloc(a, (n + 1) * sizeof *probs);
	size_t nprobs = 0;
	t->certs = arena_alloc(a, (n + 1) * sizeof *t->certs);
	t->ncerts = 0;
	for (size_t i = 0; i < n; i++) {
		struct gw_secret *s;
		if (resolve_cert_ref(a, m, owner, &t->certificate_refs[i], &s, &probs[nprobs], dl)) {
			t->certs[t->ncerts++] = (struct gw_tls_cert){ s, s->tls_crt, s->tls_key };
			continue;
		}
		probs[nprobs].index = i;
		nprobs++;
	}
	bool served = t->ncerts > 0;
	for (size_t i = 0; i < nprobs; i++) {
		struct cert_problem *p = &probs[i];
		/* at the Secret, where the user fixes it; at the ref when there is no Secret */
		if (p->at_meta == owner)
			resolve_warn(dl, owner, &p->pos, "listener \"%s\": tls.certificateRefs[%zu]: %s: the listener is %s",
				     l->name ? l->name : "", p->index, p->msg,
				     served ? "served with its other certificates" : "not served");
		else
			resolve_warn(dl, p->at_meta, &p->pos, "%s: %s %s (its tls.certificateRefs[%zu])", p->msg, who,
				     served ? "does not use it" : "is not served", p->index);
		p->msg = arena_printf(a, "tls.certificateRefs[%zu]: %s", p->index, p->msg);
	}
	if (nprobs > 0)
		listener_false(l, "ResolvedRefs", probs[0].reason, probs[0].msg, gen);
	if (n == 0) {
		const char *msg = "no certificateRefs: an HTTPS listener needs a certificate";
		listener_false(l, "ResolvedRefs", "InvalidCertificateRef", msg, gen);
		resolve_warn(dl, owner, &l->pos, "%s: %s: it is not served", who, msg);
	}
	if (!served) {
		listener_false(l, "Programmed", "Invalid", n ? probs[0].msg : "no certificate", gen);
		l->status.is_valid = false;
	}
}

/* ---- options ---- */

/* The options that leave no handshake possible with this mbedTLS. */
static const char *options_problem(struct arena *a, const struct gw_listener_tls *t)
{
	if (t->ciphers_unusable)
		return arena_printf(a, "gatewayd.io/ciphers: none of the cipher suites is supported by mbedTLS %s",
				    tls_library_version());
	if (t->min_version == GW_TLS_1_3 && !tls_have_tls13())
		return arena_printf(a, "gatewayd.io/min-version \"1.3\": mbedTLS %s has no TLS 1.3",
				    tls_library_version());
	if (t->min_version == GW_TLS_1_3 && t->ciphers) {
		bool any13 = false;
		for (const char *s = t->ciphers; *s && !any13;) {
			size_t k = strcspn(s, ":");
			any13 = tls_cipher_is_tls13(arena_strndup(a, s, k));
			s += k + (s[k] == ':');
		}
		if (!any13)
			return "gatewayd.io/ciphers names no TLS 1.3 suite, and gatewayd.io/min-version is \"1.3\"";
	}
	return NULL;
}

/* ---- frontend validation (GEP-91) ---- */

static const struct gw_frontend_validation *frontend_for(const struct gw_gateway *gw, uint16_t port)
{
	if (!gw->tls)
		return NULL;
	for (size_t i = 0; i < gw->tls->nper_port; i++)
		if (gw->tls->per_port[i].port == port)
			return gw->tls->per_port[i].validation.set ? &gw->tls->per_port[i].validation : NULL;
	return gw->tls->frontend_default.set ? &gw->tls->frontend_default : NULL;
}

static void resolve_frontend(struct arena *a, struct gw_model *m, const struct gw_gateway *gw,
			     const struct gw_meta *owner, struct gw_listener *l, const char *who,
			     struct diag_list *dl)
{
	const struct gw_frontend_validation *fv = frontend_for(gw, l->port);
	if (!fv)
		return;
	int64_t gen = owner->generation;
	struct buf bundle = BUF_INIT;
	const char *first_reason = NULL, *first_msg = NULL;
	size_t nok = 0;
	for (size_t i = 0; i < fv->nca_refs; i++) {
		const struct gw_object_ref *r = &fv->ca_refs[i];
		const char *ns = r->ns ? r->ns : gw->meta.ns;
		struct rtls_ca_result res;
		const char *reason = NULL;
		/* the refs belong to the Gateway's spec, whoever declares the listener */
		if (strcmp(ns, gw->meta.ns) != 0 &&
		    !refs_granted(m, GW_GROUP, "Gateway", gw->meta.ns, r->group, r->kind, ns, r->name)) {
			reason = "RefNotPermitted";
			res.problem = arena_printf(a, "%s \"%s/%s\" is in another namespace and no ReferenceGrant "
						   "allows it", r->kind, ns, r->name);
			res.pos = r->pos;
			res.obj = NULL;
		} else {
			switch (rtls_load_ca(a, m, r, ns, &res)) {
			case RTLS_CA_OK:
				rtls_append_pem(&bundle, res.pem, res.len);
				nok++;
				continue;
			case RTLS_CA_BAD_KIND:
				reason = "InvalidCACertificateKind";
				break;
			default:
				reason = "InvalidCACertificateRef";
				break;
			}
		}
		const char *msg = arena_printf(a, "caCertificateRefs[%zu]: %s", i, res.problem);
		resolve_warn(dl, res.obj ? res.obj : &gw->meta, &res.pos, "%s: %s: %s", who,
			     fv == &gw->tls->frontend_default ? "spec.tls.frontend.default.validation"
							      : "spec.tls.frontend.perPort validation", msg);
		if (!first_reason) {
			first_reason = reason;
			first_msg = msg;
		}
	}
	if (first_reason)
		listener_false(l, "ResolvedRefs", first_reason, first_msg, gen);
	if (nok == 0) {
		/* §4.3: every CA reference invalid */
		const char *msg = arena_printf(a, "no valid CA certificate for client validation: %s",
					       first_msg ? first_msg : "none given");
		listener_false(l, "Accepted", "NoValidCACertificate", msg, gen);
		listener_false(l, "Programmed", "Invalid", msg, gen);
		l->status.is_valid = false;
		resolve_warn(dl, owner, &l->pos, "%s: %s: it is not served", who, msg);
	} else {
		l->tls->client_validation = fv->insecure_fallback ? GW_CLIENT_OPTIONAL : GW_CLIENT_REQUIRE;
		l->tls->client_ca_pem = arena_strndup(a, bundle.data, bundle.len);
	}
	buf_free(&bundle);
}

void resolve_tls_listener(struct arena *a, struct gw_model *m, const struct gw_gateway *gw,
			  const struct gw_meta *owner, struct gw_listener *l, size_t li,
			  struct diag_list *dl)
{
	if (l->protocol != GW_PROTO_HTTPS)
		return; /* TLS passthrough and terminate listeners: attach_l4.c */
	const char *who = arena_printf(a, "%s %s listener \"%s\"", owner->kind, resolve_object_name(a, owner),
				       l->name ? l->name : "");
	if (!l->tls) {
		/* decode cannot know the protocol is HTTPS before it reads it: an HTTPS
		 * listener without a tls stanza has no certificate */
		l->tls = arena_alloc(a, sizeof *l->tls);
	}
	int64_t gen = owner->generation;
	const char *opt = options_problem(a, l->tls);
	if (opt) {
		listener_false(l, "Accepted", "UnsupportedValue", opt, gen);
		listener_false(l, "Programmed", "Invalid", opt, gen);
		l->status.is_valid = false;
		resolve_warn(dl, owner, l->tls->options_pos.file ? &l->tls->options_pos : &l->pos,
			     "spec.listeners[%zu] \"%s\": tls.options: %s: the listener is not served", li,
			     l->name ? l->name : "", opt);
	}
	resolve_certificates(a, m, owner, l, who, dl);
	resolve_frontend(a, m, gw, owner, l, who, dl);
}

/* ---- after the routes ---- */

static bool uses_insecure_fallback(const struct gw_gateway_tls *t)
{
	if (t->frontend_default.set && t->frontend_default.insecure_fallback)
		return true;
	for (size_t i = 0; i < t->nper_port; i++)
		if (t->per_port[i].validation.set && t->per_port[i].validation.insecure_fallback)
			return true;
	return false;
}

/* Two HTTPS hostnames of one port that a client could send to both (§2.4). */
static bool hostnames_overlap(const char *x, const char *y)
{
	if (!x || !y)
		return false;
	if (!strcasecmp(x, y))
		return false; /* the same hostname twice is a HostnameConflict instead */
	return (resolve_hostname_is_wildcard(x) && resolve_wildcard_covers(x, y)) ||
	       (resolve_hostname_is_wildcard(y) && resolve_wildcard_covers(y, x));
}

struct https_lis {
	struct gw_listener *l;
	int64_t gen;
};

static void overlapping_tls(struct arena *a, struct gw_model *m, struct gw_gateway *gw)
{
	size_t n = gw->nlisteners;
	for (size_t i = 0; i < m->nlistenersets; i++)
		if (m->listenersets[i]->gateway == gw)
			n += m->listenersets[i]->nlisteners;
	struct https_lis *ls = arena_alloc(a, (n + 1) * sizeof *ls);
	size_t k = 0;
	for (size_t i = 0; i < gw->nlisteners; i++)
		ls[k++] = (struct https_lis){ &gw->listeners[i], gw->meta.generation };
	for (size_t i = 0; i < m->nlistenersets; i++)
		if (m->listenersets[i]->gateway == gw)
			for (size_t j = 0; j < m->listenersets[i]->nlisteners; j++)
				ls[k++] = (struct https_lis){ &m->listenersets[i]->listeners[j],
							      m->listenersets[i]->meta.generation };
	for (size_t i = 0; i < k; i++) {
		struct gw_listener *x = ls[i].l;
		if (x->protocol != GW_PROTO_HTTPS || !x->status.is_valid)
			continue;
		for (size_t j = 0; j < k; j++) {
			const struct gw_listener *y = ls[j].l;
			if (i == j || y->protocol != GW_PROTO_HTTPS || !y->status.is_valid || y->port != x->port ||
			    !hostnames_overlap(x->hostname, y->hostname))
				continue;
			gw_conditions_set(&x->status.conditions, "OverlappingTLSConfig", true, "OverlappingHostnames",
					  arena_printf(a, "hostname \"%s\" overlaps with listener \"%s\" (\"%s\") on port %u",
						       x->hostname, y->name, y->hostname, (unsigned)x->port),
					  ls[i].gen);
			break;
		}
	}
}

/* ---- spec.tls.backend.clientCertificateRef (§2.4, §4.2) ----
 * The pair a Gateway presents to the TLS backends of its routes. A bad reference
 * makes the Gateway ResolvedRefs=False (InvalidClientCertificateRef, or
 * RefNotPermitted without a ReferenceGrant), never Accepted=False: its connections to
 * TLS backends then carry no client certificate, which a backend that requires one
 * refuses. The Gateway's ResolvedRefs is only set when the field is given, so other
 * Gateways' status is unchanged; it also summarises the listeners (§4.2). */

static const char *backend_client_problem(struct arena *a, struct gw_model *m, const struct gw_gateway *gw,
					  const char **reason, const struct gw_meta **at, struct gw_pos *pos,
					  struct gw_secret **out, struct diag_list *dl)
{
	const struct gw_object_ref *r = &gw->tls->backend_client_ref;
	const char *ns = r->ns ? r->ns : gw->meta.ns;
	*reason = "InvalidClientCertificateRef";
	*at = &gw->meta;
	*pos = r->pos;
	*out = NULL;
	if (r->group[0] != '\0' || strcmp(r->kind, "Secret") != 0)
		return arena_printf(a, "kind \"%s\" in group \"%s\" is not supported (a Secret of type %s)",
				    r->kind, r->group, SECRET_TYPE_TLS);
	if (strcmp(ns, gw->meta.ns) != 0 &&
	    !refs_granted(m, GW_GROUP, "Gateway", gw->meta.ns, "", "Secret", ns, r->name)) {
		*reason = "RefNotPermitted";
		return arena_printf(a, "Secret \"%s/%s\" is in another namespace and no ReferenceGrant allows it",
				    ns, r->name);
	}
	struct gw_secret *s = (struct gw_secret *)rtls_find_secret(m, ns, r->name);
	if (!s)
		return arena_printf(a, "Secret \"%s/%s\" not found", ns, r->name);
	*at = &s->meta;
	*pos = s->meta.pos;
	if (strcmp(s->type, SECRET_TYPE_TLS) != 0)
		return arena_printf(a, "type \"%s\" cannot be used as a client certificate (type %s)", s->type,
				    SECRET_TYPE_TLS);
	if (!secret_usable(a, s, dl)) {
		*pos = strncmp(s->problem, "tls.key", 7) == 0 ? s->tls_key_pos : s->tls_crt_pos;
		return s->problem;
	}
	*out = s;
	return NULL;
}

static void resolve_backend_client(struct arena *a, struct gw_model *m, struct gw_gateway *gw,
				   struct diag_list *dl)
{
	int64_t gen = gw->meta.generation;
	const char *reason, *msg;
	const struct gw_meta *at;
	struct gw_pos pos;
	struct gw_secret *s;
	msg = backend_client_problem(a, m, gw, &reason, &at, &pos, &s, dl);
	if (msg) {
		/* at the Secret, where the user fixes it; at the ref when there is none */
		if (at == &gw->meta) {
			resolve_warn(dl, at, &pos, "spec.tls.backend.clientCertificateRef: %s: TLS backends get no "
				     "client certificate from this Gateway", msg);
		} else {
			resolve_warn(dl, at, &pos, "%s: Gateway %s presents no client certificate to TLS backends "
				     "(its spec.tls.backend.clientCertificateRef)", msg,
				     resolve_object_name(a, &gw->meta));
			msg = arena_printf(a, "Secret \"%s/%s\": %s", at->ns, at->name, msg);
		}
		gw_conditions_set(&gw->conditions, "ResolvedRefs", false, reason,
				  arena_printf(a, "spec.tls.backend.clientCertificateRef: %s", msg), gen);
		return;
	}
	gw->tls->backend_client = arena_alloc(a, sizeof *gw->tls->backend_client);
	*gw->tls->backend_client = (struct gw_tls_cert){ s, s->tls_crt, s->tls_key };
	for (size_t i = 0; i < gw->nlisteners; i++) {
		const struct gw_conditions *cs = &gw->listeners[i].status.conditions;
		for (size_t k = 0; k < cs->count; k++) {
			if (strcmp(cs->items[k].type, "ResolvedRefs") != 0 || !strcmp(cs->items[k].status, "True"))
				continue;
			gw_conditions_set(&gw->conditions, "ResolvedRefs", false, "ListenersNotResolved",
					  arena_printf(a, "listener \"%s\": %s", gw->listeners[i].name,
						       cs->items[k].message), gen);
			return;
		}
	}
	gw_conditions_set(&gw->conditions, "ResolvedRefs", true, "ResolvedRefs",
			  "spec.tls.backend.clientCertificateRef and the listeners' references are resolved", gen);
}

void resolve_tls(struct arena *a, struct gw_model *m, struct diag_list *dl)
{
	for (size_t i = 0; i < m->ngateways; i++) {
		struct gw_gateway *gw = m->gateways[i];
		if (!gw->is_ours)
			continue;
		if (gw->tls && uses_insecure_fallback(gw->tls))
			gw_conditions_set(&gw->conditions, "InsecureFrontendValidationMode", true, "ConfigurationChanged",
					  "client certificate validation is AllowInsecureFallback on some port: "
					  "clients without a valid certificate are let through", gw->meta.generation);
		overlapping_tls(a, m, gw);
		if (gw->tls && gw->tls->has_backend_client)
			resolve_backend_client(a, m, gw, dl);
	}
	resolve_backendtls(a, m, dl);
}
