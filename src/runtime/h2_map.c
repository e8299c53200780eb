/* SPDX-License-Identifier: MIT */
/* h2_map: the pieces of HTTP/1.1 <-> HTTP/2 translation both h2c layers share. */
#include "config.h"

#include "runtime/h2_map.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/h1_parse.h"

bool h2_field_dropped(const char *name, size_t nlen, const char *value, size_t vlen)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
	};
	for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
		if (h1_token_eq(name, nlen, hop[i]))
			return true;
	/* RFC 9113 §8.2.2: TE may cross only as "trailers" (what gRPC sends). */
	return h1_token_eq(name, nlen, "te") && !h1_token_eq(value, vlen, "trailers");
}

enum {
	DC_SIZE, DC_EXT, DC_SIZE_LF, DC_DATA, DC_DATA_CR, DC_DATA_LF,
	DC_TRAILER_START, DC_TRAILER, DC_END_LF, DC_DONE,
};

/* Longest chunk-size line (digits and extensions) accepted. */
#define DC_LINE_MAX 4096

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool trailer_put(struct h1_dechunk *d, char ch)
{
	if (d->trailers_len >= sizeof d->trailers)
		return false;
	d->trailers[d->trailers_len++] = ch;
	return true;
}

ssize_t h1_dechunk(struct h1_dechunk *d, const char *in, size_t len, const char **data,
		   size_t *dlen, bool *done)
{
	*data = NULL;
	*dlen = 0;
	*done = d->state == DC_DONE;
	size_t i = 0;
	while (i < len && d->state != DC_DONE) {
		char ch = in[i];
		switch (d->state) {
		case DC_SIZE: {
			int v = hexval(ch);
			if (v >= 0) {
				if (d->left > (UINT64_MAX >> 4))
					return -1;
				d->left = d->left << 4 | (uint64_t)v;
				d->line++;
				break;
			}
			if (d->line == 0)
				return -1;
			if (ch == '\r')
				d->state = DC_SIZE_LF;
			else if (ch == ';' || ch == ' ' || ch == '\t')
				d->state = DC_EXT;
			else
				return -1;
			break;
		}
		case DC_EXT:
			if (++d->line > DC_LINE_MAX)
				return -1;
			if (ch == '\r')
				d->state = DC_SIZE_LF;
			break;
		case DC_SIZE_LF:
			if (ch != '\n')
				return -1;
			d->line = 0;
			d->state = d->left == 0 ? DC_TRAILER_START : DC_DATA;
			break;
		case DC_DATA: {
			size_t n = len - i;
			if (n > d->left)
				n = (size_t)d->left;
			d->left -= n;
			if (d->left == 0)
				d->state = DC_DATA_CR;
			*data = in + i;
			*dlen = n;
			return (ssize_t)(i + n);
		}
		case DC_DATA_CR:
			if (ch != '\r')
				return -1;
			d->state = DC_DATA_LF;
			break;
		case DC_DATA_LF:
			if (ch != '\n')
				return -1;
			d->state = DC_SIZE;
			break;
		case DC_TRAILER_START:
			if (ch == '\r') {
				d->state = DC_END_LF;
				break;
			}
			d->state = DC_TRAILER;
			/* fall through */
		case DC_TRAILER:
			if (!trailer_put(d, ch))
				return -1;
			if (ch == '\n')
				d->state = DC_TRAILER_START;
			break;
		case DC_END_LF:
			if (ch != '\n')
				return -1;
			d->state = DC_DONE;
			break;
		default:
			return -1;
		}
		i++;
	}
	*done = d->state == DC_DONE;
	return (ssize_t)i;
}

bool h2_map_field_line(char *buf, size_t cap, size_t *off, const char *name, size_t nlen,
		       const char *value, size_t vlen)
{
	size_t need = nlen + 2 + vlen + 2;
	if (*off > cap || cap - *off < need)
		return false;
	char *p = buf + *off;
	memcpy(p, name, nlen);
	p += nlen;
	*p++ = ':';
	*p++ = ' ';
	memcpy(p, value, vlen);
	p += vlen;
	*p++ = '\r';
	*p++ = '\n';
	*off += need;
	return true;
}

bool h2_map_buf_put(char **buf, uint32_t *len, uint32_t *cap, uint32_t max, const void *p, size_t n)
{
	if (n == 0)
		return true;
	if (n > max || *len > max - n)
		return false;
	if (*len + n > *cap) {
		uint32_t c = *cap ? *cap : 256;
		while (c < *len + n)
			c = c > max / 2 ? max : c * 2;
		char *b = realloc(*buf, c);
		if (b == NULL)
			return false;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += (uint32_t)n;
	return true;
}
