/* SPDX-License-Identifier: MIT */
/* runtime: the data plane seen from the main thread. It keeps the set of bound
 * (family, address, port) keys, each with one SO_REUSEPORT socket per worker, and
 * hands every generation to every worker, waiting until all have switched. */
#include "config.h"

#include "runtime/runtime.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/balancer.h"
#include "runtime/epset.h"
#include "runtime/generation.h"
#include "runtime/health.h"
#include "runtime/listener.h"
#include "runtime/reqlog.h"
#include "runtime/reqstats.h"
#include "runtime/tls_ctx.h"
#include "runtime/worker.h"

struct rt_key {
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	uint32_t key;              /* stable id, as workers know it */
	int *fds;                  /* owned: one listening socket per worker */
	bool used;                 /* wanted by the generation being applied */
	uint32_t bind;             /* its index there */
	bool dgram;                /* UDP sockets (UDPRoute); a TCP key may share the port */
};

struct runtime {
	struct rt_shared sh;
	unsigned nworkers;
	struct worker **workers;
	bool started, stopped;
	struct rt_key *keys;       /* owned */
	size_t nkeys, capkeys;
	uint32_t next_key;
	struct generation *gen;    /* the current one (one reference) */
	atomic_uint_fast64_t gen_number;
	atomic_size_t nbound;
	struct health *health;     /* owned: endpoint sets, health checks (runtime/health.h) */
};

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

struct runtime *runtime_new(const struct settings *s)
{
	struct runtime *rt = calloc(1, sizeof *rt);
	if (rt == NULL)
		return NULL;
	struct rt_limits *lim = &rt->sh.lim;
	lim->header_timeout = (ev_tstamp)s->header_timeout_ms / 1000.;
	lim->idle_timeout = (ev_tstamp)s->idle_timeout_ms / 1000.;
	lim->connect_timeout = (ev_tstamp)s->connect_timeout_ms / 1000.;
	lim->max_header_bytes = s->max_header_bytes > 0 ? (size_t)s->max_header_bytes : 1;
	lim->max_headers = s->max_headers > 0 ? (size_t)s->max_headers : 1;
	lim->max_body_bytes = s->max_body_bytes;
	lim->max_connections = s->max_connections > 0 ? (size_t)s->max_connections : 1;
	/* One byte more than the limit, so that "too large" is seen, not waited for. */
	lim->head_cap = round_up(lim->max_header_bytes + 1, 4096);
	if (lim->head_cap < WORKER_BUF_SIZE)
		lim->head_cap = WORKER_BUF_SIZE;
	lim->parse_headers = lim->max_headers > 128 ? lim->max_headers : 128;
	lim->request_timeout = (ev_tstamp)s->request_timeout_ms / 1000.;
	/* The head is part of the request. */
	if (lim->request_timeout > 0 && lim->request_timeout < lim->header_timeout)
		lim->header_timeout = lim->request_timeout;
	lim->max_requests = s->max_requests_per_connection;
	lim->max_request_line = s->max_request_line_bytes > 0 ? (size_t)s->max_request_line_bytes : 1;
	pthread_mutex_init(&rt->sh.lock, NULL);
	pthread_cond_init(&rt->sh.cond, NULL);
	atomic_init(&rt->sh.active, 0);
	atomic_init(&rt->sh.next_conn_id, 0);
	atomic_init(&rt->gen_number, 0);
	atomic_init(&rt->nbound, 0);
	rt->nworkers = s->workers > 0 ? (unsigned)s->workers : 1;
	rt->workers = calloc(rt->nworkers, sizeof *rt->workers);
	rt->health = health_new();
	if (rt->workers == NULL || rt->health == NULL)
		goto fail;
	rt->sh.stats = reqstats_new(rt->nworkers);
	rt->sh.reqlog = reqlog_new(rt->nworkers, s->access != NULL,
				   s->access_format == ACCESS_FORMAT_COMBINED, REQLOG_RING_BYTES);
	if (rt->sh.stats == NULL || rt->sh.reqlog == NULL)
		goto fail;
	for (unsigned i = 0; i < rt->nworkers; i++) {
		rt->workers[i] = worker_new(&rt->sh, i);
		if (rt->workers[i] == NULL)
			goto fail;
		rt->workers[i]->logring = reqlog_ring(rt->sh.reqlog, i);
		rt->workers[i]->stats_nogen = reqstats_block_nogen(rt->sh.stats, i);
	}
	return rt;
fail:
	runtime_free(rt);
	return NULL;
}

