/* SPDX-License-Identifier: MIT */
/* image: img_check, the gate between bytes read from storage and the workers, which
 * then read the image without any further check. Every span must lie inside its
 * array, every index inside its table, every string inside the string area and
 * NUL-terminated, every enum in range, every weight sum exact. */
#include "compile/image.h"
#include "compile/image_policy.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

struct chk {
	const char *base;
	const struct img_header *h;
	uint64_t size;
};

static bool array_ok(const struct chk *c, struct img_span s, size_t elem, size_t align)
{
	if (s.off % align != 0 || s.off < sizeof(struct img_header))
		return false;
	return (uint64_t)s.off + (uint64_t)s.count * elem <= c->size;
}

/* A span inside a record, pointing into the top-level array parent. */
static bool sub_ok(struct img_span s, struct img_span parent, size_t elem)
{
	if (s.off < parent.off)
		return false;
	uint64_t rel = s.off - parent.off;
	if (rel % elem != 0)
		return false;
	return rel / elem + s.count <= parent.count;
}

static bool str_ok(const struct chk *c, struct img_str s)
{
	const struct img_span *st = &c->h->strings;
	if ((uint64_t)s.off + s.len >= st->count) /* room for the NUL */
		return false;
	return c->base[st->off + s.off + s.len] == '\0';
}

static bool host_ok(const struct chk *c, uint8_t kind, struct img_str host)
{
	if (kind > IMG_HOST_WILDCARD || !str_ok(c, host))
		return false;
	/* A wildcard is stored as its suffix ".example.com". */
	if (kind == IMG_HOST_WILDCARD)
		return host.len >= 2 && c->base[c->h->strings.off + host.off] == '.';
	return true;
}

#define RECORDS(c, span, type) ((const type *)((c)->base + (span).off))

static bool binds_ok(const struct chk *c)
{
	const struct img_header *h = c->h;
	const uint32_t *idx = RECORDS(c, h->listener_index, uint32_t);
	for (uint32_t i = 0; i < h->listener_index.count; i++)
		if (idx[i] >= h->listeners.count)
			return false;
	const struct img_bind *b = RECORDS(c, h->binds, struct img_bind);
	for (uint32_t i = 0; i < h->binds.count; i++) {
		if ((b[i].family != AF_INET && b[i].family != AF_INET6) || b[i].protocol > IMG_PROTO_UDP)
			return false;
		if (!sub_ok(b[i].listeners, h->listener_index, sizeof(uint32_t)))
			return false;
	}
	return true;
}

static bool listeners_ok(const struct chk *c)
{
	const struct img_header *h = c->h;
	const struct img_listener *l = RECORDS(c, h->listeners, struct img_listener);
	for (uint32_t i = 0; i < h->listeners.count; i++) {
		if (!str_ok(c, l[i].gateway) || !str_ok(c, l[i].name) ||
		    !host_ok(c, l[i].host_kind, l[i].host) ||
		    !sub_ok(l[i].matches, h->matches, sizeof(struct img_match)) ||
		    !sub_ok(l[i].host_groups, h->host_groups, sizeof(struct img_host_group)) ||
		    l[i].protocol > IMG_PROTO_UDP || l[i].tls_min_version > IMG_TLS_1_3 ||
		    l[i].client_validation > IMG_CLIENT_OPTIONAL ||
		    !sub_ok(l[i].certs, h->certs, sizeof(struct img_cert)) ||
		    !str_ok(c, l[i].ciphers) || !str_ok(c, l[i].client_ca) ||
		    (l[i].backend_cert != IMG_NONE && l[i].backend_cert >= h->certs.count))
			return false;
		/* The router scans a group's range of the listener's matches unchecked. */
		const struct img_host_group *g = RECORDS(c, l[i].host_groups, struct img_host_group);
		for (uint32_t k = 0; k < l[i].host_groups.count; k++)
			if (!host_ok(c, g[k].kind, g[k].host) ||
			    (uint64_t)g[k].first + g[k].count > l[i].matches.count)
				return false;
	}
	return true;
}

