/* SPDX-License-Identifier: MIT */
/* listener: listening sockets. The main thread opens one SO_REUSEPORT socket per
 * worker for each (family, address, port) of the image, so the kernel spreads new
 * connections over the workers; each worker watches its own sockets and accepts.
 * Accepting pauses (the watcher stops) at max_connections or EMFILE/ENFILE and
 * resumes when a connection closes: never a busy loop. */
#ifndef GW_RUNTIME_LISTENER_H
#define GW_RUNTIME_LISTENER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker;

/* "0.0.0.0:80", "[::1]:8080". */
void listener_format(int family, const uint8_t addr[16], uint16_t port, char *out, size_t len);

/* Main thread: a non-blocking listening socket with SO_REUSEADDR, SO_REUSEPORT and,
 * for AF_INET6, IPV6_V6ONLY (so [::] and 0.0.0.0 on one port coexist). Returns the fd,
 * or -1 with "addr:port: reason" in err. */
int listener_open(int family, const uint8_t addr[16], uint16_t port, char *err, size_t errlen);
/* The same for a UDP bind (UDPRoute): a bound SOCK_DGRAM socket, read by runtime/udp.c. */
int listener_open_udp(int family, const uint8_t addr[16], uint16_t port, char *err, size_t errlen);

/* A worker's accept watcher on one socket. */
struct wlisten {
	ev_io io;
	struct worker *w;
	struct wlisten *next;      /* worker's list */
	uint32_t key;              /* listen_spec.key */
	uint32_t bind;             /* bind index in the worker's current generation */
	bool seen;                 /* reconciliation mark */
};

/* Worker thread. listener_watch returns NULL on OOM. The fd stays the main thread's. */
struct wlisten *listener_watch(struct worker *w, int fd, uint32_t key, uint32_t bind);
void listener_unwatch(struct worker *w, struct wlisten *l);
void listener_pause(struct worker *w);
void listener_resume(struct worker *w);

#endif