int runtime_start(struct runtime *rt)
{
	for (unsigned i = 0; i < rt->nworkers; i++) {
		if (worker_start(rt->workers[i]) < 0) {
			log_error("cannot start worker thread %u", i);
			rt->started = i > 0;
			return -1;
		}
	}
	rt->started = true;
	return 0;
}

/* Posts to every worker and, once they run, waits until each handled it. */
static void runtime_post_all(struct runtime *rt, struct wgen **wgs, bool stop)
{
	uint64_t *seq = calloc(rt->nworkers, sizeof *seq);
	if (seq == NULL)
		fatalx("out of memory");
	for (unsigned i = 0; i < rt->nworkers; i++)
		seq[i] = worker_post(rt->workers[i], wgs != NULL ? wgs[i] : NULL, stop);
	if (rt->started) {
		pthread_mutex_lock(&rt->sh.lock);
		for (unsigned i = 0; i < rt->nworkers; i++) {
			struct worker *w = rt->workers[i];
			while (w->thread_started && w->acked_seq < seq[i])
				pthread_cond_wait(&rt->sh.cond, &rt->sh.lock);
		}
		pthread_mutex_unlock(&rt->sh.lock);
	}
	free(seq);
}

static void key_close(struct runtime *rt, struct rt_key *k)
{
	for (unsigned i = 0; i < rt->nworkers; i++)
		if (k->fds[i] >= 0)
			close(k->fds[i]);
	free(k->fds);
	k->fds = NULL;
}

/* Opens the sockets of a new key, one per worker. */
static int key_open(struct runtime *rt, const struct img_bind *b, uint32_t bind,
		    char *err, size_t errlen)
{
	if (rt->nkeys == rt->capkeys) {
		size_t cap = rt->capkeys ? rt->capkeys * 2 : 8;
		struct rt_key *k = realloc(rt->keys, cap * sizeof *k);
		if (k == NULL)
			fatalx("out of memory");
		rt->keys = k;
		rt->capkeys = cap;
	}
	struct rt_key *k = &rt->keys[rt->nkeys];
	memset(k, 0, sizeof *k);
	k->family = b->family;
	k->dgram = b->protocol == IMG_PROTO_UDP;
	k->port = b->port;
	memcpy(k->addr, b->addr, 16);
	k->fds = malloc(rt->nworkers * sizeof *k->fds);
	if (k->fds == NULL)
		fatalx("out of memory");
	for (unsigned i = 0; i < rt->nworkers; i++)
		k->fds[i] = -1;
	for (unsigned i = 0; i < rt->nworkers; i++) {
		k->fds[i] = b->protocol == IMG_PROTO_UDP ? listener_open_udp(b->family, b->addr, b->port, err, errlen)
							 : listener_open(b->family, b->addr, b->port, err, errlen);
		if (k->fds[i] < 0) {
			key_close(rt, k);
			return -1;
		}
	}
	k->key = ++rt->next_key;
	k->used = true;
	k->bind = bind;
	rt->nkeys++;
	return 0;
}

