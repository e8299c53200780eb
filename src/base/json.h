/* SPDX-License-Identifier: MIT */
/* json: small helpers to write JSON into a struct buf (status, access log, admin). */
#ifndef GW_BASE_JSON_H
#define GW_BASE_JSON_H

#include <stddef.h>

#include "base/buf.h"

/* Appends s as a quoted JSON string, escaping what RFC 8259 requires. */
void json_str(struct buf *b, const char *s);
void json_strn(struct buf *b, const char *s, size_t len);
/* Appends "key": (a string key, then a colon). */
void json_key(struct buf *b, const char *key);

#endif
