/* SPDX-License-Identifier: MIT */
/* h1_chars: byte classes of HTTP/1.1 (RFC 9110, RFC 9112, RFC 3986) as 256-entry
 * tables, shared by the head parser and the chunked scanner. */
#include "runtime/h1_chars.h"

/* RFC 9110 §5.6.2 tchar. */
const uint8_t h1_tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
	['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
	['~'] = 1, ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

/* RFC 9110 §5.5: field-vchar (VCHAR / obs-text), SP and HTAB. DEL, NUL and every
 * other control byte are left out, CR and LF included. */
const uint8_t h1_fchar[256] = {
	['\t'] = 1, [' ' ... '~'] = 1, [0x80 ... 0xff] = 1,
};

/* request-target (RFC 9112 §3.2): visible ASCII. '#' is left out too: a fragment is
 * never sent (RFC 9112 §3.2), and a path ending somewhere else for the backend than
 * for the router is what we must not allow. */
const uint8_t h1_tgchar[256] = {
	['!'] = 1, ['"'] = 1, ['$' ... '~'] = 1,
};

/* RFC 3986 §3.2.2 reg-name: unreserved, sub-delims, and '%' of pct-encoded. */
const uint8_t h1_regname[256] = {
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['!'] = 1, ['$'] = 1, ['&'] = 1,
	['\''] = 1, ['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, [';'] = 1,
	['='] = 1, ['%'] = 1, ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

/* Hex digit value plus one; 0 = not a hex digit. */
const uint8_t h1_hex[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
	['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13,
	['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13,
	['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* RFC 9110 §5.6.4 qdtext. */
const uint8_t h1_qdtext[256] = {
	['\t'] = 1, [' '] = 1, ['!'] = 1, ['#' ... '['] = 1, [']' ... '~'] = 1,
	[0x80 ... 0xff] = 1,
};
