/* SPDX-License-Identifier: MIT */
/* metrics: the Prometheus text exposition (format 0.0.4) behind the admin /metrics.
 * Request counters come from the workers' blocks (runtime/reqstats); totals of the
 * blocks of retired generations are kept here, so counters never go back on a
 * reload. Main thread only. Families and labels: README "Observability". */
#ifndef GW_OPS_METRICS_H
#define GW_OPS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct reqstats;
struct epset;
struct metrics;

/* What the daemon itself knows, sampled at each scrape. */
struct metrics_facts {
	uint64_t generation;       /* 0 = none yet */
	bool stale;
	uint64_t reloads_ok, reloads_failed;
	size_t connections_active;
	uint64_t access_log_written, access_log_dropped;
	/* The current endpoint sets (runtime/epset.h) for live endpoint health and the
	 * backend policy families (ops/backend_status.h); NULL = none yet. */
	const struct epset *eps;
	uint64_t tls_handshake_failures; /* client TLS handshakes that failed or timed out */
};

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* Appends the whole exposition. rs may be NULL (no runtime yet). */
void metrics_write(struct metrics *m, struct buf *out, struct reqstats *rs,
		   const struct metrics_facts *f);

/* Folds the counts of generations no longer in use into the totals, which releases
 * those generations. Called every few seconds by the daemon, whether or not
 * anything scrapes /metrics: otherwise every reload would keep its generation (and
 * an LMDB reader slot) until the next scrape. */
void metrics_absorb(struct metrics *m, struct reqstats *rs);

#endif
