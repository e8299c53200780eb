/* SPDX-License-Identifier: MIT */
/* compile: resolved model -> one flat image (compile/image.h). Records are built in
 * growable arrays with nested spans holding indices, then laid out once and the
 * indices turned into byte offsets. Same model -> same bytes: every order below is a
 * model order or a total sort, strings are deduplicated in insertion order, and all
 * padding is zero. */
#include "compile/compile.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "compile/cctx.h"
#include "compile/compile_filters.h"
#include "compile/image.h"
#include "compile/image_policy.h"
#include "compile/compile_policy.h"
#include "compile/compile_tls.h"
#include "compile/compile_l4.h"
#include "compile/precedence.h"
#include "gwapi/resolve.h"

#define IMG_ALIGN 8

/* LMDB stores a value smaller than about half a page inside the page, aligned to 2
 * bytes only; a larger value gets overflow pages and a page-aligned start. The workers
 * read records in place, so a small image is padded to one page (the image never
 * leaves the machine that compiled it, so its page size is the one LMDB uses). */
static size_t image_min_size(void)
{
	long page = sysconf(_SC_PAGESIZE);
	return page > 4096 ? (size_t)page : 4096;
}

/* A listener of the Gateway itself (set == NULL) or of one of its ListenerSets. */
static const struct gw_listener *listener_of(const struct gw_gateway *gw, const struct gw_listenerset *set,
					     size_t li)
{
	return set ? &set->listeners[li] : &gw->listeners[li];
}

static bool listener_serves(const struct gw_gateway *gw, const struct gw_listenerset *set, size_t li)
{
	const struct gw_listener *l = listener_of(gw, set, li);
	return gw->is_ours && (!set || set->gateway == gw) && l->status.is_valid &&
	       (l->protocol == GW_PROTO_HTTP || l->protocol == GW_PROTO_HTTPS || compile_l4_serves(l));
}

