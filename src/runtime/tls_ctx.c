/* SPDX-License-Identifier: MIT */
/* tls_ctx: server TLS contexts per HTTPS bind, built on the main thread with every
 * generation, plus what all TLS code of the process shares (entropy, per-thread
 * DRBGs, session-ticket keys). Workers only read a built context. */
#include "config.h"

#include "runtime/tls_ctx.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/version.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

#include "base/log.h"
#include "base/sha256.h"
#include "runtime/generation.h"
#include "runtime/listener.h"
#include "runtime/tls_conn.h"
#include "runtime/tls_upstream.h"

#ifndef MBEDTLS_PRIVATE
#define MBEDTLS_PRIVATE(m) m   /* mbedTLS 2: every field is public */
#endif

/* Session-ticket key lifetime (seconds): mbedTLS rotates the key at this period and
 * accepts tickets of the previous key, as nginx's default ssl_session_timeout does
 * for its cache (5 min) but longer, as tickets cost the server no memory. */
#define TLS_TICKET_LIFETIME 3600

/* ---- process-wide state ---- */

static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static bool tls_ready;
static mbedtls_entropy_context tls_entropy;   /* locked by mbedTLS (THREADING_C) */
static pthread_key_t tls_drbg_key;
static mbedtls_ssl_ticket_context tls_ticket;
static bool tls_ticket_ready;
static pthread_mutex_t tls_ticket_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t tls_hs_failed;

static void tls_drbg_free(void *p)
{
	mbedtls_ctr_drbg_context *d = p;
	if (d == NULL)
		return;
	mbedtls_ctr_drbg_free(d);
	free(d);
}

static void tls_global_init(void)
{
	mbedtls_entropy_init(&tls_entropy);
	if (pthread_key_create(&tls_drbg_key, tls_drbg_free) != 0)
		fatalx("pthread_key_create failed");
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
	/* TLS 1.3 in mbedTLS 3 runs on the PSA crypto API, which must be set up once. */
	if (psa_crypto_init() != PSA_SUCCESS)
		fatalx("psa_crypto_init failed");
#endif
	tls_ready = true;
}

static void tls_global_ensure(void)
{
	pthread_once(&tls_once, tls_global_init);
}

int tls_rng(void *p, unsigned char *out, size_t len)
{
	(void)p;
	tls_global_ensure();
	mbedtls_ctr_drbg_context *d = pthread_getspecific(tls_drbg_key);
	if (d == NULL) {
		d = malloc(sizeof *d);
		if (d == NULL)
			return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
		mbedtls_ctr_drbg_init(d);
		static const unsigned char pers[] = "gatewayd tls";
		int r = mbedtls_ctr_drbg_seed(d, mbedtls_entropy_func, &tls_entropy, pers, sizeof pers - 1);
		if (r != 0) {
			tls_drbg_free(d);
			return r;
		}
		pthread_setspecific(tls_drbg_key, d);
	}
	while (len > 0) {
		size_t n = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
		int r = mbedtls_ctr_drbg_random(d, out, n);
		if (r != 0)
			return r;
		out += n;
		len -= n;
	}
	return 0;
}

void *tls_ticket_ctx(void)
{
	pthread_mutex_lock(&tls_ticket_lock);
	if (!tls_ticket_ready) {
		mbedtls_ssl_ticket_init(&tls_ticket);
		if (mbedtls_ssl_ticket_setup(&tls_ticket, tls_rng, NULL, MBEDTLS_CIPHER_AES_256_GCM,
					     TLS_TICKET_LIFETIME) == 0) {
			tls_ticket_ready = true;
		} else {
			mbedtls_ssl_ticket_free(&tls_ticket);
			log_warnx("TLS: cannot set up session tickets: resumption disabled");
		}
	}
	pthread_mutex_unlock(&tls_ticket_lock);
	return tls_ticket_ready ? &tls_ticket : NULL;
}