int runtime_apply(struct runtime *rt, struct store_snapshot *snap, char *err, size_t errlen)
{
	char msg[256];
	int rc = 0;
	if (errlen > 0)
		err[0] = '\0';
	struct generation *g = generation_new(snap, msg, sizeof msg);
	if (g == NULL) {
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	/* Certificates are parsed here, before any worker sees g (runtime/tls_ctx.h). */
	g->tls = tls_gen_new(g, rt->gen != NULL ? rt->gen->tls : NULL);

	/* Keys wanted by g: keep the sockets of those already bound, bind the others. */
	for (size_t i = 0; i < rt->nkeys; i++)
		rt->keys[i].used = false;
	for (uint32_t b = 0; b < g->img->binds.count; b++) {
		const struct img_bind *ib = &g->binds[b];
		struct rt_key *k = NULL;
		for (size_t i = 0; i < rt->nkeys; i++) {
			struct rt_key *x = &rt->keys[i];
			if (x->family == ib->family && x->port == ib->port &&
			    x->dgram == (ib->protocol == IMG_PROTO_UDP) &&
			    memcmp(x->addr, ib->addr, 16) == 0) {
				k = x;
				break;
			}
		}
		if (k != NULL) {
			if (!k->used) {
				k->used = true;
				k->bind = b;
			}
			continue;
		}
		if (key_open(rt, ib, b, msg, sizeof msg) < 0) {
			log_error("cannot listen on %s", msg);
			if (rc == 0)
				snprintf(err, errlen, "%s", msg);
			rc = -1;
		}
	}

	size_t nlisten = 0;
	for (size_t i = 0; i < rt->nkeys; i++)
		nlisten += rt->keys[i].used;
	struct wgen **wgs = calloc(rt->nworkers, sizeof *wgs);
	struct epset *eps = health_update(rt->health, g);
	if (wgs == NULL || eps == NULL)
		fatalx("out of memory");
	for (unsigned w = 0; w < rt->nworkers; w++) {
		wgs[w] = wgen_new(g, nlisten);
		if (wgs[w] == NULL || (wgs[w]->stats = reqstats_block_new(rt->sh.stats, g)) == NULL ||
		    (wgs[w]->bal = wbal_new(eps)) == NULL)
			fatalx("out of memory");
		size_t n = 0;
		for (size_t i = 0; i < rt->nkeys; i++) {
			const struct rt_key *k = &rt->keys[i];
			if (!k->used)
				continue;
			wgs[w]->listen[n].fd = k->fds[w];
			wgs[w]->listen[n].key = k->key;
			wgs[w]->listen[n].bind = k->bind;
			n++;
		}
	}
	runtime_post_all(rt, wgs, false);
	free(wgs);
	epset_unref(eps);

	/* Every worker stopped watching the keys g does not want: close them. */
	size_t kept = 0;
	for (size_t i = 0; i < rt->nkeys; i++) {
		if (rt->keys[i].used)
			rt->keys[kept++] = rt->keys[i];
		else
			key_close(rt, &rt->keys[i]);
	}
	rt->nkeys = kept;
	atomic_store(&rt->nbound, kept);

	struct generation *old = rt->gen;
	rt->gen = g;
	atomic_store(&rt->gen_number, g->number);
	reqstats_set_current(rt->sh.stats, g);
	generation_unref(old);
	return rc;
}

void runtime_set_main_loop(struct runtime *rt, struct ev_loop *loop)
{
	health_set_loop(rt->health, loop);
}

void runtime_set_resolver(struct runtime *rt, const struct resolver *r)
{
	health_set_resolver(rt->health, r);
}

int runtime_endpoints_changed(struct runtime *rt)
{
	if (rt->gen == NULL)
		return 0;
	struct epset *eps = health_update(rt->health, rt->gen);
	if (eps == NULL)
		return -1;
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct wbal *b = wbal_new(eps);
		if (b != NULL)
			worker_post_bal(rt->workers[i], b);
	}
	epset_unref(eps);
	return 0;
}

struct epset *runtime_epset(struct runtime *rt)
{
	return health_current(rt->health);
}

uint64_t runtime_generation(const struct runtime *rt)
{
	return atomic_load(&((struct runtime *)rt)->gen_number);
}

size_t runtime_bound_sockets(const struct runtime *rt)
{
	return atomic_load(&((struct runtime *)rt)->nbound);
}

size_t runtime_active_connections(const struct runtime *rt)
{
	return atomic_load(&((struct runtime *)rt)->sh.active);
}

struct reqstats *runtime_stats(struct runtime *rt)
{
	return rt->sh.stats;
}

struct reqlog *runtime_reqlog(struct runtime *rt)
{
	return rt->sh.reqlog;
}

void runtime_shutdown(struct runtime *rt, uint64_t drain_ms)
{
	if (rt->stopped)
		return;
	rt->stopped = true;
	pthread_mutex_lock(&rt->sh.lock);
	rt->sh.drain_timeout = (ev_tstamp)drain_ms / 1000.;
	pthread_mutex_unlock(&rt->sh.lock);
	/* Workers stop watching first; then the sockets close, so new connections are
	 * refused while the accepted ones drain. */
	runtime_post_all(rt, NULL, true);
	for (size_t i = 0; i < rt->nkeys; i++)
		key_close(rt, &rt->keys[i]);
	rt->nkeys = 0;
	atomic_store(&rt->nbound, 0);
	for (unsigned i = 0; i < rt->nworkers; i++)
		worker_join(rt->workers[i]);
}

void runtime_free(struct runtime *rt)
{
	if (rt == NULL)
		return;
	if (rt->started)
		runtime_shutdown(rt, 0);
	if (rt->workers != NULL) {
		for (unsigned i = 0; i < rt->nworkers; i++)
			worker_free(rt->workers[i]);
		free(rt->workers);
	}
	for (size_t i = 0; i < rt->nkeys; i++)
		key_close(rt, &rt->keys[i]);
	free(rt->keys);
	generation_unref(rt->gen);
	health_free(rt->health);
	/* After the workers: their last blocks were retired as they freed their views. */
	reqstats_free(rt->sh.stats);
	reqlog_free(rt->sh.reqlog);
	tls_global_fini();  /* after the last TLS context went with its generation */
	pthread_mutex_destroy(&rt->sh.lock);
	pthread_cond_destroy(&rt->sh.cond);
	free(rt);
}
