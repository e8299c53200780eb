/* SPDX-License-Identifier: MIT */
/* decode_scalars: the rules of the API's string types (hostnames, DNS labels, group
 * and kind names, header names, durations, IP addresses) and of labels, label
 * selectors and string lists, each reporting at the value's position. */
#include "gwapi/decode.h"

#include <string.h>

#include "gwapi/validate.h"

/* ---- scalar rules ---- */

bool decode_hostname(struct dctx *c, const struct ynode *n, const char *path, bool allow_wildcard)
{
	if (validate_ip(n->scalar)) {
		decode_error(c, n, path, "must be a hostname, not an IP address, got %s", decode_quote(c, n->scalar));
		return false;
	}
	if (validate_hostname(n->scalar, allow_wildcard))
		return true;
	decode_error(c, n, path, "must be a valid hostname (lowercase RFC 1123 labels%s), got %s",
		     allow_wildcard ? ", optionally starting with \"*.\"" : ", no wildcard",
		     decode_quote(c, n->scalar));
	return false;
}

bool decode_dns_label(struct dctx *c, const struct ynode *n, const char *path)
{
	if (validate_dns1123_label(n->scalar))
		return true;
	decode_error(c, n, path, "must be a DNS-1123 label (at most 63 lowercase letters, digits or \"-\"), got %s",
		     decode_quote(c, n->scalar));
	return false;
}

bool decode_dns_subdomain(struct dctx *c, const struct ynode *n, const char *path)
{
	if (validate_dns1123_subdomain(n->scalar))
		return true;
	decode_error(c, n, path,
		     "must be a DNS-1123 subdomain (at most 253 lowercase letters, digits, \"-\" or \".\"), got %s",
		     decode_quote(c, n->scalar));
	return false;
}

bool decode_section_name(struct dctx *c, const struct ynode *n, const char *path)
{
	return decode_dns_subdomain(c, n, path);
}

bool decode_kind_name(struct dctx *c, const struct ynode *n, const char *path)
{
	if (validate_kind(n->scalar))
		return true;
	decode_error(c, n, path, "must be a kind (a letter, then letters, digits or \"-\", at most 63), got %s",
		     decode_quote(c, n->scalar));
	return false;
}

bool decode_group_name(struct dctx *c, const struct ynode *n, const char *path)
{
	if (validate_group(n->scalar))
		return true;
	decode_error(c, n, path, "must be empty or a DNS-1123 subdomain, got %s", decode_quote(c, n->scalar));
	return false;
}

bool decode_header_name(struct dctx *c, const struct ynode *n, const char *path)
{
	if (validate_header_name(n->scalar))
		return true;
	decode_error(c, n, path, "must be an HTTP header name (RFC 9110 token characters), got %s",
		     decode_quote(c, n->scalar));
	return false;
}

bool decode_duration(struct dctx *c, const struct ynode *n, const char *path)
{
	if (validate_duration(n->scalar))
		return true;
	decode_error(c, n, path, "must be a duration such as \"10s\", \"500ms\" or \"1h30m\", got %s",
		     decode_quote(c, n->scalar));
	return false;
}

bool decode_ip_address(struct dctx *c, const struct ynode *n, const char *path)
{
	if (validate_ip(n->scalar))
		return true;
	decode_error(c, n, path, "must be an IPv4 or IPv6 address, got %s", decode_quote(c, n->scalar));
	return false;
}

/* ---- labels and selectors ---- */

