/* SPDX-License-Identifier: MIT */
/* dns_ttl: when to ask DNS again. Pure arithmetic, kept apart from the resolver so
 * that unit tests can pin it down. */
#ifndef GW_DNS_TTL_H
#define GW_DNS_TTL_H

#include <stdint.h>

/* Never query a name more often than this, whatever [dns] min_ttl says (min_ttl may
 * be 0): a record with TTL 0 must not turn into a busy loop. */
#define DNS_TTL_FLOOR_MS UINT64_C(500)

/* Failures back off by doubling, up to this many times the first delay (and never
 * beyond max_ttl): a long outage costs one query per name every few ten seconds,
 * and a recovered server is noticed soon enough. */
#define DNS_BACKOFF_MAX_FACTOR 8u

/* Delay before re-resolving after a good answer whose lowest record TTL is ttl_s
 * seconds: ttl clamped to [min_ms, max_ms], and never below DNS_TTL_FLOOR_MS. */
uint64_t dns_ttl_refresh_ms(uint32_t ttl_s, uint64_t min_ms, uint64_t max_ms);

/* Delay before retrying after the failures-th failed or empty answer in a row
 * (failures >= 1): min_ms (at least DNS_TTL_FLOOR_MS), doubled per further failure,
 * capped at DNS_BACKOFF_MAX_FACTOR times that first delay and at max_ms (unless
 * max_ms is below the first delay). */
uint64_t dns_ttl_backoff_ms(unsigned failures, uint64_t min_ms, uint64_t max_ms);

#endif
