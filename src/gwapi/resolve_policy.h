/* SPDX-License-Identifier: MIT */
/* resolve_policy: BackendTrafficPolicy targets, conflicts and status (helper "backends").
 * Internal to the config pipeline. */
#ifndef GW_GWAPI_RESOLVE_POLICY_H
#define GW_GWAPI_RESOLVE_POLICY_H

#include "gwapi/gwapi.h"

struct buf;

/* After route attachment: fills each policy's applied[], accepted and ancestors[]. */
void resolve_btpolicies(struct arena *a, struct gw_model *m, struct diag_list *dl);

/* The "ancestors" member of the policy's status object (Gateway API PolicyStatus). */
void resolve_btpolicy_status_json(struct buf *b, const struct gw_btpolicy *p, const char *controller_name);

#endif
