/* SPDX-License-Identifier: MIT */
/* tls_ctx: the TLS state of one generation, built on the main thread when it is
 * applied (runtime_apply) and immutable afterwards: per HTTPS bind its certificates,
 * SNI table and server mbedtls_ssl_config; per backend with a BackendTLSPolicy its
 * client config (runtime/tls_upstream.c), and one per (backend, Gateway client
 * certificate) pair. Contexts are reference counted (atomic): a
 * connection holds its context for its whole life, so a reload changes the
 * certificate of new connections only. Unchanged contexts are shared with the next
 * generation (same inputs, same object), so a reload costs no re-parse and keeps
 * upstream TLS pools. Process-wide: the entropy source, one CTR_DRBG per thread
 * (tls_rng) and one session-ticket key context, so resumption survives reloads. */
#ifndef GW_RUNTIME_TLS_CTX_H
#define GW_RUNTIME_TLS_CTX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "compile/image.h"

struct generation;
struct tls_client;

/* One certificate chain and its key (an img_cert), with the DNS names it serves:
 * lowercase, from subjectAltName dNSName entries, else the subject CN; a wildcard
 * "*.example.com" is kept as written. */
struct tls_cert {
	mbedtls_x509_crt chain;
	mbedtls_pk_context key;
	char **names;
	size_t nnames;
	char *secret;              /* "namespace/name", for logs */
};

/* One listener of an HTTPS bind, in the bind's order (most specific hostname first).
 * Copies, not pointers into the image: a context may outlive its generation. */
struct tls_listener {
	uint8_t host_kind;         /* enum img_host_kind */
	uint8_t min_version;       /* enum img_tls_version */
	uint8_t client_validation; /* enum img_client_validation */
	char *host;                /* as img_listener.host (wildcard: ".suffix") */
	size_t host_len;
	char *name;                /* "namespace/gateway/listener", for logs */
	struct tls_cert *certs;    /* owned; none = this listener cannot be served */
	size_t ncerts;
	int *ciphers;              /* 0-terminated IDs; NULL = the default list */
	mbedtls_x509_crt ca;       /* client CAs (client_validation != NONE) */
	bool has_ca;
};

/* The server side of one HTTPS bind (address:port). */
struct tls_bind {
	atomic_uint refs;
	unsigned char digest[32];  /* SHA-256 of every input: reuse across generations */
	mbedtls_ssl_config conf;   /* the default listener's settings; SNI adjusts */
	struct tls_listener *lsn;
	size_t nlsn;
	size_t dflt;               /* default listener (first with certificates) */
	int *ciphers;              /* 0-terminated: every listener's suites (conf) */
	char *where;               /* "127.0.0.1:443", for logs */
};

/* The TLS contexts of one generation, by bind and backend index. */
struct tls_gen {
	uint32_t nbinds, nbackends;
	struct tls_bind **binds;      /* NULL: not HTTPS, or could not be built */
	struct tls_client **clients;  /* NULL: plain backend, or could not be built */
	struct tls_pair *pairs;       /* configs with a Gateway's client certificate
					 (tls_upstream.h), sorted by backend, cert */
	uint32_t npairs;
};

/* Main thread: builds the contexts of g's HTTPS binds and TLS backends, sharing
 * those whose inputs did not change with prev (may be NULL). A context that cannot
 * be built is logged and left NULL (its listener or backend is not served). Returns
 * NULL when g needs no TLS at all (or on OOM, logged). */
struct tls_gen *tls_gen_new(const struct generation *g, const struct tls_gen *prev);
/* Any thread: drops g's references. */
void tls_gen_free(struct tls_gen *tg);

static inline struct tls_bind *tls_gen_bind(const struct tls_gen *tg, uint32_t bind)
{
	return tg != NULL && bind < tg->nbinds ? tg->binds[bind] : NULL;
}

static inline struct tls_client *tls_gen_client(const struct tls_gen *tg, uint32_t backend)
{
	return tg != NULL && backend < tg->nbackends ? tg->clients[backend] : NULL;
}

static inline void tls_bind_ref(struct tls_bind *b)
{
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}
void tls_bind_unref(struct tls_bind *b);

/* The config of backend for a listener whose backend_cert is cert (not IMG_NONE):
 * NULL when it could not be built. */
struct tls_client *tls_gen_client_cert(const struct tls_gen *tg, uint32_t backend, uint32_t cert);

/* The listener of b serving an SNI name (lowercase): the most specific hostname
 * that matches, as for Host (GATEWAY-API.md 3.1). Returns its index or -1. */
int tls_bind_select(const struct tls_bind *b, const char *name, size_t len);

/* Does a certificate name (exact, or "*." wildcard matching exactly one label,
 * RFC 6125 §6.4.3) cover host (lowercase)? Returns 2 exact, 1 wildcard, 0 no. */
int tls_name_match(const char *pattern, size_t plen, const char *host, size_t hlen);

/* The RNG every TLS context uses: a CTR_DRBG per thread, seeded from the system
 * entropy at its first use, so shared configs never share a DRBG across threads.
 * p is unused. */
int tls_rng(void *p, unsigned char *out, size_t len);

/* The session-ticket keys of the process (created at the first use). */
void *tls_ticket_ctx(void);

/* Precomputes what mbedtls caches lazily in a key (EC comb tables), so that worker
 * threads sharing it only read it. */
void tls_pk_warm(mbedtls_pk_context *pk);
void tls_crt_warm(mbedtls_x509_crt *chain);

/* Parses a 0-terminated list of cipher suite names (IANA, ":"-joined); returns a
 * malloc'ed 0-terminated ID list, or NULL (with the bad name logged) when none is
 * known. tls13 adds nothing: TLS 1.3 suites are accepted only by their names. */
int *tls_parse_ciphers(const char *list, const char *what);
/* The built-in list: ECDHE with AES-GCM or ChaCha20-Poly1305 (and the TLS 1.3 AEAD
 * suites with mbedTLS 3). Static storage. */
const int *tls_default_ciphers(void);
/* The groups (curves) offered and accepted: X25519, P-256, P-384. */
void tls_conf_groups(mbedtls_ssl_config *conf);

/* Main thread, at exit (after every context is gone). */
void tls_global_fini(void);

/* Handshakes that failed (server side), all workers. */
uint64_t tls_handshake_failures(void);
void tls_count_handshake_failure(void);

#endif
