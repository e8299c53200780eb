/* SPDX-License-Identifier: MIT */
/* tls_upstream: BackendTLSPolicy in the data plane. Client configs are built on the
 * main thread (CA parsing, SAN list) and shared read-only; each upstream connection
 * gets a session whose handshake ends its connect phase. A Gateway's client certificate
 * (spec.tls.backend) makes a config of its own per backend its routes reach. */
#include "config.h"

#include "runtime/tls_upstream.h"

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
#include "base/sha256.h"
#include "runtime/generation.h"
#include "runtime/tls_conn.h"
#include "runtime/tls_ctx.h"
#include "runtime/conn.h"
#include "runtime/upstream.h"
#include "runtime/worker.h"

static const char *tls_up_alpn[] = {"http/1.1", NULL};

void tls_client_ref(struct tls_client *tc)
{
	atomic_fetch_add_explicit(&tc->refs, 1, memory_order_relaxed);
}

void tls_client_unref(struct tls_client *tc)
{
	if (tc == NULL || atomic_fetch_sub_explicit(&tc->refs, 1, memory_order_acq_rel) != 1)
		return;
	mbedtls_ssl_config_free(&tc->conf);
	mbedtls_x509_crt_free(&tc->ca);
	mbedtls_x509_crt_free(&tc->own);
	mbedtls_pk_free(&tc->own_key);
	free(tc->own_secret);
	for (size_t i = 0; i < tc->nsan; i++)
		free(tc->san[i]);
	free(tc->san);
	free(tc->sni);
	free(tc->policy);
	free(tc);
}

static void sha_str(mbedtls_sha256_context *s, const char *p, uint32_t len)
{
	sha256_update(s, &len, sizeof len);
	sha256_update(s, p, len);
}

static void client_digest(const struct img_header *img, const struct img_backend_tls *bt,
			  const struct img_cert *own, unsigned char out[32])
{
	mbedtls_sha256_context s;
	mbedtls_sha256_init(&s);
	sha256_starts(&s);
	sha_str(&s, img_str_ptr(img, bt->policy), bt->policy.len);
	sha_str(&s, img_str_ptr(img, bt->sni), bt->sni.len);
	sha_str(&s, img_str_ptr(img, bt->ca_pem), bt->ca_pem.len);
	sha256_update(&s, &bt->flags, sizeof bt->flags);
	const struct img_str *san = IMG_ARRAY(img, bt->san, struct img_str);
	for (uint32_t i = 0; i < bt->san.count; i++)
		sha_str(&s, img_str_ptr(img, san[i]), san[i].len);
	if (own != NULL) {
		sha_str(&s, img_str_ptr(img, own->secret), own->secret.len);
		sha_str(&s, img_str_ptr(img, own->cert_pem), own->cert_pem.len);
		sha_str(&s, img_str_ptr(img, own->key_pem), own->key_pem.len);
	}
	sha256_finish(&s, out);
	mbedtls_sha256_free(&s);
}

static char *dup_lower(const char *p, size_t len)
{
	char *s = malloc(len + 1);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)p[i]);
	s[len] = '\0';
	return s;
}

static int client_conf(struct tls_client *tc)
{
	mbedtls_ssl_config *conf = &tc->conf;
	int r = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
					    MBEDTLS_SSL_PRESET_DEFAULT);
	if (r != 0)
		return r;
	mbedtls_ssl_conf_rng(conf, tls_rng, NULL);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
	mbedtls_ssl_conf_ciphersuites(conf, tls_default_ciphers());
	tls_conf_groups(conf);
	if ((r = mbedtls_ssl_conf_alpn_protocols(conf, tls_up_alpn)) != 0)
		return r;
	mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	mbedtls_ssl_conf_ca_chain(conf, &tc->ca, NULL);
	/* Sent only when the backend asks for a certificate (CertificateRequest). */
	if (tc->has_own && (r = mbedtls_ssl_conf_own_cert(conf, &tc->own, &tc->own_key)) != 0)
		return r;
	/* With subjectAltNames the name check is ours (after the handshake); the chain
	 * is still verified, and any failure other than the name fails the request. */
	mbedtls_ssl_conf_authmode(conf, tc->nsan > 0 ? MBEDTLS_SSL_VERIFY_OPTIONAL
						     : MBEDTLS_SSL_VERIFY_REQUIRED);
	return 0;
}

