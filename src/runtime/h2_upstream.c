/* SPDX-License-Identifier: MIT */
/* h2_upstream: the proxy's HTTP/1.1 request and response carried as one HTTP/2
 * stream to an h2c backend (see h2_upstream.h). */
#include "config.h"

#include "runtime/h2_upstream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <nghttp2/nghttp2.h>

#include "runtime/h1_parse.h"
#include "runtime/h1_write.h"
#include "runtime/h2_map.h"
#include "runtime/upstream.h"
#include "runtime/worker.h"

/* Where the request the proxy writes stands. */
enum { UQ_IDLE, UQ_HEAD, UQ_BODY, UQ_SENT };

/* The translated response is not read further from the socket past this many bytes
 * waiting (a blocked request body then waits for the proxy to take them). */
#define H2_UP_PENDING_MAX (4 * H2_UP_READ)
/* Our receive windows: TCP bounds what the kernel holds, so a large window costs no
 * memory here and spares round trips on big responses. */
#define H2_UP_WINDOW (1 << 20)

struct h2_up {
	nghttp2_session *s;
	int fd;
	const struct rt_limits *lim;
	struct h1_header *scratch;  /* the worker's parse scratch, for the request head */
	int32_t stream;             /* the stream in flight; 0 = none open */

	/* request: the HTTP/1.1 head gathered, then its body buffered for DATA frames */
	uint8_t rq;
	bool is_head, body_done, deferred;
	uint8_t body_kind;          /* enum h1_body */
	char *head;
	uint32_t head_len, head_cap;
	uint64_t cl_left;
	char *body;                 /* H2_UP_BODY_CAP */
	size_t body_off, body_len;
	struct h1_dechunk dechunk;

	/* response: translated to HTTP/1.1 in rbuf; fields of a HEADERS frame in fields */
	char *rbuf;
	uint32_t r_off, r_len, r_cap;
	char *fields;
	uint32_t fields_len, fields_cap;
	int status;
	bool has_length, chunked, head_out, resp_done, reset, goaway, eof, broken;
	bool trailers_ok;           /* the request said "TE: trailers" (gRPC does) */
	uint32_t reset_code;        /* the backend's RST_STREAM error code */

	/* frames the socket did not take */
	struct h2_pending out;
};

static uint32_t resp_max(const struct h2_up *h)
{
	/* one socket read of DATA with chunk framing, plus a head, plus what waited */
	return (uint32_t)(H2_UP_PENDING_MAX + 2 * H2_UP_READ + 2 * h->lim->head_cap);
}

/* what the proxy already read is dropped before the buffer grows */
static bool resp_put(struct h2_up *h, const void *p, size_t n)
{
	return h2_map_buf_push(&h->rbuf, &h->r_off, &h->r_len, &h->r_cap, resp_max(h), p, n);
}

/* ---- nghttp2 callbacks: the response becomes HTTP/1.1 bytes ---- */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2_up *h = ud;
	(void)s;
	if (f->hd.stream_id == h->stream)
		h->fields_len = 0;
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct h2_up *h = ud;
	(void)s;
	(void)flags;
	if (f->hd.stream_id != h->stream)
		return 0;
	const char *n = (const char *)name, *v = (const char *)value;
	if (nlen == 7 && !memcmp(n, ":status", 7)) {
		/* RFC 9110 §15: 100 to 599; anything else is a bad response (502) */
		int st = 0;
		for (size_t i = 0; i < vlen; i++)
			st = v[i] >= '0' && v[i] <= '9' && st < 1000 ? st * 10 + (v[i] - '0') : 1000;
		if (vlen != 3 || st < 100 || st > 599)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		h->status = st;
		return 0;
	}
	if (nlen > 0 && n[0] == ':')
		return 0;
	if (h2_field_dropped(n, nlen, v, vlen))
		return 0;
	if (!h->head_out && h1_token_eq(n, nlen, "content-length")) {
		/* A client that takes trailers gets the body chunked, so that trailers
		 * after it (gRPC's grpc-status) can follow; nghttp2 still checks the
		 * DATA against the length. */
		if (h->trailers_ok)
			return 0;
		h->has_length = true;
	}
	/* past max_header_bytes (or out of memory) the stream is reset: a 502 */
	uint32_t max = (uint32_t)h->lim->max_header_bytes;
	bool ok = h2_map_buf_put(&h->fields, &h->fields_len, &h->fields_cap, max, n, nlen) &&
		  h2_map_buf_put(&h->fields, &h->fields_len, &h->fields_cap, max, ": ", 2) &&
		  h2_map_buf_put(&h->fields, &h->fields_len, &h->fields_cap, max, v, vlen) &&
		  h2_map_buf_put(&h->fields, &h->fields_len, &h->fields_cap, max, "\r\n", 2);
	return ok ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

