/* SPDX-License-Identifier: MIT */
/* tunnel: the byte pump of CONN_TUNNEL (after a 101 Switching Protocols, or for a TLS
 * passthrough / TCPRoute connection). Both directions flow at once through the
 * connection's own buffers; each direction ends on its own (half-close), and the
 * connection closes once both ended, on an error, or after the idle timeout. */
#include "config.h"

#include "runtime/tunnel.h"
#include "runtime/conn_io.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/tls_conn.h"
#include "runtime/upstream_io.h"
#include "runtime/worker.h"

/* System calls per direction per event before the loop serves other connections (as
 * PROXY_IO_BUDGET in conn_proxy.c: one busy tunnel must not starve a worker). */
#define TUNNEL_IO_BUDGET 32

/* The request/response fields of struct conn, as a tunnel uses them:
 *   rq   RQ_CONNECT  c->up may still be connecting (the zero value: a caller that does
 *                    not know waits one EV_WRITE and checks SO_ERROR, which is cheap)
 *        RQ_SEND     client -> upstream flows
 *        RQ_DONE     the client's EOF was passed on (shutdown(SHUT_WR) on c->up)
 *   rs   RS_BODY     upstream -> client flows; RS_DONE once the upstream's EOF was
 *                    passed on to the client
 *   ubody_done       the upstream sent its EOF (bytes of it may still wait in uin)
 *   uscan            kept equal to uin_end, so conn_client_out_pending() holds */

static bool tunnel_out_pending(const struct conn *c)
{
	return (!c->hout_is_req && c->hout_off < c->hout_len) || c->ufwd < c->uin_end;
}

static void tunnel_touch(struct conn *c)
{
	conn_set_deadline(c, ev_now(c->w->loop) + c->tunnel_idle);
}

int tunnel_start(struct conn *c, ev_tstamp idle)
{
	struct worker *w = c->w;
	c->state = CONN_TUNNEL;
	c->tunnel_idle = idle > 0 ? idle : w->lim->idle_timeout;
	c->keep_alive = false;
	/* A forwarded request head still in hout is done with; a response head (the
	 * 101) goes out first. */
	if (c->hout_is_req) {
		c->hout_is_req = false;
		c->hout_off = c->hout_len = 0;
	}
	c->uscan = c->uin_end;
	if (c->ufwd > c->uin_end)
		c->ufwd = c->uin_end;
	c->scan_off = c->in_end;
	c->rs = RS_BODY;
	c->ubody_done = false;
	c->up_rd = true;  /* the backend may have sent more than we read */
	if (c->rq == RQ_CONNECT) {
		c->up_wr = false;
		conn_set_deadline(c, ev_now(w->loop) + w->lim->connect_timeout);
	} else {
		c->rq = RQ_SEND;
		c->up_wr = true;
		tunnel_touch(c);
	}
	return 1;
}

/* Moves the unsent bytes of buf[*off..*end) to its front, when they are gone or the
 * sent part is at least half of the buffer (so a move copies at most half of it). */
static void tunnel_compact(char *buf, uint32_t cap, uint32_t *off, uint32_t *end)
{
	if (*off == *end) {
		*off = *end = 0;
	} else if (*off >= cap / 2) {
		memmove(buf, buf + *off, *end - *off);
		*end -= *off;
		*off = 0;
	}
}

static ssize_t tunnel_up_write(struct upstream *u, const char *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	return uio_writev(u, &iov, 1);
}

/* Client -> upstream. Returns -1 (closed), 0 (no progress) or 1. */
static int tunnel_pump_up(struct conn *c, int *budget)
{
	int progress = 0;
	for (;;) {
		if (c->rq == RQ_SEND && c->fwd_off < c->in_end && c->up_wr && *budget > 0) {
			size_t len = c->in_end - c->fwd_off;
			ssize_t k = tunnel_up_write(c->up, c->in + c->fwd_off, len);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK) {
					conn_close(c, "tunnel: upstream write error");
					return -1;
				}
				c->up_wr = false;
			} else {
				if ((size_t)k < len)
					c->up_wr = false;
				c->fwd_off += (uint32_t)k;
				progress = 1;
				--*budget;
			}
		}
		if (c->in != NULL)
			tunnel_compact(c->in, c->in_cap, &c->fwd_off, &c->in_end);
		if (c->rq == RQ_SEND && c->client_eof && c->fwd_off == c->in_end) {
			/* The client's FIN goes on as ours: the backend may still answer.
			 * Over TLS the session ends with the connection (close_notify). */
			if (c->up->tls == NULL && shutdown(c->up->fd, SHUT_WR) < 0 && errno != ENOTCONN) {
				conn_close(c, "tunnel: upstream shutdown error");
				return -1;
			}
			c->rq = RQ_DONE;
			progress = 1;
		}
		if (!c->client_rd || c->client_eof || *budget <= 0)
			break;
		if (c->in == NULL) {
			c->in = worker_buf_get(c->w, WORKER_BUF_SIZE, &c->in_cap);
			if (c->in == NULL) {
				conn_close(c, "out of memory");
				return -1;
			}
			c->fwd_off = c->in_end = 0;
		}
		if (c->in_end == c->in_cap)
			break;  /* back-pressure: the upstream takes its time */
		size_t space = c->in_cap - c->in_end;
		ssize_t n = cio_read(c, c->in + c->in_end, space);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->client_rd = false;
				break;
			}
			conn_close(c, "tunnel: client read error");
			return -1;
		}
		progress = 1;
		if (n == 0) {
			c->client_eof = true;
			continue;
		}
		if ((size_t)n < space && cio_drained(c))
			c->client_rd = false;
		c->in_end += (uint32_t)n;
		c->scan_off = c->in_end;
		c->log.bytes_in += (uint64_t)n;
		--*budget;
	}
	return progress;
}