static void compile_backends(struct cctx *c)
{
	const struct gw_model *m = c->m;
	for (size_t i = 0; i < cctx_nbackends(m); i++) {
		const struct gw_backend *b = cctx_backend(m, i);
		struct img_backend *ib = vec_push(&c->backends);
		/* "Backend/ns/name", or "Service/ns/name:port" */
		ib->name = strtab_add(&c->st, arena_printf(&c->a, "%s/%s/%s", b->meta.kind, b->meta.ns, b->meta.name));
		ib->endpoints.off = (uint32_t)c->endpoints.n;
		ib->tls = compile_tls_backend(c, b); /* BackendTLSPolicy, or IMG_NONE */
		ib->app_protocol = b->app_protocol == GW_APP_H2C ? IMG_APP_H2C : IMG_APP_HTTP1;
		for (size_t j = 0; j < b->nendpoints; j++) {
			const struct gw_endpoint *ep = &b->endpoints[j];
			struct img_endpoint ie;
			memset(&ie, 0, sizeof ie);
			/* Resolved at run time (discover/resolver.h). An IP literal, which Envoy
			 * Gateway's pattern lets through, is what DNS would return for it: an
			 * IP endpoint (below). */
			if (ep->kind == GW_ENDPOINT_FQDN && ep->address && ep->address[0] &&
			    !cctx_parse_ip(ep->address, &ie.family, ie.addr)) {
				ie.kind = IMG_ENDPOINT_FQDN;
				ie.family = 0;
				ie.port = ep->port;
				ie.path = strtab_add_lower(&c->st, ep->address);
				*(struct img_endpoint *)vec_push(&c->endpoints) = ie;
				continue;
			}
			if (ep->kind == GW_ENDPOINT_UNIX) {
				size_t plen = ep->address ? strlen(ep->address) : 0;
				if (plen == 0 || plen >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
					resolve_warn(c->dl, &b->meta, &ep->pos,
						     "spec.endpoints[%zu]: unix socket path of %zu bytes skipped (1 to %zu)",
						     j, plen, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
					continue;
				}
				ie.kind = IMG_ENDPOINT_UNIX;
				ie.path = strtab_add(&c->st, ep->address);
			} else if (cctx_parse_ip(ep->address, &ie.family, ie.addr)) {
				ie.kind = IMG_ENDPOINT_IP;
				ie.port = ep->port;
			} else {
				resolve_warn(c->dl, &b->meta, &ep->pos,
					     "spec.endpoints[%zu]: \"%s\" is not an IP address: skipped",
					     j, ep->address ? ep->address : "");
				continue;
			}
			*(struct img_endpoint *)vec_push(&c->endpoints) = ie;
		}
		ib = VEC_AT(c->backends, struct img_backend, i);
		ib->endpoints.count = (uint32_t)(c->endpoints.n - ib->endpoints.off);
	}
}

static bool route_serves(const struct gw_httproute *r)
{
	for (size_t i = 0; i < r->nattachments; i++)
		if (listener_serves(r->attachments[i].gateway, r->attachments[i].listenerset, r->attachments[i].listener))
			return true;
	return false;
}

static struct img_str cf_str(void *ctx, const char *s)
{
	return strtab_add(&((struct cctx *)ctx)->st, s);
}

static struct img_str cf_str_lower(void *ctx, const char *s)
{
	return strtab_add_lower(&((struct cctx *)ctx)->st, s);
}

static uint32_t cf_backend(void *ctx, const struct gw_backend *b)
{
	return cctx_backend_index(((struct cctx *)ctx)->m, b);
}

/* Appends the filters fs[n] (compile_filters.c); the spans hold indices until
 * write_image makes them offsets. */
static struct img_span compile_filter_list(struct cctx *c, const struct gw_http_filter *fs, size_t n,
					   const struct gw_http_rule *rule)
{
	struct cfilter_env env = {c, cf_str, cf_str_lower, cf_backend};
	struct img_span span = {(uint32_t)c->filters.n, 0};
	for (size_t i = 0; i < n; i++) {
		size_t nops = cfilter_nops(&fs[i]), nstrs = cfilter_nstrs(&fs[i]);
		uint32_t ops_at = (uint32_t)c->hops.n, strs_at = (uint32_t)c->fstrs.n;
		for (size_t k = 0; k < nops; k++)
			vec_push(&c->hops);
		for (size_t k = 0; k < nstrs; k++)
			vec_push(&c->fstrs);
		struct img_filter f;
		if (!cfilter_build(&env, &fs[i], rule, &f, VEC_AT(c->hops, struct img_header_op, ops_at),
				   VEC_AT(c->fstrs, struct img_str, strs_at))) {
			c->hops.n = ops_at;
			c->fstrs.n = strs_at;
			continue;
		}
		f.ops.off = ops_at;
		f.ops.count = (uint32_t)nops;
		f.origins.off = strs_at;
		f.origins.count = (uint32_t)nstrs;
		*(struct img_filter *)vec_push(&c->filters) = f;
		span.count++;
	}
	return span;
}

/* One image rule per implemented rule of every route that some served listener holds,
 * in model order. */
static void compile_rules(struct cctx *c)
{
	const struct gw_model *m = c->m;
	for (size_t i = 0; i < m->nhttproutes; i++) {
		const struct gw_httproute *r = m->httproutes[i];
		const char *ns_name = arena_printf(&c->a, "%s/%s", r->meta.ns, r->meta.name);
		prec_route_init(&c->proutes[i], r, ns_name);
		if (!route_serves(r))
			continue;
		c->rule_map[i] = arena_alloc(&c->a, (r->nrules + 1) * sizeof **c->rule_map);
		for (size_t j = 0; j < r->nrules; j++) {
			const struct gw_http_rule *rule = &r->rules[j];
			if (resolve_rule_unsupported(rule)) {
				c->rule_map[i][j] = NO_RULE;
				continue;
			}
			c->rule_map[i][j] = (uint32_t)c->rules.n;
			struct img_rule *ir = vec_push(&c->rules);
			ir->route = strtab_add(&c->st, ns_name);
			ir->rule_index = (uint32_t)j;
			ir->backend_refs.off = (uint32_t)c->brefs.n;
			ir->backend_refs.count = (uint32_t)rule->nbackend_refs;
			ir->timeout_request_ms = rule->timeout_request_ms;
			ir->timeout_backend_ms = rule->timeout_backend_ms;
			ir->policy = IMG_NONE;
			if (rule->has_retry) {
				/* attempts is at least 1 (CEL), so 0 means "no retry" */
				ir->retry_attempts = rule->retry_attempts;
				ir->retry_backoff_ms = rule->retry_backoff_ms;
				for (size_t k = 0; k < rule->nretry_codes; k++) {
					uint32_t b = (uint32_t)rule->retry_codes[k] - IMG_RETRY_CODE_MIN;
					if (b < 200)
						ir->retry_codes[b / 32] |= 1u << (b % 32);
				}
			}
			struct img_span rf = compile_filter_list(c, rule->filters, rule->nfilters, rule);
			uint32_t flags = 0;
			uint64_t total = 0;
			for (size_t k = 0; k < rule->nbackend_refs; k++) {
				const struct gw_backend_ref *br = &rule->backend_refs[k];
				struct img_span bf = compile_filter_list(c, br->filters, br->nfilters, rule);
				struct img_backend_ref *ib = vec_push(&c->brefs);
				ib->weight = br->weight;
				ib->backend = br->resolved ? cctx_backend_index(m, br->resolved) : IMG_NO_BACKEND;
				ib->filters = bf;
				if (bf.count > 0)
					flags |= IMG_RULE_REF_FILTERS;
				total += br->weight;
			}
			ir = VEC_AT(c->rules, struct img_rule, c->rule_map[i][j]);
			ir->filters = rf;
			ir->flags = flags;
			/* At most 16 refs of weight <= 1,000,000 (§2.2), which decode checks. */
			if (total > UINT32_MAX) {
				diag_add(c->dl, DIAG_ERROR, rule->pos.file, rule->pos.line, rule->pos.col,
					 "HTTPRoute %s: spec.rules[%zu]: backendRefs weights add up beyond %u",
					 ns_name, j, UINT32_MAX);
				total = 0;
			}
			ir->total_weight = (uint32_t)total;
		}
	}
}

/* ---- matches ---- */

static bool header_seen_before(const struct gw_header_match *h, size_t i, bool fold_case)
{
	for (size_t j = 0; j < i; j++)
		if (fold_case ? strcasecmp(h[j].name, h[i].name) == 0 : strcmp(h[j].name, h[i].name) == 0)
			return true;
	return false;
}

/* Upstream: when a match lists a name twice, only the first entry counts. */
static uint32_t distinct_names(const struct gw_header_match *h, size_t n, bool fold_case)
{
	uint32_t count = 0;
	for (size_t i = 0; i < n; i++)
		count += !header_seen_before(h, i, fold_case);
	return count;
}

static const char *normalize_path(struct arena *a, enum gw_path_type t, const char *p)
{
	if (!p || !p[0])
		return "/";
	size_t len = strlen(p);
	/* PathPrefix ignores a trailing "/" (§2.6.1): "/abc/" matches like "/abc"; a
	 * regular expression stays as written. */
	if (t == GW_PATH_PREFIX && len > 1 && p[len - 1] == '/')
		return arena_strndup(a, p, len - 1);
	return p;
}

static void add_entries(struct cctx *c, struct vec *entries, size_t ri, const struct gw_attachment *at)
{
	const struct gw_httproute *r = c->m->httproutes[ri];
	for (size_t h = 0; h < at->nhostnames; h++) {
		const char *host = at->hostnames[h];
		for (size_t j = 0; j < r->nrules; j++) {
			if (c->rule_map[ri][j] == NO_RULE)
				continue;
			const struct gw_http_rule *rule = &r->rules[j];
			for (size_t k = 0; k < rule->nmatches; k++) {
				const struct gw_http_match *mt = &rule->matches[k];
				struct prec_entry *e = vec_push(entries);
				e->route = &c->proutes[ri];
				e->match = mt;
				e->rule_idx = (uint32_t)j;
				e->match_idx = (uint32_t)k;
				e->img_rule = c->rule_map[ri][j];
				e->host = host;
				e->host_len = host ? (uint32_t)strlen(host) : 0;
				e->exact_host_len = host && !resolve_hostname_is_wildcard(host) ? e->host_len : 0;
				e->path_rank = mt->path_type == GW_PATH_EXACT ? 2 : mt->path_type == GW_PATH_PREFIX ? 1 : 0;
				e->path = normalize_path(&c->a, mt->path_type, mt->path);
				e->path_len = (uint32_t)strlen(e->path);
				e->nheaders = distinct_names(mt->headers, mt->nheaders, true);
				e->nquery = distinct_names(mt->query_params, mt->nquery_params, false);
			}
		}
	}
}

static void set_host(struct cctx *c, const char *host, uint8_t *kind, struct img_str *s)
{
	if (!host) {
		*kind = IMG_HOST_ANY;
		*s = strtab_add(&c->st, "");
	} else if (resolve_hostname_is_wildcard(host)) {
		*kind = IMG_HOST_WILDCARD;
		*s = strtab_add_lower(&c->st, host + 1); /* ".example.com" */
	} else {
		*kind = IMG_HOST_EXACT;
		*s = strtab_add_lower(&c->st, host);
	}
}

/* The index of a pattern in patterns[], added once per distinct text (the string
 * table already deduplicates the text, so its offset identifies it). */
static uint32_t pattern_index(struct cctx *c, struct img_str s)
{
	for (size_t i = 0; i < c->patterns.n; i++) {
		const struct img_str *p = VEC_AT(c->patterns, struct img_str, i);
		if (p->off == s.off && p->len == s.len)
			return (uint32_t)i;
	}
	*(struct img_str *)vec_push(&c->patterns) = s;
	return (uint32_t)(c->patterns.n - 1);
}

static void emit_value_match(struct cctx *c, const struct gw_header_match *src, bool lower_name)
{
	struct img_header_match *hm = vec_push(&c->hms);
	hm->name = lower_name ? strtab_add_lower(&c->st, src->name) : strtab_add(&c->st, src->name);
	hm->value = strtab_add(&c->st, src->value);
	hm->value_kind = src->type == GW_MATCH_REGEX ? IMG_VALUE_REGEX : IMG_VALUE_EXACT;
	hm->regex = src->type == GW_MATCH_REGEX ? pattern_index(c, hm->value) : IMG_NO_PATTERN;
}

static void emit_match(struct cctx *c, const struct prec_entry *e)
{
	const struct gw_http_match *mt = e->match;
	struct img_match *im = vec_push(&c->matches);
	set_host(c, e->host, &im->host_kind, &im->host);
	im->path_kind = e->path_rank == 2 ? IMG_PATH_EXACT : e->path_rank == 1 ? IMG_PATH_PREFIX : IMG_PATH_REGEX;
	im->method = mt->method <= GW_METHOD_PATCH ? (uint8_t)mt->method : IMG_METHOD_OTHER;
	im->path = strtab_add(&c->st, e->path);
	im->path_regex = im->path_kind == IMG_PATH_REGEX ? pattern_index(c, im->path) : IMG_NO_PATTERN;
	im->rule = e->img_rule;
	/* im stays valid: only other arrays grow below. */
	im->headers.off = (uint32_t)c->hms.n;
	for (size_t i = 0; i < mt->nheaders; i++) {
		if (header_seen_before(mt->headers, i, true))
			continue;
		emit_value_match(c, &mt->headers[i], true);
	}
	im->headers.count = (uint32_t)(c->hms.n - im->headers.off);
	im->query_params.off = (uint32_t)c->hms.n;
	for (size_t i = 0; i < mt->nquery_params; i++) {
		if (header_seen_before(mt->query_params, i, false))
			continue;
		emit_value_match(c, &mt->query_params[i], false);
	}
	im->query_params.count = (uint32_t)(c->hms.n - im->query_params.off);
}

/* ---- router index ---- */

struct group_key {
	struct img_host_group g;
	const char *name;            /* the host bytes in the string table */
};

/* The order the router's binary search relies on: kind, length, bytes. */
static int group_key_cmp(const void *x, const void *y)
{
	const struct group_key *a = x, *b = y;
	if (a->g.kind != b->g.kind)
		return a->g.kind < b->g.kind ? -1 : 1;
	if (a->g.host.len != b->g.host.len)
		return a->g.host.len < b->g.host.len ? -1 : 1;
	return memcmp(a->name, b->name, a->g.host.len);
}

/* The host groups of the listener matches [first, first + n): one per run of equal
 * (kind, hostname), which prec_sort makes contiguous. Should a hostname ever come in
 * two runs, the listener gets no index and the router scans its matches in order. */
static struct img_span compile_host_groups(struct cctx *c, uint32_t first, uint32_t n)
{
	struct img_span span = {(uint32_t)c->hgroups.n, 0};
	if (n == 0)
		return span;
	struct group_key *k = arena_alloc(&c->a, n * sizeof *k);
	const struct img_match *m = VEC_AT(c->matches, struct img_match, first);
	size_t nk = 0;
	for (uint32_t i = 0; i < n; i++) {
		/* The string table stores each text once: equal offsets, equal names. */
		if (nk && k[nk - 1].g.kind == m[i].host_kind && k[nk - 1].g.host.off == m[i].host.off &&
		    k[nk - 1].g.host.len == m[i].host.len) {
			k[nk - 1].g.count++;
			continue;
		}
		k[nk].g = (struct img_host_group){.kind = m[i].host_kind, .host = m[i].host,
						  .first = i, .count = 1};
		k[nk].name = c->st.bytes.data + m[i].host.off;
		nk++;
	}
	qsort(k, nk, sizeof *k, group_key_cmp);
	for (size_t i = 1; i < nk; i++)
		if (group_key_cmp(&k[i - 1], &k[i]) == 0)
			return span;
	for (size_t i = 0; i < nk; i++)
		*(struct img_host_group *)vec_push(&c->hgroups) = k[i].g;
	span.count = (uint32_t)nk;
	return span;
}

/* ---- listeners and binds ---- */

struct bind_item {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	uint32_t listener;
	bool dgram;          /* UDP: a socket of its own beside a TCP one on the port */
};

static void add_bind_item(struct cctx *c, uint8_t family, const uint8_t *addr, uint16_t port,
			  uint32_t listener)
{
	struct bind_item *bi = vec_push(&c->bind_items);
	bi->family = family;
	if (addr)
		memcpy(bi->addr, addr, 16);
	bi->port = port;
	bi->listener = listener;
	bi->dgram = compile_l4_dgram(c, listener);
}

static void compile_listener(struct cctx *c, const struct gw_gateway *gw, const struct gw_listenerset *set,
			     size_t li)
{
	const struct gw_listener *l = listener_of(gw, set, li);
	uint32_t idx = (uint32_t)c->listeners.n;
	struct img_listener *il = vec_push(&c->listeners);
	il->gateway = strtab_add(&c->st, arena_printf(&c->a, "%s/%s", gw->meta.ns, gw->meta.name));
	/* A ListenerSet's listener names are unique only within the set: "set/listener" */
	il->name = set ? strtab_add(&c->st, arena_printf(&c->a, "%s/%s/%s", set->meta.ns, set->meta.name, l->name))
		       : strtab_add(&c->st, l->name);
	set_host(c, l->hostname, &il->host_kind, &il->host);
	il->port = l->port;
	il->protocol = compile_l4_protocol(l->protocol);
	il->ciphers = strtab_add(&c->st, "");
	il->client_ca = strtab_add(&c->st, "");
	compile_tls_listener(c, l, il); /* HTTPS: certificates, version, ciphers, client CA */
	compile_tls_backend_cert(c, gw, il); /* spec.tls.backend client certificate */

	struct vec entries = VEC_OF(struct prec_entry);
	for (size_t ri = 0; ri < c->m->nhttproutes; ri++) {
		const struct gw_httproute *r = c->m->httproutes[ri];
		if (!c->rule_map[ri])
			continue;
		for (size_t k = 0; k < r->nattachments; k++)
			if (r->attachments[k].gateway == gw && r->attachments[k].listenerset == set &&
			    r->attachments[k].listener == li)
				add_entries(c, &entries, ri, &r->attachments[k]);
	}
	prec_sort((struct prec_entry *)entries.data, entries.n);
	uint32_t first = (uint32_t)c->matches.n;
	for (size_t i = 0; i < entries.n; i++)
		emit_match(c, VEC_AT(entries, struct prec_entry, i));
	vec_free(&entries);
	il = VEC_AT(c->listeners, struct img_listener, idx);
	il->matches.off = first;
	il->matches.count = (uint32_t)(c->matches.n - first);
	il->host_groups = compile_host_groups(c, first, il->matches.count);

	/* Binds: every address of the Gateway, or any IPv4 and any IPv6 address. */
	for (size_t i = 0; i < gw->naddresses; i++) {
		uint8_t family, addr[16];
		if (!cctx_parse_ip(gw->addresses[i].value, &family, addr))
			continue; /* resolve made such a Gateway unprogrammed */
		add_bind_item(c, family, addr, l->port, idx);
	}
	if (gw->naddresses == 0) {
		add_bind_item(c, AF_INET, NULL, l->port, idx);
		add_bind_item(c, AF_INET6, NULL, l->port, idx);
	}
}

static void compile_listeners(struct cctx *c)
{
	const struct gw_model *m = c->m;
	size_t total = 0;
	for (size_t i = 0; i < m->ngateways; i++)
		total += m->gateways[i]->nlisteners;
	for (size_t i = 0; i < m->nlistenersets; i++)
		total += m->listenersets[i]->nlisteners;
	c->lis_host = arena_alloc(&c->a, (total + 1) * sizeof *c->lis_host);
	for (size_t i = 0; i < m->ngateways; i++) {
		const struct gw_gateway *gw = m->gateways[i];
		for (size_t li = 0; li < gw->nlisteners; li++) {
			if (!listener_serves(gw, NULL, li))
				continue;
			c->lis_host[c->listeners.n] = gw->listeners[li].hostname;
			compile_listener(c, gw, NULL, li);
		}
	}
	/* ListenerSet listeners bind with their Gateway's addresses (§2.5). */
	for (size_t i = 0; i < m->nlistenersets; i++) {
		const struct gw_listenerset *set = m->listenersets[i];
		if (!set->gateway)
			continue;
		for (size_t li = 0; li < set->nlisteners; li++) {
			if (!listener_serves(set->gateway, set, li))
				continue;
			c->lis_host[c->listeners.n] = set->listeners[li].hostname;
			compile_listener(c, set->gateway, set, li);
		}
	}
}

static int bind_key_cmp(const struct bind_item *a, const struct bind_item *b)
{
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->dgram != b->dgram)
		return a->dgram ? 1 : -1;
	return memcmp(a->addr, b->addr, 16);
}

