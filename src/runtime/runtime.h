/* SPDX-License-Identifier: MIT */
/* runtime: the data plane as seen from the main thread. `workers` threads, each with
 * its own libev loop, its own SO_REUSEPORT listening sockets, connections, and
 * upstream keep-alive pools. The main thread hands over generations; nothing here
 * blocks a worker (no DNS, no file I/O, no fsync on worker threads). */
#ifndef GW_RUNTIME_H
#define GW_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "settings/settings.h"
#include "store/store.h"

struct runtime;

/* Creates the workers (not yet running). Settings are copied. */
struct runtime *runtime_new(const struct settings *s);

/* Starts the worker threads. Returns 0 or -1. */
int runtime_start(struct runtime *rt);

/* Makes the generation in snap the one new requests use. Takes ownership of snap (the
 * LMDB read transaction stays open until the last request using that image ends).
 * Binds sockets for new address:port pairs and closes those no longer configured
 * (open connections on them finish). Returns only after every worker switched: a
 * request started after the return is routed by the new generation.
 * Returns 0; -1 when some socket could not be bound (the message, e.g.
 * "127.0.0.1:80: Permission denied", is in err; everything else is applied). */
int runtime_apply(struct runtime *rt, struct store_snapshot *snap, char *err, size_t errlen);

/* The generation currently applied (0 before the first runtime_apply). */
uint64_t runtime_generation(const struct runtime *rt);

/* Number of listening sockets bound (for /readyz). */
size_t runtime_bound_sockets(const struct runtime *rt);

/* Client connections open across all workers. */
size_t runtime_active_connections(const struct runtime *rt);

/* The request counters (runtime/reqstats.h) and the access log records
 * (runtime/reqlog.h) of the workers; owned by the runtime. Main thread. */
struct reqstats;
struct reqlog;
struct reqstats *runtime_stats(struct runtime *rt);
struct reqlog *runtime_reqlog(struct runtime *rt);

/* Endpoint sets (runtime/epset.h). Main thread only.
 * runtime_set_main_loop: the main loop that runs active health checks and the
 * outlier-ejection timer (borrowed; call once after runtime_new).
 * runtime_set_resolver: where fqdn endpoints (IMG_ENDPOINT_FQDN) get their addresses
 * (discover/resolver.h, borrowed; NULL = none: such endpoints have no address).
 * runtime_endpoints_changed: the daemon calls it from the resolver's "changed"
 * callback; the endpoint sets of the current generation are rebuilt from the image plus
 * resolver_addrs() and handed to the workers (connections to addresses that remain are
 * kept, their health state too). Returns 0, or -1 when out of memory (nothing changed).
 * runtime_apply also builds them, so the resolver may be set before or after. */
struct ev_loop;
struct resolver;
void runtime_set_main_loop(struct runtime *rt, struct ev_loop *loop);
void runtime_set_resolver(struct runtime *rt, const struct resolver *r);
int runtime_endpoints_changed(struct runtime *rt);
/* The current endpoint sets with health, for status and metrics (runtime/epset.h);
 * a new reference (epset_unref when done), or NULL before the first generation. */
struct epset;
struct epset *runtime_epset(struct runtime *rt);

/* Stops accepting, lets in-flight requests finish for up to drain_ms, closes idle
 * connections, joins the workers. Blocks the caller. */
void runtime_shutdown(struct runtime *rt, uint64_t drain_ms);

void runtime_free(struct runtime *rt);

#endif
