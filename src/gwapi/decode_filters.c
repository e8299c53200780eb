/* SPDX-License-Identifier: MIT */
/* decode_filters: HTTPRouteFilter lists of rules and backendRefs (GATEWAY-API.md
 * §2.6.2): the CRD schema and CEL rules (type/field pairing, once-only types, redirect
 * xor rewrite, path modifier pairing, mirror percent xor fraction), with the values
 * kept in struct gw_http_filter for compile. ExternalAuth is refused by name. */
#include <string.h>
#include <strings.h>

#include "gwapi/decode.h"

/* BackendObjectReference, as in RequestMirror */
static const struct dfield object_ref_fields[] = {
	{ "group", DT_STR, 0, 0, 0 },
	{ "kind", DT_STR, 0, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
	{ "namespace", DT_STR, 0, 0, 0 },
	{ "port", DT_INT, 0, 1, 65535 },
};

enum filter_type {
	F_REQUEST_HEADER, F_RESPONSE_HEADER, F_MIRROR, F_REDIRECT, F_REWRITE, F_CORS,
	F_EXTENSION, F_EXTAUTH, F_NTYPES
};

/* The type names and the field that must accompany each (CEL pairs them). */
static const char *const filter_types[F_NTYPES] = {
	"RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect",
	"URLRewrite", "CORS", "ExtensionRef", "ExternalAuth",
};

static const struct dfield filter_fields[] = {
	{ "requestHeaderModifier", DT_MAP, 0, 0, 0 },
	{ "responseHeaderModifier", DT_MAP, 0, 0, 0 },
	{ "requestMirror", DT_MAP, 0, 0, 0 },
	{ "requestRedirect", DT_MAP, 0, 0, 0 },
	{ "urlRewrite", DT_MAP, 0, 0, 0 },
	{ "cors", DT_MAP, 0, 0, 0 },
	{ "extensionRef", DT_MAP, 0, 0, 0 },
	{ "externalAuth", DT_MAP, 0, 0, 0 },
	{ "type", DT_STR, DF_REQUIRED, 0, 0 },
};

static const struct dfield header_modifier_fields[] = {
	{ "set", DT_SEQ, 0, 0, 16 },
	{ "add", DT_SEQ, 0, 0, 16 },
	{ "remove", DT_SEQ, 0, 0, 16 },
};

static const struct dfield header_value_fields[] = {
	{ "name", DT_STR, DF_REQUIRED, 0, 0 },
	{ "value", DT_STR, DF_REQUIRED, 0, 4096 },
};

static const struct dfield redirect_fields[] = {
	{ "scheme", DT_STR, 0, 0, 0 },
	{ "hostname", DT_STR, 0, 0, 0 },
	{ "path", DT_MAP, 0, 0, 0 },
	{ "port", DT_INT, 0, 1, 65535 },
	{ "statusCode", DT_INT, 0, 0, 0 },
};

static const struct dfield rewrite_fields[] = {
	{ "hostname", DT_STR, 0, 0, 0 },
	{ "path", DT_MAP, 0, 0, 0 },
};

static const struct dfield path_modifier_fields[] = {
	{ "type", DT_STR, DF_REQUIRED, 0, 0 },
	{ "replaceFullPath", DT_STR, 0, 0, 1024 },
	{ "replacePrefixMatch", DT_STR, 0, 0, 1024 },
};

static const struct dfield mirror_fields[] = {
	{ "backendRef", DT_MAP, DF_REQUIRED, 0, 0 },
	{ "percent", DT_INT, 0, 0, 100 },
	{ "fraction", DT_MAP, 0, 0, 0 },
};

static const struct dfield fraction_fields[] = {
	{ "numerator", DT_INT, DF_REQUIRED, 0, INT32_MAX },
	{ "denominator", DT_INT, 0, 1, INT32_MAX },
};

static const struct dfield cors_fields[] = {
	{ "allowOrigins", DT_SEQ, 0, 0, 64 },
	{ "allowCredentials", DT_BOOL, 0, 0, 0 },
	{ "allowMethods", DT_SEQ, 0, 0, 9 },
	{ "allowHeaders", DT_SEQ, 0, 0, 64 },
	{ "exposeHeaders", DT_SEQ, 0, 0, 64 },
	{ "maxAge", DT_INT, 0, 1, INT32_MAX },
};

static const struct dfield local_ref_fields[] = {
	{ "group", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
};

static const char *const redirect_schemes[] = { "http", "https" };
static const char *const path_modifier_types[] = { "ReplaceFullPath", "ReplacePrefixMatch" };
static const int64_t redirect_codes[] = { 301, 302, 303, 307, 308 };

/* set/add: a list map keyed by name (the API server refuses a repeated name). */
static void decode_header_list(struct dctx *c, const struct ynode *seq, const char *path,
			       struct gw_header_value **out, size_t *nout)
{
	struct gw_header_value *hv = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *hv);
	size_t n = 0;
	for (size_t i = 0; i < seq->count; i++) {
		const char *ip = decode_path_index(c, path, i);
		struct dval v[2];
		DECODE_FIELDS(c, seq->items[i], ip, header_value_fields, v);
		if (!v[0].val || !v[1].val || !decode_header_name(c, v[0].val, decode_path(c, ip, "name")))
			continue;
		bool dup = false;
		for (size_t k = 0; k < n && !dup; k++)
			dup = !strcmp(hv[k].name, v[0].val->scalar);
		if (dup) {
			decode_error(c, v[0].val, decode_path(c, ip, "name"), "duplicate value %s",
				     decode_quote(c, v[0].val->scalar));
			continue;
		}
		hv[n].name = v[0].val->scalar;
		hv[n].value = v[1].val->scalar;
		n++;
	}
	*out = hv;
	*nout = n;
}

static void decode_header_modifier(struct dctx *c, const struct ynode *n, const char *path,
				   struct gw_http_filter *f)
{
	struct dval v[3];
	DECODE_FIELDS(c, n, path, header_modifier_fields, v);
	if (v[0].val)
		decode_header_list(c, v[0].val, decode_path(c, path, "set"), &f->set, &f->nset);
	if (v[1].val)
		decode_header_list(c, v[1].val, decode_path(c, path, "add"), &f->add, &f->nadd);
	if (v[2].val) {
		const struct ynode *seq = v[2].val;
		f->remove = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *f->remove);
		for (size_t i = 0; i < seq->count; i++) {
			const char *ip = decode_path_index(c, decode_path(c, path, "remove"), i);
			if (decode_check(c, seq->items[i], ip, DT_STR, 0, 0) &&
			    decode_header_name(c, seq->items[i], ip))
				f->remove[f->nremove++] = seq->items[i]->scalar;
		}
	}
}

