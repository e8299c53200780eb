/* SPDX-License-Identifier: MIT */
/* decode_l4route: TLSRoute (GATEWAY-API.md §2.8), TCPRoute and UDPRoute (§2.9) into
 * HTTPRoute's shape (gwapi.h): one rule with the default PathPrefix "/" match and the
 * rule's backendRefs. v1 has exactly one rule; the legacy v1alpha2/v1alpha3 versions
 * (deprecated upstream, served only by the experimental CRDs) allow up to 16, which are
 * merged: their backendRefs share the connections by weight. */
#include <string.h>

#include "gwapi/decode.h"

static const struct dfield tls_fields[] = {
	{ "parentRefs", DT_SEQ, 0, 0, 32 },
	{ "hostnames", DT_SEQ, 0, 0, 1024 },
	{ "rules", DT_SEQ, DF_REQUIRED, 1, 16 },
	{ "useDefaultGateways", DT_STR, 0, 0, 0 },
};

static const struct dfield l4_fields[] = {
	{ "parentRefs", DT_SEQ, 0, 0, 32 },
	{ "rules", DT_SEQ, DF_REQUIRED, 1, 16 },
	{ "useDefaultGateways", DT_STR, 0, 0, 0 },
};

static const struct dfield rule_fields[] = {
	{ "name", DT_STR, 0, 0, 0 },
	{ "backendRefs", DT_SEQ, 0, 0, 16 },
};

