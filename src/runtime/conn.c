/* SPDX-License-Identifier: MIT */
/* conn: the client side of a connection. Reads and parses request heads, routes them
 * with the generation pinned for the request, answers locally when it must (404, 408,
 * 431, 500...), keeps the connection alive and serves pipelined requests in order.
 * Invariant: every exit goes through conn_close, and a handler that returns -1 has
 * released the struct. */
#include "config.h"

#include "runtime/conn.h"
#include "runtime/conn_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/balancer.h"
#include "runtime/filter.h"
#include "runtime/h1_write.h"
#include "runtime/h2_conn.h"
#include "runtime/l4_conn.h"
#include "runtime/reqlog.h"
#include "runtime/reqstats.h"
#include "runtime/router.h"
#include "runtime/tls_ctx.h"
#include "runtime/tunnel.h"
#include "runtime/upstream.h"
#include "runtime/worker.h"

#define CONN_CACHE_MAX 256
/* After a response that closes the connection while the client may still be sending,
 * its input is read and dropped this long (seconds) before the close. */
#define CONN_LINGER_TIME 2.0

const char *const conn_state_name[] = {"idle", "head", "proxy", "reply", "tunnel", "linger", "peek",
				       "closed"};

static void conn_on_io(struct ev_loop *loop, ev_io *io, int revents);
static void conn_on_timer(struct ev_loop *loop, ev_timer *t, int revents);

static void conn_peer_text(struct conn *c);

/* The single hand-over point of a request's facts (struct conn_reqlog) to the metrics
 * (counted here, runtime/reqstats) and the access log (a record copied into this
 * worker's ring, runtime/reqlog; the main thread formats and writes it). Afterwards
 * the record is cleared so a request is reported once. */
void conn_request_log(struct conn *c)
{
	struct worker *w = c->w;
	if (c->peer_ip_len == 0)
		conn_peer_text(c);
	/* A head that never parsed (400, 408, 431...): what arrived of it counts. */
	if (c->head_len == 0 && c->state != CONN_TUNNEL)  /* a TLS/TCP tunnel counts its own */
		c->log.bytes_in = c->in_end;
	reqstats_count(c->wg != NULL ? c->wg->stats : w->stats_nogen, &c->log);
	reqlog_push(w->logring, &c->log, c->wg != NULL ? c->wg->gen->img : NULL, c->peer_ip,
		    c->peer_ip_len);
	memset(&c->log, 0, sizeof c->log);
}

static const char *conn_error_body(int status)
{
	switch (status) {
	case 408: return "request timeout\n";
	case 414: return "uri too long\n";
	case 413: return "payload too large\n";
	case 431: return "request header fields too large\n";
	case 501: return "not implemented\n";
	case 505: return "http version not supported\n";
	default: return "bad request\n";
	}
}

void conn_accept(struct worker *w, int fd, uint32_t key, const struct sockaddr *sa,
		 socklen_t salen)
{
	struct conn *c = w->free_conns;
	if (c != NULL) {
		w->free_conns = c->next;
		w->nfree_conns--;
	} else if ((c = malloc(sizeof *c)) == NULL) {
		log_warnx("out of memory: connection dropped");
		close(fd);
		return;
	}
	memset(c, 0, sizeof *c);
	/* Heads and small bodies go out in one writev: no reason to wait for an ACK. */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->w = w;
	c->fd = fd;
	c->listen_key = key;
	c->id = atomic_fetch_add_explicit(&w->sh->next_conn_id, 1, memory_order_relaxed) + 1;
	memcpy(&c->peer, sa, salen < sizeof c->peer ? salen : sizeof c->peer);
	c->state = CONN_IDLE;
	c->client_wr = true;
	ev_io_init(&c->io, conn_on_io, fd, EV_READ);
	ev_io_start(w->loop, &c->io);
	ev_init(&c->timer, conn_on_timer);
	/* A new connection owes us a request: one that stays silent is closed after
	 * header_timeout (as HAProxy's timeout http-request), not the longer idle_timeout
	 * meant for keep-alive between requests. */
	ev_tstamp first = w->lim->header_timeout < w->lim->idle_timeout ? w->lim->header_timeout
									  : w->lim->idle_timeout;
	conn_set_deadline(c, ev_now(w->loop) + first);
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	atomic_fetch_add_explicit(&w->sh->active, 1, memory_order_relaxed);
	if (tls_conn_accept(c) < 0)  /* HTTPS binds: TLS state (runtime/tls_conn.c) */
		return;
	l4_conn_accept(c);  /* TLS passthrough and TCP binds: not HTTP (may close c) */
}