/* Returns true for a ReplacePrefixMatch modifier. */
static bool check_path_modifier(struct dctx *c, const struct ynode *n, const char *path,
				struct gw_http_filter *f)
{
	struct dval v[3];
	DECODE_FIELDS(c, n, path, path_modifier_fields, v);
	if (!v[0].val)
		return false;
	int t = decode_enum(c, v[0].val, decode_path(c, path, "type"), path_modifier_types, 2);
	if (t < 0)
		return false;
	/* CEL: each value is required for its type and forbidden with the other */
	if (t == 0 && !v[1].val)
		decode_error(c, n, path, "replaceFullPath must be specified when type is set to 'ReplaceFullPath'");
	if (t != 0 && v[1].val)
		decode_error(c, v[1].key, path,
			     "replaceFullPath must be specified only when type is set to 'ReplaceFullPath'");
	if (t == 1 && !v[2].val)
		decode_error(c, n, path, "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'");
	if (t != 1 && v[2].val)
		decode_error(c, v[2].key, path,
			     "replacePrefixMatch must be specified only when type is set to 'ReplacePrefixMatch'");
	if (t == 0 && v[1].val) {
		f->path_type = GW_PATH_MOD_FULL;
		f->path_value = v[1].val->scalar;
	} else if (t == 1 && v[2].val) {
		f->path_type = GW_PATH_MOD_PREFIX;
		f->path_value = v[2].val->scalar;
	}
	return t == 1;
}

static void check_object_ref(struct dctx *c, const struct ynode *n, const char *path,
			     struct gw_backend_ref *br)
{
	struct dval v[5];
	br->group = "";
	br->kind = "Service";
	br->ns = c->ns;
	br->weight = 1;
	br->pos = decode_pos(n);
	DECODE_FIELDS(c, n, path, object_ref_fields, v);
	if (n->kind != YNODE_MAP)
		return;
	if (v[0].val)
		br->group = v[0].val->scalar;
	if (v[1].val)
		br->kind = v[1].val->scalar;
	if (v[2].val)
		br->name = v[2].val->scalar;
	if (v[3].val)
		br->ns = v[3].val->scalar;
	if (v[4].val)
		br->port = (uint16_t)decode_int_value(v[4].val);
	if (v[0].val)
		decode_group_name(c, v[0].val, decode_path(c, path, "group"));
	if (v[1].val)
		decode_kind_name(c, v[1].val, decode_path(c, path, "kind"));
	if (v[3].val)
		decode_dns_label(c, v[3].val, decode_path(c, path, "namespace"));
	const struct ynode *port = ynode_get(n, "port");
	bool core_service = (!v[0].val || !v[0].val->scalar[0]) &&
			    (!v[1].val || !strcmp(v[1].val->scalar, "Service"));
	if (core_service && (!port || ynode_is_null(port)))
		decode_error(c, n, path, "must have port for Service reference");
}

