/* SPDX-License-Identifier: MIT */
/* fuzz_settings: arbitrary bytes as gatewayd.conf. The reader reports every problem as
 * a diagnostic and never crashes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/diag.h"
#include "settings/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/tmp/gatewayd-fuzz-settings-%ld.conf", (long)getpid());
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	if (size)
		fwrite(data, 1, size, f);
	fclose(f);

	struct settings s;
	struct diag_list dl;
	diag_list_init(&dl);
	(void)settings_load(&s, path, &dl);
	settings_fini(&s);
	diag_list_fini(&dl);
	unlink(path);
	return 0;
}
