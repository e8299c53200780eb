/* SPDX-License-Identifier: MIT */
/* conn_proxy: one routed request streamed to its backend and the response streamed
 * back, both directions at once through fixed buffers. Back-pressure: the client is
 * read only while its buffer has room (bytes leave it only as the backend takes
 * them); the backend is read only while nothing waits to go to the client. Writes are
 * tried at once (one writev of head and body), and watchers armed only on EAGAIN. */
#include "config.h"

#include "runtime/conn.h"
#include "runtime/conn_io.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/balancer.h"
#include "runtime/filter.h"
#include "runtime/h1_write.h"
#include "runtime/hash_cookie.h"
#include "runtime/reqlog.h"
#include "runtime/retry.h"
#include "runtime/tls_upstream.h"
#include "runtime/upgrade.h"
#include "runtime/upstream.h"
#include "runtime/upstream_io.h"
#include "runtime/worker.h"

/* Reads and writes per direction one connection may do per event before the loop
 * serves the others (a fast client and a fast backend would otherwise keep a worker
 * on one big transfer). Only system calls count: parsing and scanning go on, and
 * the level-triggered watchers bring the connection back at once. */
#define PROXY_IO_BUDGET 32

int proxy_write_client(struct conn *c, uint32_t body_end)
{
	for (;;) {
		struct iovec iov[2];
		int n = 0;
		size_t total = 0, h = 0;
		if (!c->hout_is_req && c->hout_off < c->hout_len) {
			iov[n].iov_base = c->hout + c->hout_off;
			h = iov[n].iov_len = c->hout_len - c->hout_off;
			total += iov[n++].iov_len;
		}
		if (c->ufwd < body_end) {
			iov[n].iov_base = c->uin + c->ufwd;
			iov[n].iov_len = body_end - c->ufwd;
			total += iov[n++].iov_len;
		}
		if (n == 0)
			return 0;
		ssize_t k = cio_writev(c, iov, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->client_wr = false;
				return 0;
			}
			return -1;
		}
		size_t left = (size_t)k;
		h = h < left ? h : left;
		c->hout_off += (uint32_t)h;
		c->ufwd += (uint32_t)(left - h);
		c->log.bytes_out += (uint64_t)k;
		if ((size_t)k < total)
			c->client_wr = false;
		return 1;
	}
}

static bool req_head_pending(const struct conn *c)
{
	return c->hout_is_req && c->hout_off < c->hout_len && c->rq != RQ_STOPPED;
}

int proxy_hout_reserve(struct conn *c, size_t size)
{
	if (c->hout != NULL && c->hout_cap >= size)
		return 0;
	if (c->hout != NULL)
		worker_buf_put(c->w, c->hout, c->hout_cap);
	c->hout = worker_buf_get(c->w, size, &c->hout_cap);
	c->hout_off = c->hout_len = 0;
	return c->hout != NULL ? 0 : -1;
}

static int proxy_connect(struct conn *c, bool fresh)
{
	struct upstream *u;
	struct tls_client *tls;
	if (tls_up_client_for(c, &tls) < 0) {  /* BackendTLSPolicy without a usable config */
		c->log.error = "backend TLS not available";
		return conn_reply(c, 502, "upstream connect error\n", false);
	}
	/* GEP-1911 kubernetes.io/h2c: HTTP/2 with prior knowledge (over TLS the backend
	 * is spoken to in HTTP/1.1: gatewayd offers no ALPN h2 to backends) */
	bool h2 = tls == NULL && c->log.backend != NULL && c->log.backend->app_protocol == IMG_APP_H2C;
	int r = upstream_get_tls(c->w, c->pool, c, fresh, tls, h2, &u);
	if (r < 0) {
		if (retry_on_failure(c, "upstream connect error"))
			return 1;
		c->log.error = "upstream connect error";
		return conn_reply(c, 502, "upstream connect error\n", false);
	}
	c->up = u;
	c->resp_byte = false;
	c->up_rd = false;
	c->rs = RS_HEAD;
	c->log.t_upstream = ev_now(c->w->loop);
	if (r == 1) {
		c->rq = RQ_CONNECT;
		c->up_wr = false;
		/* connectTimeout of a BackendTrafficPolicy, else [limits] connect_timeout */
		conn_set_deadline(c, ev_now(c->w->loop) + balancer_attempt_start(c, 1));
	} else {
		(void)balancer_attempt_start(c, 0);
		c->rq = RQ_SEND;
		c->up_wr = true;
		conn_touch(c);
	}
	return 1;
}