static void check_string_seq(struct dctx *c, const struct ynode *seq, const char *path,
			     const char ***out, size_t *nout)
{
	const char **items = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *items);
	size_t n = 0;
	for (size_t i = 0; i < seq->count; i++)
		if (decode_check(c, seq->items[i], decode_path_index(c, path, i), DT_STR, 1, 0))
			items[n++] = seq->items[i]->scalar;
	*out = items;
	*nout = n;
}

static void check_cors(struct dctx *c, const struct ynode *n, const char *path, const struct gw_http_filter *f);

/* Returns true when the filter carries a ReplacePrefixMatch path modifier. */
static bool check_filter_body(struct dctx *c, enum filter_type t, const struct ynode *n, const char *path,
			      struct gw_http_filter *f)
{
	struct dval v[6];
	switch (t) {
	case F_REQUEST_HEADER:
	case F_RESPONSE_HEADER:
		decode_header_modifier(c, n, path, f);
		return false;
	case F_REDIRECT: {
		bool prefix = false;
		DECODE_FIELDS(c, n, path, redirect_fields, v);
		f->status_code = 302;
		if (v[0].val && decode_enum(c, v[0].val, decode_path(c, path, "scheme"), redirect_schemes, 2) >= 0)
			f->scheme = v[0].val->scalar;
		if (v[1].val && decode_hostname(c, v[1].val, decode_path(c, path, "hostname"), false))
			f->hostname = v[1].val->scalar;
		if (v[2].val)
			prefix = check_path_modifier(c, v[2].val, decode_path(c, path, "path"), f);
		if (v[3].val)
			f->port = (uint16_t)decode_int_value(v[3].val);
		if (v[4].val) {
			int64_t code = decode_int_value(v[4].val);
			size_t i;
			for (i = 0; i < sizeof redirect_codes / sizeof redirect_codes[0]; i++)
				if (code == redirect_codes[i])
					break;
			if (i == sizeof redirect_codes / sizeof redirect_codes[0])
				decode_error(c, v[4].val, decode_path(c, path, "statusCode"),
					     "unsupported value %s (expected 301, 302, 303, 307 or 308)",
					     decode_quote(c, v[4].val->scalar));
			else
				f->status_code = (uint16_t)code;
		}
		return prefix;
	}
	case F_REWRITE:
		DECODE_FIELDS(c, n, path, rewrite_fields, v);
		if (v[0].val && decode_hostname(c, v[0].val, decode_path(c, path, "hostname"), false))
			f->hostname = v[0].val->scalar;
		return v[1].val && check_path_modifier(c, v[1].val, decode_path(c, path, "path"), f);
	case F_MIRROR:
		DECODE_FIELDS(c, n, path, mirror_fields, v);
		f->mirror = arena_alloc(c->a, sizeof *f->mirror);
		f->mirror_numerator = 100;
		f->mirror_denominator = 100;
		if (v[0].val)
			check_object_ref(c, v[0].val, decode_path(c, path, "backendRef"), f->mirror);
		if (v[1].val)
			f->mirror_numerator = (uint32_t)decode_int_value(v[1].val);
		if (v[1].val && v[2].val)
			decode_error(c, n, path, "only one of percent or fraction may be specified in HTTPRequestMirrorFilter");
		if (v[2].val) {
			struct dval fr[2];
			const char *fp = decode_path(c, path, "fraction");
			DECODE_FIELDS(c, v[2].val, fp, fraction_fields, fr);
			int64_t num = fr[0].val ? decode_int_value(fr[0].val) : 0;
			int64_t den = fr[1].val ? decode_int_value(fr[1].val) : 100;
			if (num > den)
				decode_error(c, v[2].val, fp, "numerator must be less than or equal to denominator");
			f->mirror_numerator = (uint32_t)num;
			f->mirror_denominator = (uint32_t)den;
		}
		return false;
	case F_CORS:
		DECODE_FIELDS(c, n, path, cors_fields, v);
		f->max_age = 5;
		if (v[0].val)
			check_string_seq(c, v[0].val, decode_path(c, path, "allowOrigins"), &f->allow_origins,
					 &f->nallow_origins);
		f->allow_credentials = dval_bool(&v[1], false);
		if (v[2].val)
			check_string_seq(c, v[2].val, decode_path(c, path, "allowMethods"), &f->allow_methods,
					 &f->nallow_methods);
		if (v[3].val)
			check_string_seq(c, v[3].val, decode_path(c, path, "allowHeaders"), &f->allow_headers,
					 &f->nallow_headers);
		if (v[4].val)
			check_string_seq(c, v[4].val, decode_path(c, path, "exposeHeaders"), &f->expose_headers,
					 &f->nexpose_headers);
		if (v[5].val)
			f->max_age = (uint32_t)decode_int_value(v[5].val);
		check_cors(c, n, path, f);
		return false;
	case F_EXTENSION:
		DECODE_FIELDS(c, n, path, local_ref_fields, v);
		if (v[0].val && decode_group_name(c, v[0].val, decode_path(c, path, "group")))
			f->ext_group = v[0].val->scalar;
		if (v[1].val && decode_kind_name(c, v[1].val, decode_path(c, path, "kind")))
			f->ext_kind = v[1].val->scalar;
		if (v[2].val)
			f->ext_name = v[2].val->scalar;
		return false;
	case F_EXTAUTH:
	case F_NTYPES:
		return false; /* experimental; refused below whatever it holds */
	}
	return false;
}

