/* SPDX-License-Identifier: MIT */
/* balancer: backend and endpoint choice for every request, the circuit breaker and the
 * workers' half of outlier detection. Algorithms as Envoy's: RoundRobin per worker;
 * LeastRequest as the power of two choices on requests in flight (process-wide
 * counters); Random; ConsistentHash through the cluster's Maglev table, walking on to the
 * next slots past an unusable endpoint, so only that endpoint's keys move. */
#include "config.h"

#include "runtime/balancer.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "runtime/conn.h"
#include "runtime/epset.h"
#include "runtime/generation.h"
#include "runtime/hash_cookie.h"
#include "runtime/router.h"
#include "runtime/upstream.h"
#include "runtime/worker.h"

/* Ejection time: baseEjectionTime times the ejections in a row, at most this (Envoy's
 * max_ejection_time default) unless the base is longer. */
#define BAL_MAX_EJECTION_MS 300000u
/* ConsistentHash: slots tried past an unusable endpoint before a scan. */
#define BAL_HASH_PROBES 256u

struct wbal *wbal_new(struct epset *s)
{
	size_t nr = s->gen->img->backend_refs.count;
	size_t size = sizeof(struct wbal) + s->neps * sizeof(struct upool *) +
		      s->nclusters * sizeof(uint32_t) + nr * sizeof(int64_t) + sizeof(int64_t);
	struct wbal *b = calloc(1, size);
	if (b == NULL)
		return NULL;
	char *p = (char *)(b + 1);
	b->swrr = (int64_t *)(void *)p;  /* first: the 8-byte alignment of the block */
	p += nr * sizeof(int64_t);
	b->pools = (struct upool **)(void *)p;
	p += s->neps * sizeof(struct upool *);
	b->rr = (uint32_t *)(void *)p;
	epset_ref(s);
	b->set = s;
	return b;
}

void wbal_free(struct wbal *b)
{
	if (b == NULL)
		return;
	for (uint32_t i = 0; i < b->set->neps; i++)
		upool_unref(b->pools[i]);
	epset_unref(b->set);
	free(b);
}

static struct wbal *conn_bal(const struct conn *c)
{
	return c->wg != NULL ? c->wg->bal : NULL;
}

uint32_t balancer_backend(struct conn *c, const struct img_rule *r)
{
	const struct img_header *img = c->wg->gen->img;
	struct wbal *b = conn_bal(c);
	if (r->total_weight == 0)
		return IMG_NO_BACKEND;
	const struct img_policy *pol = NULL;
	if (r->policy != IMG_NONE && r->policy < img->policies.count)
		pol = &IMG_ARRAY(img, img->policies, struct img_policy)[r->policy];
	if (b == NULL || r->backend_refs.count < 2 || (pol != NULL && pol->lb != IMG_LB_ROUND_ROBIN))
		return router_pick_backend(img, r, worker_rand(c->w));
	/* Smooth weighted round robin (as nginx's): each turn every ref gains its weight,
	 * the heaviest is chosen and pays the total. Weights 1:2 give b a b, not a b b;
	 * an unresolved ref keeps its share (the caller answers 500 for it). */
	const struct img_backend_ref *refs = IMG_ARRAY(img, r->backend_refs, struct img_backend_ref);
	int64_t *cw = b->swrr + (r->backend_refs.off - img->backend_refs.off) / sizeof *refs;
	uint32_t best = UINT32_MAX;
	for (uint32_t k = 0; k < r->backend_refs.count; k++) {
		if (refs[k].weight == 0)
			continue;
		cw[k] += refs[k].weight;
		if (best == UINT32_MAX || cw[k] > cw[best])
			best = k;
	}
	if (best == UINT32_MAX)
		return IMG_NO_BACKEND;
	cw[best] -= (int64_t)r->total_weight;
	return refs[best].backend;
}

/* ---- endpoint choice ---- */

static bool usable(struct epcluster *cl, struct ep_state *e, uint64_t *now)
{
	unsigned f = atomic_load_explicit(&e->flags, memory_order_relaxed);
	if (f == 0)
		return true;
	if (f & EP_UNHEALTHY)
		return false;
	if (*now == 0)
		*now = epset_now_ms();
	return epset_uneject_due(cl, e, *now);
}

