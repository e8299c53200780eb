/* SPDX-License-Identifier: MIT */
/* router: the hot path from request to rule to backend over an image that img_check
 * accepted. No allocation, no locks, no writes: the compiled order already encodes
 * Gateway API precedence, so the first match that fits wins; the compiled host groups
 * let a request skip the matches of other hostnames. */
#include "runtime/router.h"

#include <stdbool.h>
#include <string.h>

#include "runtime/regex.h"

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

int router_method(const char *method, size_t len)
{
	/* RFC 9110 §9.1: method names are case-sensitive. */
	static const struct {
		const char *name;
		size_t len;
		int id;
	} methods[] = {
		{"GET", 3, IMG_METHOD_GET}, {"HEAD", 4, IMG_METHOD_HEAD},
		{"POST", 4, IMG_METHOD_POST}, {"PUT", 3, IMG_METHOD_PUT},
		{"DELETE", 6, IMG_METHOD_DELETE}, {"CONNECT", 7, IMG_METHOD_CONNECT},
		{"OPTIONS", 7, IMG_METHOD_OPTIONS}, {"TRACE", 5, IMG_METHOD_TRACE},
		{"PATCH", 5, IMG_METHOD_PATCH},
	};
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (len == methods[i].len && memcmp(method, methods[i].name, len) == 0)
			return methods[i].id;
	return IMG_METHOD_OTHER;
}

size_t router_host_len(const char *host, size_t len)
{
	if (!host)
		return 0;
	if (len > 0 && host[0] == '[') {
		/* IP-literal (RFC 3986 §3.2.2): keep the brackets, drop ":port". */
		const char *end = memchr(host, ']', len);
		return end ? (size_t)(end - host) + 1 : len;
	}
	const char *colon = memchr(host, ':', len);
	return colon ? (size_t)(colon - host) : len;
}

/* Gateway API §3.1: a wildcard matches one or more labels before its suffix, never
 * the bare suffix domain; the suffix is stored with its leading dot. */
static bool host_matches(const struct img_header *img, uint8_t kind, struct img_str pat,
			 const char *host, size_t host_len)
{
	const char *p = img_str_ptr(img, pat);
	switch (kind) {
	case IMG_HOST_ANY:
		return true;
	case IMG_HOST_EXACT:
		return host_len == pat.len && ieq(host, p, host_len);
	case IMG_HOST_WILDCARD:
		return host_len > pat.len && ieq(host + host_len - pat.len, p, pat.len);
	}
	return false;
}

const struct img_listener *router_select_listener(const struct img_header *img,
						   const struct img_bind *b,
						   const char *host, size_t host_len)
{
	const uint32_t *idx = IMG_ARRAY(img, b->listeners, uint32_t);
	const struct img_listener *ls = IMG_ARRAY(img, img->listeners, struct img_listener);
	host_len = router_host_len(host, host_len);
	for (uint32_t i = 0; i < b->listeners.count; i++) {
		const struct img_listener *l = &ls[idx[i]];
		if (host_matches(img, l->host_kind, l->host, host, host_len))
			return l;
	}
	return NULL;
}

/* §2.6.1: PathPrefix matches element by element; the stored prefix has no trailing
 * "/" (except "/" itself, which matches everything). */
static bool path_matches(const struct img_header *img, const struct img_match *m,
			 const struct router_request *rq, const char *path, size_t len)
{
	const char *p = img_str_ptr(img, m->path);
	/* RegularExpression: the whole path as sent (no query, no decoding) must match. */
	if (m->path_kind == IMG_PATH_REGEX)
		return regex_match(rq->regex, m->path_regex, rq->scratch, path, len);
	if (m->path_kind == IMG_PATH_EXACT)
		return len == m->path.len && memcmp(path, p, len) == 0;
	if (m->path.len == 1 && p[0] == '/')
		return true;
	if (len < m->path.len || memcmp(path, p, m->path.len) != 0)
		return false;
	return len == m->path.len || path[m->path.len] == '/';
}

/* A RegularExpression header match: the pattern must match the whole field value,
 * the values of a repeated field joined by "," (RFC 9110 §5.3) as Envoy joins them. */