/* BackendRef: a BackendObjectReference plus weight; no filters on these kinds. */
static const struct dfield backend_ref_fields[] = {
	{ "group", DT_STR, 0, 0, 0 },
	{ "kind", DT_STR, 0, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
	{ "namespace", DT_STR, 0, 0, 0 },
	{ "port", DT_INT, 0, 1, 65535 },
	{ "weight", DT_INT, 0, 0, 1000000 },
};

static const char *const default_gateways[] = { "All", "None" };

enum gw_route_kind gw_route_kind_of(const struct gw_meta *meta)
{
	const char *k = meta->kind ? meta->kind : "";
	if (!strcmp(k, "TLSRoute"))
		return GW_ROUTE_TLS;
	if (!strcmp(k, "TCPRoute"))
		return GW_ROUTE_TCP;
	if (!strcmp(k, "UDPRoute"))
		return GW_ROUTE_UDP;
	return GW_ROUTE_HTTP;
}

static bool is_legacy(const char *api_version)
{
	const char *slash = strrchr(api_version ? api_version : "", '/');
	const char *v = slash ? slash + 1 : "";
	return !strcmp(v, "v1alpha2") || !strcmp(v, "v1alpha3");
}

static void decode_ref(struct dctx *c, const struct ynode *n, const char *path, struct gw_backend_ref *br)
{
	struct dval v[6];
	DECODE_FIELDS(c, n, path, backend_ref_fields, v);
	decode_backend_ref_fields(c, n, path, v, br);
}

/* The rules, merged into r->rules[0]. v1: exactly one rule with 1..16 backendRefs. */
static void decode_rules(struct dctx *c, const struct ynode *seq, bool legacy, struct gw_httproute *r)
{
	struct gw_http_rule *rule = &r->rules[0];
	size_t total = 0;
	if (!legacy && seq->count > 1)
		decode_error(c, seq->items[1], "spec.rules", "must have at most 1 item, got %zu", seq->count);
	for (size_t i = 0; i < seq->count; i++) {
		const struct ynode *ref = ynode_get(seq->items[i], "backendRefs");
		if (ref && ref->kind == YNODE_SEQ)
			total += ref->count;
	}
	rule->backend_refs = arena_alloc(c->a, (total ? total : 1) * sizeof *rule->backend_refs);
	for (size_t i = 0; i < seq->count; i++) {
		const char *path = decode_path_index(c, "spec.rules", i);
		struct dval v[2];
		if (i == 0)
			rule->pos = decode_pos(seq->items[i]);
		DECODE_FIELDS(c, seq->items[i], path, rule_fields, v);
		if (v[0].val && decode_section_name(c, v[0].val, decode_path(c, path, "name")) && i == 0)
			rule->name = v[0].val->scalar;
		const char *bpath = decode_path(c, path, "backendRefs");
		if (!v[1].val || v[1].val->count == 0) {
			/* v1 and the legacy TCPRoute/UDPRoute/TLSRoute CRDs: MinItems=1 */
			decode_error(c, seq->items[i], path, "backendRefs must have at least 1 item");
			continue;
		}
		for (size_t k = 0; k < v[1].val->count; k++)
			decode_ref(c, v[1].val->items[k], decode_path_index(c, bpath, k),
				   &rule->backend_refs[rule->nbackend_refs++]);
	}
	if (legacy && seq->count > 1)
		decode_note(c, seq, "spec.rules", "the %zu rules are merged into one: their backendRefs share the "
			    "connections by weight", seq->count);
}

void decode_l4route(struct dctx *c, const struct ynode *spec, struct gw_httproute *r)
{
	enum gw_route_kind kind = gw_route_kind_of(&r->meta);
	bool legacy = is_legacy(r->meta.api_version);
	struct dval v[4] = { { NULL, NULL } };
	struct dval *parents = &v[0], *hostnames = NULL, *rules, *dflt;

	if (legacy)
		decode_warning(c, ynode_get(c->root, "apiVersion"), "apiVersion",
			       "%s is deprecated (served only by the experimental CRDs): use "
			       GW_GROUP "/v1", decode_quote(c, r->meta.api_version));
	if (kind == GW_ROUTE_TLS) {
		if (spec)
			DECODE_FIELDS(c, spec, "spec", tls_fields, v);
		hostnames = &v[1];
		rules = &v[2];
		dflt = &v[3];
	} else {
		if (spec)
			DECODE_FIELDS(c, spec, "spec", l4_fields, v);
		rules = &v[1];
		dflt = &v[2];
	}
	if (!spec)
		decode_error(c, c->root, NULL, "missing required field \"spec\"");
	if (parents->val)
		decode_parent_refs(c, parents->val, r);
	if (hostnames && hostnames->val) {
		const struct ynode *seq = hostnames->val;
		r->hostnames = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *r->hostnames);
		for (size_t i = 0; i < seq->count; i++) {
			const char *path = decode_path_index(c, "spec.hostnames", i);
			if (decode_check(c, seq->items[i], path, DT_STR, 0, 0) &&
			    decode_hostname(c, seq->items[i], path, true))
				r->hostnames[r->nhostnames++] = seq->items[i]->scalar;
		}
	}
	/* TLSRoute v1: hostnames are required (1..); the legacy versions made them optional */
	if (kind == GW_ROUTE_TLS && !legacy && spec && (!hostnames->val || hostnames->val->count == 0))
		decode_error(c, hostnames->key ? hostnames->key : spec, "spec.hostnames",
			     hostnames->val ? "must have at least 1 item" : "missing required field \"hostnames\"");

	r->rules = arena_alloc(c->a, sizeof *r->rules);
	r->nrules = 1;
	struct gw_http_rule *rule = &r->rules[0];
	const struct ynode *at = spec ? spec : c->root;
	rule->pos = decode_pos(at);
	rule->matches = arena_alloc(c->a, sizeof *rule->matches);
	rule->nmatches = 1;
	rule->matches[0].path_type = GW_PATH_PREFIX;
	rule->matches[0].path = "/";
	rule->matches[0].pos = decode_pos(at);
	if (rules->val)
		decode_rules(c, rules->val, legacy, r);
	if (dflt->val) {
		int which = decode_enum(c, dflt->val, "spec.useDefaultGateways", default_gateways, 2);
		if (which == 0)
			decode_error(c, dflt->val, "spec.useDefaultGateways", "\"All\" is not supported yet");
	}
}
