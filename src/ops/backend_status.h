/* SPDX-License-Identifier: MIT */
/* backend_status: the live health of the backends' endpoints (runtime/epset.h) for
 * `gatewayd status` and /metrics. Main thread. */
#ifndef GW_OPS_BACKEND_STATUS_H
#define GW_OPS_BACKEND_STATUS_H

#include "base/buf.h"

struct epset;

/* The "backends" array of the status documents, as status_doc_backends writes it from
 * the image (name, endpoints[{address, health}]), with each endpoint's health from the
 * set ("healthy", "unhealthy" by active checks, "ejected" by outlier detection: the
 * worst over the backend's policies) and, for a backend used under a
 * BackendTrafficPolicy, a "policies" member: [{"policy", "lb", "circuitBreakerOverflows",
 * "endpoints": [{"address", "health", "active", "ejections", "checksOk", "checksFailed"}]}]. */
void backend_status_json(struct buf *out, const struct epset *s);

/* The samples of gatewayd_backend_endpoints{backend,state} (its HELP/TYPE written by
 * the caller), states healthy, unhealthy and ejected. */
void backend_status_endpoint_samples(struct buf *out, const struct epset *s);

/* Further families: gatewayd_health_checks_total{backend,result},
 * gatewayd_outlier_ejections_total{backend}, gatewayd_circuit_breaker_overflows_total{backend},
 * gatewayd_backend_requests_active{backend}. */
void backend_status_metrics(struct buf *out, const struct epset *s);

#endif