void tls_global_fini(void)
{
	if (!tls_ready)
		return;
	if (tls_ticket_ready) {
		mbedtls_ssl_ticket_free(&tls_ticket);
		tls_ticket_ready = false;
	}
	/* Key destructors do not run for the main thread. */
	tls_drbg_free(pthread_getspecific(tls_drbg_key));
	pthread_setspecific(tls_drbg_key, NULL);
	pthread_key_delete(tls_drbg_key);
	mbedtls_entropy_free(&tls_entropy);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
	mbedtls_psa_crypto_free();
#endif
	tls_ready = false;
}

uint64_t tls_handshake_failures(void)
{
	return atomic_load_explicit(&tls_hs_failed, memory_order_relaxed);
}

void tls_count_handshake_failure(void)
{
	atomic_fetch_add_explicit(&tls_hs_failed, 1, memory_order_relaxed);
}

/* ---- keys shared by threads ---- */

void tls_pk_warm(mbedtls_pk_context *pk)
{
	mbedtls_pk_type_t t = mbedtls_pk_get_type(pk);
	if (t != MBEDTLS_PK_ECKEY && t != MBEDTLS_PK_ECDSA)
		return;
	/* ecp_mul with P == G stores its comb table in the group on first use; two
	 * workers doing that at once would race (and leak one table). */
	mbedtls_ecp_keypair *ec = mbedtls_pk_ec(*pk);
	mbedtls_ecp_group *grp = &ec->MBEDTLS_PRIVATE(grp);
	if (mbedtls_ecp_get_type(grp) != MBEDTLS_ECP_TYPE_SHORT_WEIERSTRASS)
		return;
	mbedtls_mpi m;
	mbedtls_ecp_point r;
	mbedtls_mpi_init(&m);
	mbedtls_ecp_point_init(&r);
	if (mbedtls_mpi_lset(&m, 2) == 0)
		(void)mbedtls_ecp_mul(grp, &r, &m, &grp->G, tls_rng, NULL);
	mbedtls_ecp_point_free(&r);
	mbedtls_mpi_free(&m);
}

void tls_crt_warm(mbedtls_x509_crt *chain)
{
	for (mbedtls_x509_crt *c = chain; c != NULL && c->raw.p != NULL; c = c->next)
		tls_pk_warm(&c->pk);
}

/* ---- names ---- */

int tls_name_match(const char *pattern, size_t plen, const char *host, size_t hlen)
{
	if (plen == hlen && strncasecmp(pattern, host, hlen) == 0)
		return 2;
	/* "*.example.com" covers exactly one more label. */
	if (plen > 2 && pattern[0] == '*' && pattern[1] == '.' && hlen > plen - 1) {
		size_t suffix = plen - 1;  /* ".example.com" */
		const char *tail = host + hlen - suffix;
		if (strncasecmp(tail, pattern + 1, suffix) == 0 &&
		    memchr(host, '.', (size_t)(tail - host)) == NULL)
			return 1;
	}
	return 0;
}

static bool listener_host_match(const struct tls_listener *l, const char *name, size_t len)
{
	switch (l->host_kind) {
	case IMG_HOST_ANY:
		return true;
	case IMG_HOST_EXACT:
		return len == l->host_len && strncasecmp(name, l->host, len) == 0;
	case IMG_HOST_WILDCARD:
		/* Gateway API wildcards cover one or more labels (GATEWAY-API.md 3.1). */
		return len > l->host_len &&
		       strncasecmp(name + len - l->host_len, l->host, l->host_len) == 0;
	default:
		return false;
	}
}

int tls_bind_select(const struct tls_bind *b, const char *name, size_t len)
{
	for (size_t i = 0; i < b->nlsn; i++)
		if (listener_host_match(&b->lsn[i], name, len))
			return (int)i;
	return -1;
}

static char *dup_lower(const unsigned char *p, size_t len)
{
	char *s = malloc(len + 1);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		s[i] = (char)tolower(p[i]);
	s[len] = '\0';
	return s;
}