int proxy_start(struct conn *c, struct upool *pool)
{
	/* Envoy's behaviour: the backend gets the request id unless the client set one. */
	char rid[32];
	size_t rid_len = c->log.client_rid == NULL ? reqlog_id_field(c->log.request_id, rid) : 0;
	size_t n;
	if (c->frule != NULL) {
		n = filter_request_head(c, rid, rid_len);
	} else {
		if (proxy_hout_reserve(c, h1_request_bound(c->head_len, c->req.nheaders) + rid_len) < 0) {
			conn_close(c, "out of memory");
			return -1;
		}
		n = h1_write_request_extra(c->hout, c->hout_cap, &c->req, c->peer_ip, c->peer_ip_len,
					   rid, rid_len);
	}
	if (n != 0 && c->req.upgrade)
		n = upgrade_request_head(c, n);  /* runtime/upgrade.c */
	/* The parse scratch is reused by the next parse on this worker. */
	c->req.headers = NULL;
	c->req.nheaders = 0;
	if (n == 0)
		return conn_reply(c, 500, "internal error\n", true);
	c->hout_len = (uint32_t)n;
	c->hout_off = 0;
	c->hout_is_req = true;
	c->pool = pool;
	c->state = CONN_PROXY;
	return proxy_connect(c, false);
}

int proxy_reconnect(struct conn *c, struct upool *pool)
{
	c->pool = pool;
	return proxy_connect(c, false);
}

void proxy_finish(struct conn *c, bool reuse)
{
	balancer_release(c);
	if (c->up != NULL) {
		if (reuse)
			upstream_release(c->up);
		else
			upstream_close(c->up);
		c->up = NULL;
	}
	if (c->uin != NULL)
		worker_buf_put(c->w, c->uin, c->uin_cap);
	c->uin = NULL;
	c->uin_cap = c->uin_start = c->uin_end = c->ufwd = c->uscan = 0;
	c->pool = NULL;
}

int proxy_up_events(const struct conn *c)
{
	if (c->rq == RQ_CONNECT)
		return c->up != NULL && c->up->tls != NULL ? tls_up_events(c->up) : EV_WRITE;
	int ev = 0;
	if (c->rq == RQ_SEND && (req_head_pending(c) || c->fwd_off < c->scan_off))
		ev |= EV_WRITE;
	/* The response is read once the request head is out, and only while the
	 * client has taken everything read before (back-pressure). An EOF or early
	 * answer during a long upload is still seen. */
	if (c->rs != RS_DONE && !req_head_pending(c) && !conn_client_out_pending(c) &&
	    (c->uin == NULL || c->uin_end < c->uin_cap))
		ev |= EV_READ;
	return c->up != NULL && c->up->h2 != NULL ? h2_up_events(c->up, ev) : ev;
}

/* The backend failed before sending any byte of a response (EOF, reset, broken pipe).
 * An idle keep-alive connection may have been closed by the backend just as we
 * reused it: then the request goes once more on a new connection, if every byte of
 * it can still be sent again (no body, or none of it dropped from the buffer). */
static int proxy_upstream_failed(struct conn *c, const char *what)
{
	/* A rule retry comes first, so that every failure counts as an attempt. */
	if (retry_on_failure(c, what))
		return 1;
	bool can_retry = c->up->reused && !c->retried && !c->resp_byte &&
			 (c->req.body == H1_BODY_NONE || !c->body_dropped);
	if (can_retry) {
		log_debug("conn %llu: %s on a reused connection to %s: retrying on a new one",
			  (unsigned long long)c->id, what, c->pool->name);
		upstream_close(c->up);
		c->up = NULL;
		c->retried = true;
		c->hout_off = 0;
		c->fwd_off = c->head_len;
		c->uin_start = c->uin_end = c->ufwd = c->uscan = 0;
		return proxy_connect(c, true);
	}
	c->log.error = what;
	return conn_reply(c, 502, "upstream reset before response\n", false);
}

