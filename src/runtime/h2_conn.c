/* SPDX-License-Identifier: MIT */
/* h2_conn: HTTP/2 prior knowledge on a client connection, shown to the connection as
 * HTTP/1.1 bytes: requests translated from each stream (RFC 9113 §8.3 to RFC 9112),
 * responses parsed back into HEADERS, DATA and trailers. The core works on memory;
 * the socket edge at the end of the file moves bytes between it and the client. */
#include "config.h"

#include "runtime/h2_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <nghttp2/nghttp2.h>

#include "runtime/conn.h"
#include "runtime/h1_parse.h"
#include "runtime/h2_map.h"
#include "runtime/worker.h"

/* Requests held at once: the one served and the next (MAX_CONCURRENT_STREAMS 1 lets
 * a new stream open only when the previous one closed). */
#define H2_RQ_MAX 2
/* Socket reads per pump before other connections get their turn. */
#define H2_READ_BUDGET 8
#define H2_READ_CHUNK 16384

/* One request stream, from its HEADERS until the connection read all of it and
 * wrote its whole response. */
struct h2_rq {
	int32_t id;
	bool is_head;
	bool has_body;        /* no END_STREAM on the request HEADERS */
	bool has_cl;          /* the client sent content-length: no chunked coding */
	bool head_ready;      /* translated, in the input queue */
	bool in_end;          /* END_STREAM received */
	bool in_done;         /* every translated byte was read by the connection */
	bool out_done;        /* its response was taken whole */
	bool last_queued;     /* the chunked terminator is in pend */
	int reject;           /* status the layer answers itself; 0 = none */
	uint32_t nfields, hbytes;
	/* while the head arrives: pseudo-header fields and the rest as field lines */
	char *method, *path, *authority, *host;
	uint32_t method_len, path_len, authority_len, host_len;
	char *fields;
	uint32_t fields_len, fields_cap;
	char *cookie;
	uint32_t cookie_len, cookie_cap;
	/* translated head, then body bytes as received (unconsumed DATA) */
	char *head;
	uint32_t head_len, head_off;
	char *body;
	uint32_t body_off, body_len, body_cap;
	uint32_t chunk_left;  /* chunked: data bytes of the open chunk not yet read */
	char pend[24];        /* chunked: framing bytes being read */
	uint8_t pend_off, pend_len;
};

enum { R_HEAD, R_BODY };

struct h2_conn {
	nghttp2_session *s;
	struct h2_conn_limits lim;
	struct h2_rq *rq[H2_RQ_MAX];      /* in stream order */
	unsigned nrq;
	const char *error;
	int err_errno;
	bool goaway_recv;
	bool sock_eof;
	bool finished;
	/* the response being taken */
	uint8_t rstate;
	uint8_t rframing;                 /* enum h1_body */
	uint64_t rleft;
	char *rhead;
	uint32_t rhead_len, rhead_cap;
	struct h1_dechunk *dc;            /* chunked: decoder, then its trailers */
	/* body buffer, drained by the data provider of stream rstream */
	int32_t rstream;                  /* 0 = no provider */
	bool body_end, deferred;
	char *body;
	uint32_t body_off, body_len, body_cap;
	/* edge: frame bytes the socket did not take */
	uint8_t *obuf;
	uint32_t ooff, olen, ocap;
};

static void h2_fail(struct h2_conn *h, const char *why, int err)
{
	if (h->error == NULL) {
		h->error = why;
		h->err_errno = err;
	}
}

/* ---- Requests ---- */

static struct h2_rq *rq_find(const struct h2_conn *h, int32_t id)
{
	for (unsigned i = 0; i < h->nrq; i++)
		if (h->rq[i]->id == id)
			return h->rq[i];
	return NULL;
}

static void rq_free_head_parts(struct h2_rq *rq)
{
	free(rq->method);
	free(rq->path);
	free(rq->authority);
	free(rq->host);
	free(rq->fields);
	free(rq->cookie);
	rq->method = rq->path = rq->authority = rq->host = rq->fields = rq->cookie = NULL;
}

static void rq_remove(struct h2_conn *h, struct h2_rq *rq)
{
	for (unsigned i = 0; i < h->nrq; i++) {
		if (h->rq[i] != rq)
			continue;
		memmove(&h->rq[i], &h->rq[i + 1], (h->nrq - i - 1) * sizeof h->rq[0]);
		h->nrq--;
		break;
	}
	rq_free_head_parts(rq);
	free(rq->head);
	free(rq->body);
	free(rq);
}

/* A request leaves once the connection read it all and answered it. */
static void rq_maybe_done(struct h2_conn *h, struct h2_rq *rq)
{
	if (rq->in_done && rq->out_done)
		rq_remove(h, rq);
}

