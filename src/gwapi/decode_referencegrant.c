/* SPDX-License-Identifier: MIT */
/* decode_referencegrant: ReferenceGrant (v1 and v1beta1, GATEWAY-API.md §2.10). It
 * lives in the namespace of the objects it opens up; refs.c applies it. */
#include "gwapi/decode.h"

static const struct dfield grant_fields[] = {
	{ "from", DT_SEQ, DF_REQUIRED, 1, 16 },
	{ "to", DT_SEQ, DF_REQUIRED, 1, 16 },
};

static const struct dfield from_fields[] = {
	{ "group", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "namespace", DT_STR, DF_REQUIRED, 0, 0 },
};

static const struct dfield to_fields[] = {
	{ "group", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "name", DT_STR, 0, 1, 253 },
};

void decode_referencegrant(struct dctx *c, const struct ynode *spec, struct gw_referencegrant *g)
{
	struct dval v[2];
	DECODE_FIELDS(c, spec, "spec", grant_fields, v);
	if (v[0].val) {
		const struct ynode *seq = v[0].val;
		g->from = arena_alloc(c->a, seq->count * sizeof *g->from);
		for (size_t i = 0; i < seq->count; i++) {
			const char *path = decode_path_index(c, "spec.from", i);
			struct dval f[3];
			if (!DECODE_FIELDS(c, seq->items[i], path, from_fields, f))
				continue;
			if (!decode_group_name(c, f[0].val, decode_path(c, path, "group")) ||
			    !decode_kind_name(c, f[1].val, decode_path(c, path, "kind")) ||
			    !decode_dns_label(c, f[2].val, decode_path(c, path, "namespace")))
				continue;
			g->from[g->nfrom++] = (struct gw_grant_from){ f[0].val->scalar, f[1].val->scalar, f[2].val->scalar };
		}
	}
	if (v[1].val) {
		const struct ynode *seq = v[1].val;
		g->to = arena_alloc(c->a, seq->count * sizeof *g->to);
		for (size_t i = 0; i < seq->count; i++) {
			const char *path = decode_path_index(c, "spec.to", i);
			struct dval t[3];
			if (!DECODE_FIELDS(c, seq->items[i], path, to_fields, t))
				continue;
			if (!decode_group_name(c, t[0].val, decode_path(c, path, "group")) ||
			    !decode_kind_name(c, t[1].val, decode_path(c, path, "kind")))
				continue;
			g->to[g->nto++] = (struct gw_grant_to){ t[0].val->scalar, t[1].val->scalar,
								t[2].val ? t[2].val->scalar : NULL };
		}
	}
}