/* The first usable endpoint from offset start on (wrapping), or UINT32_MAX. */
static uint32_t scan_from(struct epset *s, struct epcluster *cl, uint32_t start, uint64_t *now)
{
	for (uint32_t k = 0; k < cl->count; k++) {
		uint32_t i = (start + k) % cl->count;
		if (usable(cl, s->eps[cl->first + i], now))
			return i;
	}
	return UINT32_MAX;
}

/* The request's consistent-hash key; false when it has none (then any endpoint). */
static bool request_hash(struct conn *c, const struct img_policy *pol, uint32_t *out)
{
	if (c->lease.flags & BAL_LEASE_HASHED) {
		*out = c->lease.hash;
		return true;
	}
	const struct img_header *img = c->wg->gen->img;
	uint64_t h = 0;
	bool have = false;
	if (pol->hash == IMG_HASH_SOURCE_IP) {
		if (c->peer.sa.sa_family == AF_INET6)
			h = epset_hash(&c->peer.sin6.sin6_addr, 16);
		else
			h = epset_hash(&c->peer.sin.sin_addr, 4);
		have = true;
	} else if (c->req.headers != NULL) {
		const char *want = img_str_ptr(img, pol->hash_name);
		size_t wlen = pol->hash_name.len;
		for (size_t i = 0; i < c->req.nheaders && !have; i++) {
			const struct h1_header *hd = &c->req.headers[i];
			if (pol->hash == IMG_HASH_HEADER) {
				if (hd->name_len == wlen && strncasecmp(hd->name, want, wlen) == 0) {
					h = epset_hash(hd->value, hd->value_len);
					have = true;
				}
				continue;
			}
			/* Cookie: "a=1; b=2" pairs (RFC 6265 §4.2.1), in any Cookie field. */
			if (hd->name_len != 6 || strncasecmp(hd->name, "cookie", 6) != 0)
				continue;
			const char *p = hd->value, *end = hd->value + hd->value_len;
			while (p < end && !have) {
				while (p < end && (*p == ' ' || *p == ';'))
					p++;
				const char *semi = memchr(p, ';', (size_t)(end - p));
				const char *stop = semi != NULL ? semi : end;
				const char *eq = memchr(p, '=', (size_t)(stop - p));
				if (eq != NULL && (size_t)(eq - p) == wlen && memcmp(p, want, wlen) == 0) {
					/* A quoted value (RFC 6265 §4.1.1) hashes without its
					 * quotes, as Envoy's (and as runtime/hash_cookie.c sets it). */
					const char *v = eq + 1;
					size_t vl = (size_t)(stop - v);
					if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
						v++;
						vl -= 2;
					}
					h = epset_hash(v, vl);
					have = true;
				}
				p = stop;
			}
		}
	}
	if (!have && pol->hash == IMG_HASH_COOKIE && (pol->flags & IMG_POL_COOKIE_GEN)) {
		h = hash_cookie_new(c);  /* cookie.ttl: the response sets it */
		have = true;
	}
	if (!have)
		return false;
	c->lease.hash = (uint32_t)(h ^ (h >> 32));
	c->lease.flags |= BAL_LEASE_HASHED;
	*out = c->lease.hash;
	return true;
}

static uint32_t pick_endpoint(struct conn *c, struct wbal *b, uint32_t ci)
{
	struct epset *s = b->set;
	struct epcluster *cl = &s->clusters[ci];
	uint64_t now = 0;
	uint8_t lb = cl->pol != NULL ? cl->pol->lb : IMG_LB_ROUND_ROBIN;
	if (cl->count == 0)
		return UINT32_MAX;
	switch (lb) {
	case IMG_LB_LEAST_REQUEST: {
		/* Power of two choices (Envoy's default choice_count 2). */
		uint32_t x = scan_from(s, cl, worker_rand(c->w) % cl->count, &now);
		if (x == UINT32_MAX || cl->count == 1)
			return x;
		uint32_t y = scan_from(s, cl, worker_rand(c->w) % cl->count, &now);
		unsigned ax = atomic_load_explicit(&s->eps[cl->first + x]->active, memory_order_relaxed);
		unsigned ay = atomic_load_explicit(&s->eps[cl->first + y]->active, memory_order_relaxed);
		return ay < ax ? y : x;
	}
	case IMG_LB_RANDOM:
		return scan_from(s, cl, worker_rand(c->w) % cl->count, &now);
	case IMG_LB_CONSISTENT_HASH: {
		uint32_t h;
		if (cl->table == NULL || !request_hash(c, cl->pol, &h))
			return scan_from(s, cl, worker_rand(c->w) % cl->count, &now);
		uint32_t slot = h % cl->table_size;
		for (uint32_t k = 0; k < BAL_HASH_PROBES && k < cl->table_size; k++) {
			uint32_t i = cl->table[(slot + k) % cl->table_size];
			if (i < cl->count && usable(cl, s->eps[cl->first + i], &now))
				return i;
		}
		return scan_from(s, cl, h % cl->count, &now);
	}
	default: {
		uint32_t i = scan_from(s, cl, b->rr[ci] % cl->count, &now);
		if (i != UINT32_MAX)
			b->rr[ci] = i + 1;
		return i;
	}
	}
}