static bool buf_append(char **buf, uint32_t *len, uint32_t *cap, uint32_t max, const char *p,
		       size_t n)
{
	if (n == 0)
		return true;
	if (n > max || *len > max - n)
		return false;
	if (*len + n > *cap) {
		uint32_t c = *cap ? *cap : 256;
		while (c < *len + n)
			c *= 2;
		if (c > max)
			c = max;
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

static char *dup_bytes(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* The layer answers a stream itself (no body), so the connection never sees it. */
static void h2_local_reply(struct h2_conn *h, int32_t id, int status)
{
	char st[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
		      (char)('0' + status % 10), '\0'};
	nghttp2_nv nv = {(uint8_t *)":status", (uint8_t *)st, 7, 3, NGHTTP2_NV_FLAG_NONE};
	/* No RST_STREAM(NO_ERROR) to stop a body (RFC 9113 §8.1): queued now it would
	 * make nghttp2 drop this response. The body is consumed as it comes instead. */
	(void)nghttp2_submit_response(h->s, id, &nv, 1, NULL);
}

static bool bytes_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* Builds the HTTP/1.1 head of a complete request HEADERS (RFC 9113 §8.3.1), or
 * returns the status of the answer the layer gives instead. */
static int rq_translate(struct h2_conn *h, struct h2_rq *rq)
{
	if (rq->reject)
		return rq->reject;
	if (rq->method == NULL)
		return 400;
	/* HTTP/1.1 cannot carry a tunnel here, and extended CONNECT is not offered. */
	if (rq->method_len == 7 && memcmp(rq->method, "CONNECT", 7) == 0)
		return 501;
	if (rq->path == NULL || rq->path_len == 0)
		return 400;
	/* RFC 9113 §8.3.1: Host and :authority must not differ. */
	if (rq->authority != NULL && rq->host != NULL &&
	    !bytes_ieq(rq->authority, rq->authority_len, rq->host, rq->host_len))
		return 400;
	const char *host = rq->authority != NULL ? rq->authority : rq->host;
	uint32_t host_len = rq->authority != NULL ? rq->authority_len : rq->host_len;
	if (host == NULL || host_len == 0)
		return 400;
	if ((size_t)rq->method_len + 1 + rq->path_len + 9 > h->lim.max_request_line)
		return 414;
	/* The field lines the connection will count: these, host, cookie, framing. */
	if ((size_t)rq->nfields + (rq->host == NULL) + (rq->cookie_len > 0) + 1 > h->lim.max_headers)
		return 431;
	rq->is_head = rq->method_len == 4 && memcmp(rq->method, "HEAD", 4) == 0;
	size_t need = rq->method_len + 1 + rq->path_len + 11 + 6 + host_len + 2 + rq->fields_len +
		      8 + rq->cookie_len + 2 + 28 + 2;
	if (need > (size_t)h->lim.max_head_bytes + 64)
		return 431;
	rq->head = malloc(need);
	if (rq->head == NULL)
		return 503;
	char *p = rq->head;
	memcpy(p, rq->method, rq->method_len);
	p += rq->method_len;
	*p++ = ' ';
	memcpy(p, rq->path, rq->path_len);
	p += rq->path_len;
	memcpy(p, " HTTP/1.1\r\n", 11);
	p += 11;
	size_t off = (size_t)(p - rq->head);
	(void)h2_map_field_line(rq->head, need, &off, "host", 4, host, host_len);
	if (rq->fields_len > 0)
		memcpy(rq->head + off, rq->fields, rq->fields_len);
	off += rq->fields_len;
	/* RFC 9113 §8.2.3: cookie crumbs are joined again for HTTP/1.1. */
	if (rq->cookie_len > 0)
		(void)h2_map_field_line(rq->head, need, &off, "cookie", 6, rq->cookie, rq->cookie_len);
	if (rq->has_body && !rq->has_cl)
		(void)h2_map_field_line(rq->head, need, &off, "transfer-encoding", 17, "chunked", 7);
	rq->head[off++] = '\r';
	rq->head[off++] = '\n';
	if (off > h->lim.max_head_bytes)
		return 431;
	rq->head_len = (uint32_t)off;
	rq_free_head_parts(rq);
	rq->head_ready = true;
	return 0;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2_conn *h = ud;
	(void)s;
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct h2_rq *rq = h->nrq < H2_RQ_MAX ? calloc(1, sizeof *rq) : NULL;
	if (rq == NULL)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  /* RST_STREAM for this stream */
	rq->id = f->hd.stream_id;
	h->rq[h->nrq++] = rq;
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
		     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct h2_conn *h = ud;
	(void)s;
	(void)flags;
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;  /* request trailers are dropped */
	struct h2_rq *rq = rq_find(h, f->hd.stream_id);
	if (rq == NULL || rq->head_ready || rq->reject)
		return 0;
	rq->hbytes += (uint32_t)(nlen + vlen + 4);
	bool counted = nlen > 0 && name[0] != ':' && !(nlen == 6 && memcmp(name, "cookie", 6) == 0);
	if (rq->hbytes > h->lim.max_head_bytes || (counted && ++rq->nfields > h->lim.max_headers)) {
		rq->reject = 431;
		rq_free_head_parts(rq);
		return 0;
	}
	/* Bytes HTTP/1.1 framing would misread (nghttp2 checks them too). */
	if (memchr(value, '\r', vlen) || memchr(value, '\n', vlen) || memchr(value, '\0', vlen)) {
		rq->reject = 400;
		return 0;
	}
	const char *n = (const char *)name, *v = (const char *)value;
	char **slot = NULL;
	uint32_t *slot_len = NULL;
	if (nlen > 0 && n[0] == ':') {
		if (nlen == 7 && memcmp(n, ":method", 7) == 0) {
			slot = &rq->method;
			slot_len = &rq->method_len;
		} else if (nlen == 5 && memcmp(n, ":path", 5) == 0) {
			slot = &rq->path;
			slot_len = &rq->path_len;
		} else if (nlen == 10 && memcmp(n, ":authority", 10) == 0) {
			slot = &rq->authority;
			slot_len = &rq->authority_len;
		} else {
			return 0;  /* :scheme has no HTTP/1.1 place */
		}
	} else if (nlen == 4 && memcmp(n, "host", 4) == 0) {
		slot = &rq->host;
		slot_len = &rq->host_len;
	}
	if (slot != NULL) {
		if (*slot != NULL) {
			rq->reject = 400;
			return 0;
		}
		if ((*slot = dup_bytes(value, vlen)) == NULL)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		*slot_len = (uint32_t)vlen;
		return 0;
	}
	if (h2_field_dropped(n, nlen, v, vlen))
		return 0;
	uint32_t max = h->lim.max_head_bytes;
	bool ok;
	if (nlen == 6 && memcmp(n, "cookie", 6) == 0) {
		ok = (rq->cookie_len == 0 ||
		      buf_append(&rq->cookie, &rq->cookie_len, &rq->cookie_cap, max, "; ", 2)) &&
		     buf_append(&rq->cookie, &rq->cookie_len, &rq->cookie_cap, max, v, vlen);
	} else {
		if (nlen == 14 && memcmp(n, "content-length", 14) == 0)
			rq->has_cl = true;
		size_t before = rq->fields_len;
		ok = buf_append(&rq->fields, &rq->fields_len, &rq->fields_cap, max, n, nlen) &&
		     buf_append(&rq->fields, &rq->fields_len, &rq->fields_cap, max, ": ", 2) &&
		     buf_append(&rq->fields, &rq->fields_len, &rq->fields_cap, max, v, vlen) &&
		     buf_append(&rq->fields, &rq->fields_len, &rq->fields_cap, max, "\r\n", 2);
		if (!ok)
			rq->fields_len = (uint32_t)before;
	}
	if (!ok)
		rq->reject = 431;
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2_conn *h = ud;
	(void)s;
	if (f->hd.type == NGHTTP2_GOAWAY) {
		h->goaway_recv = true;
		return 0;
	}
	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	struct h2_rq *rq = rq_find(h, f->hd.stream_id);
	if (rq == NULL)
		return 0;
	bool end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
		rq->has_body = !end;
		int st = rq_translate(h, rq);
		if (st != 0) {
			h2_local_reply(h, rq->id, st);
			rq_remove(h, rq);
			return 0;
		}
	}
	if (end)
		rq->in_end = true;
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *ud)
{
	struct h2_conn *h = ud;
	(void)flags;
	struct h2_rq *rq = rq_find(h, id);
	if (rq == NULL || !rq->head_ready || !rq->has_body) {
		/* A stream answered here: its window reopens at once. */
		(void)nghttp2_session_consume(s, id, len);
		return 0;
	}
	if (rq->body_off > 0 && rq->body_len + len > rq->body_cap) {
		memmove(rq->body, rq->body + rq->body_off, rq->body_len - rq->body_off);
		rq->body_len -= rq->body_off;
		rq->body_off = 0;
	}
	/* Unread bytes stay within the window we advertised (we consume only as the
	 * connection reads); more would be nghttp2 failing its flow control. */
	if (!buf_append(&rq->body, &rq->body_len, &rq->body_cap, H2_CONN_WINDOW, (const char *)data,
			len)) {
		h2_fail(h, "request body beyond the flow-control window", EPROTO);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	return 0;
}

static void out_reset(struct h2_conn *h);

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct h2_conn *h = ud;
	(void)s;
	(void)code;
	if (id == h->rstream)
		out_reset(h);
	struct h2_rq *rq = rq_find(h, id);
	if (rq == NULL)
		return 0;
	if (!rq->head_ready) {
		rq_remove(h, rq);
		return 0;
	}
	/* The connection serves one HTTP/1.1 request at a time and cannot drop one
	 * halfway: a reset of the stream it reads or answers ends the connection. */
	if (!(rq->out_done && rq->in_end)) {
		h2_fail(h, "stream reset before its exchange ended", ECONNRESET);
		return 0;
	}
	return 0;
}

/* Translated bytes of one request: head, then the body as received (content-length)
 * or in chunks of whatever arrived, then the last chunk. */
static size_t rq_emit(struct h2_conn *h, struct h2_rq *rq, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		if (rq->head_off < rq->head_len) {
			size_t n = rq->head_len - rq->head_off;
			n = n < len - got ? n : len - got;
			memcpy(buf + got, rq->head + rq->head_off, n);
			rq->head_off += (uint32_t)n;
			got += n;
			continue;
		}
		if (rq->pend_off < rq->pend_len) {
			size_t n = (size_t)(rq->pend_len - rq->pend_off);
			n = n < len - got ? n : len - got;
			memcpy(buf + got, rq->pend + rq->pend_off, n);
			rq->pend_off = (uint8_t)(rq->pend_off + n);
			got += n;
			continue;
		}
		if (!rq->has_body || rq->last_queued)
			break;
		uint32_t avail = rq->body_len - rq->body_off;
		bool chunked = !rq->has_cl;
		if (chunked && rq->chunk_left == 0) {
			if (avail > 0) {
				rq->pend_len = (uint8_t)snprintf(rq->pend, sizeof rq->pend, "%x\r\n",
								 (unsigned)avail);
				rq->chunk_left = avail;
			} else if (rq->in_end) {
				memcpy(rq->pend, "0\r\n\r\n", 5);
				rq->pend_len = 5;
				rq->last_queued = true;
			} else {
				break;
			}
			rq->pend_off = 0;
			continue;
		}
		size_t n = chunked ? rq->chunk_left : avail;
		n = n < len - got ? n : len - got;
		if (n == 0)
			break;
		memcpy(buf + got, rq->body + rq->body_off, n);
		rq->body_off += (uint32_t)n;
		if (rq->body_off == rq->body_len)
			rq->body_off = rq->body_len = 0;
		got += n;
		(void)nghttp2_session_consume(h->s, rq->id, n);
		if (chunked) {
			rq->chunk_left -= (uint32_t)n;
			if (rq->chunk_left == 0) {
				memcpy(rq->pend, "\r\n", 2);
				rq->pend_off = 0;
				rq->pend_len = 2;
			}
		}
	}
	return got;
}

/* Marks in_done once nothing of the request is left to read (its end may come after
 * its last byte was read: an empty DATA with END_STREAM). */
static bool rq_settle(struct h2_conn *h, struct h2_rq *rq)
{
	bool body_over = !rq->has_body ||
			 (rq->has_cl ? rq->in_end && rq->body_len == rq->body_off
				     : rq->last_queued && rq->pend_off == rq->pend_len);
	if (rq->head_off == rq->head_len && body_over)
		rq->in_done = true;
	if (rq->in_done && rq->out_done) {
		rq_remove(h, rq);
		return true;
	}
	return false;
}

static bool rq_readable(const struct h2_rq *rq)
{
	if (rq->head_off < rq->head_len || rq->pend_off < rq->pend_len)
		return true;
	if (!rq->has_body || rq->last_queued)
		return false;
	return rq->body_len > rq->body_off || (!rq->has_cl && rq->in_end);
}

/* The request whose bytes the connection reads next. */
static struct h2_rq *rq_input(struct h2_conn *h)
{
	for (unsigned i = 0; i < h->nrq; i++) {
		struct h2_rq *rq = h->rq[i];
		if (!rq->head_ready)
			return NULL;
		if (rq->in_done)
			continue;
		if (rq_settle(h, rq)) {
			i--;
			continue;
		}
		if (!rq->in_done)
			return rq;
	}
	return NULL;
}

bool h2_core_input_pending(struct h2_conn *h)
{
	const struct h2_rq *rq = rq_input(h);
	return rq != NULL && rq_readable(rq);
}

static bool h2_input_over(struct h2_conn *h)
{
	if (h->sock_eof || (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s)))
		return true;
	/* After the client's GOAWAY no stream opens: the input ends with the last. */
	return h->goaway_recv && rq_input(h) == NULL;
}

