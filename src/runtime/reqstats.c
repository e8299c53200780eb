/* SPDX-License-Identifier: MIT */
/* reqstats: per-worker, per-generation request counters. A block is one open-
 * addressing table of series keyed by (listener, rule, backend) indices of its
 * image, sized from the image so that it cannot fill up (past a cap, the rest share
 * one overflow series), plus one latency histogram per rule. Invariant: only the
 * owning worker writes a block, and a slot's key is published (release) after its
 * counters are zero, so a reader never sees a half-made series. */
#include "config.h"

#include "runtime/reqstats.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "compile/image.h"
#include "runtime/conn.h"
#include "runtime/generation.h"

/* Most slots of one block's table (a power of two); at most half are used. */
#define REQSTATS_MAX_SLOTS 32768u
/* Indices are packed 21 bits each into a key; larger ones count as overflow. */
#define KEY_BITS 21
#define KEY_NONE_MAX ((1u << KEY_BITS) - 1)

/* Gateway latencies start well below a millisecond: finer low buckets than the
 * Prometheus client defaults, and room for slow uploads at the top. */
const double reqstats_bucket_le[REQSTATS_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
};

struct reqstats_series {
	_Atomic uint64_t key;      /* 0 = free */
	_Atomic uint64_t requests[REQSTATS_CLASSES];
	_Atomic uint64_t bytes_in, bytes_out;
};

struct reqstats_hist {
	_Atomic uint64_t buckets[REQSTATS_BUCKETS + 1];
	_Atomic uint64_t sum_us;
};

struct reqstats_block {
	struct reqstats *rs;
	struct generation *gen;    /* one reference; NULL for a worker's no-generation block */
	struct reqstats_block *prev, *next;   /* rs->live or rs->retired */
	bool retired;
	bool listed;               /* in one of rs's lists (no-generation blocks are not) */
	uint32_t mask;             /* table slots - 1 */
	uint32_t used;             /* owner only */
	uint32_t limit;            /* slots that may be used */
	uint32_t nhist;            /* rules + 1; hist[0] is "no rule" */
	struct reqstats_series overflow;
	struct reqstats_series *table;
	struct reqstats_hist *hist;
};

struct reqstats {
	pthread_mutex_t lock;      /* guards the lists and current */
	struct reqstats_block *live, *retired;
	struct generation *current;
	unsigned nworkers;
	struct reqstats_block **nogen;
};

static inline void bump(_Atomic uint64_t *p, uint64_t n)
{
	/* One writer: a plain load and store, no locked instruction. */
	atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline uint64_t rd(const _Atomic uint64_t *p)
{
	return atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed);
}

/* Keys a block may need: every (listener, rule, backend) that routing can produce,
 * counted with repetitions (an upper bound), plus "no rule" per listener and
 * "nothing" once. */
static size_t block_keys(const struct generation *g)
{
	const struct img_header *img = g->img;
	const struct img_match *matches = IMG_ARRAY(img, img->matches, struct img_match);
	size_t n = 1 + img->listeners.count;
	for (uint32_t i = 0; i < img->listeners.count; i++) {
		const struct img_listener *l = &g->listeners[i];
		uint32_t first = (l->matches.off - img->matches.off) / (uint32_t)sizeof(struct img_match);
		for (uint32_t m = 0; m < l->matches.count && first + m < img->matches.count; m++) {
			uint32_t r = matches[first + m].rule;
			if (r < img->rules.count)
				n += g->rules[r].backend_refs.count + 1;
		}
		if (n >= REQSTATS_MAX_SLOTS)
			break;
	}
	return n;
}

static struct reqstats_block *block_alloc(struct reqstats *rs, struct generation *g)
{
	size_t keys = g != NULL ? block_keys(g) : 1;
	uint32_t slots = 2;
	while (slots < 2 * keys && slots < REQSTATS_MAX_SLOTS)
		slots *= 2;
	uint32_t nhist = g != NULL ? g->img->rules.count + 1 : 1;
	size_t size = sizeof(struct reqstats_block) + slots * sizeof(struct reqstats_series) +
		      nhist * sizeof(struct reqstats_hist);
	struct reqstats_block *b = calloc(1, size);
	if (b == NULL)
		return NULL;
	b->rs = rs;
	b->table = (struct reqstats_series *)(void *)(b + 1);
	b->hist = (struct reqstats_hist *)(void *)(b->table + slots);
	b->mask = slots - 1;
	b->limit = slots / 2;
	b->nhist = nhist;
	if (g != NULL) {
		generation_ref(g);
		b->gen = g;
	}
	return b;
}

static void block_free(struct reqstats_block *b)
{
	if (b->gen != NULL)
		generation_unref(b->gen);
	free(b);
}