/* The Gateway's pair (checked by resolve_tls.c; parsed again here as the runtime's own
 * guard), shared read-only by the workers once warmed. */
static int own_load(struct tls_client *tc, const struct img_header *img, const struct img_cert *ic)
{
	const unsigned char *crt = (const unsigned char *)img_str_ptr(img, ic->cert_pem);
	const unsigned char *key = (const unsigned char *)img_str_ptr(img, ic->key_pem);
	/* PEM input to mbedTLS counts the terminating NUL. */
	int r = mbedtls_x509_crt_parse(&tc->own, crt, ic->cert_pem.len + 1);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	if (r == 0)
		r = mbedtls_pk_parse_key(&tc->own_key, key, ic->key_pem.len + 1, NULL, 0, tls_rng, NULL);
	if (r == 0)
		r = mbedtls_pk_check_pair(&tc->own.pk, &tc->own_key, tls_rng, NULL);
#else
	if (r == 0)
		r = mbedtls_pk_parse_key(&tc->own_key, key, ic->key_pem.len + 1, NULL, 0);
	if (r == 0)
		r = mbedtls_pk_check_pair(&tc->own.pk, &tc->own_key);
#endif
	if (r != 0)
		return r;
	tls_pk_warm(&tc->own_key);
	tls_crt_warm(&tc->own);
	tc->has_own = true;
	return 0;
}

static struct tls_client *client_build(const struct img_header *img, const struct img_backend_tls *bt,
				       const struct img_cert *own, const unsigned char digest[32],
				       const char *backend)
{
	struct tls_client *tc = calloc(1, sizeof *tc);
	if (tc == NULL)
		return NULL;
	atomic_init(&tc->refs, 1);
	memcpy(tc->digest, digest, 32);
	mbedtls_ssl_config_init(&tc->conf);
	mbedtls_x509_crt_init(&tc->ca);
	mbedtls_x509_crt_init(&tc->own);
	mbedtls_pk_init(&tc->own_key);
	tc->policy = strdup(img_str_ptr(img, bt->policy));
	tc->sni = dup_lower(img_str_ptr(img, bt->sni), bt->sni.len);
	if (tc->policy == NULL || tc->sni == NULL)
		goto oom;
	const struct img_str *san = IMG_ARRAY(img, bt->san, struct img_str);
	if (bt->san.count > 0) {
		tc->san = calloc(bt->san.count, sizeof *tc->san);
		if (tc->san == NULL)
			goto oom;
		for (uint32_t i = 0; i < bt->san.count; i++) {
			/* Hostnames compare case-insensitively; URIs exactly. */
			const char *v = img_str_ptr(img, san[i]);
			tc->san[i] = strchr(v, ':') != NULL ? strdup(v) : dup_lower(v, san[i].len);
			if (tc->san[i] == NULL)
				goto oom;
			tc->nsan++;
		}
	}
	int r = 0;
	char err[160];
	if (bt->flags & IMG_BTLS_SYSTEM_CA) {
		r = mbedtls_x509_crt_parse_file(&tc->ca, TLS_SYSTEM_CA_FILE);
		if (r < 0) {
			mbedtls_strerror(r, err, sizeof err);
			log_error("BackendTLSPolicy %s (backend %s): system CA certificates %s: %s",
				  tc->policy, backend, TLS_SYSTEM_CA_FILE, err);
			goto fail;
		}
	}
	if (bt->ca_pem.len > 0) {
		r = mbedtls_x509_crt_parse(&tc->ca, (const unsigned char *)img_str_ptr(img, bt->ca_pem),
					   bt->ca_pem.len + 1);
		if (r != 0) {
			mbedtls_strerror(r, err, sizeof err);
			log_error("BackendTLSPolicy %s (backend %s): CA certificates: %s", tc->policy,
				  backend, err);
			goto fail;
		}
	}
	if (tc->ca.raw.p == NULL) {
		log_error("BackendTLSPolicy %s (backend %s): no CA certificate", tc->policy, backend);
		goto fail;
	}
	tls_crt_warm(&tc->ca);
	if (own != NULL) {
		tc->own_secret = strdup(img_str_ptr(img, own->secret));
		if (tc->own_secret == NULL)
			goto oom;
		if ((r = own_load(tc, img, own)) != 0) {
			mbedtls_strerror(r, err, sizeof err);
			log_error("BackendTLSPolicy %s (backend %s): client certificate of Secret %s: %s",
				  tc->policy, backend, tc->own_secret, err);
			goto fail;
		}
	}
	if ((r = client_conf(tc)) != 0) {
		mbedtls_strerror(r, err, sizeof err);
		log_error("BackendTLSPolicy %s (backend %s): %s", tc->policy, backend, err);
		goto fail;
	}
	return tc;
oom:
	log_error("BackendTLSPolicy: out of memory");
fail:
	tls_client_unref(tc);
	return NULL;
}

