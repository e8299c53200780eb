/* SPDX-License-Identifier: MIT */
/* router: request -> listener -> rule -> backend, read straight from a compiled image.
 * Pure functions (no locks; no allocation except the worker's regex scratch growing to
 * the size of a joined header): safe on any worker. The precedence work was done at
 * compile time; here the first match in order wins. */
#ifndef GW_RUNTIME_ROUTER_H
#define GW_RUNTIME_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "compile/image.h"
#include "runtime/h1_parse.h"

struct regex_set;
struct regex_scratch;

struct router_request {
	const char *host;   size_t host_len;   /* Host without the port; any case */
	const char *path;   size_t path_len;   /* path without the query */
	const char *query;  size_t query_len;  /* may be NULL */
	int method;                             /* enum img_method */
	const struct h1_header *headers;
	size_t nheaders;
	/* RegularExpression matches (runtime/regex.h): the generation's compiled patterns
	 * (borrowed from the generation) and the worker's scratch. When either is NULL,
	 * a match that needs a regular expression does not fit. */
	const struct regex_set *regex;
	struct regex_scratch *scratch;
};

/* enum img_method of a request method token (IMG_METHOD_OTHER for extension methods). */
int router_method(const char *method, size_t len);

/* Strips an optional ":port" (and IPv6 brackets stay) from a Host value: returns the
 * length of the host part. */
size_t router_host_len(const char *host, size_t len);

/* The listener of bind b that serves host: most specific hostname first, then any.
 * Returns NULL when none matches (404). Listener isolation: the caller routes only
 * within the returned listener. */
const struct img_listener *router_select_listener(const struct img_header *img,
						   const struct img_bind *b,
						   const char *host, size_t host_len);

/* The rule that serves rq on listener l, or NULL when nothing matches (404). */
const struct img_rule *router_match(const struct img_header *img, const struct img_listener *l,
				    const struct router_request *rq);

/* Weighted choice among the rule's backendRefs; rnd is any 32-bit random number.
 * Returns a backend index, or IMG_NO_BACKEND (the caller answers 500). */
uint32_t router_pick_backend(const struct img_header *img, const struct img_rule *r, uint32_t rnd);

#endif
