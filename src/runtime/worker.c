/* SPDX-License-Identifier: MIT */
/* worker: the thread, its loop, the generation switch and the drain. A generation
 * switch happens between two callbacks, so a request sees one generation from its
 * routing to its end (it pins it); keep-alive connections take the new one at their
 * next request. */
#include "config.h"

#include "runtime/worker.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/balancer.h"
#include "runtime/conn.h"
#include "runtime/epset.h"
#include "runtime/listener.h"
#include "runtime/udp.h"
#include "runtime/mirror.h"
#include "runtime/regex.h"
#include "runtime/reqstats.h"

/* Free I/O buffers kept per worker (the rest go back to malloc). */
#define WORKER_BUF_CACHE 64
/* Period of the sweep of idle upstream connections (seconds). */
#define WORKER_SWEEP_PERIOD 5.0

char *worker_buf_get(struct worker *w, size_t size, uint32_t *cap)
{
	char *b;
	if (size <= WORKER_BUF_SIZE) {
		if (w->free_bufs != NULL) {
			b = w->free_bufs;
			memcpy(&w->free_bufs, b, sizeof(void *));
			w->nfree_bufs--;
		} else {
			b = malloc(WORKER_BUF_SIZE);
		}
		*cap = WORKER_BUF_SIZE;
	} else {
		b = malloc(size);
		*cap = (uint32_t)size;
	}
	if (b == NULL)
		*cap = 0;
	return b;
}

void worker_buf_put(struct worker *w, char *buf, uint32_t cap)
{
	if (cap == WORKER_BUF_SIZE && w->nfree_bufs < WORKER_BUF_CACHE) {
		memcpy(buf, &w->free_bufs, sizeof(void *));
		w->free_bufs = buf;
		w->nfree_bufs++;
		return;
	}
	free(buf);
}

int worker_buf_grow(struct worker *w, char **buf, uint32_t *cap, size_t used, size_t size)
{
	uint32_t bigger_cap;
	char *bigger = worker_buf_get(w, size, &bigger_cap);
	if (bigger == NULL)
		return -1;
	memcpy(bigger, *buf, used);
	worker_buf_put(w, *buf, *cap);
	*buf = bigger;
	*cap = bigger_cap;
	return 0;
}

struct wgen *wgen_new(struct generation *g, size_t nlisten)
{
	struct wgen *wg = calloc(1, sizeof(struct wgen) + nlisten * sizeof(struct listen_spec));
	if (wg == NULL)
		return NULL;
	wg->listen = (struct listen_spec *)(void *)(wg + 1);
	wg->nlisten = nlisten;
	generation_ref(g);
	wg->gen = g;
	return wg;
}

void wgen_free(struct worker *w, struct wgen *wg)
{
	(void)w;
	if (wg == NULL)
		return;
	reqstats_block_retire(wg->stats);
	wbal_free(wg->bal);
	generation_unref(wg->gen);
	free(wg);
}

struct wgen *worker_request_begin(struct worker *w)
{
	struct wgen *wg = w->cur;
	if (wg != NULL)
		wg->users++;
	return wg;
}

void worker_request_end(struct worker *w, struct wgen *wg)
{
	if (--wg->users > 0 || !wg->retired)
		return;
	for (struct wgen **pp = &w->retired; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == wg) {
			*pp = wg->next;
			break;
		}
	}
	wgen_free(w, wg);
}

bool worker_listen_bind(const struct worker *w, uint32_t key, uint32_t *bind)
{
	for (const struct wlisten *l = w->listens; l != NULL; l = l->next) {
		if (l->key == key) {
			*bind = l->bind;
			return true;
		}
	}
	return false;
}

void worker_conn_closed(struct worker *w)
{
	if (w->accept_paused)
		listener_resume(w);
	if (w->draining && w->nconns == 0)
		ev_break(w->loop, EVBREAK_ALL);
}