/* Takes the lease on endpoint i of cluster ci; circuit breaker checked by the caller. */
static struct upool *lease_take(struct conn *c, struct wbal *b, uint32_t ci, uint32_t i, bool retry)
{
	struct epset *s = b->set;
	struct epcluster *cl = &s->clusters[ci];
	uint32_t e = cl->first + i;
	struct upool *p = b->pools[e];
	if (p == NULL) {
		p = upool_get_addr(c->w, &s->eps[e]->addr, s->eps[e]->addrlen, s->eps[e]->name);
		if (p == NULL)
			return NULL;
		b->pools[e] = p;
	}
	epset_ref(s);
	c->lease.set = s;
	c->lease.cluster = ci;
	c->lease.ep = e;
	c->lease.flags = (c->lease.flags & (BAL_LEASE_HASHED | BAL_LEASE_SETCOOKIE)) | BAL_LEASE_ACTIVE |
			 (retry ? BAL_LEASE_RETRY : 0);
	atomic_fetch_add_explicit(&cl->st->active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->eps[e]->active, 1, memory_order_relaxed);
	if (retry)
		atomic_fetch_add_explicit(&cl->st->retries, 1, memory_order_relaxed);
	return p;
}

static int overflow(struct conn *c, struct epcluster *cl, const char **body)
{
	atomic_fetch_add_explicit(&cl->st->overflow, 1, memory_order_relaxed);
	c->log.error = "upstream overflow (circuit breaker)";
	*body = "upstream overflow\n";
	return 503;
}

static int pick(struct conn *c, uint32_t policy, uint32_t backend, bool retry, struct upool **pool,
		const char **body)
{
	struct wbal *b = conn_bal(c);
	int ci = b != NULL ? epset_find(b->set, backend, policy) : -1;
	if (ci < 0) {
		c->log.error = "no endpoint set";
		*body = "no backend\n";
		return 500;
	}
	struct epcluster *cl = &b->set->clusters[ci];
	/* Gateway API §3.6: a backend that exists but has no ready endpoint: 503. */
	if (cl->count == 0) {
		c->log.error = "no endpoint";
		*body = "no healthy upstream\n";
		return 503;
	}
	const struct img_policy *pol = cl->pol;
	if (pol != NULL) {
		/* Envoy's circuit breaker: over a threshold, 503 without contacting the backend. */
		unsigned active = atomic_load_explicit(&cl->st->active, memory_order_relaxed);
		if (active >= pol->cb_requests || active >= pol->cb_connections ||
		    atomic_load_explicit(&cl->st->pending, memory_order_relaxed) >= pol->cb_pending)
			return overflow(c, cl, body);
		if (retry && atomic_load_explicit(&cl->st->retries, memory_order_relaxed) >= pol->cb_retries)
			return overflow(c, cl, body);
	}
	uint32_t i = pick_endpoint(c, b, (uint32_t)ci);
	if (i == UINT32_MAX) {
		/* Every endpoint is unhealthy or ejected (DESIGN.md: 503). */
		c->log.error = "no healthy upstream";
		*body = "no healthy upstream\n";
		return 503;
	}
	*pool = lease_take(c, b, (uint32_t)ci, i, retry);
	if (*pool == NULL) {
		c->log.error = "upstream connect error";
		*body = "upstream connect error\n";
		return 502;
	}
	return 0;
}

int balancer_pick(struct conn *c, const struct img_rule *r, uint32_t b, struct upool **pool,
		  const char **body)
{
	balancer_release(c);
	c->lease.flags = 0;
	return pick(c, r != NULL ? r->policy : IMG_NONE, b, false, pool, body);
}

