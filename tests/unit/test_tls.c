/* SPDX-License-Identifier: MIT */
/* test_tls: certificate name matching, SNI listener selection and cipher suite
 * parsing of runtime/tls_ctx.c. */
#include "config.h"

#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/ssl_ciphersuites.h>

#include "runtime/tls_ctx.h"

#define MATCH(p, h) tls_name_match((p), strlen(p), (h), strlen(h))

static void exact_names_match_case_insensitively(void **state)
{
	(void)state;
	assert_int_equal(MATCH("a.example.com", "a.example.com"), 2);
	assert_int_equal(MATCH("A.Example.COM", "a.example.com"), 2);
	assert_int_equal(MATCH("a.example.com", "b.example.com"), 0);
	assert_int_equal(MATCH("a.example.com", "a.example.co"), 0);
}

static void certificate_wildcard_covers_exactly_one_label(void **state)
{
	(void)state;
	assert_int_equal(MATCH("*.example.com", "a.example.com"), 1);
	assert_int_equal(MATCH("*.example.com", "A.EXAMPLE.com"), 1);
	/* RFC 6125 §6.4.3: not two labels, not the bare domain. */
	assert_int_equal(MATCH("*.example.com", "a.b.example.com"), 0);
	assert_int_equal(MATCH("*.example.com", "example.com"), 0);
	assert_int_equal(MATCH("*.example.com", ".example.com"), 0);
	assert_int_equal(MATCH("*.example.com", "aexample.com"), 0);
}

static void set_listener(struct tls_listener *l, int kind, const char *host)
{
	memset(l, 0, sizeof *l);
	l->host_kind = (uint8_t)kind;
	l->host = (char *)host;
	l->host_len = strlen(host);
}

static void sni_selects_the_most_specific_listener(void **state)
{
	(void)state;
	/* Bind order is most specific first, as the image stores it. */
	struct tls_listener lsn[4];
	set_listener(&lsn[0], IMG_HOST_EXACT, "fourth.wildcard.org");
	set_listener(&lsn[1], IMG_HOST_WILDCARD, ".wildcard.org");
	set_listener(&lsn[2], IMG_HOST_EXACT, "second.org");
	set_listener(&lsn[3], IMG_HOST_ANY, "");
	struct tls_bind b;
	memset(&b, 0, sizeof b);
	b.lsn = lsn;
	b.nlsn = 4;
	assert_int_equal(tls_bind_select(&b, "fourth.wildcard.org", 19), 0);
	assert_int_equal(tls_bind_select(&b, "third.wildcard.org", 18), 1);
	/* Gateway API wildcards cover one or more labels (GATEWAY-API.md 3.1). */
	assert_int_equal(tls_bind_select(&b, "a.b.wildcard.org", 16), 1);
	assert_int_equal(tls_bind_select(&b, "wildcard.org", 12), 3);
	assert_int_equal(tls_bind_select(&b, "second.org", 10), 2);
	assert_int_equal(tls_bind_select(&b, "example.org", 11), 3);
	b.nlsn = 3;  /* without the catch-all, an unknown name selects nothing */
	assert_int_equal(tls_bind_select(&b, "example.org", 11), -1);
}

static void iana_cipher_names_parse_to_mbedtls_ids(void **state)
{
	(void)state;
	int *ids = tls_parse_ciphers("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:"
				     "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "test");
	assert_non_null(ids);
	assert_int_equal(ids[0], MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
	assert_int_equal(ids[1], MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256);
	assert_int_equal(ids[2], 0);
	free(ids);
	/* mbedTLS spellings too; unknown names are left out. */
	ids = tls_parse_ciphers("NOPE_SUITE,TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384", "test");
	assert_non_null(ids);
	assert_int_equal(ids[0], MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384);
	assert_int_equal(ids[1], 0);
	free(ids);
	assert_null(tls_parse_ciphers("NOPE:ALSO_NOPE", "test"));
}

static void default_suites_are_forward_secret_aead_only(void **state)
{
	(void)state;
	const int *l = tls_default_ciphers();
	int n = 0;
	for (; *l != 0; l++, n++) {
		const mbedtls_ssl_ciphersuite_t *cs = mbedtls_ssl_ciphersuite_from_id(*l);
		assert_non_null(cs);
		const char *name = mbedtls_ssl_get_ciphersuite_name(*l);
		assert_true(strstr(name, "GCM") != NULL || strstr(name, "CHACHA20-POLY1305") != NULL);
		assert_true(strncmp(name, "TLS1-3-", 7) == 0 || strstr(name, "ECDHE") != NULL);
	}
	assert_true(n >= 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exact_names_match_case_insensitively),
		cmocka_unit_test(certificate_wildcard_covers_exactly_one_label),
		cmocka_unit_test(sni_selects_the_most_specific_listener),
		cmocka_unit_test(iana_cipher_names_parse_to_mbedtls_ids),
		cmocka_unit_test(default_suites_are_forward_secret_aead_only),
	};
	return UNIT_RUN(tests);
}
