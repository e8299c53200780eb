/* SPDX-License-Identifier: MIT */
/* epset: building endpoint sets on the main thread (image + resolver), carrying the
 * health records of addresses that remain over from the previous set, and the Maglev
 * table of consistent-hash clusters, built once per set rather than per request. */
#include "config.h"

#include "runtime/epset.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include "discover/resolver.h"
#include "runtime/generation.h"

uint64_t epset_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t epset_hash(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	/* splitmix64's finaliser: FNV's low bits alone spread short keys poorly */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

int epset_maglev(uint32_t *table, uint32_t size, const char *const *names, uint32_t n)
{
	/* Maglev (Eisenbud et al., NSDI 2016, §3.4): every endpoint walks its own
	 * permutation of the slots (offset + j * skip, size prime) and the endpoints take
	 * turns claiming their next free slot until all are taken. */
	uint64_t *offset = malloc(n * sizeof *offset), *skip = malloc(n * sizeof *skip);
	uint64_t *next = calloc(n, sizeof *next);
	if (offset == NULL || skip == NULL || next == NULL) {
		free(offset);
		free(skip);
		free(next);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t h = epset_hash(names[i], strlen(names[i]));
		offset[i] = (h >> 32) % size;
		skip[i] = (h & 0xffffffffu) % (size - 1) + 1;
	}
	for (uint32_t s = 0; s < size; s++)
		table[s] = UINT32_MAX;
	uint32_t filled = 0;
	while (filled < size) {
		for (uint32_t i = 0; i < n && filled < size; i++) {
			uint64_t c = (offset[i] + next[i] * skip[i]) % size;
			while (table[c] != UINT32_MAX) {
				next[i]++;
				c = (offset[i] + next[i] * skip[i]) % size;
			}
			table[c] = i;
			next[i]++;
			filled++;
		}
	}
	free(offset);
	free(skip);
	free(next);
	return 0;
}

bool epset_uneject_due(struct epcluster *cl, struct ep_state *e, uint64_t now_ms)
{
	unsigned f = atomic_load_explicit(&e->flags, memory_order_relaxed);
	if (!(f & EP_EJECTED))
		return f == 0;
	if (now_ms < atomic_load_explicit(&e->eject_until_ms, memory_order_relaxed))
		return false;
	/* Only the thread that clears the bit gives the slot back. */
	unsigned prev = atomic_fetch_and(&e->flags, ~EP_EJECTED);
	if (prev & EP_EJECTED)
		atomic_fetch_sub(&cl->st->ejected, 1);
	return (prev & ~EP_EJECTED) == 0;
}

static void ep_unref(struct ep_state *e)
{
	if (e != NULL && atomic_fetch_sub(&e->refs, 1) == 1)
		free(e);
}

static void cl_unref(struct cl_state *s)
{
	if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1) {
		free(s->key);
		free(s);
	}
}

void epset_unref(struct epset *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (uint32_t i = 0; i < s->nclusters; i++) {
		cl_unref(s->clusters[i].st);
		free(s->clusters[i].table);
	}
	for (uint32_t i = 0; i < s->neps; i++)
		ep_unref(s->eps[i]);
	free(s->clusters);
	free(s->eps);
	generation_unref(s->gen);
	free(s);
}

int epset_find(const struct epset *s, uint32_t backend, uint32_t policy)
{
	for (int pass = 0; pass < 2; pass++) {
		uint32_t lo = 0, hi = s->nclusters;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			const struct epcluster *c = &s->clusters[mid];
			if (c->backend < backend || (c->backend == backend && c->policy < policy))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < s->nclusters && s->clusters[lo].backend == backend && s->clusters[lo].policy == policy)
			return (int)lo;
		if (policy == IMG_NONE)
			break;
		policy = IMG_NONE;
	}
	return -1;
}

/* ---- building ---- */

struct pair {
	uint32_t backend, policy;
};

static int pair_cmp(const void *x, const void *y)
{
	const struct pair *a = x, *b = y;
	if (a->backend != b->backend)
		return a->backend < b->backend ? -1 : 1;
	return a->policy < b->policy ? -1 : a->policy > b->policy;
}

