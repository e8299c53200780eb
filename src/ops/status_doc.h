/* SPDX-License-Identifier: MIT */
/* status_doc: the documents built around a generation's "resources" JSON array
 * (compile/ embeds it in each image): the status object of `status --json` and the
 * admin /status, the object of `check --json`, and the `gatewayd status` table. */
#ifndef GW_OPS_STATUS_DOC_H
#define GW_OPS_STATUS_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/diag.h"
#include "compile/image.h"

/* {"generation": N, "stale": b, "resources": [...]}; generation 0 is written as null.
 * resources (len bytes, may be NULL) must be a JSON array, else [] is written. */
void status_doc_json(struct buf *out, uint64_t generation, bool stale,
		     const char *resources, size_t len);

/* The `check --json` object: {"ok", "generation": null, "stale": false, "resources",
 * "diagnostics": [{"file","line","column","severity","message"}]}. */
void status_doc_check_json(struct buf *out, bool ok, const char *resources, size_t len,
			   const struct diag_list *dl);

/* One line per resource (and per listener / parent below it) with its conditions. */
void status_doc_table(struct buf *out, uint64_t generation, bool stale,
		      const char *resources, size_t len);

/* The backends of an image as a JSON array, for the status documents:
 * [{"name": "Backend/default/web", "endpoints": [{"address": "10.0.0.1:8080",
 *   "health": "healthy"}]}]. Every endpoint is "healthy" until health checks exist. */
void status_doc_backends(struct buf *out, const struct img_header *img);

/* status_doc_json and status_doc_table, plus the backends (a JSON array from
 * status_doc_backends): the object gets a "backends" member ([] when backends is
 * NULL or not an array), the table a section with every endpoint and its health. */
void status_doc_json_full(struct buf *out, uint64_t generation, bool stale,
			  const char *resources, size_t len, const char *backends, size_t blen);
void status_doc_table_full(struct buf *out, uint64_t generation, bool stale,
			   const char *resources, size_t len, const char *backends, size_t blen);

#endif
