/* SPDX-License-Identifier: MIT */
/* decode: field tables, YAML 1.2 core typing and diagnostics shared by the per-kind
 * decoders (the string rules are in decode_scalars.c, content hashes in
 * decode_hash.c), and the documents -> model dispatch. Values are typed as Kubernetes reads them: a quoted
 * "80" is a string, never a port. */
#include "gwapi/decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "gwapi/validate.h"

/* ---- YAML 1.2 core schema ---- */

static bool all_of(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

static bool is_decimal(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	return all_of(s, "0123456789");
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, .inf and .nan */
static bool is_float(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF"))
		return true;
	if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
		return true;
	size_t int_digits = strspn(s, "0123456789");
	s += int_digits;
	size_t frac_digits = 0;
	if (*s == '.') {
		s++;
		frac_digits = strspn(s, "0123456789");
		s += frac_digits;
	}
	if (int_digits == 0 && frac_digits == 0)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		size_t exp = strspn(s, "0123456789");
		if (!exp)
			return false;
		s += exp;
	}
	return *s == '\0';
}

enum sclass decode_scalar_class(const struct ynode *n)
{
	if (n->style != YSCALAR_PLAIN)
		return SC_STR;
	const char *s = n->scalar;
	/* Most scalars are names: a first byte that begins none of the null, bool,
	 * int or float forms below settles it without the string tests. */
	if (s[0] && !strchr("~nNtTfF+-.0123456789", s[0]))
		return SC_STR;
	if (ynode_is_null(n))
		return SC_NULL;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") ||
	    !strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return SC_BOOL;
	if (is_decimal(s) || (s[0] == '0' && s[1] == 'o' && all_of(s + 2, "01234567")) ||
	    (s[0] == '0' && s[1] == 'x' && all_of(s + 2, "0123456789abcdefABCDEF")))
		return SC_INT;
	if (is_float(s))
		return SC_FLOAT;
	return SC_STR;
}

/* A decimal integer scalar; false when it does not fit in int64 (Kubernetes
 * refuses those too). */
static bool parse_int(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s >= '0' && *s <= '9'; s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

int64_t decode_int_value(const struct ynode *n)
{
	int64_t v = 0;
	parse_int(n->scalar, &v);
	return v;
}

struct gw_pos decode_pos(const struct ynode *n)
{
	struct gw_pos p = { NULL, 0, 0 };
	if (n) {
		p.file = n->file;
		p.line = n->line;
		p.col = n->col;
	}
	return p;
}

/* ---- messages ---- */

const char *decode_quote(struct dctx *c, const char *s)
{
	struct buf b = BUF_INIT;
	buf_putc(&b, '"');
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
		if (n == 80) {
			buf_puts(&b, "...");
			break;
		}
		if (*p == '"' || *p == '\\')
			buf_printf(&b, "\\%c", *p);
		else if (*p == '\n')
			buf_puts(&b, "\\n");
		else if (*p == '\t')
			buf_puts(&b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(&b, "\\x%02x", *p);
		else
			buf_putc(&b, (char)*p);
	}
	buf_putc(&b, '"');
	const char *out = arena_strndup(c->a, b.data, b.len);
	buf_free(&b);
	return out;
}

static void decode_vreport(struct dctx *c, enum diag_severity sev, const struct ynode *n,
			   const char *path, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	if (c->who && c->who[0])
		buf_printf(&b, "%s: ", c->who);
	if (path && path[0])
		buf_printf(&b, "%s: ", path);
	buf_vprintf(&b, fmt, ap);
	diag_add(c->dl, sev, n ? n->file : NULL, n ? n->line : 0, n ? n->col : 0, "%s", b.data);
	buf_free(&b);
	if (sev == DIAG_ERROR)
		c->errors++;
}

void decode_error(struct dctx *c, const struct ynode *n, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	decode_vreport(c, DIAG_ERROR, n, path, fmt, ap);
	va_end(ap);
}

void decode_warning(struct dctx *c, const struct ynode *n, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	decode_vreport(c, DIAG_WARNING, n, path, fmt, ap);
	va_end(ap);
}

void decode_note(struct dctx *c, const struct ynode *n, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	decode_vreport(c, DIAG_NOTE, n, path, fmt, ap);
	va_end(ap);
}

void decode_unsupported(struct dctx *c, const struct dval *v, const char *path, const char *field)
{
	decode_error(c, v->key ? v->key : v->val, path, "field \"%s\" is not supported yet", field);
}

const char *decode_path(struct dctx *c, const char *base, const char *field)
{
	if (!base || !base[0])
		return field;
	/* built for every field decoded, so without printf */
	size_t bl = strlen(base), fl = strlen(field);
	char *p = arena_alloc(c->a, bl + fl + 2);
	memcpy(p, base, bl);
	p[bl] = '.';
	memcpy(p + bl + 1, field, fl);
	return p;
}

const char *decode_path_index(struct dctx *c, const char *base, size_t i)
{
	char digits[24];
	size_t nd = 0;
	do {
		digits[nd++] = (char)('0' + i % 10);
		i /= 10;
	} while (i);
	size_t bl = base ? strlen(base) : 0;
	char *p = arena_alloc(c->a, bl + nd + 3);
	char *q = p;
	if (bl)
		memcpy(q, base, bl);
	q += bl;
	*q++ = '[';
	while (nd)
		*q++ = digits[--nd];
	*q = ']';
	return p;
}

/* What a node is, for "got ...". */
static const char *decode_got(struct dctx *c, const struct ynode *n)
{
	if (n->kind == YNODE_MAP)
		return "a mapping";
	if (n->kind == YNODE_SEQ)
		return "a sequence";
	if (ynode_is_null(n))
		return "null";
	return decode_quote(c, n->scalar);
}

static const char *sclass_name(enum sclass sc)
{
	switch (sc) {
	case SC_BOOL: return "a boolean";
	case SC_INT: return "an integer";
	case SC_FLOAT: return "a number";
	case SC_NULL: return "null";
	case SC_STR: return "a string";
	}
	return "a string";
}

static bool decode_check_int(struct dctx *c, const struct ynode *n, const char *path,
			     int64_t min, int64_t max)
{
	int64_t v;
	bool ok = n->kind == YNODE_SCALAR && n->style == YSCALAR_PLAIN && is_decimal(n->scalar) &&
		  parse_int(n->scalar, &v) && (!(min || max) || (v >= min && v <= max));
	if (ok)
		return true;
	/* say why a number-looking value is refused when the quotes are the problem */
	const char *hint = n->kind == YNODE_SCALAR && n->style == YSCALAR_QUOTED && is_decimal(n->scalar)
				   ? " (a quoted string)" : "";
	if (!min && !max)
		decode_error(c, n, path, "must be an integer, got %s%s", decode_got(c, n), hint);
	else if (max == INT64_MAX)
		decode_error(c, n, path, "must be an integer of at least %lld, got %s%s", (long long)min,
			     decode_got(c, n), hint);
	else
		decode_error(c, n, path, "must be an integer between %lld and %lld, got %s%s",
			     (long long)min, (long long)max, decode_got(c, n), hint);
	return false;
}

bool decode_check(struct dctx *c, const struct ynode *n, const char *path, enum dtype type,
		  int64_t min, int64_t max)
{
	switch (type) {
	case DT_ANY:
		return true;
	case DT_INT:
		return decode_check_int(c, n, path, min, max);
	case DT_BOOL:
		if (n->kind == YNODE_SCALAR && decode_scalar_class(n) == SC_BOOL)
			return true;
		decode_error(c, n, path, "must be true or false, got %s%s", decode_got(c, n),
			     n->kind == YNODE_SCALAR && n->style == YSCALAR_QUOTED ? " (a quoted string)" : "");
		return false;
	case DT_STR: {
		if (n->kind != YNODE_SCALAR) {
			decode_error(c, n, path, "must be a string, got %s", decode_got(c, n));
			return false;
		}
		enum sclass sc = decode_scalar_class(n);
		if (sc != SC_STR) {
			if (sc == SC_NULL)
				decode_error(c, n, path, "must be a string, got null");
			else
				decode_error(c, n, path, "must be a string, got %s %s (quote it)", sclass_name(sc),
					     decode_quote(c, n->scalar));
			return false;
		}
		if (strlen(n->scalar) != n->scalar_len) {
			decode_error(c, n, path, "must not contain NUL characters");
			return false;
		}
		size_t len = validate_chars(n->scalar);
		if (min == 1 && len == 0) {
			decode_error(c, n, path, "must not be empty");
			return false;
		}
		if ((int64_t)len < min) {
			decode_error(c, n, path, "must be at least %lld characters, got %zu", (long long)min, len);
			return false;
		}
		if (max && (int64_t)len > max) {
			decode_error(c, n, path, "must be at most %lld characters, got %zu", (long long)max, len);
			return false;
		}
		return true;
	}
	case DT_MAP:
		if (n->kind != YNODE_MAP) {
			decode_error(c, n, path, "must be a mapping, got %s", decode_got(c, n));
			return false;
		}
		if (max && (int64_t)n->count > max) {
			decode_error(c, n, path, "must have at most %lld entries, got %zu", (long long)max, n->count);
			return false;
		}
		return true;
	case DT_SEQ:
		if (n->kind != YNODE_SEQ) {
			decode_error(c, n, path, "must be a sequence, got %s", decode_got(c, n));
			return false;
		}
		if ((int64_t)n->count < min) {
			decode_error(c, n, path, "must have at least %lld item%s", (long long)min, min == 1 ? "" : "s");
			return false;
		}
		if (max && (int64_t)n->count > max) {
			decode_error(c, n, path, "must have at most %lld items, got %zu", (long long)max, n->count);
			return false;
		}
		return true;
	}
	return false;
}

bool decode_fields(struct dctx *c, const struct ynode *map, const char *path,
		   const struct dfield *fields, size_t nfields, struct dval *out)
{
	memset(out, 0, nfields * sizeof *out);
	if (!decode_check(c, map, path, DT_MAP, 0, 0))
		return false;
	bool ok = true;
	bool *seen = arena_alloc(c->a, nfields ? nfields : 1);
	for (size_t p = 0; p < map->count; p++) {
		const struct ynode *key = map->pairs[p].key, *val = map->pairs[p].value;
		size_t i;
		for (i = 0; i < nfields; i++)
			if (strlen(fields[i].name) == key->scalar_len && !strcmp(fields[i].name, key->scalar))
				break;
		if (i == nfields) {
			decode_error(c, key, path, "unknown field %s", decode_quote(c, key->scalar));
			ok = false;
			continue;
		}
		if (ynode_is_null(val))
			continue; /* null is absent, as the API server reads it */
		seen[i] = true;
		if (!decode_check(c, val, decode_path(c, path, fields[i].name), fields[i].type,
				  fields[i].min, fields[i].max)) {
			ok = false;
			continue;
		}
		out[i].key = key;
		out[i].val = val;
	}
	for (size_t i = 0; i < nfields; i++) {
		if ((fields[i].flags & DF_REQUIRED) && !seen[i]) {
			decode_error(c, map, path, "missing required field \"%s\"", fields[i].name);
			ok = false;
		}
	}
	return ok;
}

int decode_enum(struct dctx *c, const struct ynode *n, const char *path,
		const char *const *names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (!strcmp(n->scalar, names[i]))
			return (int)i;
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < count; i++)
		buf_printf(&b, "%s%s", i == 0 ? "" : i + 1 == count ? " or " : ", ", names[i]);
	decode_error(c, n, path, "unsupported value %s (expected %s)", decode_quote(c, n->scalar), b.data);
	buf_free(&b);
	return -1;
}

/* ---- documents -> model ---- */

const char *const gw_method_names[] = {
	[GW_METHOD_ANY] = "", [GW_METHOD_GET] = "GET", [GW_METHOD_HEAD] = "HEAD",
	[GW_METHOD_POST] = "POST", [GW_METHOD_PUT] = "PUT", [GW_METHOD_DELETE] = "DELETE",
	[GW_METHOD_CONNECT] = "CONNECT", [GW_METHOD_OPTIONS] = "OPTIONS",
	[GW_METHOD_TRACE] = "TRACE", [GW_METHOD_PATCH] = "PATCH",
};

enum dkind_id {
	DK_GATEWAYCLASS, DK_GATEWAY, DK_HTTPROUTE, DK_BACKEND, DK_NAMESPACE, DK_SERVICE,
	DK_ENDPOINTSLICE, DK_REFERENCEGRANT, DK_LISTENERSET, DK_BTPOLICY, DK_L4ROUTE, DK_LATER,
	DK_SECRET, DK_CONFIGMAP, DK_BACKENDTLS
};

/* What we recognise, by group, kind and served versions (GATEWAY-API.md §1.2,
 * DESIGN.md "Resources read from config_dir"). DK_LATER kinds are known and
 * planned: a warning says so rather than "unknown kind". */
static const struct dkind {
	const char *group, *kind;
	const char *versions[3];
	enum dkind_id id;
	bool cluster;
} dkinds[] = {
	{ GW_GROUP, "GatewayClass", { "v1", "v1beta1" }, DK_GATEWAYCLASS, true },
	{ GW_GROUP, "Gateway", { "v1", "v1beta1" }, DK_GATEWAY, false },
	{ GW_GROUP, "HTTPRoute", { "v1", "v1beta1" }, DK_HTTPROUTE, false },
	{ GW_ENVOY_GROUP, "Backend", { "v1alpha1" }, DK_BACKEND, false },
	{ "", "Namespace", { "v1" }, DK_NAMESPACE, true },
	{ GW_GROUP, "ListenerSet", { "v1" }, DK_LISTENERSET, false },
	{ GW_GROUP, "GRPCRoute", { "v1" }, DK_LATER, false },
	{ GW_GROUP, "TLSRoute", { "v1", "v1alpha2", "v1alpha3" }, DK_L4ROUTE, false },
	{ GW_GROUP, "TCPRoute", { "v1", "v1alpha2" }, DK_L4ROUTE, false },
	{ GW_GROUP, "UDPRoute", { "v1", "v1alpha2" }, DK_L4ROUTE, false },
	{ GW_GROUP, "ReferenceGrant", { "v1", "v1beta1" }, DK_REFERENCEGRANT, false },
	{ GW_GROUP, "BackendTLSPolicy", { "v1", "v1alpha3" }, DK_BACKENDTLS, false },
	{ "", "Secret", { "v1" }, DK_SECRET, false },
	{ "", "ConfigMap", { "v1" }, DK_CONFIGMAP, false },
	{ "", "Service", { "v1" }, DK_SERVICE, false },
	{ "discovery.k8s.io", "EndpointSlice", { "v1" }, DK_ENDPOINTSLICE, false },
	{ GW_ENVOY_GROUP, "BackendTrafficPolicy", { "v1alpha1" }, DK_BTPOLICY, false },
};

struct dseen {
	const char *key;             /* "kind\nns\nname" */
	const struct ynode *name;    /* metadata.name of the first definition */
	const char *who;
};

struct dstate {
	struct arena *a;
	struct diag_list *dl;
	struct gw_model *m;
	size_t cap_gc, cap_gw, cap_rt, cap_be, cap_ns, cap_all;
	size_t cap_svc, cap_es, cap_rg, cap_ls;
	size_t cap_btp;
	size_t cap_sec, cap_cm, cap_btls;
	struct dseen *seen;          /* open addressing, nseen_cap a power of two */
	size_t nseen_cap;
};

#define DSTATE_PUSH(st, arr, n, cap, item)                                              \
	do {                                                                            \
		if ((n) == (cap)) {                                                     \
			size_t ncap_ = (cap) ? (cap) * 2 : 8;                           \
			(arr) = arena_grow((st)->a, (arr), (n), ncap_, sizeof *(arr)); \
			(cap) = ncap_;                                                  \
		}                                                                       \
		(arr)[(n)++] = (item);                                                  \
	} while (0)

/* Kubernetes keys an object by kind, namespace and name (whatever the apiVersion):
 * a second definition is refused, as a second `kubectl create` would be. Returns
 * false (after an error and a note) for a duplicate. */
static bool dstate_claim(struct dstate *st, struct dctx *c, const char *kind, const char *ns,
			 const struct ynode *name)
{
	const char *key = arena_printf(st->a, "%s\n%s\n%s", kind, ns, name->scalar);
	size_t mask = st->nseen_cap - 1;
	for (size_t i = decode_str_hash(key) & mask;; i = (i + 1) & mask) {
		struct dseen *e = &st->seen[i];
		if (!e->key) {
			e->key = key;
			e->name = name;
			e->who = c->who;
			return true;
		}
		if (!strcmp(e->key, key)) {
			decode_error(c, name, NULL, "defined more than once");
			diag_add(st->dl, DIAG_NOTE, e->name->file, e->name->line, e->name->col,
				 "%s: first defined here", e->who);
			return false;
		}
	}
}

static const struct dfield meta_fields[] = {
	{ "name", DT_STR, DF_REQUIRED, 0, 0 },
	{ "namespace", DT_STR, 0, 0, 0 },
	{ "labels", DT_MAP, 0, 0, 0 },
	{ "creationTimestamp", DT_STR, 0, 0, 0 },
	{ "generation", DT_INT, 0, 1, INT64_MAX },
	/* standard ObjectMeta fields that carry nothing for us (kubectl output has them) */
	{ "annotations", DT_MAP, 0, 0, 0 },
	{ "uid", DT_ANY, 0, 0, 0 },
	{ "resourceVersion", DT_ANY, 0, 0, 0 },
	{ "managedFields", DT_ANY, 0, 0, 0 },
	{ "finalizers", DT_ANY, 0, 0, 0 },
	{ "ownerReferences", DT_ANY, 0, 0, 0 },
	{ "generateName", DT_ANY, 0, 0, 0 },
	{ "deletionTimestamp", DT_ANY, 0, 0, 0 },
	{ "deletionGracePeriodSeconds", DT_ANY, 0, 0, 0 },
	{ "selfLink", DT_ANY, 0, 0, 0 },
};

static void decode_meta(struct dctx *c, const struct ynode *md, const struct dkind *k,
			struct gw_meta *m)
{
	struct dval v[sizeof meta_fields / sizeof meta_fields[0]];
	DECODE_FIELDS(c, md, "metadata", meta_fields, v);
	if (v[0].val) {
		/* a Namespace's name is used as a namespace: a DNS-1123 label */
		if (k->id == DK_NAMESPACE)
			decode_dns_label(c, v[0].val, "metadata.name");
		else
			decode_dns_subdomain(c, v[0].val, "metadata.name");
	}
	/* "" is the default namespace to kubectl too */
	if (v[1].val && v[1].val->scalar[0] && !k->cluster)
		decode_dns_label(c, v[1].val, "metadata.namespace");
	if (v[2].val)
		decode_labels(c, v[2].val, "metadata.labels", &m->labels, &m->nlabels);
	if (v[3].val) {
		if (validate_rfc3339(v[3].val->scalar))
			m->creation_timestamp = v[3].val->scalar;
		else
			decode_error(c, v[3].val, "metadata.creationTimestamp",
				     "must be an RFC 3339 date-time such as \"2024-05-01T12:00:00Z\", got %s",
				     decode_quote(c, v[3].val->scalar));
	}
	if (v[4].val)
		m->generation = decode_int_value(v[4].val);
}

/* A string scalar under map[key], or NULL: for the message prefix, before validation. */
static const struct ynode *peek_str(const struct ynode *map, const char *key)
{
	const struct ynode *n = ynode_get(map, key);
	return n && n->kind == YNODE_SCALAR && decode_scalar_class(n) == SC_STR && n->scalar[0] ? n : NULL;
}

static const struct dkind *dkind_find(const char *api_version, const char *kind, bool *known_kind)
{
	const char *slash = strchr(api_version, '/');
	size_t glen = slash ? (size_t)(slash - api_version) : 0;
	const char *version = slash ? slash + 1 : api_version;
	*known_kind = false;
	for (size_t i = 0; i < sizeof dkinds / sizeof dkinds[0]; i++) {
		const struct dkind *k = &dkinds[i];
		if (strcmp(k->kind, kind) || strlen(k->group) != glen || strncmp(k->group, api_version, glen))
			continue;
		*known_kind = true;
		for (size_t v = 0; v < 3 && k->versions[v]; v++)
			if (!strcmp(k->versions[v], version))
				return k;
	}
	return NULL;
}

static const char *dkind_expected(struct arena *a, const char *kind)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < sizeof dkinds / sizeof dkinds[0]; i++) {
		const struct dkind *k = &dkinds[i];
		if (strcmp(k->kind, kind))
			continue;
		for (size_t v = 0; v < 3 && k->versions[v]; v++)
			buf_printf(&b, "%s%s%s%s", b.len ? " or " : "", k->group, k->group[0] ? "/" : "",
				   k->versions[v]);
	}
	const char *out = arena_strdup(a, b.data ? b.data : "");
	buf_free(&b);
	return out;
}