/* A socket address as upstream pools key it; false when unusable. */
static bool sockaddr_of(uint8_t family, const uint8_t *addr, uint16_t port, struct ep_state *e)
{
	char text[INET6_ADDRSTRLEN];
	memset(&e->addr, 0, sizeof e->addr);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&e->addr;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, 4);
		e->addrlen = sizeof *sin;
		inet_ntop(AF_INET, addr, text, sizeof text);
		snprintf(e->name, sizeof e->name, "%s:%u", text, port);
		snprintf(e->host, sizeof e->host, "%s", text);
		return true;
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&e->addr;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, 16);
		e->addrlen = sizeof *sin6;
		inet_ntop(AF_INET6, addr, text, sizeof text);
		snprintf(e->name, sizeof e->name, "[%s]:%u", text, port);
		snprintf(e->host, sizeof e->host, "[%s]", text);
		return true;
	}
	return false;
}

static bool sockaddr_unix(const char *path, size_t len, struct ep_state *e)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&e->addr;
	memset(&e->addr, 0, sizeof e->addr);
	if (len == 0 || len >= sizeof sun->sun_path)
		return false;
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len);
	e->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	snprintf(e->name, sizeof e->name, "unix:%s", path);
	snprintf(e->host, sizeof e->host, "localhost");
	return true;
}

/* Growable list of new endpoint states. */
struct eplist {
	struct ep_state **v;
	uint32_t n, cap;
};

static struct ep_state *eplist_add(struct eplist *l)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 16;
		struct ep_state **v = realloc(l->v, cap * sizeof *v);
		if (v == NULL)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	struct ep_state *e = calloc(1, sizeof *e);
	if (e == NULL)
		return NULL;
	atomic_init(&e->refs, 1);
	l->v[l->n++] = e;
	return e;
}

/* Appends the addresses of backend be to l (new records, not yet matched). */
static int add_addresses(struct eplist *l, const struct img_header *img, const struct img_backend *be,
			 const struct resolver *r)
{
	const struct img_endpoint *eps = IMG_ARRAY(img, be->endpoints, struct img_endpoint);
	for (uint32_t i = 0; i < be->endpoints.count; i++) {
		const struct img_endpoint *ep = &eps[i];
		if (ep->kind == IMG_ENDPOINT_FQDN) {
			const char *host = img_str_ptr(img, ep->path);
			struct resolver_addr ra[RESOLVER_MAX_ADDRS];
			size_t n = r != NULL ? resolver_addrs(r, host, ra, RESOLVER_MAX_ADDRS) : 0;
			for (size_t k = 0; k < n; k++) {
				struct ep_state *e = eplist_add(l);
				if (e == NULL)
					return -1;
				if (!sockaddr_of(ra[k].family, ra[k].addr, ep->port, e)) {
					l->n--;
					free(e);
					continue;
				}
				snprintf(e->host, sizeof e->host, "%s", host);
			}
			continue;
		}
		struct ep_state *e = eplist_add(l);
		if (e == NULL)
			return -1;
		bool ok = ep->kind == IMG_ENDPOINT_UNIX ? sockaddr_unix(img_str_ptr(img, ep->path), ep->path.len, e)
							: sockaddr_of(ep->family, ep->addr, ep->port, e);
		if (!ok) {
			l->n--;
			free(e);
		}
	}
	return 0;
}

static const struct epcluster *prev_cluster(const struct epset *prev, const char *key)
{
	if (prev == NULL)
		return NULL;
	for (uint32_t i = 0; i < prev->nclusters; i++)
		if (strcmp(prev->clusters[i].st->key, key) == 0)
			return &prev->clusters[i];
	return NULL;
}

/* Replaces fresh records by the previous set's record of the same address. */
static void carry_over(struct ep_state **v, uint32_t n, const struct epset *prev, const struct epcluster *pc)
{
	if (pc == NULL)
		return;
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t k = 0; k < pc->count; k++) {
			struct ep_state *old = prev->eps[pc->first + k];
			if (old->addrlen == v[i]->addrlen && memcmp(&old->addr, &v[i]->addr, old->addrlen) == 0) {
				bool taken = false;  /* one old record per new one (duplicates) */
				for (uint32_t j = 0; j < i && !taken; j++)
					taken = v[j] == old;
				if (taken)
					continue;
				free(v[i]);
				atomic_fetch_add(&old->refs, 1);
				v[i] = old;
				break;
			}
		}
	}
}