static bool header_matches_regex(const struct img_header *img, const struct img_header_match *hm,
				 const struct router_request *rq)
{
	const char *name = img_str_ptr(img, hm->name);
	const struct h1_header *first = NULL;
	size_t count = 0, total = 0;
	for (size_t i = 0; i < rq->nheaders; i++) {
		const struct h1_header *h = &rq->headers[i];
		if (h->name_len != hm->name.len || !ieq(h->name, name, h->name_len))
			continue;
		if (!first)
			first = h;
		count++;
		total += h->value_len + 1;
	}
	if (count == 0)
		return false;
	if (count == 1)
		return regex_match(rq->regex, hm->regex, rq->scratch, first->value, first->value_len);
	char *buf = rq->scratch ? regex_scratch_buf(rq->scratch, total) : NULL;
	if (buf == NULL)
		return false;
	size_t len = 0;
	for (size_t i = 0; i < rq->nheaders; i++) {
		const struct h1_header *h = &rq->headers[i];
		if (h->name_len != hm->name.len || !ieq(h->name, name, h->name_len))
			continue;
		if (len)
			buf[len++] = ',';
		memcpy(buf + len, h->value, h->value_len);
		len += h->value_len;
	}
	return regex_match(rq->regex, hm->regex, rq->scratch, buf, len);
}

/* The value of a header the request may carry several times, compared with the
 * field values joined by "," (RFC 9110 §5.3) piece by piece, without building it. */
static bool header_matches(const struct img_header *img, const struct img_header_match *hm,
			   const struct router_request *rq)
{
	if (hm->value_kind == IMG_VALUE_REGEX)
		return header_matches_regex(img, hm, rq);
	const char *name = img_str_ptr(img, hm->name);
	const char *want = img_str_ptr(img, hm->value);
	size_t pos = 0;
	bool seen = false;
	for (size_t i = 0; i < rq->nheaders; i++) {
		const struct h1_header *h = &rq->headers[i];
		if (h->name_len != hm->name.len || !ieq(h->name, name, h->name_len))
			continue;
		if (seen) {
			if (pos >= hm->value.len || want[pos] != ',')
				return false;
			pos++;
		}
		if (hm->value.len - pos < h->value_len || memcmp(want + pos, h->value, h->value_len) != 0)
			return false;
		pos += h->value_len;
		seen = true;
	}
	return seen && pos == hm->value.len;
}

/* §2.6.1 queryParams: the name is case-sensitive and the first occurrence's value
 * counts. Names and values are compared as sent: no percent-decoding, "+" stays "+"
 * (Envoy does the same); a parameter without "=" has the empty value. */
static bool query_matches(const struct img_header *img, const struct img_header_match *qm,
			  const struct router_request *rq, const char *q, size_t qlen)
{
	const char *name = img_str_ptr(img, qm->name);
	const char *want = img_str_ptr(img, qm->value);
	size_t i = 0;
	while (i < qlen) {
		size_t end = i;
		while (end < qlen && q[end] != '&')
			end++;
		size_t eq = i;
		while (eq < end && q[eq] != '=')
			eq++;
		if (eq - i == qm->name.len && memcmp(q + i, name, qm->name.len) == 0) {
			const char *v = eq < end ? q + eq + 1 : q + end;
			size_t vlen = eq < end ? end - eq - 1 : 0;
			if (qm->value_kind == IMG_VALUE_REGEX)
				return regex_match(rq->regex, qm->regex, rq->scratch, v, vlen);
			return vlen == qm->value.len && memcmp(v, want, vlen) == 0;
		}
		i = end + 1;
	}
	return false;
}

static bool match_fits(const struct img_header *img, const struct img_match *m,
		       const struct router_request *rq, size_t host_len)
{
	if (!host_matches(img, m->host_kind, m->host, rq->host, host_len))
		return false;
	if (!path_matches(img, m, rq, rq->path, rq->path_len))
		return false;
	if (m->method != IMG_METHOD_ANY && m->method != rq->method)
		return false;
	const struct img_header_match *hm = IMG_ARRAY(img, m->headers, struct img_header_match);
	for (uint32_t i = 0; i < m->headers.count; i++)
		if (!header_matches(img, &hm[i], rq))
			return false;
	const struct img_header_match *qm = IMG_ARRAY(img, m->query_params, struct img_header_match);
	for (uint32_t i = 0; i < m->query_params.count; i++)
		if (!rq->query || !query_matches(img, &qm[i], rq, rq->query, rq->query_len))
			return false;
	return true;
}