static struct tls_client *prev_client(const struct tls_gen *prev, const unsigned char digest[32])
{
	for (uint32_t i = 0; prev != NULL && i < prev->nbackends; i++) {
		struct tls_client *old = prev->clients[i];
		if (old != NULL && memcmp(old->digest, digest, 32) == 0)
			return old;
	}
	for (uint32_t i = 0; prev != NULL && i < prev->npairs; i++) {
		struct tls_client *old = prev->pairs[i].tc;
		if (old != NULL && memcmp(old->digest, digest, 32) == 0)
			return old;
	}
	return NULL;
}

struct tls_client *tls_client_get_cert(const struct generation *g, uint32_t b, uint32_t cert,
				       const struct tls_gen *prev)
{
	const struct img_header *img = g->img;
	const struct img_backend *be = &g->backends[b];
	if (be->tls >= img->backend_tls.count || (cert != IMG_NONE && cert >= img->certs.count))
		return NULL;
	const struct img_backend_tls *bt = &IMG_ARRAY(img, img->backend_tls, struct img_backend_tls)[be->tls];
	const struct img_cert *own = cert != IMG_NONE ? &IMG_ARRAY(img, img->certs, struct img_cert)[cert] : NULL;
	unsigned char digest[32];
	client_digest(img, bt, own, digest);
	struct tls_client *old = prev_client(prev, digest);
	if (old != NULL) {
		tls_client_ref(old);
		return old;
	}
	return client_build(img, bt, own, digest, img_str_ptr(img, be->name));
}

struct tls_client *tls_client_get(const struct generation *g, uint32_t b, const struct tls_gen *prev)
{
	return tls_client_get_cert(g, b, IMG_NONE, prev);
}

static int pair_cmp(const void *x, const void *y)
{
	const struct tls_pair *a = x, *b = y;
	if (a->backend != b->backend)
		return a->backend < b->backend ? -1 : 1;
	return a->cert < b->cert ? -1 : a->cert > b->cert;
}

/* Every TLS backend a listener with a client certificate can send to: its matches'
 * rules' backendRefs (mirrors never go to TLS backends: mirror.c). */