void conn_cache_free(struct worker *w)
{
	while (w->free_conns != NULL) {
		struct conn *c = w->free_conns;
		w->free_conns = c->next;
		free(c);
	}
	w->nfree_conns = 0;
}

void conn_set_deadline(struct conn *c, ev_tstamp at)
{
	struct ev_loop *loop = c->w->loop;
	if (c->route_deadline > 0 && c->state == CONN_PROXY && at > c->route_deadline)
		at = c->route_deadline;  /* route timeouts (runtime/filter.c) */
	c->deadline = at;
	/* Lazy: a timer due earlier re-arms itself for the rest when it fires, so
	 * pushing a deadline later (every read or write) costs no heap operation. */
	if (ev_is_active(&c->timer) && c->timer_at <= at)
		return;
	ev_tstamp after = at - ev_now(loop);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, after > 0 ? after : 0., 0.);
	ev_timer_start(loop, &c->timer);
	c->timer_at = at;
}

void conn_touch(struct conn *c)
{
	const struct rt_limits *lim = c->w->lim;
	ev_tstamp at = ev_now(c->w->loop) + lim->idle_timeout;
	/* request_timeout bounds the whole request, however steadily it trickles in. */
	if (lim->request_timeout > 0 && c->state == CONN_PROXY && !c->body_done &&
	    c->log.t_start + lim->request_timeout < at)
		at = c->log.t_start + lim->request_timeout;
	conn_set_deadline(c, at);
}

static void conn_release_buf(struct worker *w, char **buf, uint32_t *cap)
{
	if (*buf != NULL)
		worker_buf_put(w, *buf, *cap);
	*buf = NULL;
	*cap = 0;
}

static void conn_peer_text(struct conn *c)
{
	const void *a = c->peer.sa.sa_family == AF_INET6 ? (const void *)&c->peer.sin6.sin6_addr
							 : (const void *)&c->peer.sin.sin_addr;
	if (inet_ntop(c->peer.sa.sa_family, a, c->peer_ip, sizeof c->peer_ip) == NULL)
		strcpy(c->peer_ip, "unknown");
	c->peer_ip_len = (uint8_t)strlen(c->peer_ip);
}

static void conn_log_close(struct conn *c, const char *reason)
{
	if (c->peer_ip_len == 0)
		conn_peer_text(c);
	unsigned port = ntohs(c->peer.sa.sa_family == AF_INET6 ? c->peer.sin6.sin6_port
							       : c->peer.sin.sin_port);
	const char *v6l = c->peer.sa.sa_family == AF_INET6 ? "[" : "";
	const char *v6r = c->peer.sa.sa_family == AF_INET6 ? "]" : "";
	if (c->wg != NULL && c->log.listener != NULL) {
		const struct img_header *img = c->wg->gen->img;
		const char *route = c->log.rule != NULL ? img_str_ptr(img, c->log.rule->route) : "";
		log_debug("conn %llu %s%s%s:%u listener \"%s\" route \"%s\": closed: %s",
			  (unsigned long long)c->id, v6l, c->peer_ip, v6r, port,
			  img_str_ptr(img, c->log.listener->name), route, reason);
	} else {
		log_debug("conn %llu %s%s%s:%u: closed: %s", (unsigned long long)c->id, v6l,
			  c->peer_ip, v6r, port, reason);
	}
}

