/* SPDX-License-Identifier: MIT */
/* sha256: mbedTLS's SHA-256 under one name for 2.28 (the *_ret functions) and 3.x
 * (where those were renamed), for digests of configuration sources and TLS
 * material. */
#ifndef GW_BASE_SHA256_H
#define GW_BASE_SHA256_H

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define sha256_starts(c) mbedtls_sha256_starts((c), 0)
#define sha256_update(c, p, n) mbedtls_sha256_update((c), (const unsigned char *)(p), (n))
#define sha256_finish(c, out) mbedtls_sha256_finish((c), (out))
#else
#define sha256_starts(c) mbedtls_sha256_starts_ret((c), 0)
#define sha256_update(c, p, n) mbedtls_sha256_update_ret((c), (const unsigned char *)(p), (n))
#define sha256_finish(c, out) mbedtls_sha256_finish_ret((c), (out))
#endif

#endif