static int cert_add_name(struct tls_cert *c, const unsigned char *p, size_t len)
{
	if (len == 0 || len > 253 || memchr(p, '\0', len) != NULL)
		return 0;
	char **n = realloc(c->names, (c->nnames + 1) * sizeof *n);
	if (n == NULL)
		return -1;
	c->names = n;
	if ((n[c->nnames] = dup_lower(p, len)) == NULL)
		return -1;
	c->nnames++;
	return 0;
}

/* The leaf's DNS names: subjectAltName dNSName entries, else the subject CN
 * (RFC 6125 §6.4.4: the CN only counts when there is no DNS SAN). */
static int cert_names(struct tls_cert *c)
{
	const mbedtls_x509_crt *leaf = &c->chain;
	for (const mbedtls_x509_sequence *s = &leaf->subject_alt_names; s != NULL; s = s->next) {
		if (s->buf.p == NULL)
			continue;
		if ((s->buf.tag & MBEDTLS_ASN1_TAG_CLASS_MASK) == MBEDTLS_ASN1_CONTEXT_SPECIFIC &&
		    (s->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) == MBEDTLS_X509_SAN_DNS_NAME &&
		    cert_add_name(c, s->buf.p, s->buf.len) < 0)
			return -1;
	}
	if (c->nnames > 0)
		return 0;
	for (const mbedtls_x509_name *n = &leaf->subject; n != NULL; n = n->next) {
		if (n->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 &&
		    cert_add_name(c, n->val.p, n->val.len) < 0)
			return -1;
	}
	return 0;
}

static void cert_free(struct tls_cert *c)
{
	mbedtls_x509_crt_free(&c->chain);
	mbedtls_pk_free(&c->key);
	for (size_t i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->names);
	free(c->secret);
}

static int cert_load(struct tls_cert *c, const struct img_header *img, const struct img_cert *ic,
		     const char *lname)
{
	const char *secret = img_str_ptr(img, ic->secret);
	char err[160];
	int r;
	mbedtls_x509_crt_init(&c->chain);
	mbedtls_pk_init(&c->key);
	c->secret = strdup(secret);
	if (c->secret == NULL)
		return -1;
	/* PEM input to mbedTLS counts the terminating NUL. */
	r = mbedtls_x509_crt_parse(&c->chain, (const unsigned char *)img_str_ptr(img, ic->cert_pem),
				   ic->cert_pem.len + 1);
	if (r != 0)
		goto fail;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	r = mbedtls_pk_parse_key(&c->key, (const unsigned char *)img_str_ptr(img, ic->key_pem),
				 ic->key_pem.len + 1, NULL, 0, tls_rng, NULL);
	if (r == 0)
		r = mbedtls_pk_check_pair(&c->chain.pk, &c->key, tls_rng, NULL);
#else
	r = mbedtls_pk_parse_key(&c->key, (const unsigned char *)img_str_ptr(img, ic->key_pem),
				 ic->key_pem.len + 1, NULL, 0);
	if (r == 0)
		r = mbedtls_pk_check_pair(&c->chain.pk, &c->key);
#endif
	if (r != 0)
		goto fail;
	if (cert_names(c) < 0)
		return -1;
	tls_pk_warm(&c->key);
	tls_crt_warm(&c->chain);
	return 0;
fail:
	mbedtls_strerror(r, err, sizeof err);
	log_error("listener %s: certificate of Secret %s: %s", lname, secret, err);
	return -1;
}

/* ---- cipher suites ---- */

static const int tls_default_list[] = {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
#endif
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	0
};

const int *tls_default_ciphers(void)
{
	return tls_default_list;
}

/* An IANA name ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256")
 * or an mbedTLS one ("TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256") to its ID; 0 unknown. */
