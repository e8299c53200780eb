/* SPDX-License-Identifier: MIT */
/* l4_conn: TLS passthrough and TCP connections, up to the tunnel. Routing reuses the
 * HTTP router on the compiled matches: the SNI is the host (a TCP connection has none,
 * and its listener's one match takes any host), the path is "/". The access log gets
 * one record per connection, with an HTTP-like status as its outcome: 200 routed to a
 * backend (a tunnel), 400 not a TLS ClientHello, 404 no listener or route for the SNI,
 * 408 no ClientHello within header_timeout, 500 no backend, 502/503 no endpoint could
 * be had (README "Layer-4 routes"). */
#include "config.h"

#include "runtime/l4_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "runtime/balancer.h"
#include "runtime/client_hello.h"
#include "runtime/conn_io.h"
#include "runtime/reqlog.h"
#include "runtime/router.h"
#include "runtime/tunnel.h"
#include "runtime/upstream.h"
#include "runtime/worker.h"

/* The outcome of a connection that never became a tunnel: one log record, then the
 * close. Returns -1 (closed), as handlers do. */
static int l4_fail(struct conn *c, int status, const char *why)
{
	c->log.status = status;
	c->log.error = why;
	c->log.bytes_in = c->in_end;
	c->log.t_end = ev_now(c->w->loop);
	conn_request_log(c);
	conn_close(c, why);
	return -1;
}

static uint8_t bind_protocol(struct worker *w, uint32_t key)
{
	uint32_t bind;
	if (w->cur == NULL || !worker_listen_bind(w, key, &bind) || bind >= w->cur->gen->img->binds.count)
		return IMG_PROTO_HTTP;
	return w->cur->gen->binds[bind].protocol;
}

/* Routes on host (the SNI; "" for none or TCP), picks the backend and its endpoint,
 * opens a fresh upstream connection and starts the tunnel. */
static int l4_route(struct conn *c, const char *host, size_t host_len)
{
	struct worker *w = c->w;
	c->wg = worker_request_begin(w);
	if (c->wg == NULL)
		return l4_fail(c, 503, "no configuration");
	uint32_t bind;
	if (!worker_listen_bind(w, c->listen_key, &bind) || bind >= c->wg->gen->img->binds.count) {
		conn_close(c, "listener removed");
		return -1;
	}
	const struct generation *g = c->wg->gen;
	const struct img_listener *l = router_select_listener(g->img, &g->binds[bind], host, host_len);
	c->log.listener = l;
	if (l == NULL)
		return l4_fail(c, 404, host_len ? "no listener for the server name" : "no listener");
	struct router_request rq = {
		.host = host, .host_len = host_len, .path = "/", .path_len = 1,
		.method = IMG_METHOD_GET, .regex = g->regex, .scratch = w->rx,
	};
	const struct img_rule *rule = router_match(g->img, l, &rq);
	c->log.rule = rule;
	if (rule == NULL)
		return l4_fail(c, 404, host_len ? "no route for the server name" : "no route");
	uint32_t b = balancer_backend(c, rule);
	if (b == IMG_NO_BACKEND || b >= g->img->backends.count)
		return l4_fail(c, 500, "no backend");
	c->log.backend = &g->backends[b];
	struct upool *pool = NULL;
	const char *body = NULL;
	int status = balancer_pick(c, rule, b, &pool, &body);
	if (status != 0)
		return l4_fail(c, status, c->log.error != NULL ? c->log.error : "no endpoint");
	c->log.upstream = pool;
	/* Fresh: a passthrough byte stream is never reused for another client. */
	int r = upstream_get(w, pool, c, true, &c->up);
	if (r < 0) {
		c->up = NULL;
		return l4_fail(c, 502, "upstream connect error");
	}
	c->pool = pool;
	c->rq = r == 0 ? RQ_SEND : RQ_CONNECT;
	c->fwd_off = 0;            /* the ClientHello goes to the backend first */
	c->log.bytes_in = c->in_end;
	c->log.status = 200;
	c->log.t_upstream = ev_now(w->loop);
	return tunnel_start(c, 0);
}

void l4_conn_accept(struct conn *c)
{
	uint8_t proto = bind_protocol(c->w, c->listen_key);
	if (proto != IMG_PROTO_TLS && proto != IMG_PROTO_TCP)
		return;
	c->log.t_start = c->log.t_head = ev_now(c->w->loop);
	/* a request id for the log record, as HTTP requests get (no headers to read) */
	static const struct h1_request no_headers;
	reqlog_begin(c->w->logring, &c->log, &no_headers);
	if (proto == IMG_PROTO_TCP) {
		if (l4_route(c, "", 0) > 0)
			conn_run(c);
		return;
	}
	/* conn_accept armed the first deadline (header_timeout at most): the ClientHello
	 * must arrive by then. */
	c->state = CONN_PEEK;
}

int l4_conn_run(struct conn *c)
{
	struct worker *w = c->w;
	for (;;) {
		if (!c->client_rd)
			return 0;
		if (c->in == NULL) {
			c->in = worker_buf_get(w, WORKER_BUF_SIZE, &c->in_cap);
			if (c->in == NULL) {
				conn_close(c, "out of memory");
				return -1;
			}
		}
		size_t cap = c->in_cap < CH_MAX_BYTES ? c->in_cap : CH_MAX_BYTES;
		if (c->in_end >= cap)
			return l4_fail(c, 400, "ClientHello too large");
		ssize_t n = cio_read(c, c->in + c->in_end, cap - c->in_end);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->client_rd = false;
				return 0;
			}
			conn_close(c, "client read error before the ClientHello");
			return -1;
		}
		if (n == 0) {
			if (c->in_end == 0) {
				conn_close(c, "client closed");
				return -1;
			}
			return l4_fail(c, 400, "client closed during the ClientHello");
		}
		c->in_end += (uint32_t)n;
		char name[CH_SNI_MAX + 1];
		size_t len;
		switch (client_hello_parse((const uint8_t *)c->in, c->in_end, name, &len)) {
		case CH_NEED_MORE:
			continue;
		case CH_INVALID:
			return l4_fail(c, 400, "not a TLS ClientHello");
		case CH_NO_SNI:
			return l4_route(c, "", 0);
		case CH_SNI:
			/* kept for the log's host (bounded: at most CH_SNI_MAX bytes) */
			c->sni = strndup(name, len);
			if (c->sni != NULL) {
				c->req.host = c->sni;
				c->req.host_len = len;
				c->log.req = &c->req;   /* no method: the record says protocol null */
			}
			return l4_route(c, name, len);
		}
	}
}

void l4_conn_timeout(struct conn *c)
{
	if (c->in_end == 0) {
		conn_close(c, "no ClientHello");
		return;
	}
	l4_fail(c, 408, "ClientHello timeout");
}
