/* SPDX-License-Identifier: MIT */
/* listener: binding (main thread) and accepting (workers). The main thread owns the
 * listening fds; a worker only watches them, so removing one is: every worker stops
 * its watcher and acknowledges, then the main thread closes the fd. */
#include "config.h"

#include "runtime/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/conn.h"
#include "runtime/udp.h"
#include "runtime/worker.h"

/* Connections accepted per readiness event, so one busy socket cannot starve the
 * others of the loop. */
#define LISTENER_ACCEPT_BATCH 64
/* How soon a paused worker tries again when nothing of its own closes (seconds). */
#define LISTENER_RETRY 0.25

void listener_format(int family, const uint8_t addr[16], uint16_t port, char *out, size_t len)
{
	char text[INET6_ADDRSTRLEN] = "?";
	inet_ntop(family, addr, text, sizeof text);
	if (family == AF_INET6)
		snprintf(out, len, "[%s]:%u", text, port);
	else
		snprintf(out, len, "%s:%u", text, port);
}

/* type: SOCK_STREAM (listening) or SOCK_DGRAM (UDPRoute: bound, read by udp.c). */
static int listener_open_type(int family, const uint8_t addr[16], uint16_t port, int type,
			      char *err, size_t errlen)
{
	char name[INET6_ADDRSTRLEN + 16];
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	listener_format(family, addr, port, name, sizeof name);
	memset(&ss, 0, sizeof ss);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, 4);
		len = sizeof *sin;
	} else if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, 16);
		len = sizeof *sin6;
	} else {
		snprintf(err, errlen, "%s: unsupported address family %d", name, family);
		return -1;
	}
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
		goto fail;
	/* Without it, [::]:80 would also take IPv4 and collide with 0.0.0.0:80. */
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
		goto fail;
	/* UDP on a wildcard address: each datagram says which local address it came to,
	 * so that the reply leaves from it (runtime/udp.c). */
	if (type == SOCK_DGRAM &&
	    (family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one)
			       : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0))
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "%s: %s", name, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int listener_open(int family, const uint8_t addr[16], uint16_t port, char *err, size_t errlen)
{
	return listener_open_type(family, addr, port, SOCK_STREAM, err, errlen);
}

int listener_open_udp(int family, const uint8_t addr[16], uint16_t port, char *err, size_t errlen)
{
	return listener_open_type(family, addr, port, SOCK_DGRAM, err, errlen);
}

static void listener_on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct wlisten *l = container_of(io, struct wlisten, io);
	struct worker *w = l->w;
	(void)loop;
	(void)revents;
	for (int i = 0; i < LISTENER_ACCEPT_BATCH; i++) {
		if (atomic_load_explicit(&w->sh->active, memory_order_relaxed) >= w->lim->max_connections) {
			listener_pause(w);
			return;
		}
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_accept(w, fd, l->key, (struct sockaddr *)&ss, len);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* The connection stays queued; accepting resumes when a connection
			 * closes (or after LISTENER_RETRY). */
			if (ev_now(w->loop) - w->accept_warned >= 10.) {
				log_warn("worker %u: accept", w->index);
				w->accept_warned = ev_now(w->loop);
			}
			listener_pause(w);
			return;
		default:
			return;  /* EAGAIN: drained */
		}
	}
}

struct wlisten *listener_watch(struct worker *w, int fd, uint32_t key, uint32_t bind)
{
	struct wlisten *l = calloc(1, sizeof *l);
	if (l == NULL)
		return NULL;
	l->w = w;
	l->key = key;
	l->bind = bind;
	/* A UDP socket (UDPRoute) is read, not accepted on (runtime/udp.c). */
	int type = 0;
	socklen_t tlen = sizeof type;
	bool dgram = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_DGRAM;
	ev_io_init(&l->io, dgram ? udp_on_readable : listener_on_accept, fd, EV_READ);
	if (!w->accept_paused && !w->draining)
		ev_io_start(w->loop, &l->io);
	l->next = w->listens;
	w->listens = l;
	return l;
}

void listener_unwatch(struct worker *w, struct wlisten *l)
{
	for (struct wlisten **pp = &w->listens; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	ev_io_stop(w->loop, &l->io);
	free(l);
}

void listener_pause(struct worker *w)
{
	if (w->accept_paused)
		return;
	w->accept_paused = true;
	for (struct wlisten *l = w->listens; l != NULL; l = l->next)
		ev_io_stop(w->loop, &l->io);
	ev_timer_set(&w->accept_timer, LISTENER_RETRY, 0.);
	ev_timer_start(w->loop, &w->accept_timer);
}

void listener_resume(struct worker *w)
{
	if (!w->accept_paused)
		return;
	w->accept_paused = false;
	ev_timer_stop(w->loop, &w->accept_timer);
	if (w->draining)
		return;
	for (struct wlisten *l = w->listens; l != NULL; l = l->next)
		ev_io_start(w->loop, &l->io);
}
