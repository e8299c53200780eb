/* SPDX-License-Identifier: MIT */
/* hash_cookie: generated consistent-hash cookies. The field is Envoy's:
 *   Set-Cookie: name="16 hex digits"; Max-Age=ttl; attributes...; HttpOnly
 * (the part after the value is compiled: img_policy.cookie_suffix). Envoy hashes a
 * cookie value without its double quotes, so the quoted value sent back hashes as the
 * generated one did. */
#include "config.h"

#include "runtime/hash_cookie.h"

#include <string.h>

#include "compile/image_policy.h"
#include "runtime/balancer.h"
#include "runtime/conn.h"
#include "runtime/epset.h"
#include "runtime/generation.h"

#define SET_COOKIE "Set-Cookie: "
#define COOKIE_HEX 16

static void value_hex(uint64_t v, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = COOKIE_HEX - 1; i >= 0; i--, v >>= 4)
		out[i] = digits[v & 15];
}

uint64_t hash_cookie_new(struct conn *c)
{
	/* One value per client connection and address, as Envoy's (a hash of the
	 * connection's addresses): requests of one connection racing before the client
	 * stored the cookie all get the same one. */
	char key[sizeof c->id + sizeof c->peer_ip];
	size_t plen = strnlen(c->peer_ip, sizeof c->peer_ip);
	memcpy(key, &c->id, sizeof c->id);
	memcpy(key + sizeof c->id, c->peer_ip, plen);
	c->lease.cookie = epset_hash(key, sizeof c->id + plen);
	c->lease.flags |= BAL_LEASE_SETCOOKIE;
	char hex[COOKIE_HEX];
	value_hex(c->lease.cookie, hex);
	return epset_hash(hex, sizeof hex);
}

/* The policy whose cookie c's response sets, or NULL. */
static const struct img_policy *cookie_policy(const struct conn *c)
{
	if (!(c->lease.flags & BAL_LEASE_SETCOOKIE) || c->lease.set == NULL ||
	    c->lease.cluster >= c->lease.set->nclusters)
		return NULL;
	const struct img_policy *pol = c->lease.set->clusters[c->lease.cluster].pol;
	return pol != NULL && (pol->flags & IMG_POL_COOKIE_GEN) ? pol : NULL;
}

size_t hash_cookie_extra(const struct conn *c)
{
	const struct img_policy *pol = cookie_policy(c);
	if (pol == NULL)
		return 0;
	return sizeof SET_COOKIE - 1 + pol->hash_name.len + 2 + COOKIE_HEX + 1 +
	       pol->cookie_suffix.len + 2;
}

size_t hash_cookie_insert(const struct conn *c, char *buf, size_t n)
{
	const struct img_policy *pol = cookie_policy(c);
	if (pol == NULL || n < 4)
		return n;
	const struct img_header *img = c->lease.set->gen->img;
	char *p = buf + n - 2;  /* the final CRLF */
	memcpy(p, SET_COOKIE, sizeof SET_COOKIE - 1);
	p += sizeof SET_COOKIE - 1;
	memcpy(p, img_str_ptr(img, pol->hash_name), pol->hash_name.len);
	p += pol->hash_name.len;
	memcpy(p, "=\"", 2);
	p += 2;
	value_hex(c->lease.cookie, p);
	p += COOKIE_HEX;
	*p++ = '"';
	memcpy(p, img_str_ptr(img, pol->cookie_suffix), pol->cookie_suffix.len);
	p += pol->cookie_suffix.len;
	memcpy(p, "\r\n\r\n", 4);
	return (size_t)(p + 4 - buf);
}
