/* SPDX-License-Identifier: MIT */
/* mirror: RequestMirror on the data plane (GATEWAY-API.md §2.6.2). A copy of the
 * forwarded request goes to one endpoint of the mirror backend over its own short-lived
 * connection; the answer is read and dropped. Never delays or fails the main request.
 * Worker thread only. */
#ifndef GW_RUNTIME_MIRROR_H
#define GW_RUNTIME_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "compile/image.h"

struct conn;
struct worker;

/* Mirror requests in flight per worker; beyond it new copies are dropped (counted). */
#define MIRROR_MAX_INFLIGHT 64
/* A request body is mirrored only when it has a Content-Length of at most this many
 * bytes and all of it already sits in the client input buffer when the head is sent
 * on; other requests with a body are not mirrored (counted). No back-pressure, no
 * unbounded copy. */
#define MIRROR_MAX_BODY 65536u
/* Whole life of one mirror connection: connect, send, read the answer (seconds). */
#define MIRROR_TIMEOUT 10.0

/* Per-worker state (struct worker.mirrors). */
struct mirror_stats {
	uint64_t sent;        /* copies started */
	uint64_t dropped;     /* over MIRROR_MAX_INFLIGHT, out of memory, connect error */
	uint64_t skipped_body; /* body not mirrorable (see MIRROR_MAX_BODY) */
};

/* Samples mirror filter f for c's request and, if chosen, sends head[0..head_len)
 * (the request head as forwarded, ending in CRLF CRLF) plus the body to the mirror
 * backend. */
void mirror_start(struct conn *c, const struct img_header *img, const struct img_filter *f,
		  const char *head, size_t head_len);

/* Mirror requests in flight on w, and its counters. */
unsigned mirror_inflight(const struct worker *w);
const struct mirror_stats *mirror_stats(const struct worker *w);

/* Worker shutdown: closes and frees every mirror connection. */
void mirror_fini(struct worker *w);

#endif
