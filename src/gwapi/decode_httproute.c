/* SPDX-License-Identifier: MIT */
/* decode_httproute: HTTPRoute spec (GATEWAY-API.md §2.6), with the CRD defaults filled
 * in (one PathPrefix "/" rule, PathPrefix "/" matches, weight 1) so compile never
 * sees an empty list. Filters are in decode_filters.c. Features this version does not
 * implement (session persistence) are checked for shape and then refused by name,
 * never silently ignored. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gwapi/decode.h"
#include "gwapi/validate.h"

#define ROUTE_MAX_MATCHES_TOTAL 128

static const struct dfield route_fields[] = {
	{ "parentRefs", DT_SEQ, 0, 0, 32 },
	{ "hostnames", DT_SEQ, 0, 0, 16 },
	{ "rules", DT_SEQ, 0, 1, 16 },
	{ "useDefaultGateways", DT_STR, 0, 0, 0 },
};

static const struct dfield parent_ref_fields[] = {
	{ "group", DT_STR, 0, 0, 0 },
	{ "kind", DT_STR, 0, 0, 0 },
	{ "namespace", DT_STR, 0, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
	{ "sectionName", DT_STR, 0, 0, 0 },
	{ "port", DT_INT, 0, 1, 65535 },
};

static const struct dfield rule_fields[] = {
	{ "name", DT_STR, 0, 0, 0 },
	{ "matches", DT_SEQ, 0, 0, 64 },
	{ "filters", DT_SEQ, 0, 0, 16 },
	{ "backendRefs", DT_SEQ, 0, 0, 16 },
	{ "timeouts", DT_MAP, 0, 0, 0 },
	{ "retry", DT_MAP, 0, 0, 0 },
	{ "sessionPersistence", DT_MAP, 0, 0, 0 },
};

static const struct dfield match_fields[] = {
	{ "path", DT_MAP, 0, 0, 0 },
	{ "headers", DT_SEQ, 0, 0, 16 },
	{ "queryParams", DT_SEQ, 0, 0, 16 },
	{ "method", DT_STR, 0, 0, 0 },
};

static const struct dfield path_fields[] = {
	{ "type", DT_STR, 0, 0, 0 },
	{ "value", DT_STR, 0, 0, 1024 },
};

static const struct dfield header_match_fields[] = {
	{ "type", DT_STR, 0, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 0, 0 },
	{ "value", DT_STR, DF_REQUIRED, 1, 4096 },
};

static const struct dfield query_match_fields[] = {
	{ "type", DT_STR, 0, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 0, 0 },
	{ "value", DT_STR, DF_REQUIRED, 1, 1024 },
};

static const struct dfield backend_ref_fields[] = {
	{ "group", DT_STR, 0, 0, 0 },
	{ "kind", DT_STR, 0, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
	{ "namespace", DT_STR, 0, 0, 0 },
	{ "port", DT_INT, 0, 1, 65535 },
	{ "weight", DT_INT, 0, 0, 1000000 },
	{ "filters", DT_SEQ, 0, 0, 16 },
};

static const char *const path_types[] = { "Exact", "PathPrefix", "RegularExpression" };
static const enum gw_path_type path_type_values[] = { GW_PATH_EXACT, GW_PATH_PREFIX, GW_PATH_REGEX };
static const char *const match_types[] = { "Exact", "RegularExpression" };
static const char *const default_gateways[] = { "All", "None" };

/* ---- timeouts and retry; session persistence: shape, CEL, then refused ---- */

static const struct dfield timeouts_fields[] = {
	{ "request", DT_STR, 0, 0, 0 },
	{ "backendRequest", DT_STR, 0, 0, 0 },
};

static const struct dfield retry_fields[] = {
	{ "codes", DT_SEQ, 0, 0, 0 },
	{ "attempts", DT_INT, 0, 1, INT32_MAX },
	{ "backoff", DT_STR, 0, 0, 0 },
};

