/* SPDX-License-Identifier: MIT */
/* retry: HTTPRoute rule retry (GEP-1731, GATEWAY-API.md §2.6.6) on the data plane.
 * Hooks called by conn_proxy.c; a rule without retry costs one test per hook. */
#ifndef GW_RUNTIME_RETRY_H
#define GW_RUNTIME_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "compile/image.h"

struct conn;

/* Is status one of the rule's retry codes? */
static inline bool retry_code(const struct img_rule *r, int status)
{
	uint32_t b = (uint32_t)status - IMG_RETRY_CODE_MIN;
	return b < 200 && (r->retry_codes[b / 32] >> (b % 32) & 1u) != 0;
}

/* Should sent request body bytes stay in the client buffer (while there is room), so
 * that the request can be sent again? */
bool retry_keep_body(const struct conn *c);

/* A final response head with status arrived (nothing of it went to the client). If
 * the rule retries it, the attempt is dropped (its connection closed) and the next
 * one scheduled: returns 1. Returns 0 when the response goes on to the client. */
int retry_on_status(struct conn *c, int status);

/* The attempt failed before any response byte (connect failure, reset, EOF, connect
 * timeout): returns 1 when a retry was scheduled, else 0 (the caller answers). */
int retry_on_failure(struct conn *c, const char *what);

/* The route deadline was reached before a response head: when it was the attempt's
 * backendRequest limit (not timeouts.request) and 504 is a retry code, schedules a
 * retry and returns 1; else 0 (the caller answers 504). */
int retry_on_attempt_timeout(struct conn *c);

/* The backoff ended (the connection timer fired while c->retry_wait): picks a
 * backend and endpoint again and sends the request. Returns like a proxy handler. */
int retry_resume(struct conn *c);

#endif