ssize_t h2_core_read(struct h2_conn *h, void *buf, size_t len)
{
	if (h->error != NULL) {
		errno = h->err_errno;
		return -1;
	}
	size_t got = 0;
	while (got < len) {
		struct h2_rq *rq = rq_input(h);
		if (rq == NULL || !rq_readable(rq))
			break;
		size_t n = rq_emit(h, rq, (char *)buf + got, len - got);
		got += n;
		if (!rq_settle(h, rq) && !rq->in_done && n == 0)
			break;
	}
	if (got > 0)
		return (ssize_t)got;
	if (h2_input_over(h))
		return 0;
	errno = EAGAIN;
	return -1;
}

int h2_core_recv(struct h2_conn *h, const void *in, size_t len)
{
	if (h->error != NULL)
		return -1;
	ssize_t r = nghttp2_session_mem_recv(h->s, in, len);
	if (r < 0) {
		h2_fail(h, nghttp2_strerror((int)r), EPROTO);
		(void)nghttp2_session_terminate_session(h->s, NGHTTP2_PROTOCOL_ERROR);
	}
	return h->error != NULL ? -1 : 0;
}

/* ---- Responses ---- */

static void out_reset(struct h2_conn *h)
{
	h->rstream = 0;
	h->body_off = h->body_len = 0;
	h->body_end = h->deferred = false;
	free(h->dc);
	h->dc = NULL;
}

