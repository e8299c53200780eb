/* SPDX-License-Identifier: MIT */
/* pipeline: config_dir -> YAML documents -> model -> resolve -> image, in one call,
 * shared by `check`, `run` and `reload`. Nothing here touches the data plane. */
#ifndef GW_COMPILE_PIPELINE_H
#define GW_COMPILE_PIPELINE_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/diag.h"
#include "store/store.h"

struct pipeline_result {
	struct diag_list diags;     /* every diagnostic of every stage */
	bool ok;                    /* no error: the image may be applied */
	struct buf image;           /* the compiled image (when ok) */
	char digest[65];            /* hex SHA-256 over the source files' paths and bytes */
	struct buf status_json;     /* the "resources" JSON array (also inside the image) */
};

/* Builds config_dir. st (may be NULL) supplies observedGeneration numbers for objects
 * without metadata.generation; with dry_run they are computed but not recorded. */
bool pipeline_build(const char *config_dir, const char *controller_name, struct store *st,
		    bool dry_run, struct pipeline_result *res);
void pipeline_result_fini(struct pipeline_result *res);

#endif
