/* SPDX-License-Identifier: MIT */
/* regex: the image's RegularExpression patterns (image.h patterns[]), compiled once per
 * generation with PCRE2 (JIT where the platform has it) and matched by the workers
 * with per-worker scratch, so that a request never compiles or allocates for a match.
 * Dialect: PCRE2, byte-wise (no UTF mode), case-sensitive, anchored at both ends: the
 * whole value must match (as Envoy's safe_regex does). */
#ifndef GW_RUNTIME_REGEX_H
#define GW_RUNTIME_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile/image.h"

/* Every pattern of one image, compiled. Read-only once built: any thread may match. */
struct regex_set;
/* One worker's match data and join buffer. One thread at a time. */
struct regex_scratch;

/* Compiles img's patterns (an image without any gives an empty set). Returns NULL
 * with a message in err when a pattern does not compile or memory runs out. Main thread. */
struct regex_set *regex_set_new(const struct img_header *img, char *err, size_t errlen);
void regex_set_free(struct regex_set *rs);
uint32_t regex_set_count(const struct regex_set *rs);

/* NULL on out of memory. */
struct regex_scratch *regex_scratch_new(void);
void regex_scratch_free(struct regex_scratch *sc);

/* Does the whole of s[0..len) match pattern idx? A pattern that hits PCRE2's match
 * limit (runaway backtracking) counts as not matching. False if rs or sc is NULL or
 * idx is out of range. */
bool regex_match(const struct regex_set *rs, uint32_t idx, struct regex_scratch *sc,
		 const char *s, size_t len);

/* A buffer of at least need bytes, kept by the scratch and reused (it only grows, and
 * need is bounded by the request head size). NULL on out of memory. */
char *regex_scratch_buf(struct regex_scratch *sc, size_t need);

#endif