/* The request the connection's response answers: the oldest not answered, once the
 * connection read its head. */
static struct h2_rq *rq_output(const struct h2_conn *h)
{
	for (unsigned i = 0; i < h->nrq; i++) {
		struct h2_rq *rq = h->rq[i];
		if (!rq->head_ready)
			return NULL;
		if (!rq->out_done)
			return rq->head_off == rq->head_len ? rq : NULL;
	}
	return NULL;
}

static bool tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Field name lowercased into scratch (HTTP/2 field names are lowercase, §8.2.1). */
static uint8_t *lower_into(uint8_t *scratch, const char *name, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		scratch[i] = (uint8_t)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	return scratch;
}

/* The trailer section of a chunked response as a trailing HEADERS (gRPC status). */
static void h2_submit_trailers(struct h2_conn *h, int32_t id)
{
	const char *t = h->dc->trailers;
	size_t len = h->dc->trailers_len, lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += t[i] == '\n';
	nghttp2_nv *nv = calloc(lines + 1, sizeof *nv);
	uint8_t *scratch = malloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; nv != NULL && scratch != NULL && i < len;) {
		const char *eol = memchr(t + i, '\n', len - i);
		size_t e = eol != NULL ? (size_t)(eol - t) : len;
		const char *line = t + i;
		size_t ll = e - i;
		i = e + 1;
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		const char *colon = memchr(line, ':', ll);
		if (colon == NULL || colon == line)
			continue;
		size_t nl = (size_t)(colon - line);
		bool ok = true;
		for (size_t k = 0; k < nl; k++)
			ok = ok && tchar((unsigned char)line[k]);
		const char *v = colon + 1, *vend = line + ll;
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		if (!ok || h2_field_dropped(line, nl, v, (size_t)(vend - v)))
			continue;
		nv[n].name = lower_into(scratch + (line - t), line, nl);
		nv[n].namelen = nl;
		nv[n].value = (uint8_t *)(uintptr_t)v;
		nv[n].valuelen = (size_t)(vend - v);
		nv[n].flags = NGHTTP2_NV_FLAG_NONE;
		n++;
	}
	if (nv == NULL || scratch == NULL || nghttp2_submit_trailer(h->s, id, nv, n) != 0)
		(void)nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
	free(nv);
	free(scratch);
}

