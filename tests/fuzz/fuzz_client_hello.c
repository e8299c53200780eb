/* SPDX-License-Identifier: MIT */
/* fuzz_client_hello: arbitrary bytes as the first bytes of a TLS connection. The parser
 * never reads past the input (ASan), and its answers hold together: a name only with
 * CH_SNI, made of the allowed characters; every prefix of an input that gives an answer
 * other than CH_NEED_MORE gives either CH_NEED_MORE or the same answer (the reader
 * calls it again on each longer buffer, so it must not change its mind). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/client_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(enum ch_result r, const char *name, size_t len)
{
	if (r != CH_SNI) {
		if (len != 0 || name[0] != '\0')
			abort();
		return;
	}
	if (len == 0 || len > CH_SNI_MAX || strlen(name) != len)
		abort();
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[CH_SNI_MAX + 1], again[CH_SNI_MAX + 1];
	size_t len, len2;
	/* an exact-size copy, so that ASan sees any read past the end */
	uint8_t *copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	enum ch_result r = client_hello_parse(copy, size, name, &len);
	check_name(r, name, len);
	if (r != CH_NEED_MORE && size > 0) {
		/* a few prefixes, not all: the parser copies up to 16 KiB per call */
		size_t step = size / 7 + 1;
		for (size_t n = 0; n < size; n += step) {
			enum ch_result p = client_hello_parse(copy, n, again, &len2);
			check_name(p, again, len2);
			if (p != CH_NEED_MORE && (p != r || (r == CH_SNI && strcmp(again, name) != 0)))
				abort();
		}
	}
	free(copy);
	return 0;
}
