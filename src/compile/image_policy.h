/* SPDX-License-Identifier: MIT */
/* image_policy: BackendTrafficPolicy (gateway.envoyproxy.io/v1alpha1) as compiled into
 * the image: load balancing, health checks, circuit breaking and timeouts for the
 * backends of the rules that img_rule.policy points here. Types only. */
#ifndef GW_COMPILE_IMAGE_POLICY_H
#define GW_COMPILE_IMAGE_POLICY_H

#include <stdint.h>

#include "compile/image.h"

enum img_lb { IMG_LB_ROUND_ROBIN = 0, IMG_LB_LEAST_REQUEST, IMG_LB_RANDOM, IMG_LB_CONSISTENT_HASH };
enum img_hash { IMG_HASH_SOURCE_IP = 0, IMG_HASH_HEADER, IMG_HASH_COOKIE };

/* img_policy.flags */
#define IMG_POL_ACTIVE_HC 1u      /* healthCheck.active (HTTP) */
#define IMG_POL_PASSIVE 2u        /* healthCheck.passive (outlier detection) */
#define IMG_POL_SPLIT_LOCAL 4u    /* passive.splitExternalLocalOriginErrors */
#define IMG_POL_COOKIE_GEN 8u     /* consistentHash.cookie.ttl: set a cookie when missing */

#define IMG_HC_STATUS_MIN 100u
#define IMG_HC_STATUS_WORDS 16u   /* statuses 100..611 as bits (status - IMG_HC_STATUS_MIN) */
#define IMG_UNLIMITED 0xffffffffu /* circuit breaker threshold without limit */
#define IMG_COOKIE_NAME_MAX 256u  /* hash_name of IMG_POL_COOKIE_GEN */
#define IMG_COOKIE_SUFFIX_MAX 24576u

struct img_policy {
	struct img_str name;      /* "namespace/name" */
	uint8_t lb;               /* enum img_lb */
	uint8_t hash;             /* enum img_hash (IMG_LB_CONSISTENT_HASH) */
	uint8_t pad[2];
	uint32_t flags;           /* IMG_POL_* */
	struct img_str hash_name; /* Header: lowercase header name; Cookie: cookie name */
	uint32_t table_size;      /* consistentHash.tableSize: a prime */
	/* healthCheck.active, type HTTP */
	struct img_str hc_path;
	struct img_str hc_method;
	uint32_t hc_interval_ms, hc_timeout_ms;
	uint32_t hc_healthy, hc_unhealthy;    /* thresholds, >= 1 */
	uint32_t hc_statuses[IMG_HC_STATUS_WORDS]; /* expected statuses; bit (s - 100) */
	/* healthCheck.passive; a threshold of 0 is off */
	uint32_t od_5xx, od_gateway, od_local;
	uint32_t od_interval_ms, od_base_ejection_ms, od_max_percent;
	/* circuitBreaker, per backend per process; IMG_UNLIMITED = none */
	uint32_t cb_connections, cb_pending, cb_requests, cb_retries;
	/* timeout; 0 = unset (the [limits] connect_timeout, no request timeout) */
	uint32_t connect_timeout_ms, request_timeout_ms;
	/* timeout.http, upstream connections: connectionIdleTimeout (0 = unset:
	 * UPOOL_IDLE_TIMEOUT; IMG_UNLIMITED = never) and maxConnectionDuration (0 = none) */
	uint32_t idle_timeout_ms, max_conn_ms;
	/* IMG_POL_COOKIE_GEN: what follows the generated value in its Set-Cookie field,
	 * "; Max-Age=N; attr=v; HttpOnly" (Max-Age left out for a session cookie) */
	struct img_str cookie_suffix;
};

static inline int img_policy_status_ok(const struct img_policy *p, int status)
{
	unsigned b = (unsigned)status - IMG_HC_STATUS_MIN;
	return status >= (int)IMG_HC_STATUS_MIN && b < IMG_HC_STATUS_WORDS * 32u &&
	       (p->hc_statuses[b / 32] >> (b % 32)) & 1u;
}

#endif
