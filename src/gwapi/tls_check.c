/* SPDX-License-Identifier: MIT */
/* tls_check: parse what a Secret or ConfigMap holds with mbedTLS (2.28 or 3.6) on the
 * control plane, so that a listener whose certificate would not load is reported at
 * compile time rather than at the first handshake. */
#include "gwapi/tls_check.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

/* mbedTLS 3 takes an RNG for key parsing and pair checks (RSA blinding); 2.28 does
 * not. This is the only place the two APIs differ here. */
struct tls_rng {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

static void rng_init(struct tls_rng *r)
{
	mbedtls_entropy_init(&r->entropy);
	mbedtls_ctr_drbg_init(&r->drbg);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
	(void)psa_crypto_init(); /* idempotent; 3.6 may route hashes through PSA */
#endif
	static const unsigned char pers[] = "gatewayd tls_check";
	(void)mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy, pers, sizeof pers - 1);
}

static void rng_free(struct tls_rng *r)
{
	mbedtls_ctr_drbg_free(&r->drbg);
	mbedtls_entropy_free(&r->entropy);
}

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define PK_PARSE_KEY(pk, k, n, r) \
	mbedtls_pk_parse_key((pk), (k), (n), NULL, 0, mbedtls_ctr_drbg_random, &(r)->drbg)
#define PK_CHECK_PAIR(pub, prv, r) \
	mbedtls_pk_check_pair((pub), (prv), mbedtls_ctr_drbg_random, &(r)->drbg)
#else
#define PK_PARSE_KEY(pk, k, n, r) ((void)(r), mbedtls_pk_parse_key((pk), (k), (n), NULL, 0))
#define PK_CHECK_PAIR(pub, prv, r) ((void)(r), mbedtls_pk_check_pair((pub), (prv)))
#endif

static void errmsg(char *err, size_t errlen, const char *what, int rc)
{
	char lib[160];
	mbedtls_strerror(rc, lib, sizeof lib);
	snprintf(err, errlen, "%s (%s)", what, lib);
}

static int64_t x509_time_unix(const mbedtls_x509_time *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = t->year - 1900;
	tm.tm_mon = t->mon - 1;
	tm.tm_mday = t->day;
	tm.tm_hour = t->hour;
	tm.tm_min = t->min;
	tm.tm_sec = t->sec;
	return (int64_t)timegm(&tm);
}

/* mbedTLS also reads DER; a Secret's tls.crt is PEM by definition (kubernetes.io/tls),
 * and the image carries PEM. */
static bool is_pem(const char *s, size_t len, const char *label)
{
	char begin[64];
	snprintf(begin, sizeof begin, "-----BEGIN %s", label);
	size_t bl = strlen(begin);
	for (size_t i = 0; i + bl <= len; i++)
		if (s[i] == '-' && memcmp(s + i, begin, bl) == 0)
			return true;
	return false;
}

/* Parses a chain into crt; false with err set unless every certificate parses. */
static bool parse_chain(mbedtls_x509_crt *crt, const char *pem, size_t len, char *err, size_t errlen)
{
	if (!is_pem(pem, len, "CERTIFICATE-----")) {
		snprintf(err, errlen, "no PEM certificate (\"-----BEGIN CERTIFICATE-----\")");
		return false;
	}
	/* PEM input includes its NUL in the length (mbedTLS's convention) */
	int rc = mbedtls_x509_crt_parse(crt, (const unsigned char *)pem, len + 1);
	if (rc < 0) {
		errmsg(err, errlen, "the certificate does not parse", rc);
		return false;
	}
	if (rc > 0) {
		snprintf(err, errlen, "%d certificate(s) of the PEM do not parse", rc);
		return false;
	}
	return true;
}

bool tls_check_pair(const char *crt_pem, size_t crt_len, const char *key_pem, size_t key_len,
		    struct tls_pair_info *info, char *err, size_t errlen)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	struct tls_rng rng;
	bool ok = false;

	memset(info, 0, sizeof *info);
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	rng_init(&rng);
	if (!parse_chain(&crt, crt_pem, crt_len, err, errlen))
		goto out;
	mbedtls_x509_dn_gets(info->subject, sizeof info->subject, &crt.subject);
	info->not_before = x509_time_unix(&crt.valid_from);
	info->not_after = x509_time_unix(&crt.valid_to);
	if (!is_pem(key_pem, key_len, "")) {
		snprintf(err, errlen, "tls.key: no PEM private key (\"-----BEGIN ... PRIVATE KEY-----\")");
		goto out;
	}
	int rc = PK_PARSE_KEY(&key, (const unsigned char *)key_pem, key_len + 1, &rng);
	if (rc != 0) {
		errmsg(err, errlen, "tls.key: the private key does not parse", rc);
		goto out;
	}
	rc = PK_CHECK_PAIR(&crt.pk, &key, &rng);
	if (rc != 0) {
		errmsg(err, errlen, "tls.key does not match the certificate of tls.crt", rc);
		goto out;
	}
	ok = true;
out:
	rng_free(&rng);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
	return ok;
}

bool tls_check_ca(const char *pem, size_t len, char *err, size_t errlen)
{
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	bool ok = parse_chain(&crt, pem, len, err, errlen);
	mbedtls_x509_crt_free(&crt);
	return ok;
}

static const char *const tls13_suites[] = {
	"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
	"TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256",
};

bool tls_cipher_is_tls13(const char *iana)
{
	for (size_t i = 0; i < sizeof tls13_suites / sizeof tls13_suites[0]; i++)
		if (strcmp(iana, tls13_suites[i]) == 0)
			return true;
	return false;
}

/* mbedTLS names its suites after IANA's with "-" for "_" ("TLS-ECDHE-RSA-WITH-..."),
 * and the TLS 1.3 ones "TLS1-3-AES-128-GCM-SHA256". */
int tls_cipher_id(const char *iana)
{
	char name[128];
	size_t n = strlen(iana);
	if (n < 5 || n + 3 >= sizeof name || strncmp(iana, "TLS_", 4) != 0)
		return 0;
	if (tls_cipher_is_tls13(iana))
		snprintf(name, sizeof name, "TLS1-3-%s", iana + 4);
	else
		snprintf(name, sizeof name, "%s", iana);
	for (char *p = name; *p; p++) {
		if (*p == '_')
			*p = '-';
		else if (!(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') && *p != '-')
			return 0;
	}
	return mbedtls_ssl_get_ciphersuite_id(name);
}

bool tls_have_tls13(void)
{
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
	return true;
#else
	return false;
#endif
}

const char *tls_library_version(void)
{
	return MBEDTLS_VERSION_STRING;
}
