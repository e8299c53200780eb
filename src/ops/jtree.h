/* SPDX-License-Identifier: MIT */
/* jtree: a small JSON reader (RFC 8259) into a tree held in an arena, for turning the
 * status JSON that compile/ embeds in each image into the `gatewayd status` table.
 * Control plane only; the input is our own output, but it is still checked. */
#ifndef GW_OPS_JTREE_H
#define GW_OPS_JTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

struct jval {
	enum jtype type;
	const char *str;          /* J_STRING: decoded, NUL-terminated; J_NUMBER: the text */
	size_t len;               /* J_STRING bytes; J_ARRAY/J_OBJECT members */
	struct jval **items;      /* J_ARRAY elements, J_OBJECT values */
	const char **keys;        /* J_OBJECT keys (decoded) */
};

/* Parses text[0..len) into a tree allocated in a. Returns NULL when the text is not
 * exactly one JSON value (whitespace around it allowed) or nests deeper than 64. */
struct jval *jtree_parse(struct arena *a, const char *text, size_t len);

/* Member of an object, NULL when absent or when o is not an object. */
const struct jval *jtree_get(const struct jval *o, const char *key);
/* The string value of member key, or NULL when absent or not a string. */
const char *jtree_get_str(const struct jval *o, const char *key);
/* Array length (0 for anything that is not an array) and element i. */
size_t jtree_len(const struct jval *v);
const struct jval *jtree_at(const struct jval *v, size_t i);

#endif
