/* SPDX-License-Identifier: MIT */
/* fuzz_h1_chunked: arbitrary bytes as a chunked body. The scanner must give the same
 * verdict (bytes consumed, done, or error) whether the body arrives in one piece, one
 * byte at a time, or cut at positions derived from the input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/h1_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_require(bool ok)
{
	if (!ok)
		abort();
}

struct fuzz_verdict {
	ssize_t consumed;  /* -1 on error */
	bool done;
};

/* Feeds buf in pieces of the sizes step() returns, each from an exact-size copy so
 * that ASan catches a read past the piece. */
static struct fuzz_verdict fuzz_scan(const uint8_t *buf, size_t size, uint32_t seed, int mode)
{
	struct h1_chunked c = {0};
	struct fuzz_verdict v = {0, false};
	size_t off = 0;
	uint32_t x = seed | 1;

	while (off < size && !v.done) {
		size_t piece;
		if (mode == 0) {
			piece = size;
		} else if (mode == 1) {
			piece = 1;
		} else {
			/* xorshift32: a split pattern that the input decides */
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			piece = 1 + x % 64;
		}
		if (piece > size - off)
			piece = size - off;
		char *copy = malloc(piece);
		fuzz_require(copy != NULL);
		memcpy(copy, buf + off, piece);
		ssize_t n = h1_chunked_scan(&c, copy, piece, &v.done);
		free(copy);
		if (n < 0) {
			fuzz_require(!v.done);
			v.consumed = -1;
			return v;
		}
		fuzz_require((size_t)n <= piece);
		/* Only the end of the body may leave bytes of a piece unconsumed. */
		fuzz_require((size_t)n == piece || v.done);
		v.consumed += n;
		off += (size_t)n;
		if ((size_t)n < piece)
			break;
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed = 2166136261u;

	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 16777619u;

	struct fuzz_verdict whole = fuzz_scan(data, size, seed, 0);
	struct fuzz_verdict bytes = fuzz_scan(data, size, seed, 1);
	struct fuzz_verdict split = fuzz_scan(data, size, seed, 2);

	fuzz_require(whole.consumed == bytes.consumed && whole.done == bytes.done);
	fuzz_require(whole.consumed == split.consumed && whole.done == split.done);
	fuzz_require(whole.consumed < 0 || (size_t)whole.consumed <= size);
	fuzz_require(whole.done || whole.consumed < 0 || (size_t)whole.consumed == size);
	if (whole.done) {
		/* The body alone is complete, whatever followed it. */
		struct fuzz_verdict alone = fuzz_scan(data, (size_t)whole.consumed, seed, 0);
		fuzz_require(alone.done && alone.consumed == whole.consumed);
	}
	return 0;
}
