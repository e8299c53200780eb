/* SPDX-License-Identifier: MIT */
/* decode_namespace: v1 Namespace. Only metadata.labels matter (allowedRoutes
 * selectors read them); resolve adds the implicit kubernetes.io/metadata.name. */
#include "gwapi/decode.h"

static const struct dfield namespace_spec_fields[] = {
	{ "finalizers", DT_SEQ, 0, 0, 0 },
};

void decode_namespace(struct dctx *c, const struct ynode *spec, struct gw_namespace *ns)
{
	(void)ns;
	if (!spec)
		return;
	struct dval v[1];
	if (DECODE_FIELDS(c, spec, "spec", namespace_spec_fields, v) && v[0].val) {
		const char **items;
		size_t n;
		decode_string_list(c, v[0].val, "spec.finalizers", &items, &n);
	}
}