static int cipher_id(const char *name, size_t len)
{
	char buf[96];
	size_t off = 0;
	if (len + 8 >= sizeof buf)
		return 0;
	/* TLS 1.3 suites are the ones without a key exchange in their IANA name. */
	if (len > 4 && memcmp(name, "TLS_", 4) == 0 && memmem(name, len, "_WITH_", 6) == NULL) {
		memcpy(buf, "TLS1-3-", 7);
		off = 7;
		name += 4;
		len -= 4;
	}
	for (size_t i = 0; i < len; i++)
		buf[off + i] = name[i] == '_' ? '-' : (char)toupper((unsigned char)name[i]);
	buf[off + len] = '\0';
	return mbedtls_ssl_get_ciphersuite_id(buf);
}

int *tls_parse_ciphers(const char *list, const char *what)
{
	size_t n = 1;
	for (const char *p = list; *p != '\0'; p++)
		n += *p == ':' || *p == ',';
	int *ids = calloc(n + 1, sizeof *ids);
	if (ids == NULL)
		return NULL;
	size_t k = 0;
	for (const char *p = list; *p != '\0';) {
		size_t len = strcspn(p, ":, ");
		if (len > 0) {
			int id = cipher_id(p, len);
			if (id == 0)
				log_warnx("%s: cipher suite \"%.*s\" is not supported: left out", what,
					  (int)len, p);
			else
				ids[k++] = id;
		}
		p += len;
		p += *p != '\0';
	}
	if (k == 0) {
		free(ids);
		return NULL;
	}
	return ids;
}

