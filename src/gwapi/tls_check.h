/* SPDX-License-Identifier: MIT */
/* tls_check: certificates, keys and CA bundles checked on the control plane with
 * mbedTLS, the library the data plane loads them with, so that what compiles also
 * loads; plus the TLS cipher suite names and versions this build supports. */
#ifndef GW_GWAPI_TLS_CHECK_H
#define GW_GWAPI_TLS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tls_pair_info {
	int64_t not_before, not_after; /* the leaf's validity, Unix time */
	char subject[192];             /* the leaf's subject DN, for messages */
};

/* crt: a PEM chain, leaf first; key: a PEM private key (unencrypted); both
 * NUL-terminated, lengths without the NUL. True when every certificate parses, the
 * key parses and matches the leaf; else false with the problem in err. */
bool tls_check_pair(const char *crt, size_t crt_len, const char *key, size_t key_len,
		    struct tls_pair_info *info, char *err, size_t errlen);

/* A PEM bundle of CA certificates (ca.crt): true when it holds at least one
 * certificate and every one parses. */
bool tls_check_ca(const char *pem, size_t len, char *err, size_t errlen);

/* An IANA cipher suite name ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
 * "TLS_AES_128_GCM_SHA256") -> the mbedTLS suite id, 0 when this build lacks it. */
int tls_cipher_id(const char *iana);
/* The five TLS 1.3 suites of RFC 8446 §B.4, by IANA name. */
bool tls_cipher_is_tls13(const char *iana);
/* Was mbedTLS built with TLS 1.3 (MBEDTLS_SSL_PROTO_TLS1_3)? */
bool tls_have_tls13(void);
/* "2.28.3": the mbedTLS version compiled against, for messages. */
const char *tls_library_version(void);

#endif
