/* SPDX-License-Identifier: MIT */
/* fuzz_config: arbitrary bytes as one YAML file through the whole configuration
 * pipeline (load, decode, resolve, status, compile). Whatever the input, the pipeline
 * reports diagnostics and never crashes; an image it produces always passes img_check. */
#include <stdint.h>
#include <stdlib.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "compile/compile.h"
#include "compile/image.h"
#include "gwapi/gwapi.h"
#include "yaml/ydoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct diag_list dl;
	struct ydoc_set docs = {0};
	struct gw_model model = {0};
	struct buf status = BUF_INIT, image = BUF_INIT;

	arena_init(&a);
	diag_list_init(&dl);
	if (!ydoc_load_buffer(&a, "fuzz.yaml", (const char *)data, size, &docs, &dl))
		goto done;
	if (!gwapi_decode(&a, &docs, &model, &dl))
		goto done;
	if (!gwapi_resolve(&a, &model, "gatewayd.io/gateway-controller", &dl))
		goto done;
	buf_putc(&status, '[');
	gwapi_status_json(&model, "gatewayd.io/gateway-controller", &status);
	buf_putc(&status, ']');
	if (compile_image(&model, status.data, "0", &image, &dl) && img_check(image.data, image.len) != 0)
		abort();
done:
	buf_free(&status);
	buf_free(&image);
	diag_list_fini(&dl);
	arena_fini(&a);
	return 0;
}
