/* SPDX-License-Identifier: MIT */
/* tls_conn: the server side of TLS on one client connection: accept, handshake
 * (SNI, certificate choice, each listener's own policy), the record layer under
 * cio_*, close_notify. mbedTLS runs on the non-blocking socket directly: its
 * WANT_READ / WANT_WRITE become EAGAIN, and a record it could not send whole stays
 * in its output buffer until the caller retries (see tls_conn_writev). */
#include "config.h"

#include "runtime/tls_conn.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/version.h>

#include "base/log.h"
#include "runtime/conn.h"
#include "runtime/router.h"
#include "runtime/tls_ctx.h"
#include "runtime/worker.h"

/* Plaintext gathered from small iovecs into one record on the stack. */
#define TLS_GATHER 16384

int tls_fd_send(int fd, const unsigned char *buf, size_t len)
{
	for (;;) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_WRITE;
		return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
							     : MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

int tls_fd_recv(int fd, unsigned char *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_READ;
		return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

static int tls_bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	return tls_fd_send(((struct tls_conn *)ctx)->c->fd, buf, len);
}

static int tls_bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	return tls_fd_recv(((struct tls_conn *)ctx)->c->fd, buf, len);
}

int tls_conn_accept(struct conn *c)
{
	struct worker *w = c->w;
	uint32_t bind;
	if (w->cur == NULL || !worker_listen_bind(w, c->listen_key, &bind))
		return 0;
	const struct generation *g = w->cur->gen;
	if (bind >= g->img->binds.count || g->binds[bind].protocol != IMG_PROTO_HTTPS)
		return 0;
	struct tls_bind *b = tls_gen_bind(g->tls, bind);
	if (b == NULL) {
		conn_close(c, "HTTPS listener without a TLS context");
		return -1;
	}
	struct tls_conn *t = malloc(sizeof *t);
	if (t == NULL) {
		conn_close(c, "out of memory");
		return -1;
	}
	memset(t, 0, offsetof(struct tls_conn, sni) + 1);
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, &b->conf) != 0) {
		mbedtls_ssl_free(&t->ssl);
		free(t);
		conn_close(c, "out of memory");
		return -1;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, tls_bio_send, tls_bio_recv, NULL);
	tls_bind_ref(b);
	t->bind = b;
	t->c = c;
	t->lsn = -1;
	t->want = EV_READ;
	c->tls = t;
	return 0;
}

static bool suite_listed(const int *list, int id)
{
	for (; *list != 0; list++)
		if (*list == id)
			return true;
	return false;
}

/* The bind's config is the union of its listeners' policies: hold this connection
 * to the policy of the listener it reached. */
static const char *tls_conn_policy(const struct tls_conn *t)
{
	const struct tls_bind *b = t->bind;
	const struct tls_listener *l = &b->lsn[t->lsn >= 0 ? (size_t)t->lsn : b->dflt];
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	if (l->min_version == IMG_TLS_1_3 &&
	    mbedtls_ssl_get_version_number(&t->ssl) != MBEDTLS_SSL_VERSION_TLS1_3)
		return "protocol version below the listener's minimum";
	int id = mbedtls_ssl_get_ciphersuite_id_from_ssl(&t->ssl);
#else
	int id = mbedtls_ssl_get_ciphersuite_id(mbedtls_ssl_get_ciphersuite(&t->ssl));
#endif
	const int *suites = l->ciphers != NULL ? l->ciphers : tls_default_ciphers();
	if (!suite_listed(suites, id))
		return "cipher suite not allowed on the listener";
	return NULL;
}

static int tls_conn_fail(struct conn *c, const char *what, int err)
{
	char text[160] = "";
	if (err != 0)
		mbedtls_strerror(err, text, sizeof text);
	tls_count_handshake_failure();
	if (log_threshold >= LOG_LEVEL_DEBUG)
		log_debug("conn %llu: TLS handshake failed%s%s: %s%s", (unsigned long long)c->id,
			  c->tls->sni_len ? " for SNI " : "", c->tls->sni, what, text);
	conn_close(c, "TLS handshake failed");
	return -1;
}

int tls_conn_handshake(struct conn *c)
{
	struct tls_conn *t = c->tls;
	int r = mbedtls_ssl_handshake(&t->ssl);
	if (r == MBEDTLS_ERR_SSL_WANT_READ) {
		t->want = EV_READ;
		return 0;
	}
	if (r == MBEDTLS_ERR_SSL_WANT_WRITE) {
		t->want = EV_WRITE;
		return 0;
	}
	if (r != 0)
		return tls_conn_fail(c, "", r);
	const char *bad = tls_conn_policy(t);
	if (bad != NULL)
		return tls_conn_fail(c, bad, 0);
	t->done = true;
	t->want = 0;
	/* Application data may have come with the client's last flight. */
	c->client_rd = true;
	return 1;
}