/* The final response head, framed for HTTP/1.1: the backend's Content-Length when
 * it sent one, else chunked (or an empty body when the stream already ended). */
static bool emit_head(struct h2_up *h, bool end)
{
	char line[64];
	const char *reason = h1_reason(h->status);
	int n = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", h->status, reason ? reason : "");
	if (!resp_put(h, line, (size_t)n) || !resp_put(h, h->fields, h->fields_len))
		return false;
	bool no_body = h->is_head || h->status == 204 || h->status == 304;
	if (!h->has_length && !no_body) {
		if (end) {
			if (!resp_put(h, "content-length: 0\r\n", 19))
				return false;
		} else {
			h->chunked = true;
			if (!resp_put(h, "transfer-encoding: chunked\r\n", 28))
				return false;
		}
	}
	h->head_out = true;
	return resp_put(h, "\r\n", 2);
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2_up *h = ud;
	(void)s;
	if (f->hd.type == NGHTTP2_GOAWAY) {
		h->goaway = true;
		return 0;
	}
	if (f->hd.stream_id != h->stream || h->stream == 0)
		return 0;
	bool end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
	if (f->hd.type == NGHTTP2_HEADERS) {
		if (!h->head_out) {
			if (h->status < 200) {
				/* interim (100 Continue, 103): relayed as the proxy relays an
				 * HTTP/1.1 backend's; the final head follows */
				char line[64];
				int n = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", h->status,
						 h1_reason(h->status));
				bool ok = h->status >= 100 && h->status != 101 && !end &&
					  resp_put(h, line, (size_t)n) && resp_put(h, h->fields, h->fields_len) &&
					  resp_put(h, "\r\n", 2);
				h->fields_len = 0;
				h->has_length = false;
				return ok ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
			}
			if (!emit_head(h, end))
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		} else if (h->chunked) {  /* trailers: the chunked trailer section */
			if (!resp_put(h, "0\r\n", 3) || !resp_put(h, h->fields, h->fields_len) ||
			    !resp_put(h, "\r\n", 2))
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
			h->chunked = false;
		}
		if (end)
			h->resp_done = true;
	} else if (f->hd.type == NGHTTP2_DATA && end) {
		if (h->chunked && !resp_put(h, "0\r\n\r\n", 5))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		h->chunked = false;
		h->resp_done = true;
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t stream, const uint8_t *data,
			 size_t len, void *ud)
{
	struct h2_up *h = ud;
	(void)s;
	(void)flags;
	if (stream != h->stream || !h->head_out || len == 0)
		return 0;
	if (h->chunked) {
		char size[24];
		int n = snprintf(size, sizeof size, "%zx\r\n", len);
		if (!resp_put(h, size, (size_t)n) || !resp_put(h, data, len) || !resp_put(h, "\r\n", 2))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		return 0;
	}
	return resp_put(h, data, len) ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

static int on_stream_close(nghttp2_session *s, int32_t stream, uint32_t error, void *ud)
{
	struct h2_up *h = ud;
	(void)s;
	if (stream != h->stream)
		return 0;
	if (!h->resp_done) {
		h->reset = true;
		h->reset_code = error;
	}
	h->stream = 0;
	return 0;
}

/* ---- the request: a data provider over the body buffer ---- */

static ssize_t body_read(nghttp2_session *s, int32_t stream, uint8_t *buf, size_t length,
			 uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct h2_up *h = ud;
	(void)s;
	(void)stream;
	(void)src;
	size_t n = length < h->body_len ? length : h->body_len;
	if (n > 0)
		memcpy(buf, h->body + h->body_off, n);
	h->body_off += n;
	h->body_len -= n;
	if (h->body_len == 0)
		h->body_off = 0;
	if (h->body_len == 0 && h->body_done) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		h->rq = UQ_SENT;
		return (ssize_t)n;
	}
	if (n == 0) {
		h->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

/* ---- socket edge ---- */

static int flush(struct h2_up *h)
{
	if (h2_map_send(h->s, h->fd, &h->out) < 0) {
		h->broken = true;
		return -1;
	}
	return 0;
}

/* Reads and processes what the backend sent, while little translated output waits.
 * Returns 0, or -1 when the session broke. */
static int pump_input(struct h2_up *h)
{
	while (!h->eof && !h->broken && h->r_len - h->r_off < H2_UP_PENDING_MAX) {
		uint8_t raw[H2_UP_READ];
		ssize_t k = read(h->fd, raw, sizeof raw);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			h->broken = true;
			return -1;
		}
		if (k == 0) {
			h->eof = true;
			break;
		}
		if (nghttp2_session_mem_recv(h->s, raw, (size_t)k) < 0) {
			h->broken = true;
			return -1;
		}
		if ((size_t)k < sizeof raw)
			break;
	}
	return flush(h) < 0 ? -1 : 0;
}

struct h2_up *h2_up_new(int fd, const struct rt_limits *lim, struct h1_header *scratch)
{
	struct h2_up *h = calloc(1, sizeof *h);
	if (h == NULL)
		return NULL;
	h->fd = fd;
	h->lim = lim;
	h->scratch = scratch;
	nghttp2_session_callbacks *cb;
	if (nghttp2_session_callbacks_new(&cb) != 0) {
		free(h);
		return NULL;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	int r = nghttp2_session_client_new(&h->s, cb, h);
	nghttp2_session_callbacks_del(cb);
	if (r != 0) {
		free(h);
		return NULL;
	}
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_UP_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)lim->max_header_bytes },
	};
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
	    nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, H2_UP_WINDOW) != 0) {
		h2_up_free(h);
		return NULL;
	}
	return h;
}