int balancer_repick(struct conn *c, uint32_t b, struct upool **pool, const char **body)
{
	const struct img_rule *r = c->frule != NULL ? c->frule : c->log.rule;
	if ((c->lease.flags & (BAL_LEASE_ACTIVE | BAL_LEASE_REPORTED)) == BAL_LEASE_ACTIVE)
		balancer_on_local_error(c, 502);
	balancer_release(c);
	return pick(c, r != NULL ? r->policy : IMG_NONE, b, true, pool, body);
}

struct upool *balancer_mirror_pool(struct conn *c, uint32_t backend)
{
	struct wbal *b = conn_bal(c);
	const struct img_rule *r = c->frule != NULL ? c->frule : c->log.rule;
	int ci = b != NULL ? epset_find(b->set, backend, r != NULL ? r->policy : IMG_NONE) : -1;
	if (ci < 0)
		return NULL;
	struct epcluster *cl = &b->set->clusters[ci];
	uint64_t now = 0;
	uint32_t i = cl->count ? scan_from(b->set, cl, worker_rand(c->w) % cl->count, &now) : UINT32_MAX;
	if (i == UINT32_MAX)
		return NULL;
	uint32_t e = cl->first + i;
	if (b->pools[e] == NULL)
		b->pools[e] = upool_get_addr(c->w, &b->set->eps[e]->addr, b->set->eps[e]->addrlen,
					     b->set->eps[e]->name);
	return b->pools[e];
}

/* ---- attempt outcome ---- */

static struct epcluster *lease_cluster(const struct conn *c, struct ep_state **e)
{
	if (!(c->lease.flags & BAL_LEASE_ACTIVE) || c->lease.set == NULL)
		return NULL;
	*e = c->lease.set->eps[c->lease.ep];
	return &c->lease.set->clusters[c->lease.cluster];
}

ev_tstamp balancer_attempt_start(struct conn *c, int connecting)
{
	ev_tstamp t = c->w->lim->connect_timeout;
	struct ep_state *e;
	struct epcluster *cl = lease_cluster(c, &e);
	if (cl == NULL)
		return t;
	if (connecting && !(c->lease.flags & BAL_LEASE_PENDING)) {
		c->lease.flags |= BAL_LEASE_PENDING;
		atomic_fetch_add_explicit(&cl->st->pending, 1, memory_order_relaxed);
	}
	const struct img_policy *pol = cl->pol;
	if (pol == NULL)
		return t;
	/* timeout.http.requestTimeout: the rule's own timeouts (Gateway API) come first. */
	if (pol->request_timeout_ms != 0 && c->route_deadline == 0)
		c->route_deadline = c->log.t_head + pol->request_timeout_ms / 1000.0;
	/* timeout.http: the connection's limits once this request is done with it. */
	if (c->up != NULL) {
		c->up->idle_timeout = pol->idle_timeout_ms == IMG_UNLIMITED ? -1.0 : pol->idle_timeout_ms / 1000.0;
		c->up->max_age = pol->max_conn_ms / 1000.0;
	}
	return pol->connect_timeout_ms != 0 ? pol->connect_timeout_ms / 1000.0 : t;
}

void balancer_connected(struct conn *c)
{
	struct ep_state *e;
	struct epcluster *cl = lease_cluster(c, &e);
	if (cl != NULL && (c->lease.flags & BAL_LEASE_PENDING)) {
		c->lease.flags &= ~BAL_LEASE_PENDING;
		atomic_fetch_sub_explicit(&cl->st->pending, 1, memory_order_relaxed);
	}
}

static void eject(struct epcluster *cl, struct ep_state *e, const char *why)
{
	const struct img_policy *pol = cl->pol;
	/* maxEjectionPercent of the cluster, but at least one endpoint (as Envoy). */
	unsigned max = cl->count * pol->od_max_percent / 100;
	if (max < 1)
		max = 1;
	if (atomic_load(&cl->st->ejected) >= max)
		return;
	if (atomic_fetch_or(&e->flags, EP_EJECTED) & EP_EJECTED)
		return;
	atomic_fetch_add(&cl->st->ejected, 1);
	unsigned n = atomic_fetch_add(&e->ejections, 1) + 1;
	uint64_t t = (uint64_t)pol->od_base_ejection_ms * n;
	uint64_t cap = pol->od_base_ejection_ms > BAL_MAX_EJECTION_MS ? pol->od_base_ejection_ms : BAL_MAX_EJECTION_MS;
	atomic_store(&e->eject_until_ms, epset_now_ms() + (t < cap ? t : cap));
	atomic_fetch_add_explicit(&e->ejected_total, 1, memory_order_relaxed);
	atomic_store(&e->cons_5xx, 0);
	atomic_store(&e->cons_gateway, 0);
	atomic_store(&e->cons_local, 0);
	log_info("backend %s: endpoint %s ejected for %llu ms (%s)", cl->backend_name, e->name,
		 (unsigned long long)(t < cap ? t : cap), why);
}

