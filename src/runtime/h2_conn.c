/* SPDX-License-Identifier: MIT */
/* h2_conn: the socket edge of HTTP/2 prior knowledge on a client connection: moves
 * bytes between the client's socket and the core (h2_core_in.c, h2_core_out.c) and
 * tells the connection what it can do through the layer. */
#include "config.h"

#include "runtime/h2_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "runtime/conn.h"
#include "runtime/h2_core.h"
#include "runtime/worker.h"

/* Socket reads per pump before other connections get their turn. */
#define H2_READ_BUDGET 8
#define H2_READ_CHUNK 16384

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
				h2_core_fail(h, "client read error", errno);
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

/* Frames to the socket at once; what it does not take waits in h->out, and no new
 * frame is made meanwhile. */
static void h2_flush(struct conn *c)
{
	struct h2_conn *h = c->h2;
	/* after a failure too: the GOAWAY saying why must still go out */
	if (h2_map_send(h->s, c->fd, &h->out) < 0)
		h2_core_fail(h, "client write error", ECONNRESET);
}

/* Tells the connection what it can do through the layer now. */
static void h2_flags(struct conn *c)
{
	struct h2_conn *h = c->h2;
	if (h->error != NULL) {  /* the next call reports it */
		c->client_rd = c->client_wr = true;
		return;
	}
	if (h2_core_input_pending(h) || h2_core_input_over(h))
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
	if (h->error == NULL && (h2_core_input_pending(h) || h2_core_input_over(h)))
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
	if (h->out.off < h->out.len)
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
