/* SPDX-License-Identifier: MIT */
/* filter: HTTPRoute filters and timeouts on the data plane (GATEWAY-API.md §2.6.2-2.6.5),
 * read from the compiled img_filter records. Hooks called by conn.c / conn_proxy.c only
 * for rules that have filters or timeouts (a rule without them costs one test).
 * Nothing here allocates: modified fields point into the image or the request head. */
#ifndef GW_RUNTIME_FILTER_H
#define GW_RUNTIME_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile/image.h"
#include "runtime/h1_parse.h"
#include "runtime/h1_write.h"

struct conn;

/* Does rule r need the hooks below? */
static inline bool filter_rule_active(const struct img_rule *r)
{
	return r->filters.count != 0 || r->flags != 0 || r->timeout_request_ms != 0 ||
	       r->timeout_backend_ms != 0 || r->retry_attempts != 0;
}

/* After routing (c->req.headers still valid): picks the backendRef (*backend gets its
 * backend index, or IMG_NO_BACKEND) and answers what filters answer by themselves
 * (redirect, CORS preflight, ExtensionRef: 500). Returns 0 to go on proxying to
 * *backend, or what conn_reply returned (the request was answered). */
int filter_rule_begin(struct conn *c, const struct img_header *img, const struct img_listener *l,
		      const struct img_rule *rule, uint32_t *backend);

/* The request head for the backend with the request filters applied (header
 * modifiers, URLRewrite), into c->hout; also arms the timeouts and starts the mirrors.
 * Returns the head length, or 0 (out of memory, head too large). */
size_t filter_request_head(struct conn *c, const char *extra, size_t extra_len);

/* Bytes filter_response_head may add to a response head. */
size_t filter_response_extra(const struct conn *c);
/* The response head for the client with ResponseHeaderModifier and CORS applied. */
size_t filter_response_head(struct conn *c, char *out, size_t cap, struct h1_response *resp,
			    enum h1_conn_field cf);

/* The route deadline was reached: 504 before a response head, else a close. */
int filter_timeout(struct conn *c);

/* Pure helpers, exported for the unit tests. */
/* ReplacePrefixMatch (§2.6.2): path with its matched prefix (normalised, no trailing
 * "/" except "/") replaced. Writes at most path_len + repl_len + 1 bytes to out and
 * returns the length. */
size_t filter_replace_prefix(const char *path, size_t path_len, const char *prefix, size_t prefix_len,
			     const char *repl, size_t repl_len, char *out);
/* Does origin match the CORS allowOrigins pattern (lowercase; "*" wildcards, default
 * ports)? */
bool filter_origin_match(const char *pattern, size_t plen, const char *origin, size_t olen);

#endif