void tls_conf_groups(mbedtls_ssl_config *conf)
{
	/* The groups every current client offers; no 192/224-bit or Brainpool curves. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	static const uint16_t groups[] = {
		MBEDTLS_SSL_IANA_TLS_GROUP_X25519, MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
		MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1, MBEDTLS_SSL_IANA_TLS_GROUP_NONE
	};
	mbedtls_ssl_conf_groups(conf, groups);
#else
	static const mbedtls_ecp_group_id curves[] = {
		MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
		MBEDTLS_ECP_DP_NONE
	};
	mbedtls_ssl_conf_curves(conf, curves);
#endif
}

/* ---- one HTTPS bind ---- */

static void listener_free(struct tls_listener *l)
{
	for (size_t i = 0; i < l->ncerts; i++)
		cert_free(&l->certs[i]);
	free(l->certs);
	free(l->host);
	free(l->name);
	free(l->ciphers);
	if (l->has_ca)
		mbedtls_x509_crt_free(&l->ca);
}

void tls_bind_unref(struct tls_bind *b)
{
	if (b == NULL || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
		return;
	mbedtls_ssl_config_free(&b->conf);
	for (size_t i = 0; i < b->nlsn; i++)
		listener_free(&b->lsn[i]);
	free(b->lsn);
	free(b->ciphers);
	free(b->where);
	free(b);
}

static void sha_str(mbedtls_sha256_context *s, const struct img_header *img, struct img_str str)
{
	uint32_t len = str.len;
	sha256_update(s, &len, sizeof len);
	sha256_update(s, img_str_ptr(img, str), len);
}

/* Everything a bind's context is made of, so that an unchanged one is reused. */
static void bind_digest(const struct generation *g, const struct img_bind *ib, unsigned char out[32])
{
	const struct img_header *img = g->img;
	mbedtls_sha256_context s;
	mbedtls_sha256_init(&s);
	sha256_starts(&s);
	sha256_update(&s, ib, offsetof(struct img_bind, listeners));
	for (uint32_t i = 0; i < ib->listeners.count; i++) {
		uint32_t li = IMG_ARRAY(img, ib->listeners, uint32_t)[i];
		const struct img_listener *l = &g->listeners[li];
		uint8_t fixed[4] = {l->host_kind, l->tls_min_version, l->client_validation, 0};
		sha256_update(&s, fixed, sizeof fixed);
		sha_str(&s, img, l->gateway);
		sha_str(&s, img, l->name);
		sha_str(&s, img, l->host);
		sha_str(&s, img, l->ciphers);
		sha_str(&s, img, l->client_ca);
		const struct img_cert *certs = IMG_ARRAY(img, l->certs, struct img_cert);
		for (uint32_t k = 0; k < l->certs.count; k++) {
			sha_str(&s, img, certs[k].secret);
			sha_str(&s, img, certs[k].cert_pem);
			sha_str(&s, img, certs[k].key_pem);
		}
		sha256_update(&s, "|", 1);
	}
	sha256_finish(&s, out);
	mbedtls_sha256_free(&s);
}

/* Copies listener li of the image; certificates that do not load are left out
 * (the listener then has none, and is not served). Returns -1 only on OOM. */
static int listener_load(struct tls_listener *tl, const struct img_header *img,
			 const struct img_listener *l)
{
	char name[320];
	snprintf(name, sizeof name, "%s/%s", img_str_ptr(img, l->gateway), img_str_ptr(img, l->name));
	tl->host_kind = l->host_kind;
	tl->min_version = l->tls_min_version;
	tl->client_validation = l->client_validation;
	tl->host = strdup(img_str_ptr(img, l->host));
	tl->host_len = l->host.len;
	tl->name = strdup(name);
	if (tl->host == NULL || tl->name == NULL)
		return -1;
#if !(MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_PROTO_TLS1_3))
	if (l->tls_min_version == IMG_TLS_1_3) {
		log_error("listener %s: minimum version TLS 1.3 needs gatewayd built with mbedTLS 3: "
			  "not served", name);
		return 0;
	}
#endif
	if (l->ciphers.len > 0) {
		tl->ciphers = tls_parse_ciphers(img_str_ptr(img, l->ciphers), name);
		if (tl->ciphers == NULL) {
			log_error("listener %s: no supported cipher suite: not served", name);
			return 0;
		}
	}
	if (l->client_validation != IMG_CLIENT_NONE) {
		mbedtls_x509_crt_init(&tl->ca);
		tl->has_ca = true;
		int r = l->client_ca.len == 0 ? MBEDTLS_ERR_X509_BAD_INPUT_DATA
		      : mbedtls_x509_crt_parse(&tl->ca, (const unsigned char *)img_str_ptr(img, l->client_ca),
					       l->client_ca.len + 1);
		if (r != 0) {
			char err[160];
			mbedtls_strerror(r, err, sizeof err);
			log_error("listener %s: client CA certificates: %s: not served", name, err);
			return 0;
		}
		tls_crt_warm(&tl->ca);
	}
	const struct img_cert *certs = IMG_ARRAY(img, l->certs, struct img_cert);
	if (l->certs.count == 0)
		return 0;
	tl->certs = calloc(l->certs.count, sizeof *tl->certs);
	if (tl->certs == NULL)
		return -1;
	for (uint32_t k = 0; k < l->certs.count; k++) {
		if (cert_load(&tl->certs[tl->ncerts], img, &certs[k], name) < 0) {
			cert_free(&tl->certs[tl->ncerts]);
			memset(&tl->certs[tl->ncerts], 0, sizeof tl->certs[0]);
			continue;
		}
		tl->ncerts++;
	}
	return 0;
}

static bool cipher_listed(const int *list, int id)
{
	for (; *list != 0; list++)
		if (*list == id)
			return true;
	return false;
}

/* The bind's suites: the default listener's order, then the others' additions. The
 * handshake then holds each connection to its own listener's list (tls_conn.c). */
static int bind_ciphers(struct tls_bind *b)
{
	size_t n = 1;
	for (size_t i = 0; i < b->nlsn; i++) {
		const int *l = b->lsn[i].ciphers != NULL ? b->lsn[i].ciphers : tls_default_list;
		while (*l++ != 0)
			n++;
	}
	b->ciphers = calloc(n, sizeof *b->ciphers);
	if (b->ciphers == NULL)
		return -1;
	size_t k = 0;
	for (size_t j = 0; j <= b->nlsn; j++) {
		size_t i = j == 0 ? b->dflt : j - 1;
		if (j > 0 && i == b->dflt)
			continue;
		if (b->lsn[i].ncerts == 0)
			continue;
		for (const int *l = b->lsn[i].ciphers != NULL ? b->lsn[i].ciphers : tls_default_list;
		     *l != 0; l++)
			if (!cipher_listed(b->ciphers, *l))
				b->ciphers[k++] = *l;
	}
	return 0;
}

static const char *tls_alpn[] = {"http/1.1", NULL};

static int bind_conf(struct tls_bind *b)
{
	mbedtls_ssl_config *conf = &b->conf;
	const struct tls_listener *d = &b->lsn[b->dflt];
	int r = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
					    MBEDTLS_SSL_PRESET_DEFAULT);
	if (r != 0)
		return r;
	mbedtls_ssl_conf_rng(conf, tls_rng, NULL);
	/* TLS 1.2 at least, always: older versions are broken (RFC 8996). The lowest
	 * minimum of the bind's listeners; each connection is then held to its own. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	bool all13 = true;
	for (size_t i = 0; i < b->nlsn; i++)
		if (b->lsn[i].ncerts > 0 && b->lsn[i].min_version != IMG_TLS_1_3)
			all13 = false;
	mbedtls_ssl_conf_min_tls_version(conf, all13 ? MBEDTLS_SSL_VERSION_TLS1_3
						     : MBEDTLS_SSL_VERSION_TLS1_2);
#else
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
	if (bind_ciphers(b) < 0)
		return MBEDTLS_ERR_SSL_ALLOC_FAILED;
	mbedtls_ssl_conf_ciphersuites(conf, b->ciphers);
	tls_conf_groups(conf);
	if ((r = mbedtls_ssl_conf_alpn_protocols(conf, tls_alpn)) != 0)
		return r;
	mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	void *ticket = tls_ticket_ctx();
	if (ticket != NULL)
		mbedtls_ssl_conf_session_tickets_cb(conf, mbedtls_ssl_ticket_write,
						    mbedtls_ssl_ticket_parse, ticket);
	/* Without SNI the default listener's first certificate and client settings
	 * apply; with SNI, tls_conn_sni picks them per connection. */
	mbedtls_ssl_conf_sni(conf, tls_conn_sni, b);
	if ((r = mbedtls_ssl_conf_own_cert(conf, &d->certs[0].chain, &d->certs[0].key)) != 0)
		return r;
	if (d->client_validation != IMG_CLIENT_NONE) {
		mbedtls_ssl_conf_ca_chain(conf, (mbedtls_x509_crt *)&d->ca, NULL);
		mbedtls_ssl_conf_authmode(conf, d->client_validation == IMG_CLIENT_REQUIRE
						? MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_OPTIONAL);
	} else {
		mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE);
	}
	return 0;
}