static int proxy_upstream_eof(struct conn *c, int err)
{
	if (c->rs == RS_BODY && c->ubody == H1_BODY_UNTIL_CLOSE && err == 0) {
		/* RFC 9112 §6.3: the close delimits this body; the client connection
		 * was told it closes too. */
		c->ubody_done = true;
		c->up_reusable = false;
		upstream_close(c->up);
		c->up = NULL;
		return 1;
	}
	if (c->rs == RS_BODY) {
		conn_close(c, err ? "upstream reset during response" : "upstream closed during response");
		return -1;
	}
	if (!c->resp_byte)
		return proxy_upstream_failed(c, err ? "upstream reset before response"
						    : "upstream closed before response");
	c->log.error = "upstream closed during response head";
	return conn_reply(c, 502, "upstream reset before response\n", false);
}

static int scan_request_body(struct conn *c)
{
	const struct rt_limits *lim = c->w->lim;
	uint32_t avail = c->in_end - c->scan_off;
	if (c->req.body == H1_BODY_LENGTH) {
		uint32_t take = c->cl_left < avail ? (uint32_t)c->cl_left : avail;
		c->scan_off += take;
		c->cl_left -= take;
		c->body_seen += take;
		c->body_done = c->cl_left == 0;
		return 0;
	}
	bool done = false;
	ssize_t k = h1_chunked_scan(&c->chunk, c->in + c->scan_off, avail, &done);
	if (k < 0) {
		c->log.error = "bad chunked request body";
		return conn_reply(c, 400, "bad request\n", true);
	}
	c->scan_off += (uint32_t)k;
	c->body_seen += (uint64_t)k;
	c->body_done = done;
	/* The limit counts the chunked framing too: it bounds what we carry. */
	if (lim->max_body_bytes != 0 && c->body_seen > lim->max_body_bytes) {
		c->log.error = "request body too large";
		return conn_reply(c, 413, "payload too large\n", true);
	}
	return 0;
}

/* Drops body bytes the backend already took, to make room. While a failed reused
 * connection could still be retried they stay, as long as there is room. */
static void compact_request(struct conn *c)
{
	uint32_t sent = c->fwd_off - c->head_len;
	if (sent == 0)
		return;
	bool retain = (c->up != NULL && c->up->reused && !c->resp_byte && !c->retried) ||
		      retry_keep_body(c);
	if (retain && c->in_end < c->in_cap)
		return;
	memmove(c->in + c->head_len, c->in + c->fwd_off, c->in_end - c->fwd_off);
	c->in_end -= sent;
	c->scan_off -= sent;
	c->fwd_off = c->head_len;
	c->body_dropped = true;
}

/* Client -> backend. Returns -1 (closed), 0 (no progress) or 1. */
static int pump_request(struct conn *c, int *budget)
{
	int progress = 0;
	for (;;) {
		if (!c->body_done && c->scan_off < c->in_end) {
			int r = scan_request_body(c);
			if (r != 0)
				return r;
		}
		if (c->rq == RQ_STOPPED)
			c->fwd_off = c->scan_off;
		/* up is gone once a response delimited by its close ended (early). */
		if (c->rq == RQ_SEND && c->up != NULL) {
			struct iovec iov[2];
			int n = 0;
			size_t total = 0;
			if (req_head_pending(c)) {
				iov[n].iov_base = c->hout + c->hout_off;
				iov[n].iov_len = c->hout_len - c->hout_off;
				total += iov[n++].iov_len;
			}
			if (c->fwd_off < c->scan_off) {
				iov[n].iov_base = c->in + c->fwd_off;
				iov[n].iov_len = c->scan_off - c->fwd_off;
				total += iov[n++].iov_len;
			}
			if (n > 0 && c->up_wr && *budget > 0) {
				ssize_t k = uio_writev(c->up, iov, n);
				if (k < 0) {
					if (errno == EINTR)
						continue;
					if (errno != EAGAIN && errno != EWOULDBLOCK) {
						/* Read what the backend said before it stopped
						 * reading: an early answer, or EOF (then retry
						 * or 502). */
						c->rq = RQ_STOPPED;
						c->up_rd = true;
						progress = 1;
						continue;
					}
					c->up_wr = false;
				} else {
					size_t left = (size_t)k;
					if (req_head_pending(c)) {
						size_t h = c->hout_len - c->hout_off;
						h = h < left ? h : left;
						c->hout_off += (uint32_t)h;
						left -= h;
					}
					c->fwd_off += (uint32_t)left;
					if ((size_t)k < total)
						c->up_wr = false;
					progress = 1;
					--*budget;
				}
			}
			if (!req_head_pending(c) && c->fwd_off == c->scan_off && c->body_done) {
				c->rq = RQ_DONE;
				progress = 1;
			}
		}
		if (c->fwd_off == c->in_end || c->in_end == c->in_cap)
			compact_request(c);
		if (!c->client_rd || c->client_eof || c->in_end == c->in_cap || *budget <= 0)
			break;
		size_t space = c->in_cap - c->in_end;
		ssize_t n = cio_read(c, c->in + c->in_end, space);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->client_rd = false;
				break;
			}
			conn_close(c, "client read error");
			return -1;
		}
		if (n == 0) {
			/* A half-close after pipelined requests: they are all still served
			 * (conn_request_done closes once none is left). */
			c->client_eof = true;
			if (!c->body_done) {
				conn_close(c, "client closed during request body");
				return -1;
			}
			break;
		}
		if ((size_t)n < space && cio_drained(c))
			c->client_rd = false;
		c->in_end += (uint32_t)n;
		progress = 1;
		--*budget;
	}
	return progress;
}

