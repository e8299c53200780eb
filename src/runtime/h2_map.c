/* SPDX-License-Identifier: MIT */
/* h2_map: the pieces of HTTP/1.1 <-> HTTP/2 translation both h2c layers share. */
#include "config.h"

#include "runtime/h2_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

nghttp2_nv *h2_map_request(char *head, size_t len, const struct h1_limits *lim,
			   struct h1_header *scratch, size_t max, struct h1_request *req, size_t *n)
{
	memset(req, 0, sizeof *req);
	if (h1_parse_request(head, len, lim, req, scratch, max) <= 0)
		return NULL;
	nghttp2_nv *nv = calloc(req->nheaders + 4, sizeof *nv);
	if (nv == NULL)
		return NULL;
	size_t k = 0;
#define NV(nm, nl, vv, vl) nv[k++] = (nghttp2_nv){ (uint8_t *)(uintptr_t)(nm), (uint8_t *)(uintptr_t)(vv), \
						   (nl), (vl), NGHTTP2_NV_FLAG_NONE }
	NV(":method", 7, req->method, req->method_len);
	NV(":scheme", 7, "http", 4);
	if (req->host != NULL)  /* an HTTP/1.0 request may have none (§8.3.1 allows it) */
		NV(":authority", 10, req->host, req->host_len);
	NV(":path", 5, req->target, req->target_len);
	for (size_t i = 0; i < req->nheaders; i++) {
		struct h1_header *f = &scratch[i];
		if (h1_token_eq(f->name, f->name_len, "host") ||
		    h2_field_dropped(f->name, f->name_len, f->value, f->value_len))
			continue;
		/* HTTP/2 field names are lowercase (§8.2.1): the head is the caller's */
		char *name = head + (f->name - head);
		for (size_t j = 0; j < f->name_len; j++)
			if (name[j] >= 'A' && name[j] <= 'Z')
				name[j] = (char)(name[j] + 32);
		NV(f->name, f->name_len, f->value, f->value_len);
	}
#undef NV
	*n = k;
	return nv;
}

bool h2_map_buf_push(char **buf, uint32_t *off, uint32_t *len, uint32_t *cap, uint32_t max,
		     const void *p, size_t n)
{
	if (*off > 0 && *len + n > *cap) {
		memmove(*buf, *buf + *off, *len - *off);
		*len -= *off;
		*off = 0;
	}
	return h2_map_buf_put(buf, len, cap, max, p, n);
}

size_t h2_map_head_end(const char *buf, size_t old, size_t len)
{
	for (size_t i = old > 3 ? old - 3 : 0; i + 4 <= len; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	return 0;
}

int h2_map_send(nghttp2_session *s, int fd, struct h2_pending *p)
{
	for (;;) {
		while (p->off < p->len) {
			ssize_t k = send(fd, p->buf + p->off, p->len - p->off, MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
			p->off += (uint32_t)k;
		}
		p->off = p->len = 0;
		const uint8_t *f;
		ssize_t n = nghttp2_session_mem_send(s, &f);
		if (n <= 0)
			return n < 0 ? -1 : 0;
		ssize_t k;
		do
			k = send(fd, f, (size_t)n, MSG_NOSIGNAL);
		while (k < 0 && errno == EINTR);
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		size_t sent = k < 0 ? 0 : (size_t)k;
		/* the rest of this frame (16 KiB of DATA, or a head) waits for the socket */
		if (sent < (size_t)n &&
		    !h2_map_buf_put(&p->buf, &p->len, &p->cap, (uint32_t)n + 1024, f + sent, (size_t)n - sent))
			return -1;
	}
}
