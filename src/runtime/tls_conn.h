/* SPDX-License-Identifier: MIT */
/* tls_conn: TLS on a client connection of an HTTPS listener. An mbedtls_ssl_context
 * per connection on the non-blocking socket, a handshake phase before the first
 * request (bounded by header_timeout, like the request it precedes), then the
 * record layer under conn_io.h's cio_* calls. The SNI picks the listener and its
 * certificate (GATEWAY-API.md 3.1); the Host of each request is then checked against
 * it (421, GATEWAY-API.md 3.3). Worker thread only. */
#ifndef GW_RUNTIME_TLS_CONN_H
#define GW_RUNTIME_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <mbedtls/ssl.h>

#include "compile/image.h"

struct conn;
struct tls_bind;

struct tls_conn {
	mbedtls_ssl_context ssl;   /* first: callbacks find the struct from it */
	struct tls_bind *bind;     /* one reference, for the connection's life */
	struct conn *c;
	int lsn;                   /* listener the SNI chose (index in bind), -1: none */
	bool done;                 /* handshake complete */
	bool notified;             /* close_notify sent */
	uint8_t want;              /* handshake: EV_READ / EV_WRITE it waits for */
	uint8_t rd_end;            /* after bytes were returned: 1 EOF, 2 error, next */
	uint32_t wpending;         /* plaintext bytes in a record not fully sent yet */
	uint8_t sni_len;
	char sni[254];             /* lowercase; empty: the client sent none */
};

/* From conn_accept: a connection on an HTTPS bind gets its TLS state (c->tls).
 * Returns 0 (also for a plain connection), or -1 when the connection was closed
 * (its listener has no TLS context). */
int tls_conn_accept(struct conn *c);
/* Advances the handshake. Returns 1 when complete, 0 when waiting for an event,
 * -1 when it failed and the connection was closed (counted, logged at debug). */
int tls_conn_handshake(struct conn *c);
/* Extra events the connection must watch (the handshake waiting to write). */
int tls_conn_events(const struct conn *c);

/* The cio_* branches (runtime/conn_io.h). */
ssize_t tls_conn_read(struct conn *c, void *buf, size_t len);
ssize_t tls_conn_writev(struct conn *c, const struct iovec *iov, int n);
bool tls_conn_drained(const struct conn *c);

/* The record layer of any established session (also upstream, tls_upstream.c):
 * read(2) and sendmsg(2) semantics on an mbedtls_ssl_context over a non-blocking
 * socket. A read fills buf from as many records as are ready; an EOF or error met
 * after some bytes is kept in *rd_end for the next call. A write takes the iovecs
 * in record-sized pieces (small ones gathered); a record mbedTLS could not send
 * whole is counted as not written and *wpending remembers its size: the caller
 * must retry with the same first bytes (as after EAGAIN), which completes it. */
ssize_t tls_record_read(mbedtls_ssl_context *ssl, uint8_t *rd_end, void *buf, size_t len,
			const char *who);
ssize_t tls_record_writev(mbedtls_ssl_context *ssl, uint32_t *wpending, const struct iovec *iov,
			  int n, const char *who);

/* mbedTLS's send and receive callbacks on a non-blocking socket: EAGAIN becomes
 * WANT_WRITE / WANT_READ, EINTR is retried. */
int tls_fd_send(int fd, const unsigned char *buf, size_t len);
int tls_fd_recv(int fd, unsigned char *buf, size_t len);

/* Sends close_notify once (best effort, before a shutdown or close). */
void tls_conn_notify(struct conn *c);
/* From conn_close: close_notify, then frees c->tls (NULL afterwards). */
void tls_conn_close(struct conn *c);

/* 421 (GATEWAY-API.md 3.3): does the Host's listener (l, not NULL) differ from
 * the one the SNI selects in the same generation and bind? False without SNI. */
bool tls_conn_misdirected(const struct conn *c, const struct img_header *img,
			  const struct img_bind *b, const struct img_listener *l);

/* mbedtls SNI callback (p: the struct tls_bind). */
int tls_conn_sni(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len);

#endif