struct reqstats *reqstats_new(unsigned nworkers)
{
	struct reqstats *rs = calloc(1, sizeof *rs);
	if (rs == NULL)
		return NULL;
	pthread_mutex_init(&rs->lock, NULL);
	rs->nworkers = nworkers;
	rs->nogen = calloc(nworkers ? nworkers : 1, sizeof *rs->nogen);
	if (rs->nogen == NULL)
		goto fail;
	for (unsigned i = 0; i < nworkers; i++) {
		rs->nogen[i] = block_alloc(rs, NULL);
		if (rs->nogen[i] == NULL)
			goto fail;
	}
	return rs;
fail:
	reqstats_free(rs);
	return NULL;
}

static void free_list(struct reqstats_block *b)
{
	while (b != NULL) {
		struct reqstats_block *next = b->next;
		block_free(b);
		b = next;
	}
}

void reqstats_free(struct reqstats *rs)
{
	if (rs == NULL)
		return;
	free_list(rs->live);
	free_list(rs->retired);
	if (rs->nogen != NULL) {
		for (unsigned i = 0; i < rs->nworkers; i++)
			if (rs->nogen[i] != NULL)
				block_free(rs->nogen[i]);
		free(rs->nogen);
	}
	if (rs->current != NULL)
		generation_unref(rs->current);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

static void list_unlink(struct reqstats_block **head, struct reqstats_block *b)
{
	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		*head = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
	b->prev = b->next = NULL;
}

static void list_push(struct reqstats_block **head, struct reqstats_block *b)
{
	b->prev = NULL;
	b->next = *head;
	if (*head != NULL)
		(*head)->prev = b;
	*head = b;
}

struct reqstats_block *reqstats_block_new(struct reqstats *rs, struct generation *g)
{
	struct reqstats_block *b = block_alloc(rs, g);
	if (b == NULL)
		return NULL;
	pthread_mutex_lock(&rs->lock);
	list_push(&rs->live, b);
	b->listed = true;
	pthread_mutex_unlock(&rs->lock);
	return b;
}

void reqstats_block_retire(struct reqstats_block *b)
{
	if (b == NULL || !b->listed)
		return;
	struct reqstats *rs = b->rs;
	pthread_mutex_lock(&rs->lock);
	if (!b->retired) {
		list_unlink(&rs->live, b);
		b->retired = true;
		list_push(&rs->retired, b);
	}
	pthread_mutex_unlock(&rs->lock);
}

struct reqstats_block *reqstats_block_nogen(struct reqstats *rs, unsigned index)
{
	return index < rs->nworkers ? rs->nogen[index] : NULL;
}

void reqstats_set_current(struct reqstats *rs, struct generation *g)
{
	if (g != NULL)
		generation_ref(g);
	pthread_mutex_lock(&rs->lock);
	struct generation *old = rs->current;
	rs->current = g;
	pthread_mutex_unlock(&rs->lock);
	if (old != NULL)
		generation_unref(old);
}

/* ---- worker side ---- */

/* Index of p in the array at base of n records, or UINT32_MAX when p is not in it. */
#define INDEX_OF(p, base, n) \
	((p) != NULL && (base) != NULL && (p) >= (base) && (size_t)((p) - (base)) < (n) \
		 ? (uint32_t)((p) - (base)) : UINT32_MAX)

static inline uint64_t key_part(uint32_t index, bool *fits)
{
	if (index == UINT32_MAX)
		return 0;
	if (index >= KEY_NONE_MAX - 1)
		*fits = false;
	return (uint64_t)index + 1;
}

static struct reqstats_series *series_find(struct reqstats_block *b, uint32_t l, uint32_t r,
					   uint32_t be)
{
	bool fits = true;
	uint64_t key = 1ull << 63 | key_part(l, &fits) << (2 * KEY_BITS) |
		       key_part(r, &fits) << KEY_BITS | key_part(be, &fits);
	if (!fits)
		return &b->overflow;
	uint32_t i = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & b->mask;
	for (;;) {
		struct reqstats_series *s = &b->table[i];
		uint64_t k = atomic_load_explicit(&s->key, memory_order_relaxed);
		if (k == key)
			return s;
		if (k == 0) {
			if (b->used >= b->limit)
				return &b->overflow;
			b->used++;
			atomic_store_explicit(&s->key, key, memory_order_release);
			return s;
		}
		i = (i + 1) & b->mask;
	}
}

void reqstats_count(struct reqstats_block *b, const struct conn_reqlog *log)
{
	const struct generation *g = b->gen;
	uint32_t l = UINT32_MAX, r = UINT32_MAX, be = UINT32_MAX;
	if (g != NULL) {
		l = INDEX_OF(log->listener, g->listeners, g->img->listeners.count);
		r = INDEX_OF(log->rule, g->rules, g->img->rules.count);
		be = INDEX_OF(log->backend, g->backends, g->img->backends.count);
	}
	struct reqstats_series *s = series_find(b, l, r, be);
	int status = reqstats_status(log->status);
	int cls = status / 100 - 1;
	if (cls < 0)
		cls = 0;
	if (cls >= REQSTATS_CLASSES)
		cls = REQSTATS_CLASSES - 1;
	bump(&s->requests[cls], 1);
	bump(&s->bytes_in, log->bytes_in);
	bump(&s->bytes_out, log->bytes_out);

	struct reqstats_hist *h = &b->hist[r != UINT32_MAX && r + 1 < b->nhist ? r + 1 : 0];
	double d = log->t_end - log->t_start;
	if (!(d > 0))
		d = 0;
	unsigned k = 0;
	while (k < REQSTATS_BUCKETS && d > reqstats_bucket_le[k])
		k++;
	bump(&h->buckets[k], 1);
	bump(&h->sum_us, (uint64_t)(d * 1e6 + 0.5));
}

/* ---- main thread ---- */

static const char *img_name(const struct generation *g, struct img_str s)
{
	return img_str_ptr(g->img, s);
}

static void report_series(const struct reqstats_block *b, const struct reqstats_series *s,
			  uint64_t key, bool is_overflow, const struct reqstats_visitor *v,
			  bool final)
{
	uint64_t req[REQSTATS_CLASSES];
	uint64_t any = 0;
	for (int c = 0; c < REQSTATS_CLASSES; c++)
		any |= req[c] = rd(&s->requests[c]);
	if (any == 0)
		return;
	struct reqstats_labels lab = {"", "", "", ""};
	const struct generation *g = b->gen;
	if (is_overflow) {
		lab.route = "(other)";
	} else if (g != NULL) {
		uint32_t mask = KEY_NONE_MAX;
		uint32_t l = (uint32_t)(key >> (2 * KEY_BITS)) & mask;
		uint32_t r = (uint32_t)(key >> KEY_BITS) & mask;
		uint32_t be = (uint32_t)key & mask;
		if (l != 0 && l - 1 < g->img->listeners.count) {
			lab.gateway = img_name(g, g->listeners[l - 1].gateway);
			lab.listener = img_name(g, g->listeners[l - 1].name);
		}
		if (r != 0 && r - 1 < g->img->rules.count)
			lab.route = img_name(g, g->rules[r - 1].route);
		if (be != 0 && be - 1 < g->img->backends.count)
			lab.backend = img_name(g, g->backends[be - 1].name);
	}
	v->series(v->ctx, &lab, req, rd(&s->bytes_in), rd(&s->bytes_out), final);
}

static void report_block(const struct reqstats_block *b, const struct reqstats_visitor *v,
			 bool final)
{
	if (v->series != NULL) {
		for (uint32_t i = 0; i <= b->mask; i++) {
			const struct reqstats_series *s = &b->table[i];
			uint64_t key = atomic_load_explicit((_Atomic uint64_t *)&s->key,
							    memory_order_acquire);
			if (key != 0)
				report_series(b, s, key, false, v, final);
		}
		report_series(b, &b->overflow, 0, true, v, final);
	}
	if (v->hist == NULL)
		return;
	for (uint32_t i = 0; i < b->nhist; i++) {
		const struct reqstats_hist *h = &b->hist[i];
		uint64_t buckets[REQSTATS_BUCKETS + 1], any = 0;
		for (int k = 0; k <= REQSTATS_BUCKETS; k++)
			any |= buckets[k] = rd(&h->buckets[k]);
		if (any == 0)
			continue;
		const char *route = i > 0 && b->gen != NULL ? img_name(b->gen, b->gen->rules[i - 1].route) : "";
		v->hist(v->ctx, route, buckets, rd(&h->sum_us), final);
	}
}

/* Retired blocks have no writer any more: reported unlocked, then freed, which drops
 * their reference to the generation (and so its LMDB read transaction). */
static void collect_retired(struct reqstats_block *retired, const struct reqstats_visitor *v)
{
	for (struct reqstats_block *b = retired; b != NULL; b = b->next)
		report_block(b, v, true);
	free_list(retired);
}

void reqstats_collect_retired(struct reqstats *rs, const struct reqstats_visitor *v)
{
	pthread_mutex_lock(&rs->lock);
	struct reqstats_block *retired = rs->retired;
	rs->retired = NULL;
	pthread_mutex_unlock(&rs->lock);
	collect_retired(retired, v);
}

void reqstats_collect(struct reqstats *rs, const struct reqstats_visitor *v)
{
	pthread_mutex_lock(&rs->lock);
	struct reqstats_block *retired = rs->retired;
	rs->retired = NULL;
	for (const struct reqstats_block *b = rs->live; b != NULL; b = b->next)
		report_block(b, v, false);
	for (unsigned i = 0; i < rs->nworkers; i++)
		report_block(rs->nogen[i], v, false);
	const struct generation *g = rs->current;
	if (g != NULL && v->backend != NULL)
		for (uint32_t i = 0; i < g->img->backends.count; i++)
			v->backend(v->ctx, img_name(g, g->backends[i].name), g->backends[i].endpoints.count);
	pthread_mutex_unlock(&rs->lock);
	collect_retired(retired, v);
}