void conn_close(struct conn *c, const char *reason)
{
	struct worker *w = c->w;
	if (log_threshold >= LOG_LEVEL_DEBUG)
		conn_log_close(c, reason);
	if (c->log.t_head != 0 || c->log.status != 0) {
		c->log.t_end = ev_now(w->loop);
		if (c->state != CONN_TUNNEL)  /* a tunnel counts its bytes itself */
			c->log.bytes_in = c->head_len + c->body_seen;
		if (c->log.error == NULL)
			c->log.error = reason;
		conn_request_log(c);
	}
	proxy_finish(c, false);
	if (c->wg != NULL) {
		worker_request_end(w, c->wg);
		c->wg = NULL;
	}
	ev_io_stop(w->loop, &c->io);
	ev_timer_stop(w->loop, &c->timer);
	h2_conn_close(c);  /* HTTP/2: end the stream, GOAWAY (best effort) */
	tls_conn_close(c);
	close(c->fd);
	c->fd = -1;
	conn_release_buf(w, &c->in, &c->in_cap);
	conn_release_buf(w, &c->hout, &c->hout_cap);
	free(c->sni);
	c->sni = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_fetch_sub_explicit(&w->sh->active, 1, memory_order_relaxed);
	c->state = CONN_CLOSED;
	if (w->nfree_conns < CONN_CACHE_MAX) {
		c->next = w->free_conns;
		w->free_conns = c;
		w->nfree_conns++;
	} else {
		free(c);
	}
	worker_conn_closed(w);
}

void conn_drain(struct conn *c)
{
	switch (c->state) {
	case CONN_IDLE:
	case CONN_HEAD:
	case CONN_PEEK:
		conn_close(c, "shutting down");
		break;
	case CONN_PROXY:
	case CONN_REPLY:
		c->keep_alive = false;
		break;
	case CONN_TUNNEL:  /* has no end of its own: the drain timer closes it */
	default:
		break;
	}
}

/* Closes after the output, first reading and dropping what the client still sends:
 * closing with unread input would make the kernel send a reset that can destroy the
 * response before the client read it (RFC 9112 §9.6). */
static int conn_linger(struct conn *c, const char *reason)
{
	c->close_reason = reason;
	tls_conn_notify(c);  /* TLS: close_notify before the FIN (RFC 8446 §6.1) */
	h2_conn_notify(c);   /* HTTP/2: the stream's end and GOAWAY before the FIN */
	if (c->client_eof || shutdown(c->fd, SHUT_WR) < 0) {
		conn_close(c, reason);
		return -1;
	}
	c->state = CONN_LINGER;
	conn_set_deadline(c, ev_now(c->w->loop) + CONN_LINGER_TIME);
	return 1;
}

static int conn_linger_run(struct conn *c)
{
	char drop[4096];
	while (c->client_rd) {
		ssize_t n = cio_read(c, drop, sizeof drop);
		if (n > 0) {
			if ((size_t)n < sizeof drop && cio_drained(c))
				c->client_rd = false;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->client_rd = false;
			break;
		}
		conn_close(c, c->close_reason);
		return -1;
	}
	return 0;
}

