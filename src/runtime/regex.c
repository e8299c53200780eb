/* SPDX-License-Identifier: MIT */
/* regex: PCRE2 behind the router. Patterns are compiled on the main thread when a
 * generation is created and freed with it; workers only call pcre2_match, each with
 * its own match data. The options must equal DECODE_REGEX_OPTIONS (gwapi/decode.h),
 * which validated every pattern before it reached an image. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "runtime/regex.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>

#define REGEX_OPTIONS (PCRE2_ANCHORED | PCRE2_ENDANCHORED)
/* Bounds on one match, so that a pathological pattern cannot stall a worker: PCRE2's
 * own defaults are 10,000,000 backtracking steps, far too many for a request path. */
#define REGEX_MATCH_LIMIT 100000u
#define REGEX_DEPTH_LIMIT 10000u

struct regex_set {
	uint32_t count;
	pcre2_match_context *mctx;   /* owned; shared read-only by every worker */
	pcre2_code *codes[];         /* owned, count entries */
};

struct regex_scratch {
	pcre2_match_data *md;        /* owned */
	char *buf;                   /* owned: joined header values */
	size_t cap;
};

void regex_set_free(struct regex_set *rs)
{
	if (rs == NULL)
		return;
	for (uint32_t i = 0; i < rs->count; i++)
		pcre2_code_free(rs->codes[i]);
	pcre2_match_context_free(rs->mctx);
	free(rs);
}

struct regex_set *regex_set_new(const struct img_header *img, char *err, size_t errlen)
{
	uint32_t n = img->patterns.count;
	struct regex_set *rs = calloc(1, sizeof *rs + (size_t)n * sizeof rs->codes[0]);
	if (rs == NULL || (rs->mctx = pcre2_match_context_create(NULL)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(rs);
		return NULL;
	}
	pcre2_set_match_limit(rs->mctx, REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(rs->mctx, REGEX_DEPTH_LIMIT);
	const struct img_str *pats = IMG_ARRAY(img, img->patterns, struct img_str);
	for (uint32_t i = 0; i < n; i++) {
		int code = 0;
		PCRE2_SIZE off = 0;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)img_str_ptr(img, pats[i]), pats[i].len,
					       REGEX_OPTIONS, &code, &off, NULL);
		if (re == NULL) {
			PCRE2_UCHAR msg[256];
			if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
				msg[0] = '\0';
			snprintf(err, errlen, "regular expression %u: %s at offset %zu", (unsigned)i,
				 (const char *)msg, (size_t)off);
			regex_set_free(rs);
			return NULL;
		}
		/* Without JIT support (some platforms, or a hardened kernel refusing
		 * executable memory) the interpreter runs the same pattern. */
		(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
		rs->codes[i] = re;
		rs->count = i + 1;
	}
	return rs;
}

uint32_t regex_set_count(const struct regex_set *rs)
{
	return rs ? rs->count : 0;
}

struct regex_scratch *regex_scratch_new(void)
{
	struct regex_scratch *sc = calloc(1, sizeof *sc);
	if (sc == NULL)
		return NULL;
	/* Only "does it match" is asked: one ovector pair is enough for any pattern. */
	sc->md = pcre2_match_data_create(1, NULL);
	if (sc->md == NULL) {
		free(sc);
		return NULL;
	}
	return sc;
}

void regex_scratch_free(struct regex_scratch *sc)
{
	if (sc == NULL)
		return;
	pcre2_match_data_free(sc->md);
	free(sc->buf);
	free(sc);
}

bool regex_match(const struct regex_set *rs, uint32_t idx, struct regex_scratch *sc,
		 const char *s, size_t len)
{
	if (rs == NULL || sc == NULL || idx >= rs->count)
		return false;
	/* pcre2_match picks the JIT code when there is some. */
	int rc = pcre2_match(rs->codes[idx], (PCRE2_SPTR)(s != NULL ? s : ""), len, 0, 0, sc->md, rs->mctx);
	return rc >= 0;
}

char *regex_scratch_buf(struct regex_scratch *sc, size_t need)
{
	if (need <= sc->cap)
		return sc->buf;
	size_t cap = sc->cap ? sc->cap : 256;
	while (cap < need)
		cap *= 2;
	char *b = realloc(sc->buf, cap);
	if (b == NULL)
		return NULL;
	sc->buf = b;
	sc->cap = cap;
	return b;
}
