/* SPDX-License-Identifier: MIT */
/* image_policy: BackendTrafficPolicy (gateway.envoyproxy.io/v1alpha1) as compiled into
 * the image: load balancing, health checks, circuit breaking and timeouts for the
 * backends of the rules that img_rule.policy points here. Types only. */
#ifndef GW_COMPILE_IMAGE_POLICY_H
#define GW_COMPILE_IMAGE_POLICY_H

#include <stdint.h>

#include "compile/image.h"

enum img_lb { IMG_LB_ROUND_ROBIN = 0, IMG_LB_LEAST_REQUEST, IMG_LB_RANDOM, IMG_LB_CONSISTENT_HASH };

struct img_policy {
	struct img_str name;      /* "namespace/name" */
	uint8_t lb;               /* enum img_lb */
	uint8_t pad[3];
	uint32_t reserved;
};

#endif