static void count_error(struct epcluster *cl, struct ep_state *e, bool gateway, bool local)
{
	const struct img_policy *pol = cl->pol;
	if (local && (pol->flags & IMG_POL_SPLIT_LOCAL)) {
		/* Local-origin failures count on their own (consecutiveLocalOriginFailures). */
		if (pol->od_local != 0 && atomic_fetch_add(&e->cons_local, 1) + 1 >= pol->od_local)
			eject(cl, e, "consecutive local origin failures");
		return;
	}
	unsigned n5 = atomic_fetch_add(&e->cons_5xx, 1) + 1;
	unsigned ng = gateway ? atomic_fetch_add(&e->cons_gateway, 1) + 1 : 0;
	if (!gateway)
		atomic_store(&e->cons_gateway, 0);
	if (pol->od_5xx != 0 && n5 >= pol->od_5xx)
		eject(cl, e, "consecutive 5xx");
	else if (pol->od_gateway != 0 && ng >= pol->od_gateway)
		eject(cl, e, "consecutive gateway errors");
}

void balancer_on_status(struct conn *c, int status)
{
	struct ep_state *e;
	struct epcluster *cl = lease_cluster(c, &e);
	if (cl == NULL || (c->lease.flags & BAL_LEASE_REPORTED))
		return;
	c->lease.flags |= BAL_LEASE_REPORTED;
	if (cl->pol == NULL || !(cl->pol->flags & IMG_POL_PASSIVE))
		return;
	if (status >= 500) {
		count_error(cl, e, status == 502 || status == 503 || status == 504, false);
		return;
	}
	/* A success ends every run of errors (Envoy resets the consecutive counters). */
	if (atomic_load_explicit(&e->cons_5xx, memory_order_relaxed) != 0)
		atomic_store(&e->cons_5xx, 0);
	if (atomic_load_explicit(&e->cons_gateway, memory_order_relaxed) != 0)
		atomic_store(&e->cons_gateway, 0);
	if (atomic_load_explicit(&e->cons_local, memory_order_relaxed) != 0)
		atomic_store(&e->cons_local, 0);
	if (atomic_load_explicit(&e->ejections, memory_order_relaxed) != 0 &&
	    !(atomic_load_explicit(&e->flags, memory_order_relaxed) & EP_EJECTED))
		atomic_store(&e->ejections, 0);
}

void balancer_on_local_error(struct conn *c, int status)
{
	struct ep_state *e;
	struct epcluster *cl = lease_cluster(c, &e);
	if (cl == NULL || (c->lease.flags & BAL_LEASE_REPORTED) || status < 502 || status > 504)
		return;
	c->lease.flags |= BAL_LEASE_REPORTED;
	if (cl->pol == NULL || !(cl->pol->flags & IMG_POL_PASSIVE))
		return;
	/* Envoy without the split maps a connect failure or a reset to 503 and a timeout
	 * to 504: both are gateway errors and 5xx. */
	count_error(cl, e, true, true);
}

void balancer_release(struct conn *c)
{
	struct epset *s = c->lease.set;
	if (s == NULL)
		return;
	if (c->lease.flags & BAL_LEASE_ACTIVE) {
		struct epcluster *cl = &s->clusters[c->lease.cluster];
		atomic_fetch_sub_explicit(&cl->st->active, 1, memory_order_relaxed);
		atomic_fetch_sub_explicit(&s->eps[c->lease.ep]->active, 1, memory_order_relaxed);
		if (c->lease.flags & BAL_LEASE_PENDING)
			atomic_fetch_sub_explicit(&cl->st->pending, 1, memory_order_relaxed);
		if (c->lease.flags & BAL_LEASE_RETRY)
			atomic_fetch_sub_explicit(&cl->st->retries, 1, memory_order_relaxed);
	}
	c->lease.set = NULL;
	c->lease.flags &= BAL_LEASE_HASHED | BAL_LEASE_SETCOOKIE;
	epset_unref(s);
}
