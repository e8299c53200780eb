/* SPDX-License-Identifier: MIT */
/* resolver: keeps a set of hostnames (fqdn endpoints, ExternalName Services) resolved
 * with c-ares on the MAIN thread's libev loop, never on a worker and never blocking.
 * Every A and AAAA record is an address; names are re-resolved when their TTL expires,
 * clamped to [dns] min_ttl..max_ttl. On a failure or an empty answer the last good
 * addresses stay in use and the query is retried with backoff. */
#ifndef GW_RESOLVER_H
#define GW_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settings/settings.h"

struct ev_loop;
struct resolver;

/* Bounds, so that neither a large configuration nor a hostile DNS answer grows
 * memory without limit: names beyond RESOLVER_MAX_NAMES are not watched (logged once
 * per resolver_watch); of an answer's records, the RESOLVER_MAX_ADDRS lowest
 * addresses (IPv4 first, then IPv6, bytewise) are kept, the rest ignored (logged). */
#define RESOLVER_MAX_NAMES 1024
#define RESOLVER_MAX_ADDRS 32
#define RESOLVER_MAX_NAME_LEN 253

struct resolver_addr {
	uint8_t family;           /* AF_INET or AF_INET6 */
	uint8_t addr[16];         /* network byte order; 4 bytes used for AF_INET */
};

/* changed(arg) is called on the main loop, outside any resolver call, whenever the
 * address set of some watched name changed (including its first good answer); it
 * may call resolver_addrs() and resolver_each(). Calls are coalesced: one call may
 * stand for several names. Nameservers come from s->dns_nameservers ("127.0.0.1:5353,
 * [::1]:53"), else /etc/resolv.conf; min/max TTL from s. s is not kept. Returns NULL
 * (logged) when c-ares cannot be initialised. */
struct resolver *resolver_new(struct ev_loop *main_loop, const struct settings *s,
			      void (*changed)(void *arg), void *arg);

/* The set of hostnames to keep resolved (from the current image): new names are
 * queried at once; names already watched keep their addresses and schedule; names
 * no longer listed are dropped. Duplicates are fine. Names are compared
 * case-insensitively and copied. */
void resolver_watch(struct resolver *r, const char *const *names, size_t n);

/* Copies the current addresses of name (the last good answer) into out, at most max
 * of them, sorted (IPv4 first, then bytewise). Returns how many were copied; 0 when
 * none is known yet (never resolved, or not watched). */
size_t resolver_addrs(const struct resolver *r, const char *name, struct resolver_addr *out, size_t max);

/* For status and metrics. */
enum resolver_result {
	RESOLVER_PENDING = 0,     /* no answer yet */
	RESOLVER_SUCCESS,         /* at least one address */
	RESOLVER_EMPTY,           /* the name exists with no A/AAAA record, or does not exist */
	RESOLVER_FAILURE,         /* no answer: timeout, refused, server failure... */
};

struct resolver_name_info {
	const char *name;
	const struct resolver_addr *addrs; /* the addresses in use (last good answer) */
	size_t naddrs;
	enum resolver_result last_result;
	const char *last_error;   /* of the last failed or empty query ("" after a success) */
	uint32_t ttl;             /* seconds, of the last good answer (lowest record TTL) */
	uint64_t resolved_ms;     /* wall clock (ms since the epoch) of the last good answer, 0 = never */
	uint64_t next_refresh_ms; /* wall clock of the next query; 0 while one is in flight */
	uint64_t successes, failures, empties; /* answers since the name was first watched */
};

/* Calls fn once per watched name, in name order. The info and its pointers are valid
 * during the call only. */
void resolver_each(const struct resolver *r, void (*fn)(void *ctx, const struct resolver_name_info *info),
		   void *ctx);

/* Result names as used in metrics and status: "pending", "success", "empty", "failure". */
const char *resolver_result_name(enum resolver_result res);

/* Cancels queries in flight (no callback after this) and frees everything. NULL is fine. */
void resolver_free(struct resolver *r);

#endif