static ssize_t h2_body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			    uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct h2_conn *h = ud;
	(void)s;
	(void)src;
	if (id != h->rstream)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	size_t n = h->body_len - h->body_off;
	n = n < len ? n : len;
	if (n > 0)
		memcpy(buf, h->body + h->body_off, n);
	h->body_off += (uint32_t)n;
	if (h->body_off == h->body_len)
		h->body_off = h->body_len = 0;
	if (h->body_len == 0 && h->body_end) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (h->dc != NULL && h->dc->trailers_len > 0) {
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			h2_submit_trailers(h, id);
		}
		out_reset(h);
	} else if (n == 0) {
		h->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

/* Body bytes that can be taken now: those that fit the buffer and the client's
 * window, so that whatever is taken can leave at once (also at a close). */
static size_t out_room(const struct h2_conn *h)
{
	int32_t sw = nghttp2_session_get_stream_remote_window_size(h->s, h->rstream);
	int32_t cw = nghttp2_session_get_remote_window_size(h->s);
	int64_t win = sw < cw ? sw : cw;
	int64_t held = (int64_t)(h->body_len - h->body_off);
	int64_t room = H2_CONN_BODY_MAX - held;
	if (win - held < room)
		room = win - held;
	return room > 0 ? (size_t)room : 0;
}

bool h2_core_out_blocked(const struct h2_conn *h)
{
	if (h->error != NULL || h->finished)
		return false;
	if (h->rstate == R_BODY)
		return out_room(h) == 0;
	return h->rstream != 0;  /* the last body still drains (only new input helps) */
}

/* n fits out_room(): the buffer grows up to H2_CONN_BODY_MAX. */
static int body_put(struct h2_conn *h, const char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (h->body_off > 0 && h->body_len + n > h->body_cap) {
		memmove(h->body, h->body + h->body_off, h->body_len - h->body_off);
		h->body_len -= h->body_off;
		h->body_off = 0;
	}
	if (h->body_len + n > h->body_cap) {
		size_t cap = h->body_cap ? 2 * (size_t)h->body_cap : 4096;
		while (cap < h->body_len + n)
			cap *= 2;
		if (cap > H2_CONN_BODY_MAX)
			cap = H2_CONN_BODY_MAX;
		char *b = realloc(h->body, cap);
		if (b == NULL) {
			h2_fail(h, "out of memory", ENOMEM);
			return -1;
		}
		h->body = b;
		h->body_cap = (uint32_t)cap;
	}
	memcpy(h->body + h->body_len, p, n);
	h->body_len += (uint32_t)n;
	return 0;
}

static void out_body_done(struct h2_conn *h, struct h2_rq *rq)
{
	h->body_end = true;
	h->rstate = R_HEAD;
	rq->out_done = true;
	rq_maybe_done(h, rq);
}

static void out_resume(struct h2_conn *h)
{
	if (h->deferred && h->rstream != 0) {
		h->deferred = false;
		(void)nghttp2_session_resume_data(h->s, h->rstream);
	}
}

/* A complete response head in rhead: HEADERS, and the body's framing. */
static int out_submit_head(struct h2_conn *h, struct h2_rq *rq)
{
	size_t max = h->lim.max_headers + 64;
	struct h1_header *hdrs = calloc(max, sizeof *hdrs);
	if (hdrs == NULL)
		return -1;
	struct h1_response resp;
	memset(&resp, 0, sizeof resp);
	struct h1_limits lim = {h->lim.resp_head_cap, max};
	int r = h1_parse_response(h->rhead, h->rhead_len, &lim, rq->is_head, &resp, hdrs, max);
	if (r != (int)h->rhead_len) {
		free(hdrs);
		h2_fail(h, "unparsable response head", EPROTO);
		return -1;
	}
	h->rhead_len = 0;
	if (resp.status < 200) {  /* interim responses are not relayed */
		free(hdrs);
		return 0;
	}
	nghttp2_nv *nv = calloc(resp.nheaders + 1, sizeof *nv);
	uint8_t *scratch = malloc((size_t)r);
	if (nv == NULL || scratch == NULL) {
		free(hdrs);
		free(nv);
		free(scratch);
		return -1;
	}
	char st[4] = {(char)('0' + resp.status / 100 % 10), (char)('0' + resp.status / 10 % 10),
		      (char)('0' + resp.status % 10), '\0'};
	nv[0] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)st, 7, 3, NGHTTP2_NV_FLAG_NONE};
	size_t n = 1, used = 0;
	for (size_t i = 0; i < resp.nheaders; i++) {
		const struct h1_header *f = &hdrs[i];
		if (h2_field_dropped(f->name, f->name_len, f->value, f->value_len))
			continue;
		nv[n].name = lower_into(scratch + used, f->name, f->name_len);
		used += f->name_len;
		nv[n].namelen = f->name_len;
		nv[n].value = (uint8_t *)(uintptr_t)f->value;
		nv[n].valuelen = f->value_len;
		nv[n].flags = NGHTTP2_NV_FLAG_NONE;
		n++;
	}
	bool body = resp.body == H1_BODY_CHUNKED || resp.body == H1_BODY_UNTIL_CLOSE ||
		    (resp.body == H1_BODY_LENGTH && resp.content_length > 0);
	nghttp2_data_provider dp = {.source.ptr = NULL, .read_callback = h2_body_read};
	int rv = nghttp2_submit_response(h->s, rq->id, nv, n, body ? &dp : NULL);
	free(hdrs);
	free(nv);
	free(scratch);
	if (rv != 0) {
		h2_fail(h, "response not submitted", EPROTO);
		return -1;
	}
	if (!body) {
		rq->out_done = true;
		rq_maybe_done(h, rq);
		return 0;
	}
	h->rstream = rq->id;
	h->rstate = R_BODY;
	h->rframing = (uint8_t)resp.body;
	h->rleft = resp.content_length;
	h->body_end = h->deferred = false;
	if (resp.body == H1_BODY_CHUNKED && (h->dc = calloc(1, sizeof *h->dc)) == NULL)
		return -1;
	return 0;
}

