/* SPDX-License-Identifier: MIT */
/* admin: a deliberately small HTTP/1.1 server for operators and probes. Requests are
 * parsed with the data plane's h1_parse (same strictness); each connection gets one
 * response, then is closed, with a bounded number of connections and a deadline. */
#include "config.h"

#include "ops/admin.h"

#include <errno.h>
#include <ev.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/h1_parse.h"

#define ADMIN_MAX_CONNS 64
#define ADMIN_MAX_HEAD 8192
#define ADMIN_MAX_HEADERS 64
#define ADMIN_TIMEOUT_SECONDS 10.0

struct admin_conn {
	struct admin *adm;
	int fd;
	ev_io io;
	ev_timer timer;
	char in[ADMIN_MAX_HEAD];
	size_t in_len;
	struct buf out;           /* owned: the whole response */
	size_t sent;
	struct admin_conn *prev, *next;
};

struct admin {
	struct ev_loop *loop;
	int fd;
	ev_io accept_io;
	ev_timer accept_retry;    /* accepting paused: out of fds or memory */
	ev_tstamp accept_warned;
	struct admin_hooks hooks;
	struct admin_conn *conns;
	int nconns;
};

static void conn_close(struct admin_conn *ac)
{
	struct admin *a = ac->adm;
	ev_io_stop(a->loop, &ac->io);
	ev_timer_stop(a->loop, &ac->timer);
	close(ac->fd);
	buf_free(&ac->out);
	if (ac->prev)
		ac->prev->next = ac->next;
	else
		a->conns = ac->next;
	if (ac->next)
		ac->next->prev = ac->prev;
	a->nconns--;
	free(ac);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	conn_close(w->data);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct admin_conn *ac = w->data;
	while (ac->sent < ac->out.len) {
		ssize_t n = send(ac->fd, ac->out.data + ac->sent, ac->out.len - ac->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;
		ac->sent += (size_t)n;
	}
	conn_close(ac);
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

static void respond(struct admin_conn *ac, int status, const char *ctype, const char *body,
		    size_t len, bool head_only)
{
	struct admin *a = ac->adm;
	buf_printf(&ac->out,
		   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		   "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
		   status, reason_phrase(status), ctype, len,
		   status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!head_only && len)
		buf_append(&ac->out, body, len);
	ac->sent = 0;
	ev_io_stop(a->loop, &ac->io);
	ev_io_init(&ac->io, on_writable, ac->fd, EV_WRITE);
	ac->io.data = ac;
	ev_io_start(a->loop, &ac->io);
}

static void respond_text(struct admin_conn *ac, int status, const char *text, bool head_only)
{
	respond(ac, status, "text/plain; charset=utf-8", text, strlen(text), head_only);
}

static bool path_is(const struct h1_request *req, const char *p)
{
	return req->path_len == strlen(p) && memcmp(req->path, p, req->path_len) == 0;
}

static void route(struct admin_conn *ac, const struct h1_request *req)
{
	struct admin_hooks *h = &ac->adm->hooks;
	bool is_get = req->method_len == 3 && memcmp(req->method, "GET", 3) == 0;
	bool is_head = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
	bool known = path_is(req, "/healthz") || path_is(req, "/readyz") || path_is(req, "/status") ||
		     (path_is(req, "/metrics") && h->metrics);
	if (!known) {
		respond_text(ac, 404, "not found\n", is_head);
		return;
	}
	if (!is_get && !is_head) {
		respond_text(ac, 405, "method not allowed\n", false);
		return;
	}
	if (path_is(req, "/healthz")) {
		respond_text(ac, 200, "ok\n", is_head);
	} else if (path_is(req, "/readyz")) {
		bool stale = false;
		if (h->ready && h->ready(h->ctx, &stale))
			respond_text(ac, 200, stale ? "ready (stale)\n" : "ready\n", is_head);
		else
			respond_text(ac, 503, "not ready\n", is_head);
	} else if (path_is(req, "/status")) {
		struct buf b = BUF_INIT;
		h->status_json(h->ctx, &b);
		buf_putc(&b, '\n');
		respond(ac, 200, "application/json", b.data, b.len, is_head);
		buf_free(&b);
	} else {
		struct buf b = BUF_INIT;
		h->metrics(h->ctx, &b);
		respond(ac, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "", b.len,
			is_head);
		buf_free(&b);
	}
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct admin_conn *ac = w->data;
	for (;;) {
		ssize_t n = recv(ac->fd, ac->in + ac->in_len, sizeof ac->in - ac->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(ac);
			return;
		}
		ac->in_len += (size_t)n;
		struct h1_header headers[ADMIN_MAX_HEADERS];
		struct h1_request req;
		struct h1_limits lim = {ADMIN_MAX_HEAD, ADMIN_MAX_HEADERS};
		memset(&req, 0, sizeof req);
		int rc = h1_parse_request(ac->in, ac->in_len, &lim, &req, headers, ADMIN_MAX_HEADERS);
		if (rc == H1_INCOMPLETE) {
			if (ac->in_len == sizeof ac->in) {
				respond_text(ac, 431, "request header too large\n", false);
				return;
			}
			continue;
		}
		if (rc == H1_ERROR) {
			int st = req.err_status == 431 ? 431 : 400;
			respond_text(ac, st, st == 431 ? "request header too large\n" : "bad request\n", false);
			return;
		}
		/* A body is not expected; the connection closes after the answer anyway. */
		route(ac, &req);
		return;
	}
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct admin *a = w->data;
	ev_io_start(loop, &a->accept_io);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct admin *a = w->data;
	for (;;) {
		int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (ev_now(loop) - a->accept_warned >= 10.) {
				log_warn("admin: accept");
				a->accept_warned = ev_now(loop);
			}
			/* EMFILE and the like: the connection stays queued, and the
			 * level-triggered watcher would fire again at once; wait instead. */
			ev_io_stop(loop, &a->accept_io);
			ev_timer_set(&a->accept_retry, 0.5, 0.);
			ev_timer_start(loop, &a->accept_retry);
			return;
		}
		if (a->nconns >= ADMIN_MAX_CONNS) {
			close(fd);
			continue;
		}
		struct admin_conn *ac = calloc(1, sizeof *ac);
		if (!ac) {
			close(fd);
			continue;
		}
		ac->adm = a;
		ac->fd = fd;
		ev_io_init(&ac->io, on_readable, fd, EV_READ);
		ac->io.data = ac;
		ev_timer_init(&ac->timer, on_timeout, ADMIN_TIMEOUT_SECONDS, 0.);
		ac->timer.data = ac;
		ev_io_start(loop, &ac->io);
		ev_timer_start(loop, &ac->timer);
		ac->next = a->conns;
		if (a->conns)
			a->conns->prev = ac;
		a->conns = ac;
		a->nconns++;
	}
}

/* "host:port", "[v6]:port", "*:port" -> a bound, listening socket. */
static int admin_bind(const char *listen_addr, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(listen_addr, ':');
	if (!colon || colon == listen_addr || (size_t)(colon - listen_addr) >= sizeof host) {
		snprintf(err, errlen, "admin listen \"%s\": expected host:port", listen_addr);
		return -1;
	}
	const char *h = listen_addr;
	size_t hlen = (size_t)(colon - listen_addr);
	if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, colon + 1, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "admin listen \"%s\": %s", listen_addr, gai_strerror(gai));
		return -1;
	}
	int fd = -1, saved = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
			saved = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "admin listen %s: %s", listen_addr, strerror(saved));
	return fd;
}

struct admin *admin_start(struct ev_loop *loop, const char *listen_addr, const struct admin_hooks *hooks,
			  char *err, size_t errlen)
{
	int fd = admin_bind(listen_addr, err, errlen);
	if (fd < 0)
		return NULL;
	struct admin *a = calloc(1, sizeof *a);
	if (!a)
		fatalx("out of memory");
	a->loop = loop;
	a->fd = fd;
	a->hooks = *hooks;
	ev_io_init(&a->accept_io, on_accept, fd, EV_READ);
	a->accept_io.data = a;
	ev_io_start(loop, &a->accept_io);
	ev_init(&a->accept_retry, on_accept_retry);
	a->accept_retry.data = a;
	return a;
}

void admin_stop(struct admin *a)
{
	if (!a)
		return;
	while (a->conns)
		conn_close(a->conns);
	ev_io_stop(a->loop, &a->accept_io);
	ev_timer_stop(a->loop, &a->accept_retry);
	close(a->fd);
	free(a);
}