static int bind_item_cmp(const void *x, const void *y)
{
	const struct bind_item *a = x, *b = y;
	int c = bind_key_cmp(a, b);
	if (c)
		return c;
	return a->listener < b->listener ? -1 : a->listener > b->listener;
}

struct lis_key {
	int rank;            /* 0 exact, 1 wildcard, 2 any */
	size_t len;
	const char *host;
	uint32_t idx;
};

/* §3.1: exact hostname first, then wildcards with the longest suffix, then no hostname. */
static int lis_key_cmp(const void *x, const void *y)
{
	const struct lis_key *a = x, *b = y;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	if (a->host && b->host) {
		int c = strcasecmp(a->host, b->host);
		if (c)
			return c;
	}
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool addr_is_any(const uint8_t *addr)
{
	for (int i = 0; i < 16; i++)
		if (addr[i])
			return false;
	return true;
}

static void compile_binds(struct cctx *c)
{
	struct bind_item *items = (struct bind_item *)c->bind_items.data;
	size_t n = c->bind_items.n;
	if (n > 1)
		qsort(items, n, sizeof *items, bind_item_cmp);
	struct lis_key *keys = arena_alloc(&c->a, (n + 1) * sizeof *keys);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && bind_key_cmp(&items[i], &items[j]) == 0)
			j++;
		struct img_bind *b = vec_push(&c->binds);
		b->family = items[i].family;
		b->port = items[i].port;
		memcpy(b->addr, items[i].addr, 16);
		/* The kernel hands a connection to the most specific socket: one bound to
		 * this address also carries the listeners of any-address Gateways. */
		size_t nk = 0;
		for (size_t k = 0; k < n; k++) {
			bool same = bind_key_cmp(&items[k], &items[i]) == 0;
			bool any = !addr_is_any(items[i].addr) && addr_is_any(items[k].addr) &&
				   items[k].family == items[i].family && items[k].port == items[i].port &&
				   items[k].dgram == items[i].dgram;
			if (!same && !any)
				continue;
			bool dup = false;
			for (size_t d = 0; d < nk; d++)
				dup |= keys[d].idx == items[k].listener;
			if (dup)
				continue;
			const char *h = c->lis_host[items[k].listener];
			keys[nk].idx = items[k].listener;
			keys[nk].host = h;
			keys[nk].rank = !h ? 2 : resolve_hostname_is_wildcard(h) ? 1 : 0;
			keys[nk].len = h ? strlen(h) : 0;
			nk++;
		}
		qsort(keys, nk, sizeof *keys, lis_key_cmp);
		b->listeners.off = (uint32_t)c->lindex.n;
		b->listeners.count = (uint32_t)nk;
		for (size_t k = 0; k < nk; k++)
			*(uint32_t *)vec_push(&c->lindex) = keys[k].idx;
		i = j;
	}
}