static const struct dfield session_fields[] = {
	{ "sessionName", DT_STR, 0, 0, 128 },
	{ "absoluteTimeout", DT_STR, 0, 0, 0 },
	{ "type", DT_STR, 0, 0, 0 },
	{ "cookieConfig", DT_MAP, 0, 0, 0 },
};

static const struct dfield cookie_config_fields[] = {
	{ "lifetimeType", DT_STR, 0, 0, 0 },
};

static const char *const session_types[] = { "Cookie", "Header" };
static const char *const lifetime_types[] = { "Session", "Permanent" };

/* A validated GEP-2257 duration in milliseconds. */
static uint64_t duration_ms(const char *s)
{
	uint64_t total = 0;
	while (*s) {
		uint64_t n = 0;
		while (*s >= '0' && *s <= '9')
			n = n * 10 + (uint64_t)(*s++ - '0');
		if (s[0] == 'm' && s[1] == 's') {
			total += n;
			s += 2;
		} else {
			total += n * (*s == 'h' ? 3600000u : *s == 'm' ? 60000u : 1000u);
			s++;
		}
	}
	return total;
}

/* A duration beyond what the runtime's 32-bit milliseconds hold (49 days) means no limit. */
static uint32_t timeout_ms(const char *s)
{
	uint64_t ms = duration_ms(s);
	return ms > UINT32_MAX ? 0 : (uint32_t)ms;
}

static void check_timeouts(struct dctx *c, const struct ynode *n, const char *path, struct gw_http_rule *r)
{
	struct dval v[2];
	DECODE_FIELDS(c, n, path, timeouts_fields, v);
	bool req_ok = v[0].val && decode_duration(c, v[0].val, decode_path(c, path, "request"));
	bool be_ok = v[1].val && decode_duration(c, v[1].val, decode_path(c, path, "backendRequest"));
	if (req_ok) {
		r->has_timeout_request = true;
		r->timeout_request_ms = timeout_ms(v[0].val->scalar);
	}
	if (be_ok) {
		r->has_timeout_backend = true;
		r->timeout_backend_ms = timeout_ms(v[1].val->scalar);
	}
	/* CEL: backendRequest <= request, unless request is 0s (no timeout) */
	if (req_ok && be_ok) {
		uint64_t req = duration_ms(v[0].val->scalar), be = duration_ms(v[1].val->scalar);
		if (req != 0 && be > req)
			decode_error(c, v[1].val, decode_path(c, path, "backendRequest"),
				     "backendRequest timeout cannot be longer than request timeout");
	}
}

/* An unset backoff waits like Envoy's default base interval. */
#define RETRY_DEFAULT_BACKOFF_MS 25u

/* Unset attempts mean one retry (Envoy's default); unset codes mean no status
 * triggers one: then only connection failures are retried. */
static void check_retry(struct dctx *c, const struct ynode *n, const char *path, struct gw_http_rule *r)
{
	struct dval v[3];
	DECODE_FIELDS(c, n, path, retry_fields, v);
	r->has_retry = true;
	r->retry_attempts = v[1].val ? (uint32_t)strtoul(v[1].val->scalar, NULL, 10) : 1;
	r->retry_backoff_ms = RETRY_DEFAULT_BACKOFF_MS;
	if (v[0].val) {
		const struct ynode *seq = v[0].val;
		const char *cp = decode_path(c, path, "codes");
		r->retry_codes = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *r->retry_codes);
		for (size_t i = 0; i < seq->count; i++) {
			const char *ip = decode_path_index(c, cp, i);
			if (!decode_check(c, seq->items[i], ip, DT_INT, 400, 599))
				continue;
			r->retry_codes[r->nretry_codes++] = (uint16_t)strtoul(seq->items[i]->scalar, NULL, 10);
			for (size_t j = 0; j < i; j++) {
				if (seq->items[j]->kind == YNODE_SCALAR &&
				    !strcmp(seq->items[j]->scalar, seq->items[i]->scalar)) {
					decode_error(c, seq->items[i], ip, "duplicate code %s", seq->items[i]->scalar);
					break;
				}
			}
		}
	}
	if (v[2].val && decode_duration(c, v[2].val, decode_path(c, path, "backoff")))
		r->retry_backoff_ms = timeout_ms(v[2].val->scalar);
}

