/* SPDX-License-Identifier: MIT */
/* compile_policy: BackendTrafficPolicy -> img_policy records and img_rule.policy
 *. Private to compile/. */
#ifndef GW_COMPILE_POLICY_H
#define GW_COMPILE_POLICY_H

struct cctx;

/* After compile_rules: one record per accepted policy; every rule of a targeted route
 * points at the route's policy, else at its (first) Gateway's, else IMG_NONE. */
void compile_policies(struct cctx *c);

#endif
