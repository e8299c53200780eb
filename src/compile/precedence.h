/* SPDX-License-Identifier: MIT */
/* precedence: Gateway API HTTPRoute match ordering (§3.4), decided once at compile
 * time so that the data plane can take the first match that fits. Internal to compile/. */
#ifndef GW_COMPILE_PRECEDENCE_H
#define GW_COMPILE_PRECEDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gwapi/gwapi.h"

/* A route's age, for ties between routes: creationTimestamp when given, else load order. */
struct prec_route {
	const struct gw_httproute *route;
	const char *ns_name;        /* "namespace/name" */
	bool has_ts;
	int64_t ts_sec;             /* days*86400 + seconds, any fixed epoch */
	int32_t ts_nsec;
	uint32_t load_order;
};

/* One HTTPRouteMatch of one rule for one effective hostname, with its sort keys. */
struct prec_entry {
	const struct prec_route *route;
	const struct gw_http_match *match;
	uint32_t rule_idx, match_idx;
	uint32_t img_rule;          /* index into the image's rules[] */
	const char *host;           /* effective hostname as written ("*.a.com"), NULL = any */
	uint32_t exact_host_len;    /* characters of a non-wildcard hostname, else 0 */
	uint32_t host_len;          /* characters of the hostname, 0 for any */
	uint8_t path_rank;          /* 2 Exact, 1 PathPrefix, 0 RegularExpression */
	const char *path;           /* normalized: PathPrefix without a trailing "/"; a regex as written */
	uint32_t path_len;          /* characters of the value (the pattern for a regex) */
	uint32_t nheaders, nquery;  /* distinct names (a repeated name counts once) */
};

/* Fills r from a route; a creationTimestamp that does not parse counts as absent. */
void prec_route_init(struct prec_route *r, const struct gw_httproute *route, const char *ns_name);

/* Parses an RFC 3339 date-time ("2024-05-01T10:00:00Z", fractions and offsets allowed). */
bool prec_parse_timestamp(const char *s, int64_t *sec, int32_t *nsec);

/* Sorts entries, highest precedence first. The order is total, hence deterministic. */
void prec_sort(struct prec_entry *e, size_t n);

#endif