static int parse_response(struct conn *c)
{
	struct worker *w = c->w;
	struct h1_response resp;
	resp.err_reason = NULL;
	struct h1_limits lim = {w->lim->head_cap - 1, w->lim->parse_headers};
	int r = h1_parse_response(c->uin + c->uin_start, c->uin_end - c->uin_start, &lim,
				  c->is_head, &resp, w->hdrs, w->lim->parse_headers);
	if (r == H1_INCOMPLETE)
		return 0;
	if (r < 0 || (uint32_t)r > c->uin_end - c->uin_start) {
		c->log.error = resp.err_reason != NULL ? resp.err_reason : "bad upstream response";
		return conn_reply(c, 502, "bad upstream response\n", false);
	}
	if (resp.status < 200) {
		if (resp.status == 101 && c->upgrade)
			return upgrade_switch(c, &resp, (size_t)r);
		if (resp.status == 101) {  /* we did not ask for an upgrade */
			c->log.error = "unexpected 101 from upstream";
			return conn_reply(c, 502, "bad upstream response\n", false);
		}
		/* RFC 9110 §15.2: relay interim responses, except to HTTP/1.0 clients. */
		if (!c->http10) {
			if (proxy_hout_reserve(c, h1_response_bound((size_t)r, resp.nheaders)) < 0) {
				conn_close(c, "out of memory");
				return -1;
			}
			c->hout_len = (uint32_t)h1_write_response(c->hout, c->hout_cap, &resp, H1_CONN_NONE);
			c->log.head_bytes_out = c->log.bytes_out + c->hout_len;
			c->hout_off = 0;
			c->hout_is_req = false;
		}
		c->uin_start += (uint32_t)r;
		return 1;
	}

	balancer_on_status(c, resp.status);  /* outlier detection, every attempt */
	if (c->frule != NULL && retry_on_status(c, resp.status))
		return 1;
	c->log.t_response = ev_now(w->loop);
	c->log.status = resp.status;
	c->ubody = (uint8_t)resp.body;
	c->ucl_left = resp.content_length;
	/* The client connection persists only if this exchange ends cleanly: the whole
	 * request went out before the answer, and the body's end is not a close. */
	if (c->rq != RQ_DONE || resp.body == H1_BODY_UNTIL_CLOSE || w->draining)
		c->keep_alive = false;
	c->up_reusable = resp.keep_alive && resp.body != H1_BODY_UNTIL_CLOSE;
	enum h1_conn_field cf = !c->keep_alive ? H1_CONN_CLOSE
			      : c->http10 ? H1_CONN_KEEP_ALIVE : H1_CONN_NONE;
	size_t fx = (c->frule != NULL ? filter_response_extra(c) : 0) + hash_cookie_extra(c);
	if (proxy_hout_reserve(c, h1_response_bound((size_t)r, resp.nheaders) + fx) < 0) {
		conn_close(c, "out of memory");
		return -1;
	}
	size_t n = c->frule != NULL ? filter_response_head(c, c->hout, c->hout_cap, &resp, cf)
		 : h1_write_response(c->hout, c->hout_cap, &resp, cf);
	if (n == 0) {
		c->log.error = "upstream response head too large";
		return conn_reply(c, 502, "bad upstream response\n", false);
	}
	n = hash_cookie_insert(c, c->hout, n);  /* consistentHash cookie.ttl */
	c->hout_len = (uint32_t)n;
	c->log.head_bytes_out = c->log.bytes_out + n;
	c->hout_off = 0;
	c->hout_is_req = false;
	c->resp_started = true;
	c->ufwd = c->uscan = c->uin_start + (uint32_t)r;
	c->ubody_done = resp.body == H1_BODY_NONE ||
			(resp.body == H1_BODY_LENGTH && resp.content_length == 0);
	c->rs = RS_BODY;
	return 1;
}