int conn_reply(struct conn *c, int status, const char *body, bool close)
{
	struct worker *w = c->w;
	if (c->resp_started || (!c->hout_is_req && c->hout_off < c->hout_len)) {
		/* Part of a response is out: the client can only learn it from the close. */
		conn_close(c, body);
		return -1;
	}
	if (c->state == CONN_PROXY)
		balancer_on_local_error(c, status);  /* outlier detection */
	proxy_finish(c, false);
	if (close || !c->body_done || c->head_len == 0)
		c->keep_alive = false;
	if (c->hout == NULL) {
		c->hout = worker_buf_get(w, WORKER_BUF_SIZE, &c->hout_cap);
		if (c->hout == NULL) {
			conn_close(c, "out of memory");
			return -1;
		}
	}
	enum h1_conn_field cf = !c->keep_alive ? H1_CONN_CLOSE
			      : c->http10 ? H1_CONN_KEEP_ALIVE : H1_CONN_NONE;
	c->hout_len = (uint32_t)h1_write_error(c->hout, c->hout_cap, status, body, cf, c->is_head);
	size_t blen = c->is_head ? 0 : strlen(body);
	/* Only interim heads went out before: what this reply adds beyond its body is head. */
	c->log.head_bytes_out = c->log.bytes_out + (c->hout_len > blen ? c->hout_len - blen : 0);
	c->hout_off = 0;
	c->hout_is_req = false;
	c->resp_started = true;
	c->log.status = status;
	if (c->log.error == NULL)
		c->log.error = body;
	c->state = CONN_REPLY;
	conn_touch(c);
	return 1;
}

static int conn_reply_run(struct conn *c)
{
	while (c->hout_off < c->hout_len) {
		if (!c->client_wr)
			return 0;
		ssize_t n = cio_write(c, c->hout + c->hout_off, c->hout_len - c->hout_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->client_wr = false;
				return 0;
			}
			conn_close(c, "client write error");
			return -1;
		}
		c->hout_off += (uint32_t)n;
		c->log.bytes_out += (uint64_t)n;
		if (c->hout_off < c->hout_len)
			c->client_wr = false;
	}
	return conn_request_done(c);
}

int conn_request_done(struct conn *c)
{
	struct worker *w = c->w;
	ev_tstamp now = ev_now(w->loop);
	bool input_clean = c->head_len > 0 && c->body_done && c->in_end == c->scan_off;
	bool reuse = c->state == CONN_PROXY && c->rq == RQ_DONE && c->rs == RS_DONE &&
		     c->up_reusable && !w->draining;

	c->log.t_end = now;
	c->log.bytes_in = c->head_len + c->body_seen;
	conn_request_log(c);
	proxy_finish(c, reuse);
	if (c->wg != NULL) {
		worker_request_end(w, c->wg);
		c->wg = NULL;
	}
	conn_release_buf(w, &c->hout, &c->hout_cap);

	bool eof = c->client_eof && c->in_end == c->scan_off;
	if (!c->keep_alive || w->draining || eof || !c->body_done) {
		const char *why = eof ? "client closed" : w->draining ? "shutting down"
				: "not persistent";
		if (!input_clean)
			return conn_linger(c, why);
		conn_close(c, why);
		return -1;
	}

	/* Persistent: the next request may already be buffered (pipelining). */
	uint32_t left = c->in_end - c->scan_off;
	if (left > 0)
		memmove(c->in, c->in + c->scan_off, left);
	c->in_end = left;
	memset(&c->head_len, 0, sizeof *c - offsetof(struct conn, head_len));
	if (left > 0) {
		c->state = CONN_HEAD;
		c->log.t_start = now;
		c->parse_pending = true;
	} else {
		c->state = CONN_IDLE;
		conn_release_buf(w, &c->in, &c->in_cap);
	}
	conn_set_deadline(c, now + w->lim->idle_timeout);
	return 1;
}