int tls_client_pairs(const struct generation *g, const struct tls_gen *prev, struct tls_pair **out,
		     uint32_t *n)
{
	const struct img_header *img = g->img;
	struct tls_pair *v = NULL;
	size_t nv = 0, cap = 0;
	*out = NULL;
	*n = 0;
	for (uint32_t li = 0; li < img->listeners.count; li++) {
		const struct img_listener *l = &g->listeners[li];
		if (l->backend_cert == IMG_NONE)
			continue;
		const struct img_match *m = IMG_ARRAY(img, l->matches, struct img_match);
		for (uint32_t k = 0; k < l->matches.count; k++) {
			const struct img_rule *r = &g->rules[m[k].rule];
			const struct img_backend_ref *br = IMG_ARRAY(img, r->backend_refs, struct img_backend_ref);
			for (uint32_t j = 0; j < r->backend_refs.count; j++) {
				uint32_t b = br[j].backend;
				if (b == IMG_NO_BACKEND || g->backends[b].tls == IMG_NONE)
					continue;
				if (nv == cap) {
					size_t ncap = cap ? cap * 2 : 16;
					struct tls_pair *nvp = realloc(v, ncap * sizeof *v);
					if (nvp == NULL) {
						free(v);
						return -1;
					}
					v = nvp;
					cap = ncap;
				}
				v[nv++] = (struct tls_pair){ b, l->backend_cert, NULL };
			}
		}
	}
	if (nv == 0)
		return 0;
	qsort(v, nv, sizeof *v, pair_cmp);
	size_t u = 0;
	for (size_t i = 0; i < nv; i++)
		if (u == 0 || pair_cmp(&v[u - 1], &v[i]) != 0)
			v[u++] = v[i];
	for (size_t i = 0; i < u; i++)
		v[i].tc = tls_client_get_cert(g, v[i].backend, v[i].cert, prev);
	*out = v;
	*n = (uint32_t)u;
	return 0;
}

/* ---- one connection ---- */

static int up_send(void *ctx, const unsigned char *buf, size_t len)
{
	return tls_fd_send(((struct tls_up *)ctx)->fd, buf, len);
}

static int up_recv(void *ctx, unsigned char *buf, size_t len)
{
	return tls_fd_recv(((struct tls_up *)ctx)->fd, buf, len);
}

struct tls_up *tls_up_new(struct tls_client *tc, int fd)
{
	struct tls_up *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, &tc->conf) != 0 ||
	    mbedtls_ssl_set_hostname(&t->ssl, tc->sni) != 0) {
		mbedtls_ssl_free(&t->ssl);
		free(t);
		return NULL;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, up_send, up_recv, NULL);
	tls_client_ref(tc);
	t->tc = tc;
	t->fd = fd;
	return t;
}

void tls_up_free(struct tls_up *t)
{
	if (t == NULL)
		return;
	if (t->done)
		(void)mbedtls_ssl_close_notify(&t->ssl);
	mbedtls_ssl_free(&t->ssl);
	tls_client_unref(t->tc);
	free(t);
}

/* subjectAltNames (GATEWAY-API.md 2.11): the certificate must carry one of them. */
static bool san_ok(const struct tls_client *tc, const mbedtls_x509_crt *peer)
{
	if (peer == NULL)
		return false;
	for (const mbedtls_x509_sequence *s = &peer->subject_alt_names; s != NULL; s = s->next) {
		if (s->buf.p == NULL ||
		    (s->buf.tag & MBEDTLS_ASN1_TAG_CLASS_MASK) != MBEDTLS_ASN1_CONTEXT_SPECIFIC)
			continue;
		int type = s->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK;
		for (size_t i = 0; i < tc->nsan; i++) {
			const char *want = tc->san[i];
			size_t wl = strlen(want);
			bool uri = strchr(want, ':') != NULL;
			if (!uri && type == MBEDTLS_X509_SAN_DNS_NAME &&
			    tls_name_match((const char *)s->buf.p, s->buf.len, want, wl) != 0)
				return true;
			/* mbedTLS 2 lists dNSName entries only: URIs never match there. */
			if (uri && type == MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER &&
			    s->buf.len == wl && memcmp(s->buf.p, want, wl) == 0)
				return true;
		}
	}
	return false;
}