/* Returns 0, -1 when the connection was closed, or 1 when a 502 replaced the
 * response (nothing of it had gone to the client yet). */
static int scan_response_body(struct conn *c)
{
	uint32_t avail = c->uin_end - c->uscan;
	switch (c->ubody) {
	case H1_BODY_LENGTH: {
		uint32_t take = c->ucl_left < avail ? (uint32_t)c->ucl_left : avail;
		c->uscan += take;
		c->ucl_left -= take;
		c->ubody_done = c->ucl_left == 0;
		break;
	}
	case H1_BODY_CHUNKED: {
		bool done = false;
		ssize_t k = h1_chunked_scan(&c->uchunk, c->uin + c->uscan, avail, &done);
		if (k < 0 && c->hout_off == 0 && !c->hout_is_req) {
			/* The bad framing came with the head: the client can still get a 502. */
			c->resp_started = false;
			c->hout_len = 0;
			c->log.error = "bad chunked response body";
			return conn_reply(c, 502, "bad upstream response\n", false);
		}
		if (k < 0) {
			conn_close(c, "bad chunked response body");
			return -1;
		}
		c->uscan += (uint32_t)k;
		c->ubody_done = done;
		break;
	}
	case H1_BODY_UNTIL_CLOSE:
		c->uscan = c->uin_end;
		break;
	default:
		break;
	}
	if (c->ubody_done && c->uscan < c->uin_end) {
		/* Bytes after the response: the backend cannot be trusted with another. */
		c->up_reusable = false;
		c->uin_end = c->uscan;
	}
	return 0;
}

/* Backend -> client. Returns -1 (closed), 0 (no progress) or 1. */
static int pump_response(struct conn *c, int *budget)
{
	struct worker *w = c->w;
	int progress = 0;
	bool parsed = false;
	for (;;) {
		/* Body bytes that came with the head leave in the same writev. */
		if (c->rs == RS_BODY && c->uscan < c->uin_end && !c->ubody_done) {
			int r = scan_response_body(c);
			if (r != 0)
				return r;
		}
		if (conn_client_out_pending(c)) {
			if (!c->client_wr || *budget <= 0)
				break;
			int r = proxy_write_client(c, c->uscan);
			if (r < 0) {
				conn_close(c, "client write error");
				return -1;
			}
			if (r == 0)
				break;
			progress = 1;
			--*budget;
			if (!c->client_wr)
				break;
			continue;
		}
		if (c->rs == RS_DONE)
			break;
		if (c->rs == RS_BODY) {
			if (c->ubody_done) {
				c->rs = RS_DONE;
				progress = 1;
				break;
			}
			if (c->ufwd == c->uin_end)
				c->ufwd = c->uscan = c->uin_end = 0;
			if (c->uscan < c->uin_end) {
				int r = scan_response_body(c);
				if (r != 0)
					return r;
				continue;
			}
		} else if (c->uin_start < c->uin_end && !parsed) {
			int r = parse_response(c);
			if (r < 0)
				return -1;
			if (c->state != CONN_PROXY)
				return 1;
			if (r > 0) {
				progress = 1;
				continue;
			}
			parsed = true;
		}
		if (req_head_pending(c) || !c->up_rd || c->up == NULL || *budget <= 0)
			break;
		if (c->uin == NULL) {
			c->uin = worker_buf_get(w, WORKER_BUF_SIZE, &c->uin_cap);
			if (c->uin == NULL) {
				conn_close(c, "out of memory");
				return -1;
			}
		}
		if (c->uin_end == c->uin_cap) {
			/* Only a response head can fill the buffer (a body leaves it as it
			 * is sent). Move it to the front, or to a bigger buffer. */
			if (c->uin_start > 0) {
				memmove(c->uin, c->uin + c->uin_start, c->uin_end - c->uin_start);
				c->uin_end -= c->uin_start;
				c->uin_start = 0;
			} else if (c->uin_cap < w->lim->head_cap) {
				if (worker_buf_grow(w, &c->uin, &c->uin_cap, c->uin_end, w->lim->head_cap) < 0) {
					conn_close(c, "out of memory");
					return -1;
				}
			} else {
				c->log.error = "upstream response head too large";
				return conn_reply(c, 502, "bad upstream response\n", false);
			}
		}
		size_t space = c->uin_cap - c->uin_end;
		ssize_t n = uio_read(c->up, c->uin + c->uin_end, space);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->up_rd = false;
				break;
			}
			int r = proxy_upstream_eof(c, errno);
			if (r < 0 || c->state != CONN_PROXY)
				return r;
			progress = 1;
			continue;
		}
		if (n == 0) {
			int r = proxy_upstream_eof(c, 0);
			if (r < 0 || c->state != CONN_PROXY)
				return r;
			progress = 1;
			continue;
		}
		if ((size_t)n < space && uio_drained(c->up))
			c->up_rd = false;
		c->uin_end += (uint32_t)n;
		c->resp_byte = true;
		parsed = false;
		progress = 1;
		--*budget;
	}
	return progress;
}

