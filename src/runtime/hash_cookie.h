/* SPDX-License-Identifier: MIT */
/* hash_cookie: the cookie a ConsistentHash policy of type Cookie with a ttl generates
 * when a request has none, as Envoy does: its value is this request's hash key, and the
 * Set-Cookie on the response makes the client's later requests go to the same endpoint.
 * Worker thread only. */
#ifndef GW_RUNTIME_HASH_COOKIE_H
#define GW_RUNTIME_HASH_COOKIE_H

#include <stddef.h>
#include <stdint.h>

struct conn;

/* Generates the cookie for c's request (BAL_LEASE_SETCOOKIE, lease.cookie) and returns
 * the 64-bit hash of its value, as a request carrying it would hash. */
uint64_t hash_cookie_new(struct conn *c);
/* Bytes the Set-Cookie field adds to c's response head (0: none to add). */
size_t hash_cookie_extra(const struct conn *c);
/* Puts the Set-Cookie field before the empty line that ends the response head
 * buf[0..n), for which the caller reserved hash_cookie_extra() more bytes. Returns the
 * new length. */
size_t hash_cookie_insert(const struct conn *c, char *buf, size_t n);

#endif