int tls_up_handshake(struct upstream *u, const char *backend)
{
	struct tls_up *t = u->tls;
	t->started = true;
	int r = mbedtls_ssl_handshake(&t->ssl);
	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
		t->want = r == MBEDTLS_ERR_SSL_WANT_READ ? EV_READ : EV_WRITE;
		return 1;
	}
	char why[320] = "";
	uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
	if (r == 0 && t->tc->nsan > 0) {
		/* Names are checked against subjectAltNames instead of the hostname. */
		flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
		if (flags == 0 && !san_ok(t->tc, mbedtls_ssl_get_peer_cert(&t->ssl)))
			snprintf(why, sizeof why, "certificate matches none of the subjectAltNames");
		else if (flags != 0)
			r = MBEDTLS_ERR_X509_CERT_VERIFY_FAILED;
	}
	if (r == 0 && why[0] == '\0') {
		t->done = true;
		t->want = 0;
		return 0;
	}
	if (why[0] == '\0') {
		if (flags != 0 && flags != (uint32_t)-1 &&
		    (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || r == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE ||
		     t->tc->nsan > 0)) {
			mbedtls_x509_crt_verify_info(why, sizeof why, "", flags);
			size_t n = strlen(why);
			while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == ' '))
				why[--n] = '\0';
			for (char *p = why; *p != '\0'; p++)
				if (*p == '\n')
					*p = ';';
		} else {
			mbedtls_strerror(r, why, sizeof why);
		}
	}
	log_warnx("backend %s: TLS to %s (BackendTLSPolicy %s, hostname %s%s%s) failed: %s", backend,
		  u->pool->name, t->tc->policy, t->tc->sni, t->tc->own_secret != NULL ? ", client certificate " : "",
		  t->tc->own_secret != NULL ? t->tc->own_secret : "", why);
	return -1;
}

int tls_up_events(const struct upstream *u)
{
	const struct tls_up *t = u->tls;
	return t->started && !t->done ? t->want : EV_WRITE;
}

ssize_t tls_up_read(struct upstream *u, void *buf, size_t len)
{
	struct tls_up *t = u->tls;
	ssize_t n = tls_record_read(&t->ssl, &t->rd_end, buf, len, u->pool->name);
	if (n > 0) {
		t->rd_any = true;
	} else if (n < 0 && errno == ECONNRESET && !t->rd_any) {
		/* In TLS 1.3 the server checks the client's certificate after the client
		 * has finished its handshake: a refusal arrives here, as an alert. */
		t->rd_any = true;
		log_warnx("TLS to %s (BackendTLSPolicy %s, hostname %s%s%s) failed: the backend ended the "
			  "session with an error before any response (TLS 1.3: it may have refused the client "
			  "certificate, or the lack of one)", u->pool->name, t->tc->policy, t->tc->sni,
			  t->tc->own_secret != NULL ? ", client certificate " : "",
			  t->tc->own_secret != NULL ? t->tc->own_secret : "");
		errno = ECONNRESET;
	}
	return n;
}

ssize_t tls_up_writev(struct upstream *u, const struct iovec *iov, int n)
{
	return tls_record_writev(&u->tls->ssl, &u->tls->wpending, iov, n, u->pool->name);
}

bool tls_up_drained(const struct upstream *u)
{
	const struct tls_up *t = u->tls;
	return t->rd_end == 0 && mbedtls_ssl_get_bytes_avail(&t->ssl) == 0;
}

int tls_up_client_for(const struct conn *c, struct tls_client **out)
{
	*out = NULL;
	const struct img_backend *be = c->log.backend;
	if (be == NULL || be->tls == IMG_NONE || c->wg == NULL)
		return 0;
	const struct generation *g = c->wg->gen;
	uint32_t b = (uint32_t)(be - g->backends);
	/* The Gateway the request came in through decides the client certificate. */
	const struct img_listener *l = c->log.listener;
	if (l != NULL && l->backend_cert != IMG_NONE)
		*out = tls_gen_client_cert(g->tls, b, l->backend_cert);
	else
		*out = tls_gen_client(g->tls, b);
	return *out != NULL ? 0 : -1;
}

int tls_up_connect(struct conn *c)
{
	const struct img_backend *be = c->log.backend;
	const char *name = be != NULL && c->wg != NULL ? img_str_ptr(c->wg->gen->img, be->name) : "?";
	return tls_up_handshake(c->up, name);
}