/* Takes response bytes from p[0..len): head bytes up to its end, then body bytes
 * while there is room. Returns how many, or -1 (fatal). */
static ssize_t out_take(struct h2_conn *h, const char *p, size_t len)
{
	size_t took = 0;
	while (took < len) {
		struct h2_rq *rq = rq_output(h);
		if (h->rstate == R_HEAD) {
			if (rq == NULL)
				return (ssize_t)len;  /* answers no request: dropped */
			if (h->rstream != 0)
				break;  /* the last body still drains */
			size_t start = h->rhead_len >= 3 ? h->rhead_len - 3 : 0;
			size_t n = len - took;
			if (n > h->lim.resp_head_cap - h->rhead_len)
				n = h->lim.resp_head_cap - h->rhead_len;
			if (n == 0) {
				h2_fail(h, "response head too large", EPROTO);
				return -1;
			}
			if (h->rhead_len + n > h->rhead_cap) {
				size_t cap = h->rhead_cap ? 2 * (size_t)h->rhead_cap : 1024;
				while (cap < h->rhead_len + n)
					cap *= 2;
				if (cap > h->lim.resp_head_cap)
					cap = h->lim.resp_head_cap;
				char *b = realloc(h->rhead, cap);
				if (b == NULL) {
					h2_fail(h, "out of memory", ENOMEM);
					return -1;
				}
				h->rhead = b;
				h->rhead_cap = (uint32_t)cap;
			}
			memcpy(h->rhead + h->rhead_len, p + took, n);
			h->rhead_len += (uint32_t)n;
			const char *end = NULL;
			for (size_t i = start; i + 4 <= h->rhead_len; i++) {
				if (memcmp(h->rhead + i, "\r\n\r\n", 4) == 0) {
					end = h->rhead + i + 4;
					break;
				}
			}
			if (end == NULL) {
				took += n;
				continue;
			}
			size_t extra = h->rhead_len - (size_t)(end - h->rhead);
			h->rhead_len -= (uint32_t)extra;
			took += n - extra;
			if (out_submit_head(h, rq) < 0) {
				h2_fail(h, "out of memory", ENOMEM);  /* unless it said why */
				return -1;
			}
			continue;
		}
		if (rq == NULL || rq->id != h->rstream) {
			h2_fail(h, "response without its stream", EPROTO);
			return -1;
		}
		size_t room = out_room(h);
		size_t avail = len - took;
		size_t n = 0;
		if (h->rframing == H1_BODY_CHUNKED) {
			const char *data;
			size_t dlen;
			bool done;
			ssize_t k = room > 0 ? h1_dechunk(h->dc, p + took, avail < room ? avail : room,
							  &data, &dlen, &done)
					     : 0;
			if (k < 0) {
				h2_fail(h, "bad chunked response body", EPROTO);
				return -1;
			}
			if (k == 0)
				break;
			if (body_put(h, data, dlen) < 0)
				return -1;
			took += (size_t)k;
			if (done)
				out_body_done(h, rq);
			out_resume(h);
			continue;
		}
		n = avail < room ? avail : room;
		if (h->rframing == H1_BODY_LENGTH && n > h->rleft)
			n = (size_t)h->rleft;
		if (n == 0)
			break;
		if (body_put(h, p + took, n) < 0)
			return -1;
		took += n;
		if (h->rframing == H1_BODY_LENGTH && (h->rleft -= n) == 0)
			out_body_done(h, rq);
		out_resume(h);
	}
	return (ssize_t)took;
}