/* ---- layout ---- */

static size_t align_up(size_t x)
{
	return (x + IMG_ALIGN - 1) & ~(size_t)(IMG_ALIGN - 1);
}

static uint32_t fix_off(uint32_t base, uint32_t index, size_t elem)
{
	return (uint32_t)(base + (uint64_t)index * elem);
}

static bool write_image(struct cctx *c, struct img_header *h, struct buf *out)
{
	struct {
		struct vec *v;
		struct img_span *span;
	} arrays[] = {
		{&c->binds, &h->binds}, {&c->lindex, &h->listener_index},
		{&c->listeners, &h->listeners}, {&c->matches, &h->matches},
		{&c->hms, &h->header_matches}, {&c->rules, &h->rules},
		{&c->brefs, &h->backend_refs}, {&c->backends, &h->backends},
		{&c->endpoints, &h->endpoints}, {&c->patterns, &h->patterns},
		{&c->filters, &h->filters}, {&c->hops, &h->header_ops}, {&c->fstrs, &h->filter_strs},
		{&c->hgroups, &h->host_groups}, {&c->certs, &h->certs}, {&c->btls, &h->backend_tls},
		{&c->policies, &h->policies},
	};
	const size_t narrays = sizeof arrays / sizeof arrays[0];
	uint64_t off = align_up(sizeof *h);
	for (size_t i = 0; i < narrays; i++) {
		arrays[i].span->off = (uint32_t)off;
		arrays[i].span->count = (uint32_t)arrays[i].v->n;
		off = align_up(off + (uint64_t)arrays[i].v->n * arrays[i].v->elem);
		if (off > UINT32_MAX)
			return false;
	}
	h->strings.off = (uint32_t)off;
	h->strings.count = (uint32_t)c->st.bytes.len;
	off += c->st.bytes.len;
	if (off < image_min_size())
		off = image_min_size();
	if (off > UINT32_MAX || c->st.overflow)
		return false;
	h->magic = IMG_MAGIC;
	h->version = IMG_VERSION;
	h->size = (uint32_t)off;

	/* Nested spans hold indices until here: make them byte offsets. */
	for (size_t i = 0; i < c->binds.n; i++) {
		struct img_bind *b = VEC_AT(c->binds, struct img_bind, i);
		b->listeners.off = fix_off(h->listener_index.off, b->listeners.off, sizeof(uint32_t));
	}
	for (size_t i = 0; i < c->listeners.n; i++) {
		struct img_listener *l = VEC_AT(c->listeners, struct img_listener, i);
		l->matches.off = fix_off(h->matches.off, l->matches.off, sizeof(struct img_match));
		l->host_groups.off = fix_off(h->host_groups.off, l->host_groups.off,
					     sizeof(struct img_host_group));
	}
	for (size_t i = 0; i < c->matches.n; i++) {
		struct img_match *mt = VEC_AT(c->matches, struct img_match, i);
		mt->headers.off = fix_off(h->header_matches.off, mt->headers.off,
					  sizeof(struct img_header_match));
		mt->query_params.off = fix_off(h->header_matches.off, mt->query_params.off,
					       sizeof(struct img_header_match));
	}
	for (size_t i = 0; i < c->rules.n; i++) {
		struct img_rule *r = VEC_AT(c->rules, struct img_rule, i);
		r->backend_refs.off = fix_off(h->backend_refs.off, r->backend_refs.off,
					      sizeof(struct img_backend_ref));
		r->filters.off = fix_off(h->filters.off, r->filters.off, sizeof(struct img_filter));
	}
	for (size_t i = 0; i < c->brefs.n; i++) {
		struct img_backend_ref *br = VEC_AT(c->brefs, struct img_backend_ref, i);
		br->filters.off = fix_off(h->filters.off, br->filters.off, sizeof(struct img_filter));
	}
	for (size_t i = 0; i < c->filters.n; i++) {
		struct img_filter *f = VEC_AT(c->filters, struct img_filter, i);
		f->ops.off = fix_off(h->header_ops.off, f->ops.off, sizeof(struct img_header_op));
		f->origins.off = fix_off(h->filter_strs.off, f->origins.off, sizeof(struct img_str));
	}
	for (size_t i = 0; i < c->backends.n; i++) {
		struct img_backend *b = VEC_AT(c->backends, struct img_backend, i);
		b->endpoints.off = fix_off(h->endpoints.off, b->endpoints.off, sizeof(struct img_endpoint));
	}
	for (size_t i = 0; i < c->listeners.n; i++) {
		struct img_listener *l = VEC_AT(c->listeners, struct img_listener, i);
		l->certs.off = fix_off(h->certs.off, l->certs.off, sizeof(struct img_cert));
	}
	for (size_t i = 0; i < c->btls.n; i++) {
		struct img_backend_tls *t = VEC_AT(c->btls, struct img_backend_tls, i);
		t->san.off = fix_off(h->filter_strs.off, t->san.off, sizeof(struct img_str));
	}

	size_t base = buf_zero(out, (size_t)off);
	char *img = out->data + base;
	memcpy(img, h, sizeof *h);
	for (size_t i = 0; i < narrays; i++)
		if (arrays[i].v->n)
			memcpy(img + arrays[i].span->off, arrays[i].v->data,
			       arrays[i].v->n * arrays[i].v->elem);
	if (c->st.bytes.len)
		memcpy(img + h->strings.off, c->st.bytes.data, c->st.bytes.len);
	return true;
}