static int build_table(struct epcluster *cl, struct ep_state **eps)
{
	if (cl->pol == NULL || cl->pol->lb != IMG_LB_CONSISTENT_HASH || cl->count == 0)
		return 0;
	const char **names = malloc(cl->count * sizeof *names);
	cl->table_size = cl->pol->table_size;
	cl->table = malloc((size_t)cl->table_size * sizeof *cl->table);
	if (names == NULL || cl->table == NULL) {
		free(names);
		return -1;
	}
	for (uint32_t i = 0; i < cl->count; i++)
		names[i] = eps[cl->first + i]->name;
	int rc = epset_maglev(cl->table, cl->table_size, names, cl->count);
	free(names);
	return rc;
}

struct epset *epset_build(struct generation *g, const struct epset *prev, const struct resolver *r,
			  uint64_t version)
{
	const struct img_header *img = g->img;
	const struct img_rule *rules = g->rules;
	const struct img_policy *pols = IMG_ARRAY(img, img->policies, struct img_policy);
	const struct img_backend_ref *refs = IMG_ARRAY(img, img->backend_refs, struct img_backend_ref);
	size_t npairs = img->backends.count;
	for (uint32_t i = 0; i < img->rules.count; i++)
		if (rules[i].policy != IMG_NONE)
			npairs += rules[i].backend_refs.count;
	struct pair *pairs = malloc((npairs + 1) * sizeof *pairs);
	struct epset *s = calloc(1, sizeof *s);
	struct eplist l = {0};
	if (pairs == NULL || s == NULL)
		goto fail_early;
	size_t n = 0;
	for (uint32_t b = 0; b < img->backends.count; b++)
		pairs[n++] = (struct pair){b, IMG_NONE};
	for (uint32_t i = 0; i < img->rules.count; i++) {
		if (rules[i].policy == IMG_NONE || rules[i].policy >= img->policies.count)
			continue;
		uint32_t first = (rules[i].backend_refs.off - img->backend_refs.off) / sizeof *refs;
		for (uint32_t k = 0; k < rules[i].backend_refs.count; k++) {
			uint32_t b = refs[first + k].backend;
			if (b < img->backends.count)
				pairs[n++] = (struct pair){b, rules[i].policy};
		}
	}
	qsort(pairs, n, sizeof *pairs, pair_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || pair_cmp(&pairs[u - 1], &pairs[i]) != 0)
			pairs[u++] = pairs[i];

	atomic_init(&s->refs, 1);
	generation_ref(g);
	s->gen = g;
	s->version = version;
	s->clusters = calloc(u + 1, sizeof *s->clusters);
	if (s->clusters == NULL)
		goto fail;
	for (size_t i = 0; i < u; i++) {
		struct epcluster *cl = &s->clusters[i];
		const struct img_backend *be = &g->backends[pairs[i].backend];
		cl->backend = pairs[i].backend;
		cl->policy = pairs[i].policy;
		cl->pol = cl->policy != IMG_NONE ? &pols[cl->policy] : NULL;
		cl->backend_name = img_str_ptr(img, be->name);
		s->nclusters = (uint32_t)i + 1;
		const char *pname = cl->pol != NULL ? img_str_ptr(img, cl->pol->name) : "";
		size_t klen = strlen(cl->backend_name) + strlen(pname) + 2;
		char *key = malloc(klen);
		if (key == NULL)
			goto fail;
		snprintf(key, klen, "%s\n%s", cl->backend_name, pname);
		const struct epcluster *pc = prev_cluster(prev, key);
		if (pc != NULL) {
			free(key);
			cl->st = pc->st;
			atomic_fetch_add(&cl->st->refs, 1);
		} else {
			cl->st = calloc(1, sizeof *cl->st);
			if (cl->st == NULL) {
				free(key);
				goto fail;
			}
			atomic_init(&cl->st->refs, 1);
			cl->st->key = key;
		}
		cl->first = l.n;
		if (add_addresses(&l, img, be, r) < 0)
			goto fail;
		cl->count = l.n - cl->first;
		carry_over(l.v + cl->first, cl->count, prev, pc);
		/* Ejected endpoints of this cluster, as the carried records say. */
		unsigned ej = 0;
		for (uint32_t k = 0; k < cl->count; k++)
			ej += (atomic_load(&l.v[cl->first + k]->flags) & EP_EJECTED) != 0;
		atomic_store(&cl->st->ejected, ej);
		if (build_table(cl, l.v) < 0)
			goto fail;
	}
	s->eps = l.v;
	s->neps = l.n;
	free(pairs);
	return s;
fail:
	s->eps = l.v;
	s->neps = l.n;
	epset_unref(s);
	free(pairs);
	return NULL;
fail_early:
	free(pairs);
	free(s);
	return NULL;
}