void h2_up_free(struct h2_up *h)
{
	if (h == NULL)
		return;
	nghttp2_session_del(h->s);
	free(h->head);
	free(h->body);
	free(h->rbuf);
	free(h->fields);
	free(h->out.buf);
	free(h);
}

/* The gathered HTTP/1.1 head becomes HEADERS on a new stream (RFC 9113 §8.3.1). */
static int submit_head(struct h2_up *h)
{
	struct h1_request req;
	struct h1_limits lim = { h->head_cap, h->lim->parse_headers };
	size_t n;
	nghttp2_nv *nv = h2_map_request(h->head, h->head_len, &lim, h->scratch, h->lim->parse_headers,
					&req, &n);
	if (nv == NULL)
		return -1;
	h->is_head = req.method_len == 4 && !memcmp(req.method, "HEAD", 4);
	h->trailers_ok = false;
	for (size_t i = 0; i < req.nheaders; i++)
		if (h1_token_eq(h->scratch[i].name, h->scratch[i].name_len, "te") &&
		    h1_token_eq(h->scratch[i].value, h->scratch[i].value_len, "trailers"))
			h->trailers_ok = true;
	h->body_kind = (uint8_t)req.body;
	h->cl_left = req.content_length;
	h->body_done = req.body == H1_BODY_NONE || (req.body == H1_BODY_LENGTH && req.content_length == 0);
	memset(&h->dechunk, 0, sizeof h->dechunk);
	nghttp2_data_provider prd = { .source.ptr = h, .read_callback = body_read };
	int32_t id = nghttp2_submit_request(h->s, NULL, nv, n, h->body_done ? NULL : &prd, h);
	free(nv);
	if (id < 0)
		return -1;
	h->stream = id;
	h->rq = h->body_done ? UQ_SENT : UQ_BODY;
	return 0;
}