static void check_session(struct dctx *c, const struct ynode *n, const char *path)
{
	struct dval v[4];
	DECODE_FIELDS(c, n, path, session_fields, v);
	if (v[1].val)
		decode_duration(c, v[1].val, decode_path(c, path, "absoluteTimeout"));
	int type = 0; /* Cookie */
	if (v[2].val)
		type = decode_enum(c, v[2].val, decode_path(c, path, "type"), session_types, 2);
	if (v[3].val) {
		const char *cp = decode_path(c, path, "cookieConfig");
		struct dval cc[1];
		DECODE_FIELDS(c, v[3].val, cp, cookie_config_fields, cc);
		if (cc[0].val) {
			int lt = decode_enum(c, cc[0].val, decode_path(c, cp, "lifetimeType"), lifetime_types, 2);
			if (lt == 1 && !v[1].val)
				decode_error(c, n, path, "absoluteTimeout must be specified when cookie lifetimeType is Permanent");
		}
		if (type == 1)
			decode_error(c, v[3].key, path, "cookieConfig can only be set with type Cookie");
	}
}

/* ---- matches ---- */

static void decode_path_match(struct dctx *c, const struct ynode *n, const char *path,
			      struct gw_http_match *m)
{
	struct dval v[2];
	DECODE_FIELDS(c, n, path, path_fields, v);
	if (v[0].val) {
		int t = decode_enum(c, v[0].val, decode_path(c, path, "type"), path_types, 3);
		if (t < 0)
			return;
		m->path_type = path_type_values[t];
	}
	if (v[1].val)
		m->path = v[1].val->scalar;
	if (m->path_type == GW_PATH_REGEX) {
		/* the CRD default "/" applies to every type: as a pattern it matches "/" only */
		if (v[1].val)
			decode_regex(c, v[1].val, decode_path(c, path, "value"));
		return;
	}
	const char *problem = validate_path_problem(m->path);
	if (problem)
		decode_error(c, v[1].val, decode_path(c, path, "value"), "%s, got %s", problem, decode_quote(c, m->path));
}

/* Header (names case-insensitive) or query parameter (case-sensitive) matches; a
 * repeated name keeps only its first entry, as upstream specifies. */
static void decode_name_matches(struct dctx *c, const struct ynode *seq, const char *path, bool is_header,
				struct gw_header_match **out, size_t *nout)
{
	struct gw_header_match *hs = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *hs);
	size_t n = 0;
	for (size_t i = 0; i < seq->count; i++) {
		const char *ip = decode_path_index(c, path, i);
		struct dval v[3];
		if (is_header)
			DECODE_FIELDS(c, seq->items[i], ip, header_match_fields, v);
		else
			DECODE_FIELDS(c, seq->items[i], ip, query_match_fields, v);
		enum gw_match_type type = GW_MATCH_EXACT;
		if (v[0].val) {
			int t = decode_enum(c, v[0].val, decode_path(c, ip, "type"), match_types, 2);
			if (t < 0)
				continue;
			type = t == 0 ? GW_MATCH_EXACT : GW_MATCH_REGEX;
		}
		if (v[1].val && !decode_header_name(c, v[1].val, decode_path(c, ip, "name")))
			continue;
		if (!v[1].val || !v[2].val)
			continue;
		if (type == GW_MATCH_REGEX && !decode_regex(c, v[2].val, decode_path(c, ip, "value")))
			continue;
		const char *name = v[1].val->scalar;
		bool repeated = false;
		for (size_t k = 0; k < n && !repeated; k++)
			repeated = is_header ? !strcasecmp(hs[k].name, name) : !strcmp(hs[k].name, name);
		if (repeated)
			continue;
		hs[n].type = type;
		hs[n].name = name;
		hs[n].value = v[2].val->scalar;
		hs[n].pos = decode_pos(seq->items[i]);
		n++;
	}
	*out = hs;
	*nout = n;
}