static bool matches_ok(const struct chk *c)
{
	const struct img_header *h = c->h;
	const struct img_match *m = RECORDS(c, h->matches, struct img_match);
	for (uint32_t i = 0; i < h->matches.count; i++) {
		bool is_regex = m[i].path_kind == IMG_PATH_REGEX;
		if (is_regex ? m[i].path_regex >= h->patterns.count : m[i].path_regex != IMG_NO_PATTERN)
			return false;
		if (!host_ok(c, m[i].host_kind, m[i].host) || m[i].path_kind > IMG_PATH_REGEX ||
		    m[i].method > IMG_METHOD_OTHER || !str_ok(c, m[i].path) ||
		    m[i].rule >= h->rules.count ||
		    !sub_ok(m[i].headers, h->header_matches, sizeof(struct img_header_match)) ||
		    !sub_ok(m[i].query_params, h->header_matches, sizeof(struct img_header_match)))
			return false;
	}
	const struct img_header_match *hm = RECORDS(c, h->header_matches, struct img_header_match);
	for (uint32_t i = 0; i < h->header_matches.count; i++) {
		if (!str_ok(c, hm[i].name) || !str_ok(c, hm[i].value) || hm[i].value_kind > IMG_VALUE_REGEX)
			return false;
		bool is_regex = hm[i].value_kind == IMG_VALUE_REGEX;
		if (is_regex ? hm[i].regex >= h->patterns.count : hm[i].regex != IMG_NO_PATTERN)
			return false;
	}
	const struct img_str *pat = RECORDS(c, h->patterns, struct img_str);
	for (uint32_t i = 0; i < h->patterns.count; i++)
		if (!str_ok(c, pat[i]))
			return false;
	return true;
}

static bool rules_ok(const struct chk *c)
{
	const struct img_header *h = c->h;
	const struct img_backend_ref *br = RECORDS(c, h->backend_refs, struct img_backend_ref);
	for (uint32_t i = 0; i < h->backend_refs.count; i++)
		if (br[i].backend != IMG_NO_BACKEND && br[i].backend >= h->backends.count)
			return false;
	for (uint32_t i = 0; i < h->backend_refs.count; i++)
		if (!sub_ok(br[i].filters, h->filters, sizeof(struct img_filter)))
			return false;
	const struct img_rule *r = RECORDS(c, h->rules, struct img_rule);
	for (uint32_t i = 0; i < h->rules.count; i++) {
		if (!str_ok(c, r[i].route) ||
		    !sub_ok(r[i].backend_refs, h->backend_refs, sizeof(struct img_backend_ref)) ||
		    !sub_ok(r[i].filters, h->filters, sizeof(struct img_filter)))
			return false;
		/* retry codes are 400..599: the bits past 599 stay clear */
		if (r[i].retry_codes[IMG_RETRY_CODE_WORDS - 1] >> (200 % 32) != 0)
			return false;
		/* The router picks by rnd % total over cumulative weights: the total must
		 * be the exact sum or a pick could fall off the end. */
		const struct img_backend_ref *refs = RECORDS(c, r[i].backend_refs, struct img_backend_ref);
		uint64_t sum = 0;
		for (uint32_t k = 0; k < r[i].backend_refs.count; k++)
			sum += refs[k].weight;
		if (sum != r[i].total_weight)
			return false;
	}
	return true;
}

/* Filters: enums in range, strings and spans inside the image, a mirror's backend in
 * the table, a share the runtime can draw from, a redirect code the writer knows. */