/* Upstream CEL on CORS: "*" must stand alone in allowOrigins and allowMethods;
 * allowMethods holds method names only. */
static void check_cors(struct dctx *c, const struct ynode *n, const char *path, const struct gw_http_filter *f)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
					       "TRACE", "PATCH", "*" };
	for (size_t i = 0; i < f->nallow_origins; i++)
		if (!strcmp(f->allow_origins[i], "*") && f->nallow_origins > 1)
			decode_error(c, n, decode_path(c, path, "allowOrigins"),
				     "if \"*\" is present, it must be the only entry");
	for (size_t i = 0; i < f->nallow_methods; i++) {
		size_t k = 0;
		while (k < sizeof methods / sizeof methods[0] && strcmp(methods[k], f->allow_methods[i]))
			k++;
		if (k == sizeof methods / sizeof methods[0])
			decode_error(c, n, decode_path_index(c, decode_path(c, path, "allowMethods"), i),
				     "unsupported value %s (expected an HTTP method in upper case, or \"*\")",
				     decode_quote(c, f->allow_methods[i]));
		else if (k == sizeof methods / sizeof methods[0] - 1 && f->nallow_methods > 1)
			decode_error(c, n, decode_path(c, path, "allowMethods"),
				     "if \"*\" is present, it must be the only entry");
	}
}

void decode_filters(struct dctx *c, const struct ynode *seq, const char *path,
		    struct gw_http_filter **out, size_t *nout, struct decode_filter_summary *sum)
{
	int count[F_NTYPES] = { 0 };
	struct gw_http_filter *fs = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *fs);
	size_t n = 0;
	for (size_t i = 0; i < seq->count; i++) {
		const char *ip = decode_path_index(c, path, i);
		struct dval v[F_NTYPES + 1];
		DECODE_FIELDS(c, seq->items[i], ip, filter_fields, v);
		const struct ynode *tn = v[F_NTYPES].val;
		if (!tn)
			continue;
		int t = decode_enum(c, tn, decode_path(c, ip, "type"), filter_types, F_NTYPES);
		if (t >= 0 && !v[t].val)
			decode_error(c, seq->items[i], ip, "filter.%s must be specified for %s filter.type",
				     filter_fields[t].name, filter_types[t]);
		for (int f = 0; f < F_NTYPES; f++)
			if (f != t && v[f].val)
				decode_error(c, v[f].key, ip, "filter.%s must be nil if the filter.type is not %s",
					     filter_fields[f].name, filter_types[f]);
		if (t < 0)
			continue;
		if (++count[t] == 2 && t != F_MIRROR && t != F_EXTENSION)
			decode_error(c, tn, decode_path(c, ip, "type"), "%s filter cannot be repeated", filter_types[t]);
		if (t == F_EXTAUTH) {
			decode_error(c, tn, decode_path(c, ip, "type"), "filter type \"%s\" is not supported yet",
				     filter_types[t]);
			continue;
		}
		struct gw_http_filter *f = &fs[n];
		memset(f, 0, sizeof *f);
		f->type = (enum gw_filter_type)t;
		f->pos = decode_pos(seq->items[i]);
		if (v[t].val && check_filter_body(c, (enum filter_type)t, v[t].val,
						  decode_path(c, ip, filter_fields[t].name), f))
			sum->has_prefix_rewrite = true;
		n++;
	}
	if (count[F_REDIRECT] && count[F_REWRITE])
		decode_error(c, seq, path, "may specify either RequestRedirect or URLRewrite, but not both");
	if (count[F_REDIRECT])
		sum->has_redirect = true;
	*out = fs;
	*nout = n;
}
