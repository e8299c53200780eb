/* SPDX-License-Identifier: MIT */
/* h1_chunked: the chunked transfer-coding scanner (RFC 9112 §7.1). It validates the
 * framing while the bytes pass through unchanged, one byte at a time if need be;
 * struct h1_chunked carries its state between calls. */
#include "runtime/h1_parse.h"

#include <limits.h>

#include "runtime/h1_chars.h"

/* Chunk size line with its extensions, and the whole trailer section. */
#define H1_CHUNK_LINE_MAX 4096u
#define H1_TRAILER_MAX (16u * 1024u)
#define H1_CHUNK_SIZE_DIGITS 16u

/* Chunked body states (RFC 9112 §7.1). The size-line states come first and the
 * trailer states next, so that each group's byte budget is one range check. */
enum {
	CK_SIZE_START = 0,  /* first hex digit of chunk-size */
	CK_SIZE,            /* more hex digits */
	CK_EXT_SEMI,        /* BWS seen; only more BWS or ';' may follow */
	CK_EXT_NAME_START,  /* after ';': BWS then chunk-ext-name */
	CK_EXT_NAME,
	CK_EXT_EQ,          /* BWS after the name: '=' or ';' */
	CK_EXT_VALUE_START, /* after '=': BWS then token or quoted-string */
	CK_EXT_TOKEN,
	CK_EXT_QUOTED,
	CK_EXT_QUOTED_ESC,
	CK_EXT_AFTER_VALUE, /* after a closing quote */
	CK_SIZE_LF,
	CK_TRAILER_START,   /* start of a trailer line, or the final CRLF */
	CK_TRAILER_NAME,
	CK_TRAILER_VALUE,
	CK_TRAILER_LF,
	CK_END_LF,
	CK_DATA,
	CK_DATA_CR,
	CK_DATA_LF,
	CK_DONE,
	CK_ERROR,
};

ssize_t h1_chunked_scan(struct h1_chunked *c, const char *buf, size_t len, bool *done)
{
	int st = c->state;
	uint64_t remaining = c->remaining;
	uint32_t line = c->line_bytes, trailer = c->trailer_bytes;
	size_t i = 0;

	if (st == CK_ERROR)
		goto fail;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (i < len && st != CK_DONE) {
		unsigned ch = H1_U(buf[i]);

		if (st == CK_DATA) {
			size_t take = len - i;
			if (take > remaining)
				take = (size_t)remaining;
			i += take;
			remaining -= take;
			if (remaining == 0)
				st = CK_DATA_CR;
			continue;
		}
		if (st <= CK_SIZE_LF) {
			if (++line > H1_CHUNK_LINE_MAX)
				goto fail;
		} else if (st <= CK_END_LF) {
			if (++trailer > H1_TRAILER_MAX)
				goto fail;
		}
		switch (st) {
		case CK_SIZE_START:
			/* 1*HEXDIG: no sign, no "0x", no leading whitespace. */
			if (!h1_hex[ch])
				goto fail;
			remaining = h1_hex[ch] - 1u;
			st = CK_SIZE;
			break;
		case CK_SIZE:
			if (h1_hex[ch]) {
				/* line counts this byte: line - 1 digits came before it. */
				if (line > H1_CHUNK_SIZE_DIGITS)
					goto fail;
				remaining = remaining << 4 | (h1_hex[ch] - 1u);
			} else if (ch == ';') {
				st = CK_EXT_NAME_START;
			} else if (H1_IS_WS(ch)) {
				st = CK_EXT_SEMI;
			} else if (ch == '\r') {
				st = CK_SIZE_LF;
			} else {
				goto fail;
			}
			break;
		case CK_EXT_SEMI:
			/* RFC 9112 §7.1.1: BWS only in front of ';'. */
			if (ch == ';')
				st = CK_EXT_NAME_START;
			else if (!H1_IS_WS(ch))
				goto fail;
			break;
		case CK_EXT_NAME_START:
			if (h1_tchar[ch])
				st = CK_EXT_NAME;
			else if (!H1_IS_WS(ch))
				goto fail;
			break;
		case CK_EXT_NAME:
			if (h1_tchar[ch])
				break;
			if (ch == '=')
				st = CK_EXT_VALUE_START;
			else if (ch == ';')
				st = CK_EXT_NAME_START;
			else if (H1_IS_WS(ch))
				st = CK_EXT_EQ;
			else if (ch == '\r')
				st = CK_SIZE_LF;
			else
				goto fail;
			break;
		case CK_EXT_EQ:
			if (ch == '=')
				st = CK_EXT_VALUE_START;
			else if (ch == ';')
				st = CK_EXT_NAME_START;
			else if (!H1_IS_WS(ch))
				goto fail;
			break;
		case CK_EXT_VALUE_START:
			if (h1_tchar[ch])
				st = CK_EXT_TOKEN;
			else if (ch == '"')
				st = CK_EXT_QUOTED;
			else if (!H1_IS_WS(ch))
				goto fail;
			break;
		case CK_EXT_TOKEN:
			if (h1_tchar[ch])
				break;
			/* the token ended: same choices as after a quoted value */
			__attribute__((fallthrough));
		case CK_EXT_AFTER_VALUE:
			if (ch == ';')
				st = CK_EXT_NAME_START;
			else if (H1_IS_WS(ch))
				st = CK_EXT_SEMI;
			else if (ch == '\r')
				st = CK_SIZE_LF;
			else
				goto fail;
			break;
		case CK_EXT_QUOTED:
			if (ch == '"')
				st = CK_EXT_AFTER_VALUE;
			else if (ch == '\\')
				st = CK_EXT_QUOTED_ESC;
			else if (!h1_qdtext[ch])
				goto fail;
			break;
		case CK_EXT_QUOTED_ESC:
			/* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
			if (!h1_fchar[ch])
				goto fail;
			st = CK_EXT_QUOTED;
			break;
		case CK_SIZE_LF:
			if (ch != '\n')
				goto fail;
			line = 0;
			st = remaining ? CK_DATA : CK_TRAILER_START;
			break;
		case CK_DATA_CR:
			if (ch != '\r')
				goto fail;
			st = CK_DATA_LF;
			break;
		case CK_DATA_LF:
			if (ch != '\n')
				goto fail;
			st = CK_SIZE_START;
			break;
		case CK_TRAILER_START:
			/* Trailer fields follow the header field rules (RFC 9112 §7.1.2). */
			if (ch == '\r')
				st = CK_END_LF;
			else if (h1_tchar[ch])
				st = CK_TRAILER_NAME;
			else
				goto fail;
			break;
		case CK_TRAILER_NAME:
			if (ch == ':')
				st = CK_TRAILER_VALUE;
			else if (!h1_tchar[ch])
				goto fail;
			break;
		case CK_TRAILER_VALUE:
			if (ch == '\r')
				st = CK_TRAILER_LF;
			else if (!h1_fchar[ch])
				goto fail;
			break;
		case CK_TRAILER_LF:
			if (ch != '\n')
				goto fail;
			st = CK_TRAILER_START;
			break;
		case CK_END_LF:
			if (ch != '\n')
				goto fail;
			st = CK_DONE;
			break;
		default:
			goto fail;
		}
		i++;
	}
	c->state = st;
	c->remaining = remaining;
	c->line_bytes = line;
	c->trailer_bytes = trailer;
	*done = st == CK_DONE;
	return (ssize_t)i;

fail:
	c->state = CK_ERROR;
	*done = false;
	return -1;
}
