/* SPDX-License-Identifier: MIT */
/* health: the main thread's side of the endpoint sets. It builds them (image +
 * resolver), keeps the current one for status and metrics, runs the active HTTP health
 * checks of healthCheck.active on the main loop (non-blocking sockets, bounded
 * concurrency) and ends ejections whose time is up. Workers see the results through the
 * atomics of the sets' health records. Main thread only. */
#ifndef GW_RUNTIME_HEALTH_H
#define GW_RUNTIME_HEALTH_H

#include <stdint.h>

struct ev_loop;
struct epset;
struct generation;
struct resolver;

/* Health checks in flight at once, across all endpoints; the others wait their turn. */
#define HEALTH_MAX_INFLIGHT 64

struct health;

struct health *health_new(void);
/* Starts the timer on loop (borrowed); without a loop nothing is checked. */
void health_set_loop(struct health *h, struct ev_loop *loop);
void health_set_resolver(struct health *h, const struct resolver *r);
/* Builds the set of g from the image and the resolver, carrying the state of the
 * current set over, and makes it current. Returns a new reference, or NULL when out
 * of memory (the current set stays). */
struct epset *health_update(struct health *h, struct generation *g);
/* The current set (a new reference), or NULL. */
struct epset *health_current(const struct health *h);
/* Checks started since the process started, by result. */
void health_counters(const struct health *h, uint64_t *ok, uint64_t *fail);
void health_free(struct health *h);

#endif