static struct tls_bind *bind_build(const struct generation *g, uint32_t bi, const unsigned char digest[32])
{
	const struct img_bind *ib = &g->binds[bi];
	struct tls_bind *b = calloc(1, sizeof *b);
	if (b == NULL)
		return NULL;
	atomic_init(&b->refs, 1);
	memcpy(b->digest, digest, 32);
	mbedtls_ssl_config_init(&b->conf);
	char where[80];
	listener_format(ib->family, ib->addr, ib->port, where, sizeof where);
	b->where = strdup(where);
	b->lsn = calloc(ib->listeners.count ? ib->listeners.count : 1, sizeof *b->lsn);
	if (b->where == NULL || b->lsn == NULL)
		goto oom;
	b->dflt = SIZE_MAX;
	for (uint32_t i = 0; i < ib->listeners.count; i++) {
		uint32_t li = IMG_ARRAY(g->img, ib->listeners, uint32_t)[i];
		b->nlsn++;
		if (listener_load(&b->lsn[i], g->img, &g->listeners[li]) < 0)
			goto oom;
		if (b->dflt == SIZE_MAX && b->lsn[i].ncerts > 0)
			b->dflt = i;
	}
	if (b->dflt == SIZE_MAX) {
		log_error("HTTPS on %s: no listener has a usable certificate: not served", where);
		tls_bind_unref(b);
		return NULL;
	}
	int r = bind_conf(b);
	if (r != 0) {
		char err[160];
		mbedtls_strerror(r, err, sizeof err);
		log_error("HTTPS on %s: %s: not served", where, err);
		tls_bind_unref(b);
		return NULL;
	}
	return b;
oom:
	log_error("HTTPS: out of memory building the context of a listener");
	tls_bind_unref(b);
	return NULL;
}

