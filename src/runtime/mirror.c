/* SPDX-License-Identifier: MIT */
/* mirror: fire-and-forget copies of requests for RequestMirror (GATEWAY-API.md §2.6.2).
 * Each copy owns one non-pooled connection that asks the backend to close after its
 * answer ("Connection: close", RFC 9112 §9.6), so the answer needs no parsing: it is
 * read and dropped until EOF. Memory is bounded by MIRROR_MAX_INFLIGHT copies of at
 * most one head plus MIRROR_MAX_BODY bytes. A copy to an h2c backend (appProtocol
 * kubernetes.io/h2c), which answers nothing but HTTP/2, is one stream on a
 * prior-knowledge connection instead (h2_once.h), closed once the stream is. */
#include "config.h"

#include "runtime/mirror.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/balancer.h"
#include "runtime/conn.h"
#include "runtime/generation.h"
#include "runtime/h1_parse.h"
#include "runtime/h2_map.h"
#include "runtime/h2_once.h"
#include "runtime/worker.h"

struct mirror {
	ev_io io;
	ev_timer timer;
	struct mirror_state *st;
	struct mirror *prev, *next;
	int fd;
	bool connecting;
	struct h2_once *h2;    /* h2c backend: data is the head and body to submit */
	uint32_t len, off;     /* request bytes in data, bytes written */
	char data[];
};

struct mirror_state {
	struct worker *w;
	struct mirror *head;
	unsigned n;
	struct mirror_stats stats;
};

static const char conn_close_field[] = "Connection: close\r\n\r\n";

static struct mirror_state *state_get(struct worker *w)
{
	if (w->mirrors == NULL) {
		w->mirrors = calloc(1, sizeof *w->mirrors);
		if (w->mirrors != NULL)
			w->mirrors->w = w;
	}
	return w->mirrors;
}

static void mirror_free(struct mirror *m)
{
	struct mirror_state *st = m->st;
	struct ev_loop *loop = st->w->loop;
	ev_io_stop(loop, &m->io);
	ev_timer_stop(loop, &m->timer);
	if (m->fd >= 0)
		close(m->fd);
	h2_once_free(m->h2);
	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		st->head = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
	st->n--;
	free(m);
}

static void mirror_watch(struct mirror *m, int events)
{
	struct ev_loop *loop = m->st->w->loop;
	ev_io_stop(loop, &m->io);
	ev_io_set(&m->io, m->fd, events);
	ev_io_start(loop, &m->io);
}

/* Writes what the socket takes; then waits for the answer. */
static void mirror_send(struct mirror *m)
{
	while (m->off < m->len) {
		ssize_t k = send(m->fd, m->data + m->off, m->len - m->off, MSG_NOSIGNAL);
		if (k > 0) {
			m->off += (uint32_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			mirror_watch(m, EV_WRITE);
			return;
		}
		mirror_free(m);
		return;
	}
	mirror_watch(m, EV_READ);
}

/* The answer is not wanted either: the copy is over when its stream closes. */
static void mirror_h2_io(struct mirror *m)
{
	if (h2_once_io(m->h2, m->fd) != 0)
		mirror_free(m);
	else
		mirror_watch(m, h2_once_events(m->h2));
}

/* The HTTP/1.1 head in m->data[0..head_len), as gatewayd forwards it, becomes the
 * stream's fields (h2_map_request); the body follows it in data. The worker's parse
 * scratch may still hold the request being routed, so this parse has its own. */
static struct h2_once *mirror_h2_new(struct mirror *m, const struct rt_limits *lim, size_t head_len,
				     size_t body)
{
	struct h1_header *scratch = calloc(lim->parse_headers, sizeof *scratch);
	if (scratch == NULL)
		return NULL;
	struct h1_limits hl = { head_len, lim->parse_headers };
	struct h1_request req;
	size_t n;
	nghttp2_nv *nv = h2_map_request(m->data, head_len, &hl, scratch, lim->parse_headers, &req, &n);
	struct h2_once *o = nv != NULL && req.host != NULL ? h2_once_new(nv, n, m->data + head_len, body)
							    : NULL;
	free(nv);
	free(scratch);
	return o;
}

static void mirror_on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct mirror *m = container_of(io, struct mirror, io);
	(void)loop;
	if (m->connecting) {
		int err = 0;
		socklen_t el = sizeof err;
		if (getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
			m->st->stats.dropped++;
			mirror_free(m);
			return;
		}
		m->connecting = false;
	}
	if (m->h2 != NULL) {
		mirror_h2_io(m);
		return;
	}
	if (m->off < m->len) {
		if (revents & EV_WRITE)
			mirror_send(m);
		return;
	}
	/* The answer is not wanted: drain it until the backend closes. */
	char buf[4096];
	for (int i = 0; i < 16; i++) {
		ssize_t k = recv(m->fd, buf, sizeof buf, 0);
		if (k > 0)
			continue;
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		mirror_free(m);
		return;
	}
}

