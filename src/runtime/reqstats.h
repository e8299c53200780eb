/* SPDX-License-Identifier: MIT */
/* reqstats: request counters and latency histograms for /metrics. Workers count
 * without locks or read-modify-write atomics: each worker owns one block per
 * generation it serves (hung on its struct wgen), keyed by image indices, and only it
 * writes there (relaxed stores); the main thread reads with relaxed loads and turns
 * the indices into names. A retired block is reported one last time, then freed, so
 * the exporter can keep totals across reloads. */
#ifndef GW_RUNTIME_REQSTATS_H
#define GW_RUNTIME_REQSTATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct generation;
struct conn_reqlog;
struct reqstats;
struct reqstats_block;

/* Status classes 1xx..5xx (a status >= 600 from a backend counts as 5xx). */
#define REQSTATS_CLASSES 5
/* Finite upper bounds of the latency histogram, then +Inf. */
#define REQSTATS_BUCKETS 16
extern const double reqstats_bucket_le[REQSTATS_BUCKETS];   /* seconds, ascending */

/* The status logged and counted for a request: its response status, or 499 (nginx's
 * "client closed request") when the connection ended before any response began. */
static inline int reqstats_status(int status)
{
	return status > 0 ? status : 499;
}

/* Main thread. nworkers: how many workers count (each also has a block for requests
 * that no generation served, e.g. before the first one). NULL on OOM. */
struct reqstats *reqstats_new(unsigned nworkers);
/* Frees every block, live or not, and their generation references. */
void reqstats_free(struct reqstats *rs);

/* Main thread: a block for one worker's view of g (takes a reference on g, so the
 * names stay readable until the block is reported for the last time). NULL on OOM. */
struct reqstats_block *reqstats_block_new(struct reqstats *rs, struct generation *g);
/* Any thread: the owner is done counting into b (NULL is a no-op). */
void reqstats_block_retire(struct reqstats_block *b);
/* The block of worker index for requests without a generation. */
struct reqstats_block *reqstats_block_nogen(struct reqstats *rs, unsigned index);

/* Worker thread, the owner of b only: counts one finished request. log->listener,
 * rule and backend must come from b's generation (or be NULL). */
void reqstats_count(struct reqstats_block *b, const struct conn_reqlog *log);

/* Main thread: the generation new requests use, for reqstats_backends (a reference
 * is taken; the previous one dropped). */
void reqstats_set_current(struct reqstats *rs, struct generation *g);

/* One series by name, as the collector reports it; strings are borrowed for the
 * call and "" when not known (not routed, no backend...). */
struct reqstats_labels {
	const char *gateway;   /* "namespace/name" */
	const char *listener;
	const char *route;     /* "namespace/name" */
	const char *backend;   /* "Kind/namespace/name" */
};

struct reqstats_visitor {
	void *ctx;
	/* requests[i]: responses of class (i+1)xx. */
	void (*series)(void *ctx, const struct reqstats_labels *l,
		       const uint64_t requests[REQSTATS_CLASSES], uint64_t bytes_in,
		       uint64_t bytes_out, bool final);
	/* buckets: not cumulative, the last one is +Inf; sum in microseconds. */
	void (*hist)(void *ctx, const char *route, const uint64_t buckets[REQSTATS_BUCKETS + 1],
		     uint64_t sum_us, bool final);
	/* Endpoints of one backend of the current generation. */
	void (*backend)(void *ctx, const char *backend, uint32_t endpoints);
};

/* Main thread: reports every counted series and histogram of every block (only the
 * ones that counted something), then the current generation's backends. Blocks
 * retired since the last call are reported with final = true, exactly once, and
 * freed: the caller adds those to totals it keeps; the others are a snapshot. */
void reqstats_collect(struct reqstats *rs, const struct reqstats_visitor *v);
/* Only the blocks of generations no worker uses any more (final = true): they hold
 * their generation until reported, so the main thread calls this regularly, scrape
 * or not (ops/metrics.c metrics_absorb). Main thread. */
void reqstats_collect_retired(struct reqstats *rs, const struct reqstats_visitor *v);

#endif
