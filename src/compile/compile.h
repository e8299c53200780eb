/* SPDX-License-Identifier: MIT */
/* compile: a resolved model -> one flat image (compile/image.h). Every listener's
 * matches are sorted here, once, in Gateway API precedence order, so that the data
 * plane takes the first match that fits. */
#ifndef GW_COMPILE_H
#define GW_COMPILE_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/diag.h"
#include "gwapi/gwapi.h"

/* Appends the image to out. status_json: the resources array to embed. */
bool compile_image(const struct gw_model *m, const char *status_json, const char *digest,
		   struct buf *out, struct diag_list *dl);

#endif