/* Upstream -> client (after a pending response head). Returns -1, 0 or 1. */
static int tunnel_pump_down(struct conn *c, int *budget)
{
	int progress = 0;
	for (;;) {
		if (tunnel_out_pending(c) && c->client_wr && *budget > 0) {
			int r = proxy_write_client(c, c->uin_end);
			if (r < 0) {
				conn_close(c, "tunnel: client write error");
				return -1;
			}
			if (r > 0) {
				progress = 1;
				--*budget;
			}
		}
		if (c->uin != NULL) {
			tunnel_compact(c->uin, c->uin_cap, &c->ufwd, &c->uin_end);
			c->uscan = c->uin_end;
		}
		if (c->rs == RS_BODY && c->ubody_done && !tunnel_out_pending(c)) {
			tls_conn_notify(c);  /* TLS: close_notify before the FIN (RFC 8446 §6.1) */
			if (shutdown(c->fd, SHUT_WR) < 0 && errno != ENOTCONN) {
				conn_close(c, "tunnel: client shutdown error");
				return -1;
			}
			c->rs = RS_DONE;
			progress = 1;
		}
		if (c->rq == RQ_CONNECT || c->ubody_done || !c->up_rd || *budget <= 0)
			break;
		if (c->uin == NULL) {
			c->uin = worker_buf_get(c->w, WORKER_BUF_SIZE, &c->uin_cap);
			if (c->uin == NULL) {
				conn_close(c, "out of memory");
				return -1;
			}
			c->ufwd = c->uin_end = c->uscan = 0;
		}
		if (c->uin_end == c->uin_cap)
			break;  /* back-pressure: the client takes its time */
		size_t space = c->uin_cap - c->uin_end;
		ssize_t n = uio_read(c->up, c->uin + c->uin_end, space);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->up_rd = false;
				break;
			}
			conn_close(c, "tunnel: upstream reset");
			return -1;
		}
		progress = 1;
		if (n == 0) {
			c->ubody_done = true;
			continue;
		}
		if ((size_t)n < space && uio_drained(c->up))
			c->up_rd = false;
		c->uin_end += (uint32_t)n;
		c->uscan = c->uin_end;
		--*budget;
	}
	return progress;
}

int tunnel_run(struct conn *c)
{
	if (c->rq == RQ_CONNECT && c->up_wr) {
		if (upstream_connect_result(c->up) < 0) {
			/* Nothing was carried: the access log says 502, not the 200 a
			 * TLS passthrough or TCP connection records when it starts. */
			c->log.status = 502;
			conn_close(c, "tunnel: upstream connect error");
			return -1;
		}
		c->rq = RQ_SEND;
		tunnel_touch(c);
	}
	int bup = TUNNEL_IO_BUDGET, bdown = TUNNEL_IO_BUDGET;
	bool any = false;
	for (;;) {
		int a = tunnel_pump_up(c, &bup);
		if (a < 0)
			return -1;
		int b = tunnel_pump_down(c, &bdown);
		if (b < 0)
			return -1;
		if (c->rq == RQ_DONE && c->rs == RS_DONE) {
			conn_close(c, "tunnel closed");
			return -1;
		}
		if (a == 0 && b == 0)
			break;
		any = true;
	}
	if (any && c->rq != RQ_CONNECT)
		tunnel_touch(c);
	return 0;
}

int tunnel_timeout(struct conn *c)
{
	conn_close(c, c->rq == RQ_CONNECT ? "tunnel: upstream connect timeout"
					  : "tunnel: idle timeout");
	return -1;
}

int tunnel_up_events(const struct conn *c)
{
	if (c->rq == RQ_CONNECT)
		return EV_WRITE;
	int ev = 0;
	if (c->rq == RQ_SEND && c->fwd_off < c->in_end)
		ev |= EV_WRITE;
	if (!c->ubody_done && (c->uin == NULL || c->uin_end < c->uin_cap))
		ev |= EV_READ;
	return ev;
}

int tunnel_client_events(const struct conn *c)
{
	int ev = 0;
	if (!c->client_eof && (c->in == NULL || c->in_end < c->in_cap))
		ev |= EV_READ;
	if (tunnel_out_pending(c))
		ev |= EV_WRITE;
	return ev;
}
