/* SPDX-License-Identifier: MIT */
/* resolve: the stages behind gwapi_resolve() (resolve.c: classes, Gateways, listeners;
 * attach.c: parentRefs -> listeners; refs.c: backendRefs), and the few rules compile/
 * must apply identically (which HTTPRoute rules are implemented). Internal to the
 * config pipeline: the data plane never includes this. */
#ifndef GW_GWAPI_RESOLVE_H
#define GW_GWAPI_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "gwapi/gwapi.h"

/* Appends a warning "Kind ns/name: text" at pos (the object's own position when pos
 * has no file). */
void resolve_warn(struct diag_list *dl, const struct gw_meta *meta, const struct gw_pos *pos,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "ns/name", or "name" for cluster-scoped objects; in the arena. */
const char *resolve_object_name(struct arena *a, const struct gw_meta *meta);

/* Gateway API hostnames (§2.1): "*.example.com" covers every name with one or more
 * labels before ".example.com", never "example.com" itself. Comparisons ignore case. */
bool resolve_hostname_is_wildcard(const char *h);
bool resolve_wildcard_covers(const char *wildcard, const char *name);

/* Why an HTTPRoute rule cannot be implemented in this version (a RegularExpression
 * path, header or query match), or NULL when it can. resolve reports such rules as
 * UnsupportedValue; compile leaves them out of the image. */
const char *resolve_rule_unsupported(const struct gw_http_rule *r);

/* Stage 2: route attachment (fills parents, attachments, listener attachedRoutes). */
void attach_routes(struct arena *a, struct gw_model *m, struct diag_list *dl);
/* Stage 3: backendRefs (fills resolved, and each parent's ResolvedRefs condition). */
void refs_resolve_routes(struct arena *a, struct gw_model *m, struct diag_list *dl);

#endif