void decode_labels(struct dctx *c, const struct ynode *map, const char *path,
		   struct gw_label **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!decode_check(c, map, path, DT_MAP, 0, 0))
		return;
	struct gw_label *labels = arena_alloc(c->a, (map->count ? map->count : 1) * sizeof *labels);
	size_t n = 0;
	for (size_t i = 0; i < map->count; i++) {
		const struct ynode *k = map->pairs[i].key, *v = map->pairs[i].value;
		const char *kpath = decode_path(c, path, k->scalar);
		bool ok = true;
		if (!validate_label_key(k->scalar)) {
			decode_error(c, k, path, "invalid label key %s (an optional DNS prefix and \"/\", then at most "
				     "63 letters, digits, \"-\", \"_\" or \".\")", decode_quote(c, k->scalar));
			ok = false;
		}
		const char *value = "";
		if (!ynode_is_null(v)) {
			if (!decode_check(c, v, kpath, DT_STR, 0, 0))
				continue;
			value = v->scalar;
			if (!validate_label_value(value)) {
				decode_error(c, v, kpath, "invalid label value %s (at most 63 letters, digits, \"-\", "
					     "\"_\" or \".\", starting and ending with a letter or digit)",
					     decode_quote(c, value));
				ok = false;
			}
		}
		if (ok) {
			labels[n].key = k->scalar;
			labels[n].value = value;
			n++;
		}
	}
	*out = labels;
	*nout = n;
}

static const struct dfield selector_fields[] = {
	{ "matchLabels", DT_MAP, 0, 0, 0 },
	{ "matchExpressions", DT_SEQ, 0, 0, 0 },
};

static const struct dfield requirement_fields[] = {
	{ "key", DT_STR, DF_REQUIRED, 0, 0 },
	{ "operator", DT_STR, DF_REQUIRED, 0, 0 },
	{ "values", DT_SEQ, 0, 0, 0 },
};

static const char *const selector_ops[] = { "In", "NotIn", "Exists", "DoesNotExist" };

void decode_label_selector(struct dctx *c, const struct ynode *map, const char *path,
			   struct gw_label_selector *out)
{
	memset(out, 0, sizeof *out);
	struct dval v[2];
	DECODE_FIELDS(c, map, path, selector_fields, v);
	if (v[0].val)
		decode_labels(c, v[0].val, decode_path(c, path, "matchLabels"), &out->match_labels,
			      &out->nmatch_labels);
	if (!v[1].val)
		return;
	const struct ynode *seq = v[1].val;
	const char *spath = decode_path(c, path, "matchExpressions");
	out->match_expressions = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *out->match_expressions);
	for (size_t i = 0; i < seq->count; i++) {
		const char *ipath = decode_path_index(c, spath, i);
		struct dval r[3];
		DECODE_FIELDS(c, seq->items[i], ipath, requirement_fields, r);
		if (!r[0].val || !r[1].val)
			continue;
		struct gw_label_requirement *req = &out->match_expressions[out->nmatch_expressions];
		bool ok = true;
		if (!validate_label_key(r[0].val->scalar)) {
			decode_error(c, r[0].val, decode_path(c, ipath, "key"), "invalid label key %s",
				     decode_quote(c, r[0].val->scalar));
			ok = false;
		}
		int op = decode_enum(c, r[1].val, decode_path(c, ipath, "operator"), selector_ops, 4);
		if (op < 0)
			continue;
		if (r[2].val)
			decode_string_list(c, r[2].val, decode_path(c, ipath, "values"), &req->values, &req->nvalues);
		/* metav1.LabelSelectorAsSelector: In/NotIn need values, Exists/DoesNotExist forbid them */
		if (op <= 1 && req->nvalues == 0) {
			decode_error(c, r[2].val ? r[2].val : seq->items[i], decode_path(c, ipath, "values"),
				     "must be non-empty when operator is \"%s\"", selector_ops[op]);
			ok = false;
		} else if (op >= 2 && r[2].val && r[2].val->count > 0) {
			decode_error(c, r[2].val, decode_path(c, ipath, "values"),
				     "must be empty when operator is \"%s\"", selector_ops[op]);
			ok = false;
		}
		if (!ok)
			continue;
		req->key = r[0].val->scalar;
		req->op = selector_ops[op];
		out->nmatch_expressions++;
	}
}

void decode_string_list(struct dctx *c, const struct ynode *seq, const char *path,
			const char ***out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!decode_check(c, seq, path, DT_SEQ, 0, 0))
		return;
	const char **items = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *items);
	size_t n = 0;
	for (size_t i = 0; i < seq->count; i++)
		if (decode_check(c, seq->items[i], decode_path_index(c, path, i), DT_STR, 0, 0))
			items[n++] = seq->items[i]->scalar;
	*out = items;
	*nout = n;
}
