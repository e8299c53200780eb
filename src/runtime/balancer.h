/* SPDX-License-Identifier: MIT */
/* balancer: the one place a request gets its backend and endpoint (conn.c, retry.c,
 * mirror.c). The backend by the rule's weights (smooth weighted round robin per worker
 * under RoundRobin, else weighted random); the endpoint by the cluster's algorithm
 * (RoundRobin, LeastRequest, Random, ConsistentHash), skipping unhealthy and ejected
 * endpoints; the circuit breaker; the outcome of each attempt fed to outlier detection.
 * Worker thread only, except wbal_new. */
#ifndef GW_RUNTIME_BALANCER_H
#define GW_RUNTIME_BALANCER_H

#include <ev.h>
#include <stdint.h>

#include "compile/image.h"

struct conn;
struct epset;
struct upool;
struct worker;

/* conn.lease.flags */
#define BAL_LEASE_ACTIVE 1u     /* counted in flight (cluster and endpoint) */
#define BAL_LEASE_PENDING 2u    /* counted as waiting for a new connection */
#define BAL_LEASE_RETRY 4u      /* counted as a parallel retry */
#define BAL_LEASE_REPORTED 8u   /* this attempt's outcome went to outlier detection */
#define BAL_LEASE_HASHED 16u    /* lease.hash holds the request's consistent-hash key */
#define BAL_LEASE_SETCOOKIE 32u /* lease.cookie was generated: the response sets it
				 * (runtime/hash_cookie.h) */

/* One worker's state over one endpoint set: pools per endpoint, round-robin cursors
 * per cluster, smooth weighted round-robin weights per backendRef. */
struct wbal {
	struct epset *set;      /* one reference */
	struct upool **pools;   /* per endpoint of set, filled lazily (each holds a ref) */
	uint32_t *rr;           /* per cluster */
	int64_t *swrr;          /* per image backend_ref: current weight */
};

/* Main thread: a worker view of s (takes a reference). NULL when out of memory. */
struct wbal *wbal_new(struct epset *s);
/* Worker thread (the pools are the worker's); NULL is fine. */
void wbal_free(struct wbal *b);

/* The backend for a request of rule r (not for rules with filters: filter.c picks the
 * backendRef). IMG_NO_BACKEND: the caller answers 500. */
uint32_t balancer_backend(struct conn *c, const struct img_rule *r);

/* Chooses an endpoint of backend b for c's request (rule r; NULL for none) and takes
 * the lease on it. Returns 0 with *pool, or the status to answer (500, 502, 503) with
 * *body the response text and c->log.error set. */
int balancer_pick(struct conn *c, const struct img_rule *r, uint32_t b, struct upool **pool,
		  const char **body);

/* A rule retry: gives the lease of the failed attempt back (reporting it as a failure
 * when nothing was reported) and picks again in backend b. Same returns. */
int balancer_repick(struct conn *c, uint32_t b, struct upool **pool, const char **body);

/* A mirror copy's endpoint of backend b (no lease), or NULL. */
struct upool *balancer_mirror_pool(struct conn *c, uint32_t b);

/* Hooks on the proxy path (conn_proxy.c, conn.c): */
/* An attempt starts connecting: the connect timeout (policy, else [limits]); applies
 * the policy's requestTimeout when the rule set none, and its timeout.http limits to
 * c->up (struct upstream idle_timeout, max_age). */
ev_tstamp balancer_attempt_start(struct conn *c, int connecting);
/* The new connection is up. */
void balancer_connected(struct conn *c);
/* The backend's final status for the attempt. */
void balancer_on_status(struct conn *c, int status);
/* gatewayd answers status (502, 503, 504) for the attempt: a local-origin failure. */
void balancer_on_local_error(struct conn *c, int status);
/* The request is done with its endpoint (proxy_finish). */
void balancer_release(struct conn *c);

#endif