static void decode_match(struct dctx *c, const struct ynode *n, const char *path, struct gw_http_match *m)
{
	m->path_type = GW_PATH_PREFIX;
	m->path = "/";
	m->pos = decode_pos(n);
	struct dval v[4];
	DECODE_FIELDS(c, n, path, match_fields, v);
	if (v[0].val)
		decode_path_match(c, v[0].val, decode_path(c, path, "path"), m);
	if (v[1].val)
		decode_name_matches(c, v[1].val, decode_path(c, path, "headers"), true, &m->headers, &m->nheaders);
	if (v[2].val)
		decode_name_matches(c, v[2].val, decode_path(c, path, "queryParams"), false, &m->query_params,
				    &m->nquery_params);
	if (v[3].val) {
		int meth = decode_enum(c, v[3].val, decode_path(c, path, "method"), gw_method_names + 1,
				       GW_METHOD_PATCH);
		if (meth >= 0)
			m->method = (enum gw_method)(meth + 1);
	}
}

/* ---- backendRefs ---- */

/* BackendRef minus filters, from the first six fields of a field table that starts
 * like backend_ref_fields (group, kind, name, namespace, port, weight). */
void decode_backend_ref_fields(struct dctx *c, const struct ynode *n, const char *path,
			       const struct dval *v, struct gw_backend_ref *br)
{
	br->group = "";
	br->kind = "Service";
	br->ns = c->ns;
	br->weight = 1;
	br->pos = decode_pos(n);
	if (v[0].val && decode_group_name(c, v[0].val, decode_path(c, path, "group")))
		br->group = v[0].val->scalar;
	if (v[1].val && decode_kind_name(c, v[1].val, decode_path(c, path, "kind")))
		br->kind = v[1].val->scalar;
	if (v[2].val)
		br->name = v[2].val->scalar;
	if (v[3].val && decode_dns_label(c, v[3].val, decode_path(c, path, "namespace")))
		br->ns = v[3].val->scalar;
	if (v[4].val)
		br->port = (uint16_t)decode_int_value(v[4].val);
	if (v[5].val)
		br->weight = (uint32_t)decode_int_value(v[5].val);
	/* BackendObjectReference CEL: a core Service needs its port */
	const struct ynode *port = ynode_get(n, "port");
	if (n->kind == YNODE_MAP && !br->group[0] && !strcmp(br->kind, "Service") &&
	    (!port || ynode_is_null(port)))
		decode_error(c, n, path, "must have port for Service reference");
}

static void decode_backend_ref(struct dctx *c, const struct ynode *n, const char *path,
			       struct gw_backend_ref *br, struct decode_filter_summary *sum)
{
	struct dval v[7];
	DECODE_FIELDS(c, n, path, backend_ref_fields, v);
	decode_backend_ref_fields(c, n, path, v, br);
	if (v[6].val)
		decode_filters(c, v[6].val, decode_path(c, path, "filters"), &br->filters, &br->nfilters, sum);
}

/* ---- rules ---- */

static void default_match(struct arena *a, struct gw_http_rule *r, const struct ynode *at)
{
	r->matches = arena_alloc(a, sizeof *r->matches);
	r->nmatches = 1;
	r->matches[0].path_type = GW_PATH_PREFIX;
	r->matches[0].path = "/";
	r->matches[0].pos = decode_pos(at);
}

