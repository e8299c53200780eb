/* SPDX-License-Identifier: MIT */
/* conn_io: the byte stream of a client connection. Every read from and write to a
 * client goes through here, so that a connection can carry TLS (runtime/tls_conn.c)
 * without the HTTP code knowing. Semantics are those of read(2) and sendmsg(2):
 * > 0 bytes moved, 0 end of stream (read), -1 with errno (EAGAIN: wait for the
 * socket event; a TLS handshake adds its own, tls_conn_events). Worker thread only. */
#ifndef GW_RUNTIME_CONN_IO_H
#define GW_RUNTIME_CONN_IO_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/conn.h"
#include "runtime/tls_conn.h"
#include "runtime/h2_conn.h"

static inline ssize_t cio_read(struct conn *c, void *buf, size_t len)
{
	if (c->h2 != NULL)  /* HTTP/2: translated HTTP/1.1 bytes (runtime/h2_conn.c) */
		return h2_conn_read(c, buf, len);
	if (c->tls != NULL)
		return tls_conn_read(c, buf, len);
	return read(c->fd, buf, len);
}

/* TLS: bytes taken into a record that could not leave whole count as not written;
 * after EAGAIN or a short count the retry must start with the same bytes (it
 * always does: the callers advance their offsets by the count only). */
static inline ssize_t cio_writev(struct conn *c, const struct iovec *iov, int n)
{
	if (c->h2 != NULL)
		return h2_conn_writev(c, iov, n);
	if (c->tls != NULL)
		return tls_conn_writev(c, iov, n);
	struct msghdr m;
	memset(&m, 0, sizeof m);
	m.msg_iov = (struct iovec *)(uintptr_t)iov;
	m.msg_iovlen = (size_t)n;
	return sendmsg(c->fd, &m, MSG_NOSIGNAL);
}

static inline ssize_t cio_write(struct conn *c, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	return cio_writev(c, &iov, 1);
}

/* A read returned fewer bytes than asked: is the input drained? On a plain socket
 * yes (the level-triggered watcher reports more); a TLS layer may still hold
 * decrypted bytes that no socket event will announce. */
static inline bool cio_drained(const struct conn *c)
{
	if (c->h2 != NULL)
		return h2_conn_drained(c);
	return c->tls == NULL || tls_conn_drained(c);
}

#endif
