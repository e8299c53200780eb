/* SPDX-License-Identifier: MIT */
/* decode_backendtls: BackendTLSPolicy v1 (and the legacy v1alpha3, same shape) with
 * the CRD's CEL rules (GATEWAY-API.md §2.11): one entry per target and sectionName,
 * exactly one of caCertificateRefs and wellKnownCACertificates, SANs that carry the
 * field their type names. */
#include <string.h>

#include "gwapi/decode.h"
#include "gwapi/validate.h"

static const struct dfield policy_fields[] = {
	{ "targetRefs", DT_SEQ, DF_REQUIRED, 1, 16 },
	{ "validation", DT_MAP, DF_REQUIRED, 0, 0 },
	{ "options", DT_MAP, 0, 0, 16 },
};

static const struct dfield target_fields[] = {
	{ "group", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
	{ "sectionName", DT_STR, 0, 0, 0 },
};

static const struct dfield validation_fields[] = {
	{ "caCertificateRefs", DT_SEQ, 0, 0, 8 },
	{ "wellKnownCACertificates", DT_STR, 0, 0, 0 },
	{ "hostname", DT_STR, DF_REQUIRED, 0, 0 },
	{ "subjectAltNames", DT_SEQ, 0, 0, 5 },
};

/* LocalObjectReference: all three required. */
static const struct dfield local_ref_fields[] = {
	{ "group", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
};

static const struct dfield san_fields[] = {
	{ "type", DT_STR, DF_REQUIRED, 0, 0 },
	{ "hostname", DT_STR, 0, 0, 0 },
	{ "uri", DT_STR, 0, 0, 0 },
};

static const char *const san_types[] = { "Hostname", "URI" };

/* AbsoluteURI: ^(([^:/?#]+):)(//([^/?#]*))([^?#]*)(\?([^#]*))?(#(.*))?, 1..253 */
static bool absolute_uri(const char *s)
{
	size_t n = strlen(s);
	size_t scheme = strcspn(s, ":/?#");
	return n >= 1 && n <= 253 && scheme > 0 && s[scheme] == ':' && s[scheme + 1] == '/' &&
	       s[scheme + 2] == '/';
}

static void decode_targets(struct dctx *c, const struct ynode *seq, struct gw_backendtlspolicy *p)
{
	p->targets = arena_alloc(c->a, (seq->count + 1) * sizeof *p->targets);
	for (size_t i = 0; i < seq->count; i++) {
		const char *ip = decode_path_index(c, "spec.targetRefs", i);
		struct dval t[4];
		if (!DECODE_FIELDS(c, seq->items[i], ip, target_fields, t))
			continue;
		if (!decode_group_name(c, t[0].val, decode_path(c, ip, "group")) ||
		    !decode_kind_name(c, t[1].val, decode_path(c, ip, "kind")) ||
		    (t[3].val && !decode_section_name(c, t[3].val, decode_path(c, ip, "sectionName"))))
			continue;
		struct gw_btls_target *tg = &p->targets[p->ntargets];
		*tg = (struct gw_btls_target){ t[0].val->scalar, t[1].val->scalar, t[2].val->scalar,
					       t[3].val ? t[3].val->scalar : NULL, decode_pos(seq->items[i]) };
		/* CEL: several refs to one target all set distinct sectionNames */
		bool bad = false;
		for (size_t k = 0; k < p->ntargets && !bad; k++) {
			const struct gw_btls_target *o = &p->targets[k];
			if (strcmp(o->group, tg->group) || strcmp(o->kind, tg->kind) || strcmp(o->name, tg->name))
				continue;
			bad = true;
			if (!o->section_name || !tg->section_name)
				decode_error(c, seq->items[i], ip, "sectionName must be specified when targetRefs "
					     "includes 2 or more references to the same target (see spec.targetRefs[%zu])", k);
			else if (!strcmp(o->section_name, tg->section_name))
				decode_error(c, t[3].val, decode_path(c, ip, "sectionName"), "sectionName must be unique "
					     "when targetRefs includes 2 or more references to the same target "
					     "(see spec.targetRefs[%zu])", k);
			else
				bad = false;
		}
		if (!bad)
			p->ntargets++;
	}
}

static void decode_sans(struct dctx *c, const struct ynode *seq, const char *path, struct gw_backendtlspolicy *p)
{
	p->sans = arena_alloc(c->a, (seq->count + 1) * sizeof *p->sans);
	for (size_t i = 0; i < seq->count; i++) {
		const char *ip = decode_path_index(c, path, i);
		struct dval s[3];
		if (!DECODE_FIELDS(c, seq->items[i], ip, san_fields, s))
			continue;
		int type = decode_enum(c, s[0].val, decode_path(c, ip, "type"), san_types, 2);
		if (type < 0)
			continue;
		const struct dval *want = &s[type == 0 ? 1 : 2], *other = &s[type == 0 ? 2 : 1];
		const char *wname = type == 0 ? "hostname" : "uri", *oname = type == 0 ? "uri" : "hostname";
		if (other->val && other->val->scalar[0]) {
			decode_error(c, other->val, decode_path(c, ip, oname),
				     "SubjectAltName element must not contain %s, if Type is set to %s",
				     type == 0 ? "URI" : "Hostname", san_types[type]);
			continue;
		}
		if (!want->val || !want->val->scalar[0]) {
			decode_error(c, seq->items[i], ip, "SubjectAltName element must contain %s, if Type is set to %s",
				     type == 0 ? "Hostname" : "URI", san_types[type]);
			continue;
		}
		const char *wpath = decode_path(c, ip, wname);
		if (type == 0 && !decode_hostname(c, want->val, wpath, true))
			continue;
		if (type == 1 && !absolute_uri(want->val->scalar)) {
			decode_error(c, want->val, wpath, "must be an absolute URI such as \"spiffe://example.org/ns/app\" "
				     "(at most 253 characters), got %s", decode_quote(c, want->val->scalar));
			continue;
		}
		p->sans[p->nsans++] = (struct gw_btls_san){ type == 1, want->val->scalar, decode_pos(seq->items[i]) };
	}
}

static void decode_validation(struct dctx *c, const struct ynode *n, struct gw_backendtlspolicy *p)
{
	const char *path = "spec.validation";
	struct dval v[4];
	DECODE_FIELDS(c, n, path, validation_fields, v);
	p->validation_pos = decode_pos(n);
	if (v[0].val) {
		const struct ynode *seq = v[0].val;
		const char *rpath = decode_path(c, path, "caCertificateRefs");
		p->ca_refs = arena_alloc(c->a, (seq->count + 1) * sizeof *p->ca_refs);
		for (size_t i = 0; i < seq->count; i++) {
			const char *ip = decode_path_index(c, rpath, i);
			struct dval r[3];
			if (!DECODE_FIELDS(c, seq->items[i], ip, local_ref_fields, r))
				continue;
			if (!decode_group_name(c, r[0].val, decode_path(c, ip, "group")) ||
			    !decode_kind_name(c, r[1].val, decode_path(c, ip, "kind")))
				continue;
			p->ca_refs[p->nca_refs++] = (struct gw_object_ref){
				.group = r[0].val->scalar, .kind = r[1].val->scalar, .name = r[2].val->scalar,
				.pos = decode_pos(seq->items[i]),
			};
		}
	}
	if (v[1].val) {
		const char *wk = v[1].val->scalar;
		/* "System", or an implementation's domain-prefixed name */
		if (strcmp(wk, "System") != 0 && (!strchr(wk, '/') || !validate_label_key(wk)))
			decode_error(c, v[1].val, decode_path(c, path, "wellKnownCACertificates"),
				     "unsupported value %s (expected \"System\" or a domain-prefixed name)",
				     decode_quote(c, wk));
		else
			p->well_known = wk;
	}
	bool has_refs = v[0].val && v[0].val->count > 0, has_wk = v[1].val && v[1].val->scalar[0];
	if (has_refs && has_wk)
		decode_error(c, n, path, "must not contain both CACertificateRefs and WellKnownCACertificates");
	else if (!has_refs && !has_wk && c->errors == 0)
		decode_error(c, n, path, "must specify either CACertificateRefs or WellKnownCACertificates");
	if (v[2].val && decode_hostname(c, v[2].val, decode_path(c, path, "hostname"), false))
		p->hostname = v[2].val->scalar;
	if (v[3].val)
		decode_sans(c, v[3].val, decode_path(c, path, "subjectAltNames"), p);
}

void decode_backendtls(struct dctx *c, const struct ynode *spec, struct gw_backendtlspolicy *p)
{
	if (p->meta.api_version && strstr(p->meta.api_version, "/v1alpha3"))
		decode_warning(c, ynode_get(c->root, "apiVersion"), NULL,
			       "apiVersion %s is deprecated: use gateway.networking.k8s.io/v1 (same fields)",
			       decode_quote(c, p->meta.api_version));
	struct dval v[3];
	DECODE_FIELDS(c, spec, "spec", policy_fields, v);
	if (v[0].val)
		decode_targets(c, v[0].val, p);
	if (v[1].val)
		decode_validation(c, v[1].val, p);
	if (v[2].val) {
		const struct ynode *opts = v[2].val;
		for (size_t i = 0; i < opts->count; i++) {
			const struct ynode *k = opts->pairs[i].key;
			if (!validate_label_key(k->scalar) || strlen(k->scalar) > 253)
				decode_error(c, k, "spec.options", "invalid option name %s", decode_quote(c, k->scalar));
			else if (decode_check(c, opts->pairs[i].value, decode_path(c, "spec.options", k->scalar), DT_STR, 0, 4096))
				decode_warning(c, k, "spec.options", "option %s is not a gatewayd option: ignored",
					       decode_quote(c, k->scalar));
		}
	}
}