static void decode_rule(struct dctx *c, const struct ynode *n, const char *path, struct gw_http_rule *r)
{
	struct dval v[7];
	r->pos = decode_pos(n);
	DECODE_FIELDS(c, n, path, rule_fields, v);
	if (v[0].val && decode_section_name(c, v[0].val, decode_path(c, path, "name")))
		r->name = v[0].val->scalar;
	if (v[1].val && v[1].val->count > 0) {
		const struct ynode *seq = v[1].val;
		r->matches = arena_alloc(c->a, seq->count * sizeof *r->matches);
		r->nmatches = seq->count;
		for (size_t i = 0; i < seq->count; i++)
			decode_match(c, seq->items[i], decode_path_index(c, decode_path(c, path, "matches"), i),
				     &r->matches[i]);
	} else {
		/* CRD default [{path: {type: PathPrefix, value: "/"}}]; an empty list matches
		 * every request too */
		default_match(c->a, r, n);
	}
	struct decode_filter_summary sum = { false, false };
	if (v[2].val)
		decode_filters(c, v[2].val, decode_path(c, path, "filters"), &r->filters, &r->nfilters, &sum);
	bool redirect = sum.has_redirect;
	if (v[3].val) {
		const struct ynode *seq = v[3].val;
		r->backend_refs = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *r->backend_refs);
		r->nbackend_refs = seq->count;
		for (size_t i = 0; i < seq->count; i++)
			decode_backend_ref(c, seq->items[i], decode_path_index(c, decode_path(c, path, "backendRefs"), i),
					   &r->backend_refs[i], &sum);
		/* Rule CEL: a redirect answers by itself, so it takes no backends */
		if (redirect && seq->count > 0)
			decode_error(c, v[3].key, path, "RequestRedirect filter must not be used together with backendRefs");
	}
	/* Rule CEL: ReplacePrefixMatch rewrites the matched prefix: exactly one PathPrefix match */
	if (sum.has_prefix_rewrite && (r->nmatches != 1 || r->matches[0].path_type != GW_PATH_PREFIX))
		decode_error(c, n, path, "when using URLRewrite or RequestRedirect filter with "
			     "path.replacePrefixMatch, exactly one PathPrefix match must be specified");
	if (v[4].val)
		check_timeouts(c, v[4].val, decode_path(c, path, "timeouts"), r);
	if (v[5].val) {
		check_retry(c, v[5].val, decode_path(c, path, "retry"), r);
	}
	if (v[6].val) {
		check_session(c, v[6].val, decode_path(c, path, "sessionPersistence"));
		decode_unsupported(c, &v[6], path, "sessionPersistence");
	}
}

/* ---- parentRefs ---- */

struct parent_raw {
	const char *group, *kind, *ns, *name, *section; /* as CEL sees them: unset = "" */
	int64_t port;                                     /* unset = 0 */
	bool valid;
};

/* HTTPRoute CEL on parentRefs (experimental form, with port): references to the same
 * parent must all set sectionName (or port), and those must differ. The namespace is
 * compared as written, like upstream's rule does. */
static void check_parent_refs(struct dctx *c, const struct ynode *seq, const struct parent_raw *p)
{
	for (size_t j = 1; j < seq->count; j++) {
		if (!p[j].valid)
			continue;
		for (size_t i = 0; i < j; i++) {
			if (!p[i].valid || strcmp(p[i].group, p[j].group) || strcmp(p[i].kind, p[j].kind) ||
			    strcmp(p[i].name, p[j].name) || strcmp(p[i].ns, p[j].ns))
				continue;
			const char *path = decode_path_index(c, "spec.parentRefs", j);
			if (!p[i].section[0] != !p[j].section[0] || !p[i].port != !p[j].port) {
				decode_error(c, seq->items[j], path, "sectionName or port must be specified when parentRefs "
					     "includes 2 or more references to the same parent (see spec.parentRefs[%zu])", i);
				break;
			}
			if (!strcmp(p[i].section, p[j].section) && p[i].port == p[j].port) {
				decode_error(c, seq->items[j], path, "sectionName or port must be unique when parentRefs "
					     "includes 2 or more references to the same parent (see spec.parentRefs[%zu])", i);
				break;
			}
		}
	}
}

