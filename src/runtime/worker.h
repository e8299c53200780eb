/* SPDX-License-Identifier: MIT */
/* worker: one data-plane thread with its own libev loop. It owns its accept watchers,
 * client connections, upstream pools and I/O buffers. The main thread talks to it only
 * through `pending`/`stop_requested` under rt_shared.lock plus an ev_async wake-up, and
 * waits on rt_shared.cond for the acknowledgement. */
#ifndef GW_RUNTIME_WORKER_H
#define GW_RUNTIME_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/generation.h"
#include "runtime/h1_parse.h"
#include "runtime/upstream.h"

struct regex_scratch;
struct reqlog;
struct reqlog_ring;
struct reqstats;
struct reqstats_block;
struct mirror_state;
struct udp_state;
struct wbal;

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* I/O buffers: one size, pooled per worker. Request and response heads longer than
 * this (up to max_header_bytes) get a one-off malloc'ed buffer. */
#define WORKER_BUF_SIZE 16384u

/* The settings the data plane reads, copied once (runtime_new). */
struct rt_limits {
	ev_tstamp header_timeout;  /* seconds */
	ev_tstamp idle_timeout;
	ev_tstamp connect_timeout;
	size_t max_header_bytes;
	size_t max_headers;
	uint64_t max_body_bytes;   /* 0 = unlimited */
	size_t max_connections;
	size_t head_cap;           /* buffer size for a head of max_header_bytes (> it) */
	size_t parse_headers;      /* entries of the parse scratch array */
	ev_tstamp request_timeout; /* whole request received from the client; 0 = off */
	uint64_t max_requests;     /* per client connection; 0 = unlimited */
	size_t max_request_line;   /* request line bytes (without CRLF); beyond: 414 */
};

/* Shared by the runtime and all its workers. */
struct rt_shared {
	pthread_mutex_t lock;      /* guards each worker's pending/stop/acked_seq */
	pthread_cond_t cond;       /* a worker acknowledged a message */
	atomic_size_t active;      /* client connections open, all workers */
	atomic_uint_fast64_t next_conn_id;
	ev_tstamp drain_timeout;   /* set under lock before the stop message */
	struct rt_limits lim;
	struct reqstats *stats;    /* owned by the runtime: request counters */
	struct reqlog *reqlog;     /* owned by the runtime: access log records */
};

/* A listening socket as the main thread hands it to one worker. */
struct listen_spec {
	int fd;                    /* borrowed: the main thread closes it */
	uint32_t key;              /* stable id of (family, addr, port) across generations */
	uint32_t bind;             /* index into the generation's binds */
};

/* One worker's view of one generation. Allocated by the main thread in one block,
 * owned by the worker once published. */
struct wgen {
	struct generation *gen;    /* one reference */
	uint32_t users;            /* requests in flight on this worker that use gen */
	bool retired;              /* no longer current: freed when users drops to 0 */
	struct wgen *next;         /* worker's retired list */
	struct listen_spec *listen; size_t nlisten;
	struct reqstats_block *stats; /* owned: this worker's counts on gen, retired with it */
	struct wbal *bal;          /* owned: endpoint set of gen and this worker's picker state
				      (runtime/balancer.h); replaced by worker_post_bal */
};

struct wlisten;
struct conn;

struct worker {
	struct rt_shared *sh;      /* borrowed */
	const struct rt_limits *lim;
	unsigned index;
	pthread_t thread;
	bool thread_started;
	struct ev_loop *loop;      /* owned */
	ev_async wake;

	/* guarded by sh->lock */
	struct wgen *pending;
	bool stop_requested;
	uint64_t msg_seq;          /* last message posted */
	uint64_t acked_seq;        /* last message handled */
	struct wbal *pending_bal;  /* new endpoint set for the current generation, or NULL */

	/* worker thread only */
	struct wgen *cur;          /* new requests use this */
	struct wgen *retired;
	struct wlisten *listens;
	bool accept_paused;
	bool draining;
	ev_tstamp accept_warned;   /* last "accept: Too many open files" logged */
	ev_timer accept_timer;     /* retry accepting after EMFILE / max_connections */
	ev_timer drain_timer;
	ev_timer sweep_timer;      /* closes upstream connections idle too long */
	struct conn *conns;        /* open client connections (list) */
	size_t nconns;
	struct conn *free_conns;   /* cache of released structs */
	size_t nfree_conns;
	void *free_bufs;           /* cache of WORKER_BUF_SIZE buffers (singly linked) */
	size_t nfree_bufs;
	struct upool_table pools;
	uint32_t rng;              /* xorshift32 state, never 0 */
	struct h1_header *hdrs;    /* parse scratch: one head at a time */
	struct regex_scratch *rx;  /* owned: PCRE2 match data for the router */
	struct reqlog_ring *logring;        /* borrowed from sh->reqlog */
	struct reqstats_block *stats_nogen; /* borrowed: requests without a generation */
	struct mirror_state *mirrors;       /* owned, lazily: RequestMirror copies (mirror.c) */
	struct udp_state *udp;              /* owned, lazily: UDPRoute sessions (udp.c) */
};

/* Main thread. */
struct worker *worker_new(struct rt_shared *sh, unsigned index);
int worker_start(struct worker *w);
/* Hands a message to the worker: a new generation (may be NULL) and/or stop. Returns
 * the message's sequence number, acknowledged once w->acked_seq reaches it. */
uint64_t worker_post(struct worker *w, struct wgen *wg, bool stop);
void worker_join(struct worker *w);
/* Hands the worker a new endpoint set of its current generation (DNS changes; owned by
 * the worker from here; dropped if the worker moved to another generation). */
void worker_post_bal(struct worker *w, struct wbal *b);
void worker_free(struct worker *w);
/* A worker view of g (takes a reference) with room for nlisten specs. NULL on OOM. */
struct wgen *wgen_new(struct generation *g, size_t nlisten);

/* Worker thread. */
void wgen_free(struct worker *w, struct wgen *wg);
/* Pins the current generation for one request; NULL before the first generation. */
struct wgen *worker_request_begin(struct worker *w);
void worker_request_end(struct worker *w, struct wgen *wg);
/* The bind index of listening key in the current generation; false if gone. */
bool worker_listen_bind(const struct worker *w, uint32_t key, uint32_t *bind);
/* A client connection closed: maybe resume accepting, maybe finish draining. */
void worker_conn_closed(struct worker *w);

/* A buffer of at least size bytes; *cap receives its real size. NULL on OOM. */
char *worker_buf_get(struct worker *w, size_t size, uint32_t *cap);
void worker_buf_put(struct worker *w, char *buf, uint32_t cap);
/* Moves the first used bytes of *buf into a buffer of at least size bytes and gives
 * the old one back. Returns 0, or -1 (nothing changed) when no buffer could be had. */
int worker_buf_grow(struct worker *w, char **buf, uint32_t *cap, size_t used, size_t size);

static inline uint32_t worker_rand(struct worker *w)
{
	uint32_t x = w->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return w->rng = x;
}

#endif