static bool filters_ok(const struct chk *c)
{
	const struct img_header *h = c->h;
	const struct img_header_op *op = RECORDS(c, h->header_ops, struct img_header_op);
	for (uint32_t i = 0; i < h->header_ops.count; i++)
		if (op[i].op > IMG_HOP_REMOVE || !str_ok(c, op[i].name) || op[i].name.len == 0 ||
		    !str_ok(c, op[i].value))
			return false;
	const struct img_str *fs = RECORDS(c, h->filter_strs, struct img_str);
	for (uint32_t i = 0; i < h->filter_strs.count; i++)
		if (!str_ok(c, fs[i]))
			return false;
	const struct img_filter *f = RECORDS(c, h->filters, struct img_filter);
	for (uint32_t i = 0; i < h->filters.count; i++) {
		if (f[i].kind > IMG_FILTER_ERROR || f[i].path_mod > IMG_PATHMOD_PREFIX ||
		    f[i].scheme > IMG_SCHEME_HTTPS || !str_ok(c, f[i].hostname) || !str_ok(c, f[i].path) ||
		    !str_ok(c, f[i].prefix) || !str_ok(c, f[i].methods) || !str_ok(c, f[i].allow_headers) ||
		    !str_ok(c, f[i].expose_headers) ||
		    !sub_ok(f[i].ops, h->header_ops, sizeof(struct img_header_op)) ||
		    !sub_ok(f[i].origins, h->filter_strs, sizeof(struct img_str)))
			return false;
		if (f[i].path_mod == IMG_PATHMOD_PREFIX && (f[i].prefix.len == 0 ||
		    c->base[h->strings.off + f[i].prefix.off] != '/'))
			return false;
		if (f[i].kind == IMG_FILTER_MIRROR &&
		    (f[i].backend >= h->backends.count || f[i].denominator == 0 ||
		     f[i].numerator > f[i].denominator))
			return false;
		if (f[i].kind == IMG_FILTER_REDIRECT && f[i].status != 301 && f[i].status != 302 &&
		    f[i].status != 303 && f[i].status != 307 && f[i].status != 308)
			return false;
	}
	return true;
}

static bool backends_ok(const struct chk *c)
{
	const struct img_header *h = c->h;
	const struct img_endpoint *e = RECORDS(c, h->endpoints, struct img_endpoint);
	for (uint32_t i = 0; i < h->endpoints.count; i++) {
		if (e[i].kind == IMG_ENDPOINT_IP) {
			if (e[i].family != AF_INET && e[i].family != AF_INET6)
				return false;
		} else if (e[i].kind == IMG_ENDPOINT_FQDN) {
			if (!str_ok(c, e[i].path) || e[i].path.len == 0 || e[i].path.len > 253)
				return false;
		} else if (e[i].kind == IMG_ENDPOINT_UNIX) {
			/* It must fit a sockaddr_un with its NUL. */
			if (!str_ok(c, e[i].path) || e[i].path.len == 0 ||
			    e[i].path.len >= sizeof(((struct sockaddr_un *)0)->sun_path))
				return false;
		} else {
			return false;
		}
	}
	const struct img_backend *b = RECORDS(c, h->backends, struct img_backend);
	for (uint32_t i = 0; i < h->backends.count; i++)
		if (!str_ok(c, b[i].name) || !sub_ok(b[i].endpoints, h->endpoints, sizeof(struct img_endpoint)) ||
		    (b[i].tls != IMG_NONE && b[i].tls >= h->backend_tls.count) || b[i].app_protocol > IMG_APP_WSS)
			return false;
	return true;
}

/* Certificates and backend TLS: PEM text the runtime hands to the TLS library, which
 * wants it NUL-terminated (the string area terminates every string). */
static bool tls_ok(const struct chk *c)
{
	const struct img_header *h = c->h;
	const struct img_cert *ct = RECORDS(c, h->certs, struct img_cert);
	for (uint32_t i = 0; i < h->certs.count; i++)
		if (!str_ok(c, ct[i].secret) || !str_ok(c, ct[i].cert_pem) || !str_ok(c, ct[i].key_pem))
			return false;
	const struct img_backend_tls *t = RECORDS(c, h->backend_tls, struct img_backend_tls);
	for (uint32_t i = 0; i < h->backend_tls.count; i++) {
		if (!str_ok(c, t[i].policy) || !str_ok(c, t[i].sni) || !str_ok(c, t[i].ca_pem) ||
		    !sub_ok(t[i].san, h->filter_strs, sizeof(struct img_str)))
			return false;
		const struct img_str *san = RECORDS(c, t[i].san, struct img_str);
		for (uint32_t k = 0; k < t[i].san.count; k++)
			if (!str_ok(c, san[k]))
				return false;
	}
	return true;
}

