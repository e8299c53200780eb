/* SPDX-License-Identifier: MIT */
/* h2_once: one request on a short-lived HTTP/2 prior-knowledge connection (RFC 9113
 * §3.3) to an h2c backend, for the side paths that own their socket and want no
 * HTTP/1.1 translation: active health checks (health.c, main thread) and mirror
 * copies (mirror.c, worker thread). The answer's :status is kept, its body dropped. */
#ifndef GW_RUNTIME_H2_ONCE_H
#define GW_RUNTIME_H2_ONCE_H

#include <stdbool.h>
#include <stddef.h>

#include <nghttp2/nghttp2.h>

struct h2_once;

/* A client session whose preface, SETTINGS and request (nv[0..n): the pseudo-header
 * fields first, names lowercase; copied) wait to be sent. body[0..body_len) is
 * borrowed until h2_once_free; NULL/0 for none. NULL on OOM or a refused request. */
struct h2_once *h2_once_new(const nghttp2_nv *nv, size_t n, const char *body, size_t body_len);
void h2_once_free(struct h2_once *o);

/* Writes what the non-blocking socket fd takes and processes what it has to read.
 * Returns 1 when the stream is closed, 0 when more is to come, -1 when the
 * connection failed (EOF, socket or protocol error) before the stream closed. */
int h2_once_io(struct h2_once *o, int fd);
/* EV_READ, plus EV_WRITE while frames wait to be written. */
int h2_once_events(const struct h2_once *o);
/* The final response's :status once its HEADERS arrived, else 0. */
int h2_once_status(const struct h2_once *o);

#endif
