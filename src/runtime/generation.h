/* SPDX-License-Identifier: MIT */
/* generation: one applied configuration: the store snapshot that keeps the image bytes
 * alive (zero copy) plus pointers into it. Reference counted across threads: the main
 * thread creates it, every worker holds a reference while it may start requests on it,
 * and the last generation_unref closes the snapshot (the LMDB read transaction). */
#ifndef GW_RUNTIME_GENERATION_H
#define GW_RUNTIME_GENERATION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "compile/image.h"
#include "store/store.h"

struct regex_set;
struct tls_gen;

struct generation {
	atomic_uint refs;
	struct store_snapshot snap;          /* owned: closed by the last unref */
	uint64_t number;                      /* snap.generation */
	const struct img_header *img;         /* borrowed from snap */
	const struct img_bind *binds;         /* img->binds.count records */
	const uint32_t *listener_index;
	const struct img_listener *listeners;
	const struct img_rule *rules;
	const struct img_backend *backends;
	const struct img_endpoint *endpoints;
	struct regex_set *regex;              /* owned: the image's patterns, compiled */
	struct tls_gen *tls;                  /* owned: TLS contexts (runtime/tls_ctx.h); NULL = none */
};

/* Takes ownership of *snap (copied; the caller's struct may go away) and checks the
 * image. Returns a generation holding one reference, or NULL with a message in err
 * (the snapshot is then already closed). Main thread. */
struct generation *generation_new(const struct store_snapshot *snap, char *err, size_t errlen);

static inline void generation_ref(struct generation *g)
{
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

/* Drops one reference; the last one closes the snapshot and frees g. Any thread. */
void generation_unref(struct generation *g);

#endif