bool compile_image(const struct gw_model *m, const char *status_json, const char *digest,
		   struct buf *out, struct diag_list *dl)
{
	struct cctx c = {
		.m = m, .dl = dl,
		.binds = VEC_OF(struct img_bind), .lindex = VEC_OF(uint32_t),
		.listeners = VEC_OF(struct img_listener), .matches = VEC_OF(struct img_match),
		.hms = VEC_OF(struct img_header_match), .rules = VEC_OF(struct img_rule),
		.brefs = VEC_OF(struct img_backend_ref), .backends = VEC_OF(struct img_backend),
		.endpoints = VEC_OF(struct img_endpoint), .bind_items = VEC_OF(struct bind_item),
		.patterns = VEC_OF(struct img_str),
		.filters = VEC_OF(struct img_filter), .hops = VEC_OF(struct img_header_op),
		.fstrs = VEC_OF(struct img_str), .hgroups = VEC_OF(struct img_host_group),
		.certs = VEC_OF(struct img_cert), .btls = VEC_OF(struct img_backend_tls),
		.policies = VEC_OF(struct img_policy),
	};
	struct img_header h;
	size_t errors = dl->errors;

	memset(&h, 0, sizeof h);
	arena_init(&c.a);
	c.rule_map = arena_alloc(&c.a, (m->nhttproutes + 1) * sizeof *c.rule_map);
	c.proutes = arena_alloc(&c.a, (m->nhttproutes + 1) * sizeof *c.proutes);

	h.status_json = strtab_add(&c.st, status_json ? status_json : "[]");
	h.source_digest = strtab_add(&c.st, digest ? digest : "");
	compile_backends(&c);
	compile_rules(&c);
	compile_policies(&c);
	compile_listeners(&c);
	compile_binds(&c);
	compile_l4(&c);
	if (!write_image(&c, &h, out))
		diag_add(dl, DIAG_ERROR, "", 0, 0, "the compiled configuration exceeds 4 GiB");

	vec_free(&c.binds);
	vec_free(&c.lindex);
	vec_free(&c.listeners);
	vec_free(&c.matches);
	vec_free(&c.hgroups);
	vec_free(&c.hms);
	vec_free(&c.rules);
	vec_free(&c.brefs);
	vec_free(&c.backends);
	vec_free(&c.endpoints);
	vec_free(&c.patterns);
	vec_free(&c.filters);
	vec_free(&c.hops);
	vec_free(&c.fstrs);
	vec_free(&c.bind_items);
	vec_free(&c.certs);
	vec_free(&c.btls);
	vec_free(&c.policies);
	buf_free(&c.st.bytes);
	free(c.st.slots);
	arena_fini(&c.a);
	return dl->errors == errors;
}