/* Compares a request host (any case) with a group key (lowercase) in the order the
 * compiler sorted the groups: kind, length, bytes. */
static int group_cmp(const struct img_header *img, const struct img_host_group *g, uint8_t kind,
		     const char *host, size_t len)
{
	if (kind != g->kind)
		return kind < g->kind ? -1 : 1;
	if (len != g->host.len)
		return len < g->host.len ? -1 : 1;
	const unsigned char *p = (const unsigned char *)img_str_ptr(img, g->host);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)lower(host[i]);
		if (c != p[i])
			return c < p[i] ? -1 : 1;
	}
	return 0;
}

static const struct img_host_group *group_find(const struct img_header *img,
					       const struct img_listener *l, uint8_t kind,
					       const char *host, size_t len)
{
	const struct img_host_group *g = IMG_ARRAY(img, l->host_groups, struct img_host_group);
	size_t lo = 0, hi = l->host_groups.count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = group_cmp(img, &g[mid], kind, host, len);
		if (c == 0)
			return &g[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const struct img_match *group_match(const struct img_header *img, const struct img_match *ms,
					   const struct img_host_group *g,
					   const struct router_request *rq, size_t host_len)
{
	if (!g)
		return NULL;
	for (uint32_t i = g->first; i < g->first + g->count; i++)
		if (match_fits(img, &ms[i], rq, host_len))
			return &ms[i];
	return NULL;
}

/* The candidates of a request, in precedence order, are its exact hostname's matches,
 * then those of each wildcard suffix of its name from the longest, then the matches
 * without a hostname (§3.4 ranks hostname specificity first). A wildcard "*.a.com" is
 * stored as ".a.com" and needs a label before it, hence suffixes start at a dot past 0. */
static const struct img_match *indexed_match(const struct img_header *img, const struct img_listener *l,
					     const struct router_request *rq, size_t host_len)
{
	const struct img_match *ms = IMG_ARRAY(img, l->matches, struct img_match);
	const char *host = rq->host;
	const struct img_match *m = NULL;
	if (host_len > 0)
		m = group_match(img, ms, group_find(img, l, IMG_HOST_EXACT, host, host_len), rq, host_len);
	for (size_t i = 1; !m && i < host_len; i++)
		if (host[i] == '.')
			m = group_match(img, ms, group_find(img, l, IMG_HOST_WILDCARD, host + i, host_len - i),
					rq, host_len);
	if (!m)
		m = group_match(img, ms, group_find(img, l, IMG_HOST_ANY, "", 0), rq, host_len);
	return m;
}

const struct img_rule *router_match(const struct img_header *img, const struct img_listener *l,
				    const struct router_request *rq)
{
	const struct img_match *ms = IMG_ARRAY(img, l->matches, struct img_match);
	const struct img_rule *rules = IMG_ARRAY(img, img->rules, struct img_rule);
	size_t host_len = router_host_len(rq->host, rq->host_len);
	if (l->host_groups.count > 0) {
		const struct img_match *m = indexed_match(img, l, rq, host_len);
		return m ? &rules[m->rule] : NULL;
	}
	for (uint32_t i = 0; i < l->matches.count; i++)
		if (match_fits(img, &ms[i], rq, host_len))
			return &rules[ms[i].rule];
	return NULL;
}

uint32_t router_pick_backend(const struct img_header *img, const struct img_rule *r, uint32_t rnd)
{
	/* §2.2: each ref gets weight / total of the traffic; weight 0 gets none. An
	 * unresolved ref keeps its share, which the caller answers with 500 (§3.6). */
	if (r->total_weight == 0)
		return IMG_NO_BACKEND;
	const struct img_backend_ref *refs = IMG_ARRAY(img, r->backend_refs, struct img_backend_ref);
	uint32_t x = rnd % r->total_weight;
	uint32_t cum = 0;
	for (uint32_t i = 0; i < r->backend_refs.count; i++) {
		cum += refs[i].weight;
		if (x < cum)
			return refs[i].backend;
	}
	return IMG_NO_BACKEND;
}
