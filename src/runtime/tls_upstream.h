/* SPDX-License-Identifier: MIT */
/* tls_upstream: TLS from gatewayd to a backend (BackendTLSPolicy, GATEWAY-API.md
 * 2.11). A client config per policy, built with the generation (tls_ctx.c) and
 * shared by reference; a TLS session per upstream connection, whose handshake is
 * part of connecting (bounded by connect_timeout). The certificate must chain to the
 * policy's CAs (or the system's) and name validation.hostname, or one of
 * subjectAltNames when given; otherwise the request gets a 502 and the log says why.
 * Pools are keyed by address and config, so TLS and plain connections to one
 * address never mix. A Gateway with spec.tls.backend.clientCertificateRef has its own
 * config per backend (img_listener.backend_cert): the request's listener picks it, so
 * a backend shared by several Gateways sees each one's certificate and a connection
 * opened for one Gateway is never reused for another. */
#ifndef GW_RUNTIME_TLS_UPSTREAM_H
#define GW_RUNTIME_TLS_UPSTREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

struct generation;
struct tls_gen;
struct upstream;
struct conn;

/* The system CA bundle, for wellKnownCACertificates: System. */
#define TLS_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

struct tls_client {
	atomic_uint refs;
	unsigned char digest[32];
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	char *sni;                 /* validation.hostname */
	char **san;                /* subjectAltNames (lowercase hostnames, or URIs) */
	size_t nsan;
	char *policy;              /* "namespace/name", for logs */
	/* the Gateway's client certificate (has_own), presented when the backend asks */
	bool has_own;
	mbedtls_x509_crt own;
	mbedtls_pk_context own_key;
	char *own_secret;          /* "namespace/name", for logs */
};

/* A client config that presents a Gateway's certificate: one per (backend, certificate)
 * pair that some listener's routes reach, in tls_gen.pairs sorted by backend, cert. */
struct tls_pair {
	uint32_t backend;          /* index into backends[] */
	uint32_t cert;             /* index into certs[] */
	struct tls_client *tc;     /* NULL: could not be built (requests get 502) */
};

/* Main thread: the client config of backend index b of g (BackendTLSPolicy), shared
 * with prev when unchanged. NULL (logged) when it cannot be built: requests to the
 * backend then fail with 502. */
struct tls_client *tls_client_get(const struct generation *g, uint32_t b, const struct tls_gen *prev);
/* The same, presenting certificate cert (index into certs[], or IMG_NONE for none). */
struct tls_client *tls_client_get_cert(const struct generation *g, uint32_t b, uint32_t cert,
				       const struct tls_gen *prev);
/* Main thread: the pairs g's listeners with a backend_cert reach (sorted, malloc'ed;
 * *n = 0 and NULL when none). Returns -1 on OOM. */
int tls_client_pairs(const struct generation *g, const struct tls_gen *prev, struct tls_pair **out,
		     uint32_t *n);
void tls_client_ref(struct tls_client *tc);
void tls_client_unref(struct tls_client *tc);

/* One upstream connection's TLS session. */
struct tls_up {
	mbedtls_ssl_context ssl;   /* first */
	struct tls_client *tc;     /* one reference */
	int fd;
	bool started;              /* the TCP connect completed, handshake begun */
	bool done;
	uint8_t want;              /* EV_READ / EV_WRITE the handshake waits for */
	uint8_t rd_end;            /* 1 EOF, 2 error: returned at the next read */
	uint32_t wpending;         /* as tls_conn.wpending */
	bool rd_any;               /* some application data was read */
};

/* A session for a new connection on fd (NULL on OOM). */
struct tls_up *tls_up_new(struct tls_client *tc, int fd);
/* Sends close_notify (best effort) and frees. */
void tls_up_free(struct tls_up *t);
/* The config for the backend of c's current attempt (c->log.backend): *out NULL for
 * a plain backend. -1 when the backend has a BackendTLSPolicy whose config could
 * not be built (the request fails: never plain text instead). */
int tls_up_client_for(const struct conn *c, struct tls_client **out);
/* conn_proxy.c, once c->up's TCP connect completed: tls_up_handshake for it. */
int tls_up_connect(struct conn *c);

/* Advances the handshake of u (connected). Returns 0 when complete, 1 when it waits
 * (tls_up_events), or -1 when it failed (logged with the reason; pool is the
 * upstream's name for the log). */
int tls_up_handshake(struct upstream *u, const char *backend);
/* Events the connecting upstream waits for (EV_WRITE until the TCP connect ends). */
int tls_up_events(const struct upstream *u);
/* read(2)/sendmsg(2) semantics, as tls_conn_read / tls_conn_writev. */
ssize_t tls_up_read(struct upstream *u, void *buf, size_t len);
ssize_t tls_up_writev(struct upstream *u, const struct iovec *iov, int n);
bool tls_up_drained(const struct upstream *u);

#endif