/* Takes head bytes up to the end of the head; returns how many, or -1. */
static ssize_t take_head(struct h2_up *h, const char *p, size_t n)
{
	uint32_t old = h->head_len;
	uint32_t max = (uint32_t)h->lim->head_cap + 1024;  /* the proxy's head plus what it adds */
	size_t room = max - old;
	size_t k = n < room ? n : room;
	if (k == 0 || !h2_map_buf_put(&h->head, &h->head_len, &h->head_cap, max, p, k))
		return -1;
	size_t end = h2_map_head_end(h->head, old, h->head_len);
	if (end == 0)
		return (ssize_t)k;
	h->head_len = (uint32_t)end;
	if (submit_head(h) < 0)
		return -1;
	return (ssize_t)(end - old);
}

/* Takes body bytes into the body buffer (unframed); returns how many. */
static ssize_t take_body(struct h2_up *h, const char *p, size_t n)
{
	if (h->body == NULL && (h->body = malloc(H2_UP_BODY_CAP)) == NULL)
		return -1;
	if (h->body_off > 0) {
		memmove(h->body, h->body + h->body_off, h->body_len);
		h->body_off = 0;
	}
	size_t room = H2_UP_BODY_CAP - h->body_len;
	if (h->body_kind == H1_BODY_LENGTH) {
		size_t k = n < room ? n : room;
		if (k > h->cl_left)
			k = (size_t)h->cl_left;
		memcpy(h->body + h->body_len, p, k);
		h->body_len += k;
		h->cl_left -= k;
		h->body_done = h->cl_left == 0;
		return (ssize_t)k;
	}
	/* chunked: decoded runs never exceed the input handed over, so hand over room */
	size_t used = 0;
	while (used < n && !h->body_done && room > 0) {
		size_t give = n - used < room ? n - used : room;
		const char *data;
		size_t dlen;
		bool done;
		ssize_t k = h1_dechunk(&h->dechunk, p + used, give, &data, &dlen, &done);
		if (k < 0)
			return -1;
		if (dlen > 0)
			memcpy(h->body + h->body_len, data, dlen);
		h->body_len += dlen;
		room -= dlen;
		used += (size_t)k;
		h->body_done = done;
		if (k == 0)
			break;
	}
	return (ssize_t)used;
}

static bool window_blocked(const struct h2_up *h)
{
	return h->stream != 0 && h->body_len > 0 &&
	       (nghttp2_session_get_stream_remote_window_size(h->s, h->stream) <= 0 ||
		nghttp2_session_get_remote_window_size(h->s) <= 0);
}