/* Routes a complete head and starts proxying it, or answers it here. */
static int conn_start_request(struct conn *c)
{
	struct worker *w = c->w;
	struct h1_request *req = &c->req;

	c->log.t_head = ev_now(w->loop);
	c->log.req = req;
	c->log.h2 = c->h2 != NULL;
	reqlog_begin(w->logring, &c->log, req);
	c->http10 = req->minor_version == 0;
	req->https = c->tls != NULL;  /* X-Forwarded-Proto, redirects */
	c->is_head = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
	c->keep_alive = req->keep_alive && !w->draining;
	/* max_requests_per_connection: the last one is answered with Connection: close. */
	if (++c->nrequests >= w->lim->max_requests && w->lim->max_requests != 0)
		c->keep_alive = false;
	c->scan_off = c->fwd_off = c->head_len;
	switch (req->body) {
	case H1_BODY_LENGTH:
		c->cl_left = req->content_length;
		c->body_done = c->cl_left == 0;
		if (w->lim->max_body_bytes != 0 && req->content_length > w->lim->max_body_bytes)
			return conn_reply(c, 413, "payload too large\n", true);
		break;
	case H1_BODY_CHUNKED:
		break;
	default:
		c->body_done = true;
		break;
	}
	if (c->peer_ip_len == 0)
		conn_peer_text(c);

	c->wg = worker_request_begin(w);
	if (c->wg == NULL)
		return conn_reply(c, 503, "no configuration\n", false);
	uint32_t bind;
	if (!worker_listen_bind(w, c->listen_key, &bind)) {
		conn_close(c, "listener removed");
		return -1;
	}
	int method = router_method(req->method, req->method_len);
	if (method == IMG_METHOD_CONNECT)  /* tunnels are not proxied (yet) */
		return conn_reply(c, 501, "not implemented\n", true);

	const struct generation *g = c->wg->gen;
	const char *host = req->host != NULL ? req->host : "";
	size_t host_len = req->host != NULL ? router_host_len(req->host, req->host_len) : 0;
	const struct img_listener *l = router_select_listener(g->img, &g->binds[bind], host, host_len);
	c->log.listener = l;
	if (l == NULL)
		return conn_reply(c, 404, "no route\n", false);
	if (c->tls != NULL && tls_conn_misdirected(c, g->img, &g->binds[bind], l)) {
		c->log.error = "Host selects another listener than the SNI";
		return conn_reply(c, 421, "misdirected request\n", false);
	}
	struct router_request rq = {
		.host = host, .host_len = host_len,
		.path = req->path, .path_len = req->path_len,
		.query = req->query, .query_len = req->query_len,
		.method = method, .headers = req->headers, .nheaders = req->nheaders,
		.regex = g->regex, .scratch = w->rx,
	};
	const struct img_rule *rule = router_match(g->img, l, &rq);
	c->log.rule = rule;
	if (rule == NULL)
		return conn_reply(c, 404, "no route\n", false);
	uint32_t b;
	if (filter_rule_active(rule)) {
		int fr = filter_rule_begin(c, g->img, l, rule, &b);
		if (fr != 0)
			return fr;
	} else {
		b = balancer_backend(c, rule);
	}
	if (b == IMG_NO_BACKEND || b >= g->img->backends.count)
		return conn_reply(c, 500, "no backend\n", false);
	c->log.backend = &g->backends[b];
	/* Endpoint, health, circuit breaker (runtime/balancer.c). */
	struct upool *p;
	const char *why;
	int st = balancer_pick(c, rule, b, &p, &why);
	if (st != 0)
		return conn_reply(c, st, why, false);
	c->log.upstream = p;
	return proxy_start(c, p);
}

/* True when the request line is longer than max_request_line (RFC 9112 §3: a server
 * answers 414 to a request-target longer than it is willing to read). The few empty
 * lines that the parser skips before it do not count. */
static bool conn_line_too_long(const struct conn *c, size_t max)
{
	const char *p = c->in;
	size_t n = c->in_end;
	for (int i = 0; i < 4 && n >= 2 && p[0] == '\r' && p[1] == '\n'; i++) {
		p += 2;
		n -= 2;
	}
	size_t scan = n < max + 2 ? n : max + 2;
	const char *nl = memchr(p, '\n', scan);
	return nl != NULL ? (size_t)(nl - p) > max + 1 : n > max + 1;
}

