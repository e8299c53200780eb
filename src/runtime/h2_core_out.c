/* SPDX-License-Identifier: MIT */
/* h2_core_out: the responses half of the HTTP/2 client layer: the HTTP/1.1 response
 * bytes the connection writes go back as HEADERS, DATA and trailers on the stream of
 * the request they answer. Memory only. */
#include "config.h"

#include "runtime/h2_core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "runtime/h1_parse.h"
#include "runtime/h2_map.h"

enum { R_HEAD, R_BODY };

void h2_core_out_reset(struct h2_conn *h)
{
	h->rstream = 0;
	h->body_off = h->body_len = 0;
	h->body_end = h->deferred = false;
	free(h->dc);
	h->dc = NULL;
}

/* A request leaves once the connection read it all and answered it. */
static void rq_maybe_done(struct h2_conn *h, struct h2_rq *rq)
{
	if (rq->in_done && rq->out_done)
		h2_core_rq_remove(h, rq);
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
		h2_core_out_reset(h);
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
	if (!h2_map_buf_push(&h->body, &h->body_off, &h->body_len, &h->body_cap, H2_CONN_BODY_MAX, p, n)) {
		h2_core_fail(h, "out of memory", ENOMEM);
		return -1;
	}
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
		h2_core_fail(h, "unparsable response head", EPROTO);
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
		h2_core_fail(h, "response not submitted", EPROTO);
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
			size_t start = h->rhead_len;
			size_t n = len - took;
			if (n > h->lim.resp_head_cap - h->rhead_len)
				n = h->lim.resp_head_cap - h->rhead_len;
			if (n == 0) {
				h2_core_fail(h, "response head too large", EPROTO);
				return -1;
			}
			if (!h2_map_buf_put(&h->rhead, &h->rhead_len, &h->rhead_cap, h->lim.resp_head_cap,
					    p + took, n)) {
				h2_core_fail(h, "out of memory", ENOMEM);
				return -1;
			}
			size_t end = h2_map_head_end(h->rhead, start, h->rhead_len);
			if (end == 0) {
				took += n;
				continue;
			}
			size_t extra = h->rhead_len - end;
			h->rhead_len -= (uint32_t)extra;
			took += n - extra;
			if (out_submit_head(h, rq) < 0) {
				h2_core_fail(h, "out of memory", ENOMEM);  /* unless it said why */
				return -1;
			}
			continue;
		}
		if (rq == NULL || rq->id != h->rstream) {
			h2_core_fail(h, "response without its stream", EPROTO);
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
				h2_core_fail(h, "bad chunked response body", EPROTO);
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
		h2_core_fail(h, nghttp2_strerror((int)n), EPROTO);
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
			h2_core_out_reset(h);
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
