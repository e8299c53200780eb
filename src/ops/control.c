/* SPDX-License-Identifier: MIT */
/* control: the control socket. Server side on the main libev loop (non-blocking, a
 * bounded number of connections, each with a deadline); client side blocking, for the
 * short-lived `gatewayd reload|status|history|rollback` processes. */
#include "config.h"

#include "ops/control.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"

#define CONTROL_MAX_CONNS 16
#define CONTROL_IDLE_SECONDS 10.0
/* A reload of a large configuration takes a while; a hung daemon must not hang
 * `systemctl reload` forever either. */
#define CONTROL_CLIENT_TIMEOUT_SECONDS 300

struct ctl_conn {
	struct control *ctl;
	int fd;
	ev_io io;
	ev_timer timer;
	char in[CONTROL_MAX_LINE + 1];
	size_t in_len;
	struct buf reply;         /* owned; what is left to send starts at sent */
	size_t sent;
	struct ctl_conn *prev, *next;
};

struct control {
	struct ev_loop *loop;
	char *path;               /* owned */
	int fd;
	ev_io accept_io;
	ev_timer accept_retry;    /* accepting paused: out of fds or memory */
	ev_tstamp accept_warned;
	control_command_fn fn;
	void *ctx;
	struct ctl_conn *conns;
	int nconns;
};

/* ---- reply encoding ---- */

static void put_lines(struct buf *wire, char channel, const char *text, size_t len)
{
	const char *end = text + len;
	do {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		const char *e = nl ? nl : end;
		buf_putc(wire, channel);
		buf_putc(wire, ' ');
		buf_append(wire, text, (size_t)(e - text));
		buf_putc(wire, '\n');
		text = nl ? nl + 1 : end;
	} while (text < end);
}

static void reply_vput(struct ctl_reply *r, char channel, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	buf_vprintf(&b, fmt, ap);
	put_lines(&r->wire, channel, b.data ? b.data : "", b.len);
	buf_free(&b);
}

void ctl_reply_out(struct ctl_reply *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_vput(r, '1', fmt, ap);
	va_end(ap);
}

void ctl_reply_err(struct ctl_reply *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	reply_vput(r, '2', fmt, ap);
	va_end(ap);
}

void ctl_reply_out_text(struct ctl_reply *r, const char *text, size_t len)
{
	put_lines(&r->wire, '1', text, len);
}

/* ---- server ---- */

static void conn_close(struct ctl_conn *cc)
{
	struct control *c = cc->ctl;
	ev_io_stop(c->loop, &cc->io);
	ev_timer_stop(c->loop, &cc->timer);
	close(cc->fd);
	buf_free(&cc->reply);
	if (cc->prev)
		cc->prev->next = cc->next;
	else
		c->conns = cc->next;
	if (cc->next)
		cc->next->prev = cc->prev;
	c->nconns--;
	free(cc);
}

static void on_conn_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	conn_close(w->data);
}

static void on_conn_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn *cc = w->data;
	while (cc->sent < cc->reply.len) {
		ssize_t n = send(cc->fd, cc->reply.data + cc->sent, cc->reply.len - cc->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(cc);
			return;
		}
		cc->sent += (size_t)n;
	}
	conn_close(cc);
}

static void conn_answer(struct ctl_conn *cc, const char *line)
{
	struct control *c = cc->ctl;
	struct ctl_reply r = {BUF_INIT, 0};
	if (line)
		c->fn(c->ctx, line, &r);
	else {
		ctl_reply_err(&r, "command line too long");
		r.exit_code = 2;
	}
	buf_printf(&r.wire, "exit %d\n", r.exit_code);
	cc->reply = r.wire;
	cc->sent = 0;
	ev_io_stop(c->loop, &cc->io);
	ev_io_init(&cc->io, on_conn_writable, cc->fd, EV_WRITE);
	cc->io.data = cc;
	ev_io_start(c->loop, &cc->io);
	/* The command may have run long: the deadline is for the client's reading now. */
	ev_timer_stop(c->loop, &cc->timer);
	ev_timer_set(&cc->timer, CONTROL_IDLE_SECONDS, 0.);
	ev_timer_start(c->loop, &cc->timer);
}

static void on_conn_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn *cc = w->data;
	for (;;) {
		ssize_t n = recv(cc->fd, cc->in + cc->in_len, sizeof cc->in - 1 - cc->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(cc); /* gone before sending a whole line */
			return;
		}
		cc->in_len += (size_t)n;
		cc->in[cc->in_len] = '\0';
		char *nl = memchr(cc->in, '\n', cc->in_len);
		if (nl) {
			*nl = '\0';
			if (nl > cc->in && nl[-1] == '\r')
				nl[-1] = '\0';
			conn_answer(cc, cc->in);
			return;
		}
		if (cc->in_len == sizeof cc->in - 1) {
			conn_answer(cc, NULL);
			return;
		}
	}
}

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control *c = w->data;
	ev_io_start(loop, &c->accept_io);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *c = w->data;
	for (;;) {
		int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (ev_now(loop) - c->accept_warned >= 10.) {
				log_warn("control: accept");
				c->accept_warned = ev_now(loop);
			}
			/* EMFILE and the like: the connection stays queued, and the
			 * level-triggered watcher would fire again at once; wait instead. */
			ev_io_stop(loop, &c->accept_io);
			ev_timer_set(&c->accept_retry, 0.5, 0.);
			ev_timer_start(loop, &c->accept_retry);
			return;
		}
		if (c->nconns >= CONTROL_MAX_CONNS) {
			close(fd);
			continue;
		}
		struct ctl_conn *cc = calloc(1, sizeof *cc);
		if (!cc) {
			close(fd);
			continue;
		}
		cc->ctl = c;
		cc->fd = fd;
		ev_io_init(&cc->io, on_conn_readable, fd, EV_READ);
		cc->io.data = cc;
		ev_timer_init(&cc->timer, on_conn_timeout, CONTROL_IDLE_SECONDS, 0.);
		cc->timer.data = cc;
		ev_io_start(loop, &cc->io);
		ev_timer_start(loop, &cc->timer);
		cc->next = c->conns;
		if (c->conns)
			c->conns->prev = cc;
		c->conns = cc;
		c->nconns++;
	}
}