/* Adopts wg: watchers follow its listening sockets, new requests use it. */
static void worker_switch(struct worker *w, struct wgen *wg)
{
	for (struct wlisten *l = w->listens; l != NULL; l = l->next)
		l->seen = false;
	for (size_t i = 0; i < wg->nlisten; i++) {
		const struct listen_spec *s = &wg->listen[i];
		struct wlisten *l = w->listens;
		while (l != NULL && l->key != s->key)
			l = l->next;
		if (w->draining)
			break;
		if (l == NULL)
			l = listener_watch(w, s->fd, s->key, s->bind);
		if (l == NULL) {
			log_warnx("worker %u: out of memory: not accepting on a listener", w->index);
			continue;
		}
		l->bind = s->bind;
		l->seen = true;
	}
	for (struct wlisten *l = w->listens, *next; l != NULL; l = next) {
		next = l->next;
		if (!l->seen)
			listener_unwatch(w, l);
	}

	struct wgen *old = w->cur;
	w->cur = wg;
	if (old != NULL) {
		if (old->users == 0) {
			wgen_free(w, old);
		} else {
			old->retired = true;
			old->next = w->retired;
			w->retired = old;
		}
	}
	/* Idle connections of a listener that went away end now; busy ones at their
	 * next request. */
	uint32_t bind;
	for (struct conn *c = w->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->state == CONN_IDLE && !worker_listen_bind(w, c->listen_key, &bind))
			conn_close(c, "listener removed");
	}
	upool_sweep(w, ev_now(w->loop));
}

static void worker_on_drain_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = container_of(t, struct worker, drain_timer);
	(void)revents;
	while (w->conns != NULL)
		conn_close(w->conns, "drain timeout");
	ev_break(loop, EVBREAK_ALL);
}

static void worker_begin_drain(struct worker *w, ev_tstamp drain)
{
	w->draining = true;
	while (w->listens != NULL)
		listener_unwatch(w, w->listens);
	ev_timer_stop(w->loop, &w->accept_timer);
	w->accept_paused = false;
	upool_close_idle(w);
	udp_fini(w);  /* UDP sessions have no request to finish */
	for (struct conn *c = w->conns, *next; c != NULL; c = next) {
		next = c->next;
		conn_drain(c);
	}
	ev_timer_set(&w->drain_timer, drain, 0.);
	ev_timer_start(w->loop, &w->drain_timer);
}

static void worker_on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = container_of(a, struct worker, wake);
	(void)revents;
	pthread_mutex_lock(&w->sh->lock);
	struct wgen *wg = w->pending;
	w->pending = NULL;
	bool stop = w->stop_requested;
	struct wbal *bal = w->pending_bal;
	w->pending_bal = NULL;
	uint64_t seq = w->msg_seq;
	ev_tstamp drain = w->sh->drain_timeout;
	pthread_mutex_unlock(&w->sh->lock);

	if (wg != NULL)
		worker_switch(w, wg);
	if (bal != NULL && w->cur != NULL && bal->set->gen == w->cur->gen) {
		wbal_free(w->cur->bal);  /* requests in flight keep their lease on the old set */
		w->cur->bal = bal;
	} else {
		wbal_free(bal);
	}
	if (stop && !w->draining)
		worker_begin_drain(w, drain);

	pthread_mutex_lock(&w->sh->lock);
	w->acked_seq = seq;
	pthread_cond_broadcast(&w->sh->cond);
	pthread_mutex_unlock(&w->sh->lock);
	if (w->draining && w->nconns == 0)
		ev_break(loop, EVBREAK_ALL);
}

static void worker_on_accept_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = container_of(t, struct worker, accept_timer);
	(void)loop;
	(void)revents;
	listener_resume(w);
}

static void worker_on_sweep(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = container_of(t, struct worker, sweep_timer);
	(void)revents;
	upool_sweep(w, ev_now(loop));
}

