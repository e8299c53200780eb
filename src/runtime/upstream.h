/* SPDX-License-Identifier: MIT */
/* upstream: connections to backend endpoints and, per worker, a pool of idle
 * keep-alive connections for each endpoint address. A pool is keyed by the socket
 * address, not by the image, so idle connections survive a reload that keeps the
 * endpoint. Worker thread only. */
#ifndef GW_RUNTIME_UPSTREAM_H
#define GW_RUNTIME_UPSTREAM_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "compile/image.h"

/* Idle connections kept per endpoint per worker; more are closed when released.
 * It must cover the client concurrency one worker sees, or every request beyond it
 * pays a new backend connection (at 256 clients a bound of 64 doubled the CPU per
 * request). Envoy keeps them unbounded, nginx setups commonly use keepalive 1024. */
#define UPOOL_MAX_IDLE 1024
/* An idle upstream connection unused this long is closed (seconds). */
#define UPOOL_IDLE_TIMEOUT 60.0

struct worker;
struct conn;
struct tls_client;
struct tls_up;
struct h2_up;

struct upstream {
	ev_io io;                  /* events set by the owner; EV_READ while idle */
	int fd;
	struct worker *w;
	struct upool *pool;        /* borrowed; keeps pool->nactive/nidle counted */
	struct conn *owner;        /* the client connection using it, NULL while idle */
	struct upstream *prev, *next;  /* pool idle list, most recently used first */
	ev_tstamp idle_since;
	bool reused;               /* served a request before */
	struct tls_up *tls;        /* owned: BackendTLSPolicy session (runtime/tls_upstream.h);
				    * NULL = plain */
	struct h2_up *h2;          /* owned: HTTP/2 session to an h2c backend
				    * (runtime/h2_upstream.h); NULL = HTTP/1.1 */
	/* Limits of the BackendTrafficPolicy of the request that last used it (timeout.http),
	 * set per attempt by runtime/balancer.c: */
	ev_tstamp born;            /* when it was opened */
	ev_tstamp idle_timeout;    /* seconds idle before it closes; 0 = UPOOL_IDLE_TIMEOUT,
				    * < 0 = never (connectionIdleTimeout "0s") */
	ev_tstamp max_age;         /* not reused once this old (seconds); 0 = no limit */
};

struct upool {
	struct upool *hnext;       /* hash chain */
	uint32_t hash;
	socklen_t addrlen;
	struct sockaddr_storage addr;
	struct upstream *idle_head, *idle_tail;
	uint32_t nidle;
	uint32_t nactive;          /* connections owned by client connections */
	uint32_t refs;             /* wgen pool caches pointing here */
	char name[64];             /* "10.0.0.1:8080", "[::1]:80" or "unix:/path" (maybe cut) */
};

struct upool_table {
	struct upool **buckets;    /* owned */
	uint32_t nbuckets;         /* power of two, or 0 */
	uint32_t count;
};

/* The pool for endpoint ep (found or created, one reference added for the caller's
 * cache). NULL when out of memory or the address is unusable (unix path too long). */
struct upool *upool_get(struct worker *w, const struct img_header *img,
			const struct img_endpoint *ep);
void upool_unref(struct upool *p);
/* The same for a socket address (zero-padded, as runtime/epset.h builds them) named
 * name (runtime/balancer.c). */
struct upool *upool_get_addr(struct worker *w, const struct sockaddr_storage *addr, socklen_t len,
			     const char *name);

/* A connection to p for owner: an idle one unless fresh, else a new one.
 * Returns 0 when ready to write (reused or connected at once), 1 when connecting
 * (wait for EV_WRITE, then upstream_connect_result), or -errno. */
int upstream_get(struct worker *w, struct upool *p, struct conn *owner, bool fresh,
		 struct upstream **out);
/* The same for connections speaking TLS with config tls (NULL: plain), and HTTP/2
 * when h2 (an h2c backend): only an idle connection made the same way is reused, and
 * a new TLS one returns 1 (its handshake is part of connecting:
 * runtime/tls_upstream.h). */
int upstream_get_tls(struct worker *w, struct upool *p, struct conn *owner, bool fresh,
		     struct tls_client *tls, bool h2, struct upstream **out);
/* 0 when the non-blocking connect succeeded, else -errno. */
int upstream_connect_result(struct upstream *u);
/* Sets the events watched for the owner (0 = none). */
void upstream_watch(struct upstream *u, int events);
/* Returns a connection whose last response was complete and persistent to its pool
 * (or closes it when the pool is full or the worker is draining). */
void upstream_release(struct upstream *u);
void upstream_close(struct upstream *u);

/* Closes idle connections past their idle timeout (UPOOL_IDLE_TIMEOUT unless set) or
 * their maximum age, and frees unused pools. */
void upool_sweep(struct worker *w, ev_tstamp now);
/* Closes every idle connection (draining). */
void upool_close_idle(struct worker *w);
/* Frees every pool; their idle connections are closed. No connection may be owned. */
void upool_table_fini(struct worker *w);

#endif