/* ---- a generation ---- */

struct tls_gen *tls_gen_new(const struct generation *g, const struct tls_gen *prev)
{
	const struct img_header *img = g->img;
	bool any = false;
	for (uint32_t i = 0; i < img->binds.count && !any; i++)
		any = g->binds[i].protocol == IMG_PROTO_HTTPS;
	for (uint32_t i = 0; i < img->backends.count && !any; i++)
		any = g->backends[i].tls != IMG_NONE;
	if (!any)
		return NULL;
	tls_global_ensure();
	struct tls_gen *tg = calloc(1, sizeof *tg);
	if (tg == NULL)
		goto oom;
	tg->nbinds = img->binds.count;
	tg->nbackends = img->backends.count;
	tg->binds = calloc(tg->nbinds ? tg->nbinds : 1, sizeof *tg->binds);
	tg->clients = calloc(tg->nbackends ? tg->nbackends : 1, sizeof *tg->clients);
	if (tg->binds == NULL || tg->clients == NULL)
		goto oom;
	for (uint32_t i = 0; i < tg->nbinds; i++) {
		if (g->binds[i].protocol != IMG_PROTO_HTTPS)
			continue;
		unsigned char digest[32];
		bind_digest(g, &g->binds[i], digest);
		struct tls_bind *old = NULL;
		for (uint32_t k = 0; prev != NULL && k < prev->nbinds && old == NULL; k++)
			if (prev->binds[k] != NULL && memcmp(prev->binds[k]->digest, digest, 32) == 0)
				old = prev->binds[k];
		if (old != NULL) {
			tls_bind_ref(old);
			tg->binds[i] = old;
		} else {
			tg->binds[i] = bind_build(g, i, digest);
		}
	}
	for (uint32_t i = 0; i < tg->nbackends; i++)
		if (g->backends[i].tls != IMG_NONE)
			tg->clients[i] = tls_client_get(g, i, prev);
	if (tls_client_pairs(g, prev, &tg->pairs, &tg->npairs) < 0)
		goto oom;
	return tg;
oom:
	log_error("TLS: out of memory: no TLS contexts for this generation");
	tls_gen_free(tg);
	return NULL;
}

void tls_gen_free(struct tls_gen *tg)
{
	if (tg == NULL)
		return;
	for (uint32_t i = 0; tg->binds != NULL && i < tg->nbinds; i++)
		tls_bind_unref(tg->binds[i]);
	for (uint32_t i = 0; tg->clients != NULL && i < tg->nbackends; i++)
		tls_client_unref(tg->clients[i]);
	for (uint32_t i = 0; i < tg->npairs; i++)
		tls_client_unref(tg->pairs[i].tc);
	free(tg->pairs);
	free(tg->binds);
	free(tg->clients);
	free(tg);
}

struct tls_client *tls_gen_client_cert(const struct tls_gen *tg, uint32_t backend, uint32_t cert)
{
	uint32_t lo = 0, hi = tg != NULL ? tg->npairs : 0;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct tls_pair *p = &tg->pairs[mid];
		if (p->backend == backend && p->cert == cert)
			return p->tc;
		if (p->backend < backend || (p->backend == backend && p->cert < cert))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