int tls_conn_events(const struct conn *c)
{
	const struct tls_conn *t = c->tls;
	return t != NULL && !t->done ? t->want : 0;
}

ssize_t tls_record_read(mbedtls_ssl_context *ssl, uint8_t *rd_end, void *buf, size_t len,
			const char *who)
{
	if (*rd_end != 0) {
		if (*rd_end == 1)
			return 0;
		errno = ECONNRESET;
		return -1;
	}
	size_t got = 0;
	/* Fill the buffer: mbedTLS returns at most one record per call. */
	while (got < len) {
		int r = mbedtls_ssl_read(ssl, (unsigned char *)buf + got, len - got);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == MBEDTLS_ERR_SSL_WANT_READ)
			break;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
		/* A TLS 1.3 server's ticket for a later resumption: nothing to hand out. */
		if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;
#endif
		uint8_t end;
		if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == MBEDTLS_ERR_SSL_CONN_EOF) {
			end = 1;
		} else {
			/* Includes WANT_WRITE: with renegotiation off only an alert answering
			 * a misbehaving peer makes a read write, and a half-sent alert would
			 * then be taken for the next record's retry (see writev). */
			if (log_threshold >= LOG_LEVEL_DEBUG) {
				char text[160];
				mbedtls_strerror(r, text, sizeof text);
				log_debug("%s: TLS read: %s", who, text);
			}
			end = 2;
		}
		if (got > 0) {
			*rd_end = end;
			break;
		}
		if (end == 1)
			return 0;
		errno = ECONNRESET;
		return -1;
	}
	if (got == 0) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)got;
}

ssize_t tls_conn_read(struct conn *c, void *buf, size_t len)
{
	char who[32] = "";
	if (log_threshold >= LOG_LEVEL_DEBUG)
		snprintf(who, sizeof who, "conn %llu", (unsigned long long)c->id);
	return tls_record_read(&c->tls->ssl, &c->tls->rd_end, buf, len, who);
}

bool tls_conn_drained(const struct conn *c)
{
	const struct tls_conn *t = c->tls;
	return t->rd_end == 0 && mbedtls_ssl_get_bytes_avail(&t->ssl) == 0;
}

/* Plaintext bytes iov[*k..] from offset *off into one chunk of at most max: a
 * pointer into the iovec when one segment holds it, else gathered into tmp. */
static size_t gather(const struct iovec *iov, int n, int *k, size_t *off, size_t max,
		     unsigned char *tmp, const unsigned char **out)
{
	while (*k < n && *off == iov[*k].iov_len) {
		(*k)++;
		*off = 0;
	}
	if (*k >= n)
		return 0;
	size_t first = iov[*k].iov_len - *off;
	if (first >= max || *k == n - 1) {
		*out = (const unsigned char *)iov[*k].iov_base + *off;
		return first < max ? first : max;
	}
	size_t len = 0;
	int j = *k;
	size_t o = *off;
	while (j < n && len < max) {
		size_t take = iov[j].iov_len - o;
		if (take > max - len)
			take = max - len;
		memcpy(tmp + len, (const char *)iov[j].iov_base + o, take);
		len += take;
		o = 0;
		j++;
	}
	*out = tmp;
	return len;
}

static void advance(const struct iovec *iov, int n, int *k, size_t *off, size_t by)
{
	while (by > 0 && *k < n) {
		size_t left = iov[*k].iov_len - *off;
		if (by < left) {
			*off += by;
			return;
		}
		by -= left;
		(*k)++;
		*off = 0;
	}
}

/* Semantics of sendmsg, with one addition: a record mbedTLS took but could not send
 * whole counts as not written (the caller keeps the bytes and retries, as after
 * EAGAIN); the retry, which starts with the same bytes, finishes sending it and
 * counts it. Small iovecs are gathered so a head and a body leave in one record. */
