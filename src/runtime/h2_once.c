/* SPDX-License-Identifier: MIT */
/* h2_once: a single request over HTTP/2 prior knowledge with an nghttp2 client session
 * over a caller-owned non-blocking socket (see h2_once.h). Memory is bounded: frames
 * the socket did not take (one mem_send chunk) and nghttp2's own state; response DATA
 * is dropped as it arrives and the windows are refilled by nghttp2. */
#include "config.h"

#include "runtime/h2_once.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ev.h>

#include "runtime/h2_map.h"

#define H2_ONCE_READ 4096
/* Socket reads per h2_once_io call, so one chatty backend cannot hold the loop. */
#define H2_ONCE_READS 16

struct h2_once {
	nghttp2_session *s;
	int32_t stream;
	int status;
	bool closed;
	const char *body;
	size_t body_len, body_off;
	struct h2_pending out;
};

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct h2_once *o = ud;
	(void)s;
	(void)flags;
	if (f->hd.type != NGHTTP2_HEADERS || f->hd.stream_id != o->stream || o->status != 0 ||
	    nlen != 7 || memcmp(name, ":status", 7) != 0 || vlen != 3)
		return 0;
	int st = 0;
	for (size_t i = 0; i < 3; i++) {
		if (value[i] < '0' || value[i] > '9')
			return 0;
		st = st * 10 + (value[i] - '0');
	}
	if (st >= 200)  /* interim responses (RFC 9110 §15.2) are not the answer */
		o->status = st;
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream, uint32_t error, void *ud)
{
	struct h2_once *o = ud;
	(void)s;
	(void)error;
	if (stream == o->stream)
		o->closed = true;
	return 0;
}

static ssize_t body_read(nghttp2_session *s, int32_t stream, uint8_t *buf, size_t length,
			 uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct h2_once *o = ud;
	(void)s;
	(void)stream;
	(void)src;
	size_t n = o->body_len - o->body_off;
	if (n > length)
		n = length;
	memcpy(buf, o->body + o->body_off, n);
	o->body_off += n;
	if (o->body_off == o->body_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

struct h2_once *h2_once_new(const nghttp2_nv *nv, size_t n, const char *body, size_t body_len)
{
	struct h2_once *o = calloc(1, sizeof *o);
	nghttp2_session_callbacks *cb;
	if (o == NULL || nghttp2_session_callbacks_new(&cb) != 0) {
		free(o);
		return NULL;
	}
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	int r = nghttp2_session_client_new(&o->s, cb, o);
	nghttp2_session_callbacks_del(cb);
	if (r != 0) {
		free(o);
		return NULL;
	}
	o->body = body;
	o->body_len = body_len;
	nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 } };
	nghttp2_data_provider prd = { .source.ptr = o, .read_callback = body_read };
	if (nghttp2_submit_settings(o->s, NGHTTP2_FLAG_NONE, iv, 1) != 0 ||
	    (o->stream = nghttp2_submit_request(o->s, NULL, nv, n, body_len > 0 ? &prd : NULL, o)) < 0) {
		h2_once_free(o);
		return NULL;
	}
	return o;
}

void h2_once_free(struct h2_once *o)
{
	if (o == NULL)
		return;
	nghttp2_session_del(o->s);
	free(o->out.buf);
	free(o);
}

static int flush(struct h2_once *o, int fd)
{
	return h2_map_send(o->s, fd, &o->out);
}

int h2_once_io(struct h2_once *o, int fd)
{
	if (flush(o, fd) < 0)
		return -1;
	for (int i = 0; i < H2_ONCE_READS && !o->closed; i++) {
		uint8_t buf[H2_ONCE_READ];
		ssize_t k = recv(fd, buf, sizeof buf, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (k <= 0)
			return -1;  /* EOF before the stream closed: no complete answer */
		if (nghttp2_session_mem_recv(o->s, buf, (size_t)k) < 0)
			return -1;
	}
	if (o->closed)
		return 1;
	/* SETTINGS and PING acknowledgements, WINDOW_UPDATE for the dropped DATA */
	return flush(o, fd) < 0 ? -1 : 0;
}

int h2_once_events(const struct h2_once *o)
{
	bool w = o->out.off < o->out.len || nghttp2_session_want_write(o->s);
	return EV_READ | (w ? EV_WRITE : 0);
}

int h2_once_status(const struct h2_once *o)
{
	return o->status;
}
