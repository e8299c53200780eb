/* SPDX-License-Identifier: MIT */
/* udp: UDPRoute datagrams. A worker reads the UDP sockets of its UDP binds; each
 * client address (per socket) gets a session: a connected UDP socket to one backend
 * endpoint, chosen by the route's weights when the session begins. Datagrams flow both
 * ways through it until nothing moved for the [limits] idle_timeout. Sessions per
 * worker are bounded (UDP_MAX_SESSIONS): datagrams of new clients beyond are dropped.
 * Worker thread only. */
#ifndef GW_RUNTIME_UDP_H
#define GW_RUNTIME_UDP_H

#include <ev.h>

struct worker;

#define UDP_MAX_SESSIONS 4096

/* The read callback of a UDP socket's watcher (listener.c sets it for SOCK_DGRAM
 * sockets in place of accepting); the watcher is a struct wlisten's io. */
void udp_on_readable(struct ev_loop *loop, ev_io *io, int revents);
/* Ends every session of the worker (each logged): draining and worker exit. */
void udp_fini(struct worker *w);

#endif