static int conn_parse_head(struct conn *c)
{
	struct worker *w = c->w;
	struct h1_limits lim = {w->lim->max_header_bytes, w->lim->max_headers};
	if (conn_line_too_long(c, w->lim->max_request_line)) {
		c->log.error = "request line too long";
		return conn_reply(c, 414, conn_error_body(414), true);
	}
	int r = h1_parse_request(c->in, c->in_end, &lim, &c->req, w->hdrs, w->lim->parse_headers);
	if (r == H1_INCOMPLETE) {
		conn_set_deadline(c, c->log.t_start + w->lim->header_timeout);
		return 0;
	}
	if (r < 0 || (size_t)r > c->in_end) {
		int status = c->req.err_status >= 400 ? c->req.err_status : 400;
		c->log.error = c->req.err_reason;
		return conn_reply(c, status, conn_error_body(status), true);
	}
	c->head_len = (uint32_t)r;
	return conn_start_request(c);
}

static int conn_read_head(struct conn *c)
{
	struct worker *w = c->w;
	for (;;) {
		if (c->parse_pending) {
			c->parse_pending = false;
			int r = conn_parse_head(c);
			if (r != 0)
				return r;
		}
		if (!c->client_rd) {
			if (c->in != NULL && c->in_end == 0)
				conn_release_buf(w, &c->in, &c->in_cap);
			return 0;
		}
		if (c->in == NULL) {
			c->in = worker_buf_get(w, WORKER_BUF_SIZE, &c->in_cap);
			if (c->in == NULL) {
				conn_close(c, "out of memory");
				return -1;
			}
		}
		if (c->in_end == c->in_cap) {
			/* A head beyond one buffer: move to one of max_header_bytes. */
			if (c->in_cap >= w->lim->head_cap)
				return conn_reply(c, 431, conn_error_body(431), true);
			if (worker_buf_grow(w, &c->in, &c->in_cap, c->in_end, w->lim->head_cap) < 0) {
				conn_close(c, "out of memory");
				return -1;
			}
		}
		size_t space = c->in_cap - c->in_end;
		ssize_t n = cio_read(c, c->in + c->in_end, space);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->client_rd = false;
				continue;
			}
			conn_close(c, c->state == CONN_HEAD ? "client read error during request head"
							    : "client read error");
			return -1;
		}
		if (n == 0) {
			conn_close(c, c->in_end > 0 ? "client closed during request head" : "client closed");
			return -1;
		}
		if ((size_t)n < space && cio_drained(c))
			c->client_rd = false;
		uint32_t old = c->in_end;
		c->in_end += (uint32_t)n;
		if (c->state == CONN_IDLE) {
			c->state = CONN_HEAD;
			c->log.t_start = ev_now(w->loop);
		}
		if (c->nrequests == 0 && c->h2 == NULL) {  /* HTTP/2 preface? (h2_conn.c) */
			int h2 = h2_conn_start(c);
			if (h2 < 0)
				return -1;
			if (h2 > 0)
				continue;
		}
		/* A head ends with a line feed: parse only when one arrived, or when the
		 * request line is already too long to wait for its end. */
		if (memchr(c->in + old, '\n', (size_t)n) == NULL) {
			if (c->in_end > w->lim->max_request_line + 1 &&
			    conn_line_too_long(c, w->lim->max_request_line)) {
				c->log.error = "request line too long";
				return conn_reply(c, 414, conn_error_body(414), true);
			}
			conn_set_deadline(c, c->log.t_start + w->lim->header_timeout);
			continue;
		}
		int r = conn_parse_head(c);
		if (r != 0)
			return r;
	}
}

