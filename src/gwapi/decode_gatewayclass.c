/* SPDX-License-Identifier: MIT */
/* decode_gatewayclass: GatewayClass spec (GATEWAY-API.md §2.3). Whether the class is
 * ours (controllerName) is resolve's question; here only its shape. */
#include "gwapi/decode.h"
#include "gwapi/validate.h"

static const struct dfield class_fields[] = {
	{ "controllerName", DT_STR, DF_REQUIRED, 0, 0 },
	{ "description", DT_STR, 0, 0, 64 },
	{ "parametersRef", DT_MAP, 0, 0, 0 },
};

static const struct dfield params_fields[] = {
	{ "group", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
	{ "namespace", DT_STR, 0, 0, 0 },
};

void decode_gatewayclass(struct dctx *c, const struct ynode *spec, struct gw_gatewayclass *gc)
{
	struct dval v[3];
	DECODE_FIELDS(c, spec, "spec", class_fields, v);
	if (v[0].val) {
		if (validate_controller_name(v[0].val->scalar))
			gc->controller_name = v[0].val->scalar;
		else
			decode_error(c, v[0].val, "spec.controllerName",
				     "must be a domain-prefixed path such as \"example.com/gateway-controller\" "
				     "(at most 253 characters), got %s", decode_quote(c, v[0].val->scalar));
	}
	if (v[1].val)
		gc->description = v[1].val->scalar;
	if (v[2].val) {
		/* Kept as presence only: gatewayd defines no parameters kind, so resolve
		 * reports any reference as InvalidParameters (GATEWAY-API.md §2.3). */
		struct dval p[4];
		DECODE_FIELDS(c, v[2].val, "spec.parametersRef", params_fields, p);
		if (p[0].val)
			decode_group_name(c, p[0].val, "spec.parametersRef.group");
		if (p[1].val)
			decode_kind_name(c, p[1].val, "spec.parametersRef.kind");
		if (p[3].val)
			decode_dns_label(c, p[3].val, "spec.parametersRef.namespace");
		gc->has_parameters_ref = true;
	}
}