ssize_t tls_record_writev(mbedtls_ssl_context *ssl, uint32_t *wpending, const struct iovec *iov,
			  int n, const char *who)
{
	unsigned char tmp[TLS_GATHER];
	size_t total = 0, done = 0, off = 0;
	int k = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	int maxpay = mbedtls_ssl_get_max_out_record_payload(ssl);
	size_t max = maxpay > 0 && (size_t)maxpay < sizeof tmp ? (size_t)maxpay : sizeof tmp;
	while (done < total) {
		const unsigned char *p = NULL;
		size_t len;
		if (*wpending > 0) {
			/* The retry of a record in flight: mbedTLS only flushes it. */
			len = *wpending;
			p = tmp;
		} else {
			len = gather(iov, n, &k, &off, max, tmp, &p);
		}
		int r = mbedtls_ssl_write(ssl, p, len);
		if (r > 0) {
			*wpending = 0;
			if ((size_t)r > total - done)
				r = (int)(total - done);  /* a retry shorter than agreed */
			done += (size_t)r;
			advance(iov, n, &k, &off, (size_t)r);
			continue;
		}
		if (r == MBEDTLS_ERR_SSL_WANT_WRITE) {
			*wpending = (uint32_t)len;
			break;
		}
		if (log_threshold >= LOG_LEVEL_DEBUG) {
			char text[160];
			mbedtls_strerror(r, text, sizeof text);
			log_debug("%s: TLS write: %s", who, text);
		}
		errno = r == MBEDTLS_ERR_NET_CONN_RESET ? ECONNRESET : EPIPE;
		return -1;
	}
	if (done == 0 && total > 0) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)done;
}

ssize_t tls_conn_writev(struct conn *c, const struct iovec *iov, int n)
{
	char who[32] = "";
	if (log_threshold >= LOG_LEVEL_DEBUG)
		snprintf(who, sizeof who, "conn %llu", (unsigned long long)c->id);
	return tls_record_writev(&c->tls->ssl, &c->tls->wpending, iov, n, who);
}

void tls_conn_notify(struct conn *c)
{
	struct tls_conn *t = c->tls;
	if (t == NULL || !t->done || t->notified)
		return;
	t->notified = true;
	/* Best effort: a peer that does not read gets a plain FIN. */
	(void)mbedtls_ssl_close_notify(&t->ssl);
}

void tls_conn_close(struct conn *c)
{
	struct tls_conn *t = c->tls;
	if (t == NULL)
		return;
	tls_conn_notify(c);
	mbedtls_ssl_free(&t->ssl);
	tls_bind_unref(t->bind);
	free(t);
	c->tls = NULL;
}

bool tls_conn_misdirected(const struct conn *c, const struct img_header *img,
			  const struct img_bind *b, const struct img_listener *l)
{
	const struct tls_conn *t = c->tls;
	if (t == NULL || t->sni_len == 0)
		return false;
	return router_select_listener(img, b, t->sni, t->sni_len) != l;
}

int tls_conn_sni(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
{
	struct tls_bind *b = p;
	struct tls_conn *t = container_of(ssl, struct tls_conn, ssl);
	/* RFC 6066 §3: a host name, no trailing dot; at most 253 bytes as DNS allows. */
	if (len == 0 || len >= sizeof t->sni || memchr(name, '\0', len) != NULL)
		return -1;
	for (size_t i = 0; i < len; i++)
		t->sni[i] = (char)tolower(name[i]);
	t->sni[len] = '\0';
	t->sni_len = (uint8_t)len;
	t->lsn = tls_bind_select(b, t->sni, len);
	/* An unknown name gets the default certificate (a client may still accept it,
	 * as curl -k does); a listener whose certificates did not load serves none. */
	const struct tls_listener *l = &b->lsn[t->lsn >= 0 ? (size_t)t->lsn : b->dflt];
	if (l->ncerts == 0)
		return -1;
	/* Certificates naming the host exactly, then by wildcard; mbedTLS takes the
	 * first one that fits the negotiated suite (an RSA and an ECDSA one may both
	 * name it). None: the listener's first. */
	uint64_t added = 0;
	for (int want = 2; want >= 1; want--) {
		for (size_t i = 0; i < l->ncerts && i < 64; i++) {
			const struct tls_cert *tc = &l->certs[i];
			if (added & (1ull << i))
				continue;
			for (size_t j = 0; j < tc->nnames; j++) {
				if (tls_name_match(tc->names[j], strlen(tc->names[j]), t->sni, len) != want)
					continue;
				if (mbedtls_ssl_set_hs_own_cert(ssl, (mbedtls_x509_crt *)&tc->chain,
								(mbedtls_pk_context *)&tc->key) != 0)
					return -1;
				added |= 1ull << i;
				break;
			}
		}
	}
	if (added == 0 && mbedtls_ssl_set_hs_own_cert(ssl, (mbedtls_x509_crt *)&l->certs[0].chain,
						      (mbedtls_pk_context *)&l->certs[0].key) != 0)
		return -1;
	if (l->client_validation != IMG_CLIENT_NONE) {
		mbedtls_ssl_set_hs_ca_chain(ssl, (mbedtls_x509_crt *)&l->ca, NULL);
		mbedtls_ssl_set_hs_authmode(ssl, l->client_validation == IMG_CLIENT_REQUIRE
						 ? MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_OPTIONAL);
	} else {
		mbedtls_ssl_set_hs_authmode(ssl, MBEDTLS_SSL_VERIFY_NONE);
	}
	return 0;
}
