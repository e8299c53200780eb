/* SPDX-License-Identifier: MIT */
/* h2_core_in: the requests half of the HTTP/2 client layer: each client stream becomes
 * HTTP/1.1 request bytes that the connection reads (RFC 9113 §8.3 to RFC 9112); also
 * the session's life (h2_core_new/free). Memory only. */
#include "config.h"

#include "runtime/h2_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nghttp2/nghttp2.h>

#include "runtime/h2_map.h"

void h2_core_fail(struct h2_conn *h, const char *why, int err)
{
	if (h->error == NULL) {
		h->error = why;
		h->err_errno = err;
	}
}

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

void h2_core_rq_remove(struct h2_conn *h, struct h2_rq *rq)
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
	    (rq->authority_len != rq->host_len ||
	     strncasecmp(rq->authority, rq->host, rq->host_len) != 0))
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
		      h2_map_buf_put(&rq->cookie, &rq->cookie_len, &rq->cookie_cap, max, "; ", 2)) &&
		     h2_map_buf_put(&rq->cookie, &rq->cookie_len, &rq->cookie_cap, max, v, vlen);
	} else {
		if (nlen == 14 && memcmp(n, "content-length", 14) == 0)
			rq->has_cl = true;
		size_t before = rq->fields_len;
		ok = h2_map_buf_put(&rq->fields, &rq->fields_len, &rq->fields_cap, max, n, nlen) &&
		     h2_map_buf_put(&rq->fields, &rq->fields_len, &rq->fields_cap, max, ": ", 2) &&
		     h2_map_buf_put(&rq->fields, &rq->fields_len, &rq->fields_cap, max, v, vlen) &&
		     h2_map_buf_put(&rq->fields, &rq->fields_len, &rq->fields_cap, max, "\r\n", 2);
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
			h2_core_rq_remove(h, rq);
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
	/* Unread bytes stay within the window we advertised (we consume only as the
	 * connection reads); more would be nghttp2 failing its flow control. */
	if (!h2_map_buf_push(&rq->body, &rq->body_off, &rq->body_len, &rq->body_cap, H2_CONN_WINDOW,
			     data, len)) {
		h2_core_fail(h, "request body beyond the flow-control window", EPROTO);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct h2_conn *h = ud;
	(void)s;
	(void)code;
	if (id == h->rstream)
		h2_core_out_reset(h);
	struct h2_rq *rq = rq_find(h, id);
	if (rq == NULL)
		return 0;
	if (!rq->head_ready) {
		h2_core_rq_remove(h, rq);
		return 0;
	}
	/* The connection serves one HTTP/1.1 request at a time and cannot drop one
	 * halfway: a reset of the stream it reads or answers ends the connection. */
	if (!(rq->out_done && rq->in_end)) {
		h2_core_fail(h, "stream reset before its exchange ended", ECONNRESET);
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
		h2_core_rq_remove(h, rq);
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

bool h2_core_input_over(struct h2_conn *h)
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
	if (h2_core_input_over(h))
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
		h2_core_fail(h, nghttp2_strerror((int)r), EPROTO);
		(void)nghttp2_session_terminate_session(h->s, NGHTTP2_PROTOCOL_ERROR);
	}
	return h->error != NULL ? -1 : 0;
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
		h2_core_rq_remove(h, h->rq[0]);
	if (h->s != NULL)
		nghttp2_session_del(h->s);  /* may call on_stream_close: rq[] is empty */
	free(h->dc);
	free(h->rhead);
	free(h->body);
	free(h->out.buf);
	free(h);
}