int proxy_run(struct conn *c)
{
	bool any = false;
	int breq = PROXY_IO_BUDGET, bresp = PROXY_IO_BUDGET;
	for (;;) {
		int a = pump_request(c, &breq);
		if (a < 0)
			return -1;
		if (c->state != CONN_PROXY)
			return 1;
		int b = pump_response(c, &bresp);
		if (b < 0)
			return -1;
		if (c->state != CONN_PROXY)
			return 1;
		if (c->rs == RS_DONE && !conn_client_out_pending(c))
			return conn_request_done(c);
		if (a == 0 && b == 0)
			break;
		any = true;
	}
	/* Inactivity limit; the connect deadline stays as it is. */
	if (any && c->rq != RQ_CONNECT)
		conn_touch(c);
	return 0;
}

int proxy_timeout(struct conn *c)
{
	if (c->retry_wait)
		return retry_resume(c);
	if (c->rq == RQ_CONNECT) {
		if (retry_on_failure(c, "upstream connect timeout"))
			return 1;
		c->log.error = "upstream connect timeout";
		return conn_reply(c, 502, "upstream connect error\n", false);
	}
	if (!c->resp_started) {
		c->log.error = "upstream timeout";
		return conn_reply(c, 504, "upstream timeout\n", true);
	}
	conn_close(c, "inactivity timeout");
	return -1;
}

void conn_on_upstream_io(struct conn *c, int revents)
{
	if (c->state == CONN_TUNNEL) {  /* runtime/tunnel.c checks a connect itself */
		c->up_rd |= (revents & EV_READ) != 0;
		c->up_wr |= (revents & EV_WRITE) != 0;
		conn_run(c);
		return;
	}
	if (c->state != CONN_PROXY)
		return;
	if (c->rq == RQ_CONNECT) {
		int cr = upstream_connect_result(c->up);
		if (cr == 0 && c->up->tls != NULL)
			cr = tls_up_connect(c);  /* 0 done, 1 handshaking, -1 failed (logged) */
		if (cr < 0) {
			const char *why = c->up->tls != NULL && c->up->tls->started
					? "upstream TLS handshake failed" : "upstream connect error";
			if (!retry_on_failure(c, why)) {
				c->log.error = why;
				if (conn_reply(c, 502, "upstream connect error\n", false) < 0)
					return;
			}
		} else if (cr == 0) {
			balancer_connected(c);
			c->rq = RQ_SEND;
			c->up_wr = true;
			conn_touch(c);
		}
	} else {
		if (revents & EV_READ)
			c->up_rd = true;
		/* HTTP/2: a request body blocked by the flow-control window waits for the
		 * backend's WINDOW_UPDATE, which comes as input */
		if ((revents & EV_WRITE) || (c->up->h2 != NULL && (revents & EV_READ)))
			c->up_wr = true;
	}
	conn_run(c);
}
