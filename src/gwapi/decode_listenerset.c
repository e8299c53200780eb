/* SPDX-License-Identifier: MIT */
/* decode_listenerset: ListenerSet (gateway.networking.k8s.io/v1, GATEWAY-API.md §2.5):
 * a parentRef to a Gateway and 1-64 listeners with the same fields and CEL rules as a
 * Gateway's (names need only be unique within the set). */
#include <string.h>

#include "gwapi/decode.h"

static const struct dfield listenerset_fields[] = {
	{ "parentRef", DT_MAP, DF_REQUIRED, 0, 0 },
	{ "listeners", DT_SEQ, DF_REQUIRED, 1, 64 },
};

static const struct dfield parent_fields[] = {
	{ "group", DT_STR, 0, 0, 0 },
	{ "kind", DT_STR, 0, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
	{ "namespace", DT_STR, 0, 0, 0 },
};

void decode_listenerset(struct dctx *c, const struct ynode *spec, struct gw_listenerset *ls)
{
	struct dval v[2];
	DECODE_FIELDS(c, spec, "spec", listenerset_fields, v);
	ls->parent_group = GW_GROUP;
	ls->parent_kind = "Gateway";
	ls->parent_ns = c->ns;
	if (v[0].val) {
		struct dval p[4];
		const char *path = "spec.parentRef";
		ls->parent_pos = decode_pos(v[0].val);
		DECODE_FIELDS(c, v[0].val, path, parent_fields, p);
		if (p[0].val && decode_group_name(c, p[0].val, "spec.parentRef.group"))
			ls->parent_group = p[0].val->scalar;
		if (p[1].val && decode_kind_name(c, p[1].val, "spec.parentRef.kind"))
			ls->parent_kind = p[1].val->scalar;
		if (p[2].val)
			ls->parent_name = p[2].val->scalar;
		if (p[3].val && decode_dns_label(c, p[3].val, "spec.parentRef.namespace"))
			ls->parent_ns = p[3].val->scalar;
	}
	if (v[1].val)
		decode_listeners(c, v[1].val, &ls->listeners, &ls->nlisteners);
}