ssize_t h2_core_write(struct h2_conn *h, const struct iovec *iov, int n)
{
	if (h->error != NULL || h->finished) {
		errno = h->error != NULL ? h->err_errno : EPIPE;
		return -1;
	}
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		ssize_t k = out_take(h, iov[i].iov_base, iov[i].iov_len);
		if (k < 0) {
			errno = h->err_errno ? h->err_errno : ENOMEM;
			return -1;
		}
		total += (size_t)k;
		if ((size_t)k < iov[i].iov_len)
			break;
	}
	if (total == 0) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)total;
}

ssize_t h2_core_send(struct h2_conn *h, const uint8_t **out)
{
	ssize_t n = nghttp2_session_mem_send(h->s, out);
	if (n < 0) {
		h2_fail(h, nghttp2_strerror((int)n), EPROTO);
		return -1;
	}
	return n;
}

void h2_core_finish(struct h2_conn *h)
{
	if (h->finished)
		return;
	h->finished = true;
	struct h2_rq *cur = rq_output(h);
	if (h->rstate == R_BODY && cur != NULL) {
		if (h->rframing == H1_BODY_UNTIL_CLOSE && h->error == NULL) {
			/* RFC 9112 §6.3: the close was the end of this body. */
			out_body_done(h, cur);
			out_resume(h);
		} else {
			(void)nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, h->rstream,
							NGHTTP2_INTERNAL_ERROR);
			cur->out_done = true;
			out_reset(h);
		}
	}
	/* Streams without their response: refused if the connection never read them
	 * (the client may retry), else cut. */
	for (unsigned i = 0; i < h->nrq; i++) {
		struct h2_rq *rq = h->rq[i];
		if (rq->out_done || !rq->head_ready)
			continue;
		uint32_t code = rq->head_off == 0 ? NGHTTP2_REFUSED_STREAM : NGHTTP2_INTERNAL_ERROR;
		(void)nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, rq->id, code);
	}
	uint32_t code = h->error == NULL ? NGHTTP2_NO_ERROR
		      : h->err_errno == EPROTO ? NGHTTP2_PROTOCOL_ERROR
		      : h->err_errno == ENOMEM ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_NO_ERROR;
	(void)nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE,
				    nghttp2_session_get_last_proc_stream_id(h->s), code, NULL, 0);
}

const char *h2_core_error(const struct h2_conn *h)
{
	return h->error;
}

struct h2_conn *h2_core_new(const struct h2_conn_limits *lim)
{
	struct h2_conn *h = calloc(1, sizeof *h);
	if (h == NULL)
		return NULL;
	h->lim = *lim;
	if (h->lim.resp_head_cap < 1024)
		h->lim.resp_head_cap = 1024;
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	int rv = nghttp2_session_callbacks_new(&cb);
	if (rv == 0)
		rv = nghttp2_option_new(&opt);
	if (rv == 0) {
		nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
		nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
		nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
		nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
		nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
		/* Request bodies are buffered until the connection reads them: the window
		 * reopens only then (nghttp2_session_consume). */
		nghttp2_option_set_no_auto_window_update(opt, 1);
		nghttp2_option_set_max_send_header_block_length(opt, (size_t)h->lim.resp_head_cap * 2);
		rv = nghttp2_session_server_new2(&h->s, cb, h, opt);
	}
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	nghttp2_settings_entry iv[] = {
		{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1},
		{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_CONN_WINDOW},
		{NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, lim->max_head_bytes},
	};
	if (rv == 0)
		rv = nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]);
	if (rv != 0) {
		h2_core_free(h);
		return NULL;
	}
	return h;
}

void h2_core_free(struct h2_conn *h)
{
	if (h == NULL)
		return;
	while (h->nrq > 0)
		rq_remove(h, h->rq[0]);
	if (h->s != NULL)
		nghttp2_session_del(h->s);  /* may call on_stream_close: rq[] is empty */
	free(h->dc);
	free(h->rhead);
	free(h->body);
	free(h->obuf);
	free(h);
}

/* ---- Socket edge ---- */

/* Reads what the socket holds into the session. */
static void h2_pump_in(struct conn *c)
{
	struct h2_conn *h = c->h2;
	uint8_t buf[H2_READ_CHUNK];
	for (int i = 0; i < H2_READ_BUDGET && h->error == NULL && !h->sock_eof; i++) {
		ssize_t n = read(c->fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				h2_fail(h, "client read error", errno);
			break;
		}
		if (n == 0) {
			h->sock_eof = true;
			break;
		}
		(void)h2_core_recv(h, buf, (size_t)n);
		if ((size_t)n < sizeof buf)
			break;
	}
}

/* Frames to the socket at once; what it does not take waits in obuf, and no new
 * frame is made meanwhile. */