static int fill_addr(struct sockaddr_un *sa, const char *path, char *err, size_t errlen)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path) {
		snprintf(err, errlen, "%s: path too long for a unix socket", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

/* A socket file left by a daemon that died is replaced; one that answers belongs to a
 * running daemon, and two daemons on one state_dir would fight over it. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return 0;
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", path, strerror(errno));
		return -1;
	}
	int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
	int saved = errno;
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: another gatewayd is running (its control socket answers)", path);
		return -1;
	}
	if (saved != ECONNREFUSED && saved != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove the stale socket: %s", path, strerror(errno));
		return -1;
	}
	log_info("control: replaced the stale socket %s", path);
	return 0;
}

struct control *control_start(struct ev_loop *loop, const char *path, control_command_fn fn,
			      void *ctx, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	if (fill_addr(&sa, path, err, errlen) != 0 || clear_stale(path, &sa, err, errlen) != 0)
		return NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", path, strerror(errno));
		return NULL;
	}
	/* The umask makes the file 0600 from the start: there is no moment in which
	 * another user could connect and reload or roll back. */
	mode_t old = umask(0177);
	int rc = bind(fd, (const struct sockaddr *)&sa, sizeof sa);
	int saved = errno;
	umask(old);
	if (rc != 0 || listen(fd, CONTROL_MAX_CONNS) != 0) {
		if (rc == 0)
			saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		close(fd);
		if (rc == 0)
			unlink(path);
		return NULL;
	}
	struct control *c = calloc(1, sizeof *c);
	if (!c || !(c->path = strdup(path)))
		fatalx("out of memory");
	c->loop = loop;
	c->fd = fd;
	c->fn = fn;
	c->ctx = ctx;
	ev_io_init(&c->accept_io, on_accept, fd, EV_READ);
	c->accept_io.data = c;
	ev_io_start(loop, &c->accept_io);
	ev_init(&c->accept_retry, on_accept_retry);
	c->accept_retry.data = c;
	return c;
}

void control_stop(struct control *c)
{
	if (!c)
		return;
	while (c->conns)
		conn_close(c->conns);
	ev_io_stop(c->loop, &c->accept_io);
	ev_timer_stop(c->loop, &c->accept_retry);
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}

/* ---- client ---- */

/* Handles the complete lines at the start of b; returns how many bytes were used. */
static size_t client_lines(const char *data, size_t len, FILE *out, FILE *errout,
			   int *exit_code, bool *done)
{
	size_t used = 0;
	while (!*done) {
		const char *line = data + used;
		const char *nl = memchr(line, '\n', len - used);
		if (!nl)
			break;
		size_t n = (size_t)(nl - line);
		if (n >= 2 && (line[0] == '1' || line[0] == '2') && line[1] == ' ') {
			FILE *f = line[0] == '1' ? out : errout;
			fwrite(line + 2, 1, n - 2, f);
			fputc('\n', f);
		} else if (n > 5 && memcmp(line, "exit ", 5) == 0) {
			*exit_code = atoi(line + 5);
			*done = true;
		}
		used += n + 1;
	}
	return used;
}

int control_call(const char *path, const char *command, FILE *out, FILE *errout,
		 int *exit_code, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	if (fill_addr(&sa, path, err, errlen) != 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot reach the daemon at %s: %s", path, strerror(errno));
		return -1;
	}
	struct timeval tv = {CONTROL_CLIENT_TIMEOUT_SECONDS, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (const struct sockaddr *)&sa, sizeof sa) != 0) {
		int saved = errno;
		snprintf(err, errlen, "cannot reach the daemon at %s: %s", path, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	struct buf req = BUF_INIT;
	buf_printf(&req, "%s\n", command);
	size_t off = 0;
	while (off < req.len) {
		ssize_t n = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int saved = errno;
			snprintf(err, errlen, "cannot reach the daemon at %s: %s", path, strerror(saved));
			buf_free(&req);
			close(fd);
			errno = saved;
			return -1;
		}
		off += (size_t)n;
	}
	buf_free(&req);

	struct buf in = BUF_INIT;
	bool done = false;
	int rc = 0;
	*exit_code = 1;
	while (!done) {
		char chunk[16384];
		ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				snprintf(err, errlen, "no answer from the daemon at %s: %s", path, strerror(errno));
			else
				snprintf(err, errlen, "the daemon at %s closed the connection before answering", path);
			rc = -1;
			break;
		}
		buf_append(&in, chunk, (size_t)n);
		size_t used = client_lines(in.data, in.len, out, errout, exit_code, &done);
		memmove(in.data, in.data + used, in.len - used);
		in.len -= used;
	}
	fflush(out);
	fflush(errout);
	buf_free(&in);
	close(fd);
	return rc;
}
