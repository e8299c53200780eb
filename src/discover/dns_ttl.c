/* SPDX-License-Identifier: MIT */
/* dns_ttl: re-resolution delays after good answers (TTL clamping) and after
 * failures (backoff). */
#include "discover/dns_ttl.h"

uint64_t dns_ttl_refresh_ms(uint32_t ttl_s, uint64_t min_ms, uint64_t max_ms)
{
	uint64_t ms = (uint64_t)ttl_s * 1000;
	if (ms > max_ms)
		ms = max_ms;
	if (ms < min_ms)
		ms = min_ms;
	if (ms < DNS_TTL_FLOOR_MS)
		ms = DNS_TTL_FLOOR_MS;
	return ms;
}

uint64_t dns_ttl_backoff_ms(unsigned failures, uint64_t min_ms, uint64_t max_ms)
{
	uint64_t first = min_ms < DNS_TTL_FLOOR_MS ? DNS_TTL_FLOOR_MS : min_ms;
	uint64_t cap = first * DNS_BACKOFF_MAX_FACTOR;
	if (cap > max_ms)
		cap = max_ms;
	if (cap < first)
		cap = first;
	uint64_t ms = first;
	for (unsigned i = 1; i < failures && ms < cap; i++)
		ms *= 2;
	return ms > cap ? cap : ms;
}