static void h2_flush(struct conn *c)
{
	struct h2_conn *h = c->h2;
	for (;;) {
		while (h->olen > 0) {
			ssize_t k = send(c->fd, h->obuf + h->ooff, h->olen, MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				if (errno != EAGAIN && errno != EWOULDBLOCK)
					h2_fail(h, "client write error", errno);
				return;
			}
			h->ooff += (uint32_t)k;
			h->olen -= (uint32_t)k;
		}
		h->ooff = 0;
		const uint8_t *p;
		ssize_t n = h2_core_send(h, &p);
		if (n <= 0)
			return;
		ssize_t k;
		do
			k = send(c->fd, p, (size_t)n, MSG_NOSIGNAL);
		while (k < 0 && errno == EINTR);
		if (k < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				h2_fail(h, "client write error", errno);
				return;
			}
			k = 0;
		}
		if (k == n)
			continue;
		size_t left = (size_t)(n - k);
		if (left > h->ocap) {
			uint8_t *b = realloc(h->obuf, left);
			if (b == NULL) {
				h2_fail(h, "out of memory", ENOMEM);
				return;
			}
			h->obuf = b;
			h->ocap = (uint32_t)left;
		}
		memcpy(h->obuf, p + k, left);
		h->olen = (uint32_t)left;
		return;
	}
}

/* Tells the connection what it can do through the layer now. */
static void h2_flags(struct conn *c)
{
	struct h2_conn *h = c->h2;
	if (h->error != NULL) {  /* the next call reports it */
		c->client_rd = c->client_wr = true;
		return;
	}
	if (h2_core_input_pending(h) || h2_input_over(h))
		c->client_rd = true;
	if (!h2_core_out_blocked(h))
		c->client_wr = true;
}

int h2_conn_start(struct conn *c)
{
	if (c->tls != NULL || c->h2 != NULL || c->nrequests != 0 || c->in_end == 0)
		return 0;
	size_t n = c->in_end < H2_CONN_PREFACE_LEN ? c->in_end : H2_CONN_PREFACE_LEN;
	if (memcmp(c->in, H2_CONN_PREFACE, n) != 0)
		return 0;
	if (n < H2_CONN_PREFACE_LEN)
		return 1;
	const struct rt_limits *l = c->w->lim;
	struct h2_conn_limits lim = {
		.max_head_bytes = (uint32_t)l->max_header_bytes,
		.max_headers = (uint32_t)l->max_headers,
		.max_request_line = (uint32_t)l->max_request_line,
		.resp_head_cap = (uint32_t)(2 * l->head_cap + 4096),
	};
	c->h2 = h2_core_new(&lim);
	if (c->h2 == NULL) {
		conn_close(c, "out of memory");
		return -1;
	}
	int r = h2_core_recv(c->h2, c->in, c->in_end);
	c->in_end = 0;
	h2_flush(c);
	if (r < 0) {
		conn_close(c, "HTTP/2 protocol error");
		return -1;
	}
	/* No request yet: the connection waits for one like a new connection does. */
	c->state = CONN_IDLE;
	c->client_rd = true;
	return 1;
}

ssize_t h2_conn_read(struct conn *c, void *buf, size_t len)
{
	struct h2_conn *h = c->h2;
	if (h->finished)  /* lingering: the raw input is read and dropped */
		return read(c->fd, buf, len);
	if (!h2_core_input_pending(h))
		h2_pump_in(c);
	ssize_t n = h2_core_read(h, buf, len);
	int e = errno;
	h2_flush(c);  /* WINDOW_UPDATE for what was read, acknowledgements */
	errno = e;
	return n;
}

ssize_t h2_conn_writev(struct conn *c, const struct iovec *iov, int n)
{
	struct h2_conn *h = c->h2;
	if (h2_core_out_blocked(h))
		h2_pump_in(c);  /* a WINDOW_UPDATE may be waiting */
	ssize_t k = h2_core_write(h, iov, n);
	int e = errno;
	h2_flush(c);
	if (h->error == NULL && (h2_core_input_pending(h) || h2_input_over(h)))
		c->client_rd = true;  /* no socket event will announce what the pump read */
	errno = e;
	return k;
}

bool h2_conn_drained(const struct conn *c)
{
	return c->h2->finished || !h2_core_input_pending(c->h2);
}

void h2_conn_on_io(struct conn *c, int revents)
{
	struct h2_conn *h = c->h2;
	if (h->finished)
		return;
	if (revents & EV_READ) {
		c->client_rd = false;
		h2_pump_in(c);
	}
	if (revents & EV_WRITE)
		c->client_wr = false;
	h2_flush(c);
	h2_flags(c);
}

int h2_conn_events(const struct conn *c, int ev)
{
	struct h2_conn *h = c->h2;
	if (h->finished)
		return ev;
	if (h->error != NULL || h->sock_eof)
		ev &= ~EV_READ;  /* an EOF stays readable: the connection reads it through us */
	else
		ev |= EV_READ;   /* control frames and WINDOW_UPDATEs, whatever the state */
	if (h->olen > 0)
		ev |= EV_WRITE;
	else if ((ev & EV_WRITE) && h2_core_out_blocked(h))
		ev &= ~EV_WRITE;  /* the client's window, not the socket, holds us back */
	return ev;
}

void h2_conn_notify(struct conn *c)
{
	if (c->h2 == NULL || c->h2->finished)
		return;
	h2_core_finish(c->h2);
	h2_flush(c);
}

void h2_conn_close(struct conn *c)
{
	if (c->h2 == NULL)
		return;
	h2_conn_notify(c);
	h2_core_free(c->h2);
	c->h2 = NULL;
}
