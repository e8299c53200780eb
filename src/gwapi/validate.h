/* SPDX-License-Identifier: MIT */
/* validate: the scalar rules of the Gateway API and Kubernetes schemas (the CRDs'
 * patterns and lengths, GATEWAY-API.md §2.1), as pure predicates on NUL-terminated
 * strings. Reporting is decode.c's job. */
#ifndef GW_GWAPI_VALIDATE_H
#define GW_GWAPI_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/* Length in characters (UTF-8 code points), as Kubernetes counts maxLength. */
size_t validate_chars(const char *s);

/* [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63: Namespace. */
bool validate_dns1123_label(const char *s);
/* DNS-1123 labels joined by ".", at most 253: object names, SectionName. */
bool validate_dns1123_subdomain(const char *s);
/* Gateway API Hostname: 1..253, lowercase RFC 1123 labels, with an optional leading
 * "*." label when allow_wildcard (PreciseHostname: without). Syntax only. */
bool validate_hostname(const char *s, bool allow_wildcard);
/* An IPv4 or IPv6 literal (inet_pton). */
bool validate_ip(const char *s);
/* RFC 9110 token: 1..256 of letters, digits and !#$%&'*+-.^_`|~. */
bool validate_header_name(const char *s);
/* Kind: 1..63, a letter, then letters, digits or "-", not ending with "-". */
bool validate_kind(const char *s);
/* Group: "" (core) or a DNS-1123 subdomain of at most 253. */
bool validate_group(const char *s);
/* GEP-2257 Duration: ^([0-9]{1,5}(h|m|s|ms)){1,4}$. */
bool validate_duration(const char *s);
/* GatewayController: "domain/path", at most 253. */
bool validate_controller_name(const char *s);
/* ProtocolType: a core name ([a-zA-Z0-9] with "-") or "domain/Name", at most 255. */
bool validate_protocol(const char *s);
/* AddressType: IPAddress, Hostname, NamedAddress or "domain/path", at most 253. */
bool validate_address_type(const char *s);
/* Kubernetes label key ([prefix/]name; also AnnotationKey) and label value. */
bool validate_label_key(const char *s);
bool validate_label_value(const char *s);
/* RFC 3339 date-time: 2006-01-02T15:04:05Z, fraction and offset optional. */
bool validate_rfc3339(const char *s);
/* An Exact or PathPrefix path value (GATEWAY-API.md §2.6.1): NULL when valid, else
 * what is wrong, e.g. "must not contain \"//\"". */
const char *validate_path_problem(const char *s);

#endif