ssize_t h2_up_writev(struct upstream *u, const struct iovec *iov, int n)
{
	struct h2_up *h = u->h2;
	/* after a GOAWAY the stream in flight goes on; no new one starts */
	if (h->broken || h->eof || (h->goaway && h->stream == 0)) {
		errno = ECONNRESET;
		return -1;
	}
	if (window_blocked(h) && pump_input(h) < 0) {
		errno = ECONNRESET;
		return -1;
	}
	if (flush(h) < 0) {
		errno = ECONNRESET;
		return -1;
	}
	size_t taken = 0;
	for (int i = 0; i < n && h->out.off == h->out.len; i++) {
		const char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;
		while (left > 0) {
			ssize_t k;
			if (h->rq == UQ_IDLE)
				h->rq = UQ_HEAD;
			if (h->rq == UQ_HEAD)
				k = take_head(h, p, left);
			else if (h->rq == UQ_BODY && !h->body_done)
				k = take_body(h, p, left);
			else
				k = -1;  /* bytes past the message: the proxy never sends them */
			if (k < 0) {
				h->broken = true;
				errno = EPROTO;
				return -1;
			}
			if (k == 0)
				break;
			p += k;
			left -= (size_t)k;
			taken += (size_t)k;
		}
		if (left > 0)
			break;
	}
	if (h->deferred && h->stream != 0 && (h->body_len > 0 || h->body_done)) {
		h->deferred = false;
		(void)nghttp2_session_resume_data(h->s, h->stream);
	}
	if (flush(h) < 0) {
		errno = ECONNRESET;
		return -1;
	}
	if (taken == 0) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)taken;
}

ssize_t h2_up_read(struct upstream *u, void *buf, size_t len)
{
	struct h2_up *h = u->h2;
	for (;;) {
		size_t have = h->r_len - h->r_off;
		if (have > 0) {
			size_t k = have < len ? have : len;
			memcpy(buf, h->rbuf + h->r_off, k);
			h->r_off += k;
			if (h->r_off == h->r_len)
				h->r_off = h->r_len = 0;
			return (ssize_t)k;
		}
		if (h->reset || h->broken) {
			/* RFC 9113 §8.7: only a refused stream (or one past a GOAWAY's last
			 * id, which nghttp2 closes as refused) is known to be unprocessed;
			 * after any other reset the request is not sent again as if the
			 * pooled connection had merely gone stale. */
			if (h->reset && h->reset_code != NGHTTP2_REFUSED_STREAM)
				u->reused = false;
			errno = ECONNRESET;
			return -1;
		}
		if (h->resp_done) {
			errno = EAGAIN;
			return -1;
		}
		if (h->eof)
			return 0;
		uint8_t raw[H2_UP_READ];
		ssize_t k = read(h->fd, raw, sizeof raw);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				h->broken = true;
			return -1;
		}
		if (k == 0) {
			h->eof = true;
			continue;
		}
		if (nghttp2_session_mem_recv(h->s, raw, (size_t)k) < 0)
			h->broken = true;
		else
			(void)flush(h);  /* WINDOW_UPDATE, SETTINGS and PING acknowledgements */
	}
}

bool h2_up_drained(const struct upstream *u)
{
	return u->h2->r_len == u->h2->r_off;
}

int h2_up_events(const struct upstream *u, int want)
{
	const struct h2_up *h = u->h2;
	int ev = want & EV_READ;
	if (h->out.off < h->out.len)
		return ev | EV_WRITE;
	if (want & EV_WRITE) {
		if (!window_blocked(h))
			ev |= EV_WRITE;
		else if (h->r_len - h->r_off < H2_UP_PENDING_MAX)
			ev |= EV_READ;
	}
	return ev;
}

bool h2_up_release(struct upstream *u)
{
	struct h2_up *h = u->h2;
	if (h->broken || h->goaway || h->eof || h->reset || !h->resp_done || h->rq != UQ_SENT ||
	    h->stream != 0 || h->out.off < h->out.len || h->r_len > h->r_off ||
	    nghttp2_session_get_next_stream_id(h->s) > (1u << 31) - 2)
		return false;
	h->rq = UQ_IDLE;
	h->head_len = 0;
	h->body_off = h->body_len = 0;
	h->cl_left = 0;
	h->body_done = h->deferred = h->is_head = false;
	h->fields_len = 0;
	h->status = 0;
	h->has_length = h->chunked = h->head_out = h->resp_done = false;
	return true;
}

bool h2_up_idle_input(struct upstream *u)
{
	struct h2_up *h = u->h2;
	if (pump_input(h) < 0)
		return false;
	return !h->eof && !h->broken && !h->goaway && h->r_len == h->r_off;
}
