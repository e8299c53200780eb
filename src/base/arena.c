/* SPDX-License-Identifier: MIT */
#include "base/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define ARENA_BLOCK_SIZE (64 * 1024)

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	_Alignas(max_align_t) unsigned char data[];
};

void arena_init(struct arena *a)
{
	a->head = NULL;
}

void arena_fini(struct arena *a)
{
	struct arena_block *b = a->head;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
}

/* Uninitialised space: for callers that overwrite all of it at once. */
static size_t arena_round(size_t size)
{
	const size_t align = _Alignof(max_align_t);
	size = (size + align - 1) & ~(align - 1);
	return size ? size : align;
}

static void *arena_alloc_raw(struct arena *a, size_t size)
{
	size = arena_round(size);
	struct arena_block *b = a->head;
	if (!b || b->size - b->used < size) {
		size_t bsize = size > ARENA_BLOCK_SIZE / 4 ? size : ARENA_BLOCK_SIZE;
		b = malloc(sizeof *b + bsize);
		if (!b)
			fatalx("out of memory (%zu bytes)", bsize);
		b->used = 0;
		b->size = bsize;
		if (size > ARENA_BLOCK_SIZE / 4 && a->head) {
			/* A large one-off block goes behind the current one so that the
			 * current block's free space stays usable. */
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	void *p = b->data + b->used;
	b->used += size;
	return p;
}

void *arena_alloc(struct arena *a, size_t size)
{
	void *p = arena_alloc_raw(a, size);
	memset(p, 0, arena_round(size));
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc_raw(a, len + 1);
	memcpy(p, s, len);
	memset(p + len, 0, arena_round(len + 1) - len); /* NUL and padding */
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	/* One formatting pass for the usual short result; a second only when it
	 * did not fit. */
	char tmp[256];
	va_list ap, aq;
	va_start(ap, fmt);
	va_copy(aq, ap);
	int n = vsnprintf(tmp, sizeof tmp, fmt, aq);
	va_end(aq);
	if (n < 0) {
		n = 0;
		tmp[0] = '\0';
	}
	char *p;
	if ((size_t)n < sizeof tmp) {
		p = arena_strndup(a, tmp, (size_t)n);
	} else {
		p = arena_alloc(a, (size_t)n + 1);
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	}
	va_end(ap);
	return p;
}

void *arena_grow(struct arena *a, void *old, size_t old_count, size_t new_count, size_t elem)
{
	size_t keep = old && old_count ? (old_count < new_count ? old_count : new_count) * elem : 0;
	char *p = arena_alloc_raw(a, new_count * elem);
	if (keep)
		memcpy(p, old, keep);
	/* the tail up to the rounded size stays zeroed, as arena_alloc promises */
	memset(p + keep, 0, arena_round(new_count * elem) - keep);
	return p;
}