void decode_parent_refs(struct dctx *c, const struct ynode *seq, struct gw_httproute *r)
{
	r->parent_refs = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *r->parent_refs);
	struct parent_raw *raw = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *raw);
	for (size_t i = 0; i < seq->count; i++) {
		const char *path = decode_path_index(c, "spec.parentRefs", i);
		struct dval v[6];
		struct gw_parent_ref *pr = &r->parent_refs[r->nparent_refs];
		pr->group = GW_GROUP;
		pr->kind = "Gateway";
		pr->ns = c->ns;
		pr->pos = decode_pos(seq->items[i]);
		bool ok = DECODE_FIELDS(c, seq->items[i], path, parent_ref_fields, v);
		if (v[0].val && !decode_group_name(c, v[0].val, decode_path(c, path, "group")))
			ok = false;
		if (v[1].val && !decode_kind_name(c, v[1].val, decode_path(c, path, "kind")))
			ok = false;
		if (v[2].val && !decode_dns_label(c, v[2].val, decode_path(c, path, "namespace")))
			ok = false;
		if (v[4].val && !decode_section_name(c, v[4].val, decode_path(c, path, "sectionName")))
			ok = false;
		if (!ok)
			continue;
		if (v[0].val)
			pr->group = v[0].val->scalar;
		if (v[1].val)
			pr->kind = v[1].val->scalar;
		if (v[2].val)
			pr->ns = v[2].val->scalar;
		pr->name = v[3].val->scalar;
		pr->section_name = v[4].val ? v[4].val->scalar : NULL;
		pr->port = v[5].val ? (uint16_t)decode_int_value(v[5].val) : 0;
		raw[i] = (struct parent_raw){
			.group = pr->group, .kind = pr->kind, .ns = v[2].val ? v[2].val->scalar : "",
			.name = pr->name, .section = pr->section_name ? pr->section_name : "",
			.port = pr->port, .valid = true,
		};
		r->nparent_refs++;
	}
	check_parent_refs(c, seq, raw);
}

void decode_httproute(struct dctx *c, const struct ynode *spec, struct gw_httproute *r)
{
	struct dval v[4] = { { NULL, NULL } };
	if (spec)
		DECODE_FIELDS(c, spec, "spec", route_fields, v);
	if (v[0].val)
		decode_parent_refs(c, v[0].val, r);
	if (v[1].val) {
		const struct ynode *seq = v[1].val;
		r->hostnames = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *r->hostnames);
		for (size_t i = 0; i < seq->count; i++) {
			const char *path = decode_path_index(c, "spec.hostnames", i);
			if (decode_check(c, seq->items[i], path, DT_STR, 0, 0) &&
			    decode_hostname(c, seq->items[i], path, true))
				r->hostnames[r->nhostnames++] = seq->items[i]->scalar;
		}
	}
	if (v[2].val) {
		const struct ynode *seq = v[2].val;
		r->rules = arena_alloc(c->a, seq->count * sizeof *r->rules);
		r->nrules = seq->count;
		size_t total = 0;
		for (size_t i = 0; i < seq->count; i++) {
			const char *path = decode_path_index(c, "spec.rules", i);
			decode_rule(c, seq->items[i], path, &r->rules[i]);
			total += r->rules[i].nmatches;
			if (!r->rules[i].name)
				continue;
			for (size_t k = 0; k < i; k++) {
				if (r->rules[k].name && !strcmp(r->rules[k].name, r->rules[i].name)) {
					decode_error(c, ynode_get(seq->items[i], "name"), decode_path(c, path, "name"),
						     "rule name %s is already used by spec.rules[%zu]",
						     decode_quote(c, r->rules[i].name), k);
					break;
				}
			}
		}
		if (total > ROUTE_MAX_MATCHES_TOTAL)
			decode_error(c, seq, "spec.rules", "the total number of matches across all rules must be at "
				     "most %d, got %zu", ROUTE_MAX_MATCHES_TOTAL, total);
	} else {
		/* CRD default: one rule matching PathPrefix "/", without backends */
		const struct ynode *at = spec ? spec : c->root;
		r->rules = arena_alloc(c->a, sizeof *r->rules);
		r->nrules = 1;
		r->rules[0].pos = decode_pos(at);
		default_match(c->a, &r->rules[0], at);
	}
	if (v[3].val) {
		int which = decode_enum(c, v[3].val, "spec.useDefaultGateways", default_gateways, 2);
		if (which == 0)
			decode_error(c, v[3].val, "spec.useDefaultGateways", "\"All\" is not supported yet");
	}
}
