/* SPDX-License-Identifier: MIT */
/* compile_filters: one decoded HTTPRouteFilter -> one struct img_filter with its header
 * operations and CORS origins, so the workers parse nothing per request. compile.c
 * owns the arrays and the string table; this file only fills records. */
#ifndef GW_COMPILE_FILTERS_H
#define GW_COMPILE_FILTERS_H

#include <stddef.h>

#include "compile/image.h"
#include "gwapi/gwapi.h"

struct cfilter_env {
	void *ctx;
	struct img_str (*str)(void *ctx, const char *s);        /* adds a string as it is */
	struct img_str (*str_lower)(void *ctx, const char *s);  /* adds it in lowercase */
	uint32_t (*backend)(void *ctx, const struct gw_backend *b); /* index or IMG_NO_BACKEND */
};

/* How many img_header_op and img_str (origins) records f needs. */
size_t cfilter_nops(const struct gw_http_filter *f);
size_t cfilter_nstrs(const struct gw_http_filter *f);

/* Fills out, ops[cfilter_nops(f)] and strs[cfilter_nstrs(f)]. The spans out->ops and
 * out->origins are left for the caller (who knows where the records go). rule gives
 * the PathPrefix that ReplacePrefixMatch replaces. Returns false for a filter that
 * cannot be built (a mirror whose backend does not resolve: it is left out). */
bool cfilter_build(const struct cfilter_env *env, const struct gw_http_filter *f,
		   const struct gw_http_rule *rule, struct img_filter *out,
		   struct img_header_op *ops, struct img_str *strs);

#endif
