/* SPDX-License-Identifier: MIT */
/* upstream_io: the byte stream of a backend connection, as conn_io.h is the client's.
 * Every read from and write to a backend goes through here, so that a connection
 * can carry TLS (runtime/tls_upstream.h) or HTTP/2 (runtime/h2_upstream.h) without
 * the proxy knowing. read(2) and sendmsg(2) semantics. Worker thread only. */
#ifndef GW_RUNTIME_UPSTREAM_IO_H
#define GW_RUNTIME_UPSTREAM_IO_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/h2_upstream.h"
#include "runtime/tls_upstream.h"
#include "runtime/upstream.h"

static inline ssize_t uio_read(struct upstream *u, void *buf, size_t len)
{
	if (u->h2 != NULL)
		return h2_up_read(u, buf, len);
	if (u->tls != NULL)
		return tls_up_read(u, buf, len);
	return read(u->fd, buf, len);
}

static inline ssize_t uio_writev(struct upstream *u, const struct iovec *iov, int n)
{
	if (u->h2 != NULL)
		return h2_up_writev(u, iov, n);
	if (u->tls != NULL)
		return tls_up_writev(u, iov, n);
	struct msghdr m;
	memset(&m, 0, sizeof m);
	m.msg_iov = (struct iovec *)(uintptr_t)iov;
	m.msg_iovlen = (size_t)n;
	return sendmsg(u->fd, &m, MSG_NOSIGNAL);
}

/* A read returned fewer bytes than asked: is the input drained? (See cio_drained.) */
static inline bool uio_drained(const struct upstream *u)
{
	if (u->h2 != NULL)
		return h2_up_drained(u);
	return u->tls == NULL || tls_up_drained(u);
}

#endif
