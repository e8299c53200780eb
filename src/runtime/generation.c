/* SPDX-License-Identifier: MIT */
/* generation: refcounted snapshot of one compiled image. The only place in the data
 * plane that closes a store snapshot, so the LMDB reader lives exactly as long as the
 * last request that routes with its image. */
#include "config.h"

#include "runtime/generation.h"

#include <stdio.h>
#include <stdlib.h>

#include "runtime/regex.h"
#include "runtime/tls_ctx.h"

struct generation *generation_new(const struct store_snapshot *snap, char *err, size_t errlen)
{
	struct store_snapshot copy = *snap;
	if (copy.image == NULL || img_check(copy.image, copy.len) != 0) {
		snprintf(err, errlen, "generation %llu: image failed validation",
			 (unsigned long long)copy.generation);
		store_snapshot_close(&copy);
		return NULL;
	}
	struct generation *g = calloc(1, sizeof *g);
	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		store_snapshot_close(&copy);
		return NULL;
	}
	/* Regular expressions are compiled here, once per generation on the main thread,
	 * never per request; they live exactly as long as the image that names them. */
	char rxerr[200];
	g->regex = regex_set_new(copy.image, rxerr, sizeof rxerr);
	if (g->regex == NULL) {
		snprintf(err, errlen, "generation %llu: %s", (unsigned long long)copy.generation, rxerr);
		store_snapshot_close(&copy);
		free(g);
		return NULL;
	}
	atomic_init(&g->refs, 1);
	g->snap = copy;
	g->number = copy.generation;
	g->img = copy.image;
	g->binds = IMG_ARRAY(g->img, g->img->binds, struct img_bind);
	g->listener_index = IMG_ARRAY(g->img, g->img->listener_index, uint32_t);
	g->listeners = IMG_ARRAY(g->img, g->img->listeners, struct img_listener);
	g->rules = IMG_ARRAY(g->img, g->img->rules, struct img_rule);
	g->backends = IMG_ARRAY(g->img, g->img->backends, struct img_backend);
	g->endpoints = IMG_ARRAY(g->img, g->img->endpoints, struct img_endpoint);
	return g;
}

void generation_unref(struct generation *g)
{
	if (g == NULL)
		return;
	/* acq_rel: every worker's reads of the image happen before the snapshot closes. */
	if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	store_snapshot_close(&g->snap);
	regex_set_free(g->regex);
	tls_gen_free(g->tls);
	free(g);
}