static const struct dfield top_fields[] = {
	{ "apiVersion", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "metadata", DT_MAP, DF_REQUIRED, 0, 0 },
	{ "spec", DT_MAP, DF_REQUIRED, 0, 0 },
	/* kubectl output carries status: it is ours to compute, so it is ignored */
	{ "status", DT_ANY, 0, 0, 0 },
};

static const struct dfield top_fields_nospec[] = {
	{ "apiVersion", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "metadata", DT_MAP, DF_REQUIRED, 0, 0 },
	{ "spec", DT_MAP, 0, 0, 0 },
	{ "status", DT_ANY, 0, 0, 0 },
};

static void decode_document(struct dstate *st, const struct ydoc *doc, uint32_t order)
{
	const struct ynode *root = doc->root;
	struct dctx c = { .a = st->a, .dl = st->dl, .who = "", .ns = "", .root = root };
	if (root->kind != YNODE_MAP) {
		decode_error(&c, root, NULL, "a document must be a mapping, got %s", decode_got(&c, root));
		return;
	}
	const struct ynode *kind = ynode_get(root, "kind"), *av = ynode_get(root, "apiVersion");
	if (!kind || ynode_is_null(kind)) {
		decode_error(&c, root, NULL, "missing required field \"kind\"");
		return;
	}
	if (!decode_check(&c, kind, "kind", DT_STR, 1, 0))
		return;
	c.who = kind->scalar;
	if (!av || ynode_is_null(av)) {
		decode_error(&c, root, NULL, "missing required field \"apiVersion\"");
		return;
	}
	if (!decode_check(&c, av, "apiVersion", DT_STR, 1, 0))
		return;

	bool known_kind;
	const struct dkind *k = dkind_find(av->scalar, kind->scalar, &known_kind);
	const struct ynode *md = ynode_get(root, "metadata");
	const struct ynode *name = peek_str(md, "name"), *nsn = peek_str(md, "namespace");
	bool cluster = k && k->cluster;
	const char *ns = cluster ? "" : nsn ? nsn->scalar : "default";
	if (name)
		c.who = cluster ? arena_printf(st->a, "%s %s", kind->scalar, name->scalar)
				: arena_printf(st->a, "%s %s/%s", kind->scalar, ns, name->scalar);
	c.ns = ns;
	if (!k) {
		c.who = "";
		if (known_kind)
			decode_warning(&c, av, NULL, "apiVersion %s is not served for kind %s (expected %s), ignored",
				       decode_quote(&c, av->scalar), decode_quote(&c, kind->scalar),
				       dkind_expected(st->a, kind->scalar));
		else
			decode_warning(&c, kind, NULL, "unknown kind %s (apiVersion %s), ignored",
				       decode_quote(&c, kind->scalar), decode_quote(&c, av->scalar));
		return;
	}
	if (k->id == DK_LATER) {
		decode_warning(&c, kind, NULL, "this kind is not supported yet, ignored");
		return;
	}

	struct dval top[5];
	if (k->id == DK_ENDPOINTSLICE || k->id == DK_SECRET || k->id == DK_CONFIGMAP) {
		/* no spec: the kind's decoder checks the top level itself */
		memset(top, 0, sizeof top);
		top[2].val = md && md->kind == YNODE_MAP ? md : NULL;
	} else if (k->id == DK_NAMESPACE) {
		DECODE_FIELDS(&c, root, NULL, top_fields_nospec, top);
	} else {
		DECODE_FIELDS(&c, root, NULL, top_fields, top);
	}

	struct gw_meta meta = {
		.api_version = av->scalar, .kind = kind->scalar, .ns = ns,
		.name = name ? name->scalar : "", .pos = decode_pos(root), .load_order = order,
	};
	if (top[2].val)
		decode_meta(&c, top[2].val, k, &meta);
	if (name && !dstate_claim(st, &c, kind->scalar, ns, name))
		return;
	meta.content_hash = decode_content_hash(st->a, root, &meta);

	struct gw_model *m = st->m;
	const struct ynode *spec = top[3].val;
	struct gw_meta *stored = NULL;
	switch (k->id) {
	case DK_GATEWAYCLASS: {
		struct gw_gatewayclass *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		if (spec)
			decode_gatewayclass(&c, spec, o);
		DSTATE_PUSH(st, m->gatewayclasses, m->ngatewayclasses, st->cap_gc, o);
		stored = &o->meta;
		break;
	}
	case DK_GATEWAY: {
		struct gw_gateway *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		if (spec)
			decode_gateway(&c, spec, o);
		DSTATE_PUSH(st, m->gateways, m->ngateways, st->cap_gw, o);
		stored = &o->meta;
		break;
	}
	case DK_HTTPROUTE: {
		struct gw_httproute *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		decode_httproute(&c, spec, o);
		DSTATE_PUSH(st, m->httproutes, m->nhttproutes, st->cap_rt, o);
		stored = &o->meta;
		break;
	}
	case DK_BACKEND: {
		struct gw_backend *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		if (spec)
			decode_backend(&c, spec, o);
		DSTATE_PUSH(st, m->backends, m->nbackends, st->cap_be, o);
		stored = &o->meta;
		break;
	}
	case DK_NAMESPACE: {
		struct gw_namespace *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		decode_namespace(&c, spec, o);
		DSTATE_PUSH(st, m->namespaces, m->nnamespaces, st->cap_ns, o);
		stored = &o->meta;
		break;
	}
	case DK_SERVICE: {
		struct gw_service *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		if (spec)
			decode_service(&c, spec, o);
		DSTATE_PUSH(st, m->services, m->nservices, st->cap_svc, o);
		stored = &o->meta;
		break;
	}
	case DK_ENDPOINTSLICE: {
		struct gw_endpointslice *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		decode_endpointslice(&c, root, o);
		DSTATE_PUSH(st, m->endpointslices, m->nendpointslices, st->cap_es, o);
		stored = &o->meta;
		break;
	}
	case DK_REFERENCEGRANT: {
		struct gw_referencegrant *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		if (spec)
			decode_referencegrant(&c, spec, o);
		DSTATE_PUSH(st, m->referencegrants, m->nreferencegrants, st->cap_rg, o);
		stored = &o->meta;
		break;
	}
	case DK_LISTENERSET: {
		struct gw_listenerset *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		if (spec)
			decode_listenerset(&c, spec, o);
		DSTATE_PUSH(st, m->listenersets, m->nlistenersets, st->cap_ls, o);
		stored = &o->meta;
		break;
	}
	case DK_BTPOLICY: {
		struct gw_btpolicy *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		decode_btpolicy(&c, spec, o);
		DSTATE_PUSH(st, m->btpolicies, m->nbtpolicies, st->cap_btp, o);
		stored = &o->meta;
		break;
	}
	case DK_L4ROUTE: {
		/* TLSRoute, TCPRoute, UDPRoute: in HTTPRoute's shape, with the HTTPRoutes (gwapi.h) */
		struct gw_httproute *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		decode_l4route(&c, spec, o);
		DSTATE_PUSH(st, m->httproutes, m->nhttproutes, st->cap_rt, o);
		stored = &o->meta;
		break;
	}
	case DK_SECRET: {
		struct gw_secret *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		decode_secret(&c, root, o);
		DSTATE_PUSH(st, m->secrets, m->nsecrets, st->cap_sec, o);
		stored = &o->meta;
		break;
	}
	case DK_CONFIGMAP: {
		struct gw_configmap *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		decode_configmap(&c, root, o);
		DSTATE_PUSH(st, m->configmaps, m->nconfigmaps, st->cap_cm, o);
		stored = &o->meta;
		break;
	}
	case DK_BACKENDTLS: {
		struct gw_backendtlspolicy *o = arena_alloc(st->a, sizeof *o);
		o->meta = meta;
		if (spec)
			decode_backendtls(&c, spec, o);
		DSTATE_PUSH(st, m->backendtlspolicies, m->nbackendtlspolicies, st->cap_btls, o);
		stored = &o->meta;
		break;
	}
	case DK_LATER:
		return;
	}
	DSTATE_PUSH(st, m->all, m->nall, st->cap_all, stored);
}

bool gwapi_decode(struct arena *a, const struct ydoc_set *docs, struct gw_model *out,
		  struct diag_list *dl)
{
	memset(out, 0, sizeof *out);
	size_t errors = dl->errors;
	struct dstate st = { .a = a, .dl = dl, .m = out };
	st.nseen_cap = 16;
	while (st.nseen_cap < docs->count * 2)
		st.nseen_cap *= 2;
	st.seen = arena_alloc(a, st.nseen_cap * sizeof *st.seen);
	for (size_t i = 0; i < docs->count; i++)
		if (docs->docs[i].root)
			decode_document(&st, &docs->docs[i], (uint32_t)i);
	return dl->errors == errors;
}
