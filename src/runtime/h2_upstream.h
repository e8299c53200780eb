/* SPDX-License-Identifier: MIT */
/* h2_upstream: HTTP/2 in clear, with prior knowledge (RFC 9113 §3.3), to a backend
 * whose appProtocol is kubernetes.io/h2c (GEP-1911). Like the TLS layer, it sits
 * under the proxy's byte stream: the proxy writes an HTTP/1.1 request and reads an
 * HTTP/1.1 response, and the layer turns the one into a stream of an nghttp2 client
 * session and the other back. One stream at a time per connection, so a connection
 * is pooled and reused exactly as an HTTP/1.1 keep-alive one is.
 *
 * Memory per connection is bounded: the request head (max_header_bytes), a request
 * body buffer (H2_UP_BODY_CAP), frames the socket did not take, and the translated
 * response, which grows only from one socket read at a time (H2_UP_READ bytes, plus
 * a head of at most SETTINGS_MAX_HEADER_LIST_SIZE). TCP does the rest of the flow
 * control: the socket is read only when the proxy asks for response bytes. */
#ifndef GW_RUNTIME_H2_UPSTREAM_H
#define GW_RUNTIME_H2_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct upstream;
struct h1_header;
struct rt_limits;
struct h2_up;

#define H2_UP_BODY_CAP 65536u
#define H2_UP_READ 16384u

/* A session for a new connection on fd (its preface and SETTINGS go out with the
 * first request). NULL on OOM. */
struct h2_up *h2_up_new(int fd, const struct rt_limits *lim, struct h1_header *scratch);
void h2_up_free(struct h2_up *h);

/* read(2)/sendmsg(2) semantics over the HTTP/1.1 view. A stream the backend reset,
 * or a broken session, reads as -1 with ECONNRESET once what came before is read. */
ssize_t h2_up_writev(struct upstream *u, const struct iovec *iov, int n);
ssize_t h2_up_read(struct upstream *u, void *buf, size_t len);
/* No translated response bytes wait in the layer. */
bool h2_up_drained(const struct upstream *u);
/* The events to watch when the proxy wants want (EV_READ/EV_WRITE): request bytes
 * blocked by the backend's flow-control window wait for its WINDOW_UPDATE (EV_READ),
 * frames the socket did not take wait for EV_WRITE, and a stream in flight always
 * reads (control frames). */
int h2_up_events(const struct upstream *u, int want);

/* The request is over: true when the connection may serve another (its stream ended
 * cleanly, no GOAWAY, stream ids left); the layer is then ready for the next one. */
bool h2_up_release(struct upstream *u);
/* Input on an idle pooled connection (SETTINGS, PING, WINDOW_UPDATE...): processed;
 * false when the connection must close (EOF, error, GOAWAY). */
bool h2_up_idle_input(struct upstream *u);

#endif
