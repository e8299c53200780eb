/* SPDX-License-Identifier: MIT */
/* resolve_policy: BackendTrafficPolicy targets, conflicts and status .
 * Internal to the config pipeline. */
#ifndef GW_GWAPI_RESOLVE_POLICY_H
#define GW_GWAPI_RESOLVE_POLICY_H

#include "gwapi/gwapi.h"

/* After route attachment: fills each policy's applied[], accepted and ancestors[]. */
void resolve_btpolicies(struct arena *a, struct gw_model *m, struct diag_list *dl);

#endif