/* BackendTrafficPolicy records (compile/image_policy.h) and the rules naming them. */
static bool policies_ok(const struct chk *c)
{
	const struct img_header *h = c->h;
	const struct img_policy *p = RECORDS(c, h->policies, struct img_policy);
	for (uint32_t i = 0; i < h->policies.count; i++)
		if (!str_ok(c, p[i].name) || p[i].lb > IMG_LB_CONSISTENT_HASH ||
		    p[i].hash > IMG_HASH_COOKIE || !str_ok(c, p[i].hash_name) ||
		    !str_ok(c, p[i].hc_path) || !str_ok(c, p[i].hc_method) || p[i].table_size < 2 ||
		    !str_ok(c, p[i].cookie_suffix) || p[i].cookie_suffix.len > IMG_COOKIE_SUFFIX_MAX ||
		    ((p[i].flags & IMG_POL_COOKIE_GEN) &&
		     (p[i].hash != IMG_HASH_COOKIE || p[i].hash_name.len == 0 ||
		      p[i].hash_name.len > IMG_COOKIE_NAME_MAX)) ||
		    p[i].table_size > 5000011 || p[i].od_max_percent > 100 ||
		    ((p[i].flags & IMG_POL_ACTIVE_HC) &&
		     (p[i].hc_interval_ms == 0 || p[i].hc_timeout_ms == 0 || p[i].hc_healthy == 0 ||
		      p[i].hc_unhealthy == 0 || p[i].hc_path.len == 0)))
			return false;
	const struct img_rule *r = RECORDS(c, h->rules, struct img_rule);
	for (uint32_t i = 0; i < h->rules.count; i++)
		if (r[i].policy != IMG_NONE && r[i].policy >= h->policies.count)
			return false;
	return true;
}

int img_check(const void *data, size_t len)
{
	if (!data || len < sizeof(struct img_header))
		return -1;
	/* Records are read in place: a misaligned image would be undefined behaviour. */
	if ((uintptr_t)data % _Alignof(struct img_header) != 0)
		return -1;
	const struct img_header *h = data;
	if (h->magic != IMG_MAGIC || h->version != IMG_VERSION)
		return -1;
	if (h->size < sizeof *h || h->size > len)
		return -1;
	struct chk c = {data, h, h->size};
	if (!array_ok(&c, h->binds, sizeof(struct img_bind), _Alignof(struct img_bind)) ||
	    !array_ok(&c, h->listener_index, sizeof(uint32_t), _Alignof(uint32_t)) ||
	    !array_ok(&c, h->listeners, sizeof(struct img_listener), _Alignof(struct img_listener)) ||
	    !array_ok(&c, h->matches, sizeof(struct img_match), _Alignof(struct img_match)) ||
	    !array_ok(&c, h->header_matches, sizeof(struct img_header_match),
		      _Alignof(struct img_header_match)) ||
	    !array_ok(&c, h->rules, sizeof(struct img_rule), _Alignof(struct img_rule)) ||
	    !array_ok(&c, h->backend_refs, sizeof(struct img_backend_ref),
		      _Alignof(struct img_backend_ref)) ||
	    !array_ok(&c, h->backends, sizeof(struct img_backend), _Alignof(struct img_backend)) ||
	    !array_ok(&c, h->endpoints, sizeof(struct img_endpoint), _Alignof(struct img_endpoint)) ||
	    !array_ok(&c, h->patterns, sizeof(struct img_str), _Alignof(struct img_str)) ||
	    !array_ok(&c, h->filters, sizeof(struct img_filter), _Alignof(struct img_filter)) ||
	    !array_ok(&c, h->header_ops, sizeof(struct img_header_op), _Alignof(struct img_header_op)) ||
	    !array_ok(&c, h->filter_strs, sizeof(struct img_str), _Alignof(struct img_str)) ||
	    !array_ok(&c, h->host_groups, sizeof(struct img_host_group),
		      _Alignof(struct img_host_group)) ||
	    !array_ok(&c, h->certs, sizeof(struct img_cert), _Alignof(struct img_cert)) ||
	    !array_ok(&c, h->backend_tls, sizeof(struct img_backend_tls), _Alignof(struct img_backend_tls)) ||
	    !array_ok(&c, h->policies, sizeof(struct img_policy), _Alignof(struct img_policy)) ||
	    !array_ok(&c, h->strings, 1, 1))
		return -1;
	if (!str_ok(&c, h->status_json) || !str_ok(&c, h->source_digest))
		return -1;
	if (!binds_ok(&c) || !listeners_ok(&c) || !matches_ok(&c) || !rules_ok(&c) ||
	    !filters_ok(&c) || !backends_ok(&c) || !tls_ok(&c) || !policies_ok(&c))
		return -1;
	return 0;
}