struct worker *worker_new(struct rt_shared *sh, unsigned index)
{
	struct worker *w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	w->sh = sh;
	w->lim = &sh->lim;
	w->index = index;
	w->hdrs = calloc(sh->lim.parse_headers, sizeof *w->hdrs);
	w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV);
	w->rx = regex_scratch_new();
	if (w->hdrs == NULL || w->loop == NULL || w->rx == NULL) {
		worker_free(w);
		return NULL;
	}
	uint32_t seed = (uint32_t)time(NULL) ^ (uint32_t)getpid() * 2654435761u ^ (index + 1) * 40503u;
	w->rng = seed != 0 ? seed : 1;
	ev_async_init(&w->wake, worker_on_wake);
	ev_async_start(w->loop, &w->wake);
	ev_init(&w->accept_timer, worker_on_accept_retry);
	ev_init(&w->drain_timer, worker_on_drain_timeout);
	ev_timer_init(&w->sweep_timer, worker_on_sweep, WORKER_SWEEP_PERIOD, WORKER_SWEEP_PERIOD);
	ev_timer_start(w->loop, &w->sweep_timer);
	return w;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	ev_run(w->loop, 0);

	/* Drained: every connection is closed (conn_close unpinned its generation). */
	while (w->conns != NULL)
		conn_close(w->conns, "worker stopped");
	udp_fini(w);  /* before the generations its sessions pin */
	while (w->listens != NULL)
		listener_unwatch(w, w->listens);
	wgen_free(w, w->cur);
	w->cur = NULL;
	while (w->retired != NULL) {
		struct wgen *wg = w->retired;
		w->retired = wg->next;
		wgen_free(w, wg);
	}
	mirror_fini(w);
	upool_table_fini(w);
	conn_cache_free(w);
	while (w->free_bufs != NULL) {
		char *b = w->free_bufs;
		memcpy(&w->free_bufs, b, sizeof(void *));
		free(b);
	}
	w->nfree_bufs = 0;
	ev_timer_stop(w->loop, &w->sweep_timer);
	ev_timer_stop(w->loop, &w->drain_timer);
	ev_timer_stop(w->loop, &w->accept_timer);
	ev_async_stop(w->loop, &w->wake);
	return NULL;
}

int worker_start(struct worker *w)
{
	/* Signals belong to the main thread: the worker starts with all blocked. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -1;
	w->thread_started = true;
	return 0;
}

uint64_t worker_post(struct worker *w, struct wgen *wg, bool stop)
{
	pthread_mutex_lock(&w->sh->lock);
	if (wg != NULL) {
		/* Not taken yet (the worker has not run since): it never will be. */
		if (w->pending != NULL)
			wgen_free(w, w->pending);
		w->pending = wg;
	}
	if (stop)
		w->stop_requested = true;
	uint64_t seq = ++w->msg_seq;
	pthread_mutex_unlock(&w->sh->lock);
	ev_async_send(w->loop, &w->wake);
	return seq;
}

void worker_post_bal(struct worker *w, struct wbal *b)
{
	pthread_mutex_lock(&w->sh->lock);
	struct wbal *old = w->pending_bal;
	w->pending_bal = b;
	++w->msg_seq;
	pthread_mutex_unlock(&w->sh->lock);
	/* Never taken (the worker has not run since): its pools are all NULL. */
	wbal_free(old);
	ev_async_send(w->loop, &w->wake);
}

void worker_join(struct worker *w)
{
	if (w->thread_started) {
		pthread_join(w->thread, NULL);
		w->thread_started = false;
	}
}

void worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	worker_join(w);
	if (w->pending != NULL)
		wgen_free(w, w->pending);
	wbal_free(w->pending_bal);
	if (w->cur != NULL)  /* never started: nothing else was set up */
		wgen_free(w, w->cur);
	if (w->loop != NULL)
		ev_loop_destroy(w->loop);
	free(w->hdrs);
	regex_scratch_free(w->rx);
	free(w);
}