static void mirror_on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mirror *m = container_of(t, struct mirror, timer);
	(void)loop;
	(void)revents;
	mirror_free(m);
}

/* The body bytes to copy: none, all of a small Content-Length body already read, or
 * -1 when the request cannot be mirrored whole. */
static long mirror_body_len(const struct conn *c)
{
	if (c->req.body == H1_BODY_NONE)
		return 0;
	if (c->req.body != H1_BODY_LENGTH || c->req.content_length > MIRROR_MAX_BODY ||
	    c->in_end < c->head_len || c->in_end - c->head_len < c->req.content_length)
		return -1;
	return (long)c->req.content_length;
}

/* The mirror backend's endpoint for this copy: a usable one at random (runtime/balancer.c;
 * cached like the main path's pools), or NULL. */
static struct upool *mirror_pool(struct conn *c, const struct img_header *img, uint32_t b)
{
	if (b >= img->backends.count)
		return NULL;
	return balancer_mirror_pool(c, b);
}

void mirror_start(struct conn *c, const struct img_header *img, const struct img_filter *f,
		  const char *head, size_t head_len)
{
	struct worker *w = c->w;
	/* percent / fraction: numerator out of denominator requests (§2.6.2). */
	if (f->numerator == 0 || f->denominator == 0)
		return;
	if (f->numerator < f->denominator && worker_rand(w) % f->denominator >= f->numerator)
		return;
	struct mirror_state *st = state_get(w);
	if (st == NULL)
		return;
	if (head_len < 4 || memcmp(head + head_len - 4, "\r\n\r\n", 4) != 0)
		return;
	long body = mirror_body_len(c);
	if (body < 0) {
		st->stats.skipped_body++;
		return;
	}
	if (st->n >= MIRROR_MAX_INFLIGHT || w->draining) {
		st->stats.dropped++;
		return;
	}
	/* Copies go out in clear: never to a backend that wants TLS (BackendTLSPolicy). */
	if (f->backend < img->backends.count &&
	    IMG_ARRAY(img, img->backends, struct img_backend)[f->backend].tls != IMG_NONE) {
		st->stats.dropped++;
		return;
	}
	struct upool *p = mirror_pool(c, img, f->backend);
	if (p == NULL) {
		st->stats.dropped++;
		return;
	}
	bool h2 = IMG_ARRAY(img, img->backends, struct img_backend)[f->backend].app_protocol == IMG_APP_H2C;
	size_t len = h2 ? head_len + (size_t)body : head_len - 2 + sizeof conn_close_field - 1 + (size_t)body;
	struct mirror *m = malloc(sizeof *m + len);
	if (m == NULL) {
		st->stats.dropped++;
		return;
	}
	if (h2) {
		memcpy(m->data, head, head_len);
		memcpy(m->data + head_len, c->in + c->head_len, (size_t)body);
		if ((m->h2 = mirror_h2_new(m, c->w->lim, head_len, (size_t)body)) == NULL) {
			free(m);
			st->stats.dropped++;
			return;
		}
	} else {
		m->h2 = NULL;
		memcpy(m->data, head, head_len - 2);
		memcpy(m->data + head_len - 2, conn_close_field, sizeof conn_close_field - 1);
		memcpy(m->data + head_len - 2 + sizeof conn_close_field - 1, c->in + c->head_len, (size_t)body);
	}
	m->len = (uint32_t)len;
	m->off = 0;
	m->st = st;
	m->connecting = false;
	m->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ev_init(&m->io, mirror_on_io);
	ev_timer_init(&m->timer, mirror_on_timeout, MIRROR_TIMEOUT, 0.);
	m->prev = NULL;
	m->next = st->head;
	if (st->head != NULL)
		st->head->prev = m;
	st->head = m;
	st->n++;
	st->stats.sent++;
	if (m->fd < 0) {
		st->stats.dropped++;
		mirror_free(m);
		return;
	}
	ev_timer_start(w->loop, &m->timer);
	int r;
	do
		r = connect(m->fd, (const struct sockaddr *)&p->addr, p->addrlen);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EINPROGRESS) {
		m->connecting = true;
		mirror_watch(m, EV_WRITE);
		return;
	}
	if (r < 0) {
		st->stats.dropped++;
		mirror_free(m);
		return;
	}
	if (m->h2 != NULL)
		mirror_h2_io(m);
	else
		mirror_send(m);
}

unsigned mirror_inflight(const struct worker *w)
{
	return w->mirrors != NULL ? w->mirrors->n : 0;
}

const struct mirror_stats *mirror_stats(const struct worker *w)
{
	static const struct mirror_stats none;
	return w->mirrors != NULL ? &w->mirrors->stats : &none;
}

void mirror_fini(struct worker *w)
{
	if (w->mirrors == NULL)
		return;
	while (w->mirrors->head != NULL)
		mirror_free(w->mirrors->head);
	free(w->mirrors);
	w->mirrors = NULL;
}
