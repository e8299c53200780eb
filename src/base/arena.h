/* SPDX-License-Identifier: MIT */
/* arena: bump allocation for one run of the configuration pipeline (YAML nodes,
 * model objects, strings). Everything is freed at once by arena_fini, so error
 * paths in the pipeline cannot leak. Not for the data plane. */
#ifndef GW_BASE_ARENA_H
#define GW_BASE_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head; /* owned chain of blocks */
};

void arena_init(struct arena *a);
void arena_fini(struct arena *a);
/* Zeroed memory aligned for any type; never NULL (out of memory is fatal). */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Grows an array of elem-sized items held in the arena: returns a copy with room for
 * new_count items, the first old_count copied from old. */
void *arena_grow(struct arena *a, void *old, size_t old_count, size_t new_count, size_t elem);

#endif
