/* SPDX-License-Identifier: MIT */
/* epset: the endpoint sets of one generation: per cluster (a backend as seen through one
 * BackendTrafficPolicy, as Envoy makes a cluster per route rule backend), the concrete
 * socket addresses (static ones from the image, fqdn ones from the resolver) with their
 * health and counters. Immutable once built (on the main thread) and reference
 * counted: workers pick from it, requests in flight hold it. The health records are
 * shared between successive sets, so a DNS change or a reload keeps the state (and the
 * pooled connections, keyed by address) of every address that remains. */
#ifndef GW_RUNTIME_EPSET_H
#define GW_RUNTIME_EPSET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "compile/image_policy.h"

struct generation;
struct resolver;

/* ep_state.flags */
#define EP_UNHEALTHY 1u   /* failed active health checks: set and cleared by the main thread */
#define EP_EJECTED 2u     /* outlier detection: set by a worker, cleared after the ejection
			   * time (by the main thread's sweep or the next worker to look) */

#define EP_NAME_MAX 64

/* One address of one cluster. Atomics are shared by every thread; the hc_* run
 * counters belong to the main thread. */
struct ep_state {
	atomic_uint refs;
	atomic_uint flags;                 /* EP_* */
	atomic_uint active;                /* requests in flight to it (LeastRequest) */
	atomic_uint cons_5xx, cons_gateway, cons_local; /* consecutive errors */
	atomic_uint ejections;             /* ejections in a row: multiplies the time */
	atomic_uint_fast64_t eject_until_ms; /* monotonic clock, valid with EP_EJECTED */
	atomic_uint_fast64_t hc_ok, hc_fail, ejected_total; /* counters for metrics */
	uint32_t hc_run_ok, hc_run_fail;   /* main thread: current run of check results */
	bool hc_checked;                   /* main thread: a check finished once */
	bool hc_busy;                      /* main thread: a check is in flight */
	uint64_t hc_next_ms;               /* main thread: when the next check is due */
	socklen_t addrlen;
	struct sockaddr_storage addr;      /* zero-padded, as upstream pools key it */
	char name[EP_NAME_MAX];            /* "10.0.0.1:8080", "[::1]:80", "unix:/path" */
	char host[EP_NAME_MAX];            /* Host of health checks: hostname or address */
};

/* Per cluster, shared by successive sets: the circuit breaker's counters. */
struct cl_state {
	atomic_uint refs;
	atomic_uint active;                /* requests in flight */
	atomic_uint pending;               /* of them, waiting for a new connection */
	atomic_uint retries;               /* of them, rule retries */
	atomic_uint ejected;               /* endpoints with EP_EJECTED */
	atomic_uint_fast64_t overflow;     /* requests refused by the circuit breaker */
	char *key;                         /* owned: "backend name\npolicy name" */
};

struct epcluster {
	struct cl_state *st;               /* one reference */
	uint32_t backend;                  /* index into the image's backends */
	uint32_t policy;                   /* index into its policies, or IMG_NONE */
	const struct img_policy *pol;      /* borrowed from the generation; NULL = none */
	const char *backend_name;          /* borrowed from the generation */
	uint32_t first, count;             /* this cluster's endpoints: eps[first..first+count) */
	uint32_t *table;                   /* owned, ConsistentHash: table_size endpoint
					      offsets (Maglev lookup table) */
	uint32_t table_size;
};

struct epset {
	atomic_uint refs;
	struct generation *gen;            /* one reference */
	uint64_t version;                  /* increases with every set built */
	struct epcluster *clusters;        /* owned, sorted by (backend, policy) */
	uint32_t nclusters;
	struct ep_state **eps;             /* owned array, one reference each */
	uint32_t neps;
};

/* Builds the set for g: a cluster per backend (policy IMG_NONE) and per (backend,
 * policy) that a rule with a policy uses; addresses from the image and from r (may be
 * NULL); health records of prev (may be NULL) reused for the same cluster and address.
 * Returns a set holding one reference, or NULL when out of memory. Main thread. */
struct epset *epset_build(struct generation *g, const struct epset *prev, const struct resolver *r,
			  uint64_t version);

static inline void epset_ref(struct epset *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}
/* Any thread; NULL is fine. */
void epset_unref(struct epset *s);

/* The cluster of (backend, policy), falling back to (backend, IMG_NONE); -1 if none. */
int epset_find(const struct epset *s, uint32_t backend, uint32_t policy);

/* The Maglev lookup table of n endpoints named names[] into table[size] (size prime,
 * n >= 1): each endpoint gets size/n entries, give or take one, and removing one moves
 * only the keys it held. Exposed for the unit tests. Returns 0, or -1 out of memory. */
int epset_maglev(uint32_t *table, uint32_t size, const char *const *names, uint32_t n);

/* 64-bit hash of a key (FNV-1a with a final mix), as the picker hashes requests. */
uint64_t epset_hash(const void *p, size_t len);

/* Monotonic milliseconds, the clock of eject_until_ms. */
uint64_t epset_now_ms(void);

/* Clears an expired ejection of e in cluster cl; true when it is usable. Any thread. */
bool epset_uneject_due(struct epcluster *cl, struct ep_state *e, uint64_t now_ms);

#endif