static void conn_watch(struct conn *c)
{
	int ev = 0;
	switch (c->state) {
	case CONN_IDLE:
	case CONN_HEAD:
	case CONN_LINGER:
	case CONN_PEEK:
		ev = EV_READ;
		break;
	case CONN_PROXY:
		/* Back-pressure: the client is read only while its buffer has room. Reading
		 * on after the body only buffers pipelined requests, and keeps the read
		 * interest unchanged across requests (no epoll_ctl per request). */
		if (!c->client_eof && c->in_end < c->in_cap)
			ev = EV_READ;
		break;
	case CONN_TUNNEL:
		ev = tunnel_client_events(c);
		break;
	default:
		break;
	}
	if (conn_client_out_pending(c))
		ev |= EV_WRITE;
	if (c->tls != NULL)
		ev |= tls_conn_events(c);  /* a TLS handshake waiting to write */
	if (c->h2 != NULL)
		ev = h2_conn_events(c, ev);  /* HTTP/2 reads on; flow control waits for input */
	if ((c->io.events & (EV_READ | EV_WRITE)) != ev) {
		ev_io_stop(c->w->loop, &c->io);
		ev_io_modify(&c->io, ev);
		if (ev != 0)
			ev_io_start(c->w->loop, &c->io);
	}
	if (c->up != NULL)
		upstream_watch(c->up, c->state == CONN_TUNNEL ? tunnel_up_events(c) : proxy_up_events(c));
}

void conn_run(struct conn *c)
{
	for (;;) {
		int r;
		switch (c->state) {
		case CONN_IDLE:
		case CONN_HEAD:
			if (c->tls != NULL && !c->tls->done)
				r = tls_conn_handshake(c);
			else
				r = conn_read_head(c);
			break;
		case CONN_PROXY:
			r = proxy_run(c);
			break;
		case CONN_REPLY:
			r = conn_reply_run(c);
			break;
		case CONN_LINGER:
			r = conn_linger_run(c);
			break;
		case CONN_TUNNEL:
			r = tunnel_run(c);
			break;
		case CONN_PEEK:
			r = l4_conn_run(c);
			break;
		default:
			return;
		}
		if (r < 0)
			return;
		if (r == 0)
			break;
	}
	conn_watch(c);
}

static void conn_on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = container_of(io, struct conn, io);
	(void)loop;
	if (revents & EV_READ)
		c->client_rd = true;
	if (revents & EV_WRITE)
		c->client_wr = true;
	if (c->h2 != NULL)
		h2_conn_on_io(c, revents);  /* HTTP/2 frames in and out (runtime/h2_conn.c) */
	conn_run(c);
}

static void conn_on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = container_of(t, struct conn, timer);
	ev_tstamp now = ev_now(loop);
	(void)revents;
	if (c->deadline > now + 1e-3) {
		ev_timer_set(t, c->deadline - now, 0.);
		ev_timer_start(loop, t);
		c->timer_at = c->deadline;
		return;
	}
	switch (c->state) {
	case CONN_IDLE:
		if (c->tls != NULL && !c->tls->done)
			tls_count_handshake_failure();
		conn_close(c, c->tls != NULL && !c->tls->done ? "TLS handshake timeout" : "idle timeout");
		return;
	case CONN_HEAD:
		if (conn_reply(c, 408, conn_error_body(408), true) < 0)
			return;
		break;
	case CONN_PROXY:
		if (c->route_deadline > 0 && now >= c->route_deadline - 1e-3) {
			if (filter_timeout(c) < 0)
				return;
			break;
		}
		if (c->w->lim->request_timeout > 0 && !c->body_done &&
		    now >= c->log.t_start + c->w->lim->request_timeout - 1e-3) {
			/* The request did not arrive in time: 408 if nothing of a response went
			 * out yet (RFC 9110 §15.5.9), else only the close can tell. */
			c->log.error = "request timeout";
			if (conn_reply(c, 408, conn_error_body(408), true) < 0)
				return;
			break;
		}
		if (proxy_timeout(c) < 0)
			return;
		break;
	case CONN_REPLY:
		conn_close(c, "timeout writing a response");
		return;
	case CONN_LINGER:
		conn_close(c, c->close_reason);
		return;
	case CONN_TUNNEL:
		tunnel_timeout(c);
		return;
	case CONN_PEEK:
		l4_conn_timeout(c);
		return;
	default:
		return;
	}
	conn_run(c);
}
