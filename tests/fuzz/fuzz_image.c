/* SPDX-License-Identifier: MIT */
/* fuzz_image: img_check is the gate between LMDB bytes and the workers, which read
 * images without further checks; it must reject anything malformed without reading
 * out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compile/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* LMDB hands out 8-aligned values; copy to keep the same alignment here. */
	void *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	(void)img_check(copy, size);
	free(copy);
	return 0;
}
