/* SPDX-License-Identifier: MIT */
/* image: the compiled configuration, one flat read-only byte string stored as one
 * LMDB value and read in place by the workers (zero copy). No pointers: records refer
 * to each other by index and to text by (offset, length) into the string area.
 * Written by compile/, read by runtime/ and ops/. Types only.
 *
 * Layout: struct img_header at offset 0, then record arrays, each aligned to 8,
 * located by the header's img_span fields, then the string bytes. All integers are
 * host byte order (the image never leaves the machine that compiled it). */
#ifndef GW_COMPILE_IMAGE_H
#define GW_COMPILE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define IMG_MAGIC 0x31495747u   /* "GWI1" */
#define IMG_VERSION 8u   /* 2: img_match.query_params; 3: RegularExpression matches;
				  4: filters and timeouts; 5: host groups (router index);
				  6: img_rule retry; 7: TLS, L4 routes, fqdn endpoints,
				  backend policies; 8: img_listener.backend_cert,
				  img_policy timeouts and cookie */

struct img_str {
	uint32_t off;   /* into the string area (header.strings.off + off) */
	uint32_t len;   /* bytes, no NUL counted; strings are also NUL-terminated */
};

struct img_span {
	uint32_t off;   /* byte offset of the first record from the image start */
	uint32_t count; /* number of records */
};

enum img_host_kind {
	IMG_HOST_ANY = 0,      /* no hostname: matches every Host */
	IMG_HOST_EXACT = 1,    /* host equals the name */
	IMG_HOST_WILDCARD = 2, /* name is the suffix after "*": ".example.com"; host must end with it
				  and have at least one more label before it */
};

/* IMG_PATH_REGEX: path is the pattern text, path_regex its index in patterns[]; the
 * whole request path (without the query) must match (PCRE2, anchored at both ends). */
enum img_path_kind { IMG_PATH_PREFIX = 0, IMG_PATH_EXACT = 1, IMG_PATH_REGEX = 2 };

/* How an img_header_match compares the value. */
enum img_value_kind { IMG_VALUE_EXACT = 0, IMG_VALUE_REGEX = 1 };

#define IMG_NO_PATTERN 0xffffffffu

/* Same numbering as enum gw_method (gwapi.h); 0 = any method. */
enum img_method {
	IMG_METHOD_ANY = 0, IMG_METHOD_GET, IMG_METHOD_HEAD, IMG_METHOD_POST, IMG_METHOD_PUT,
	IMG_METHOD_DELETE, IMG_METHOD_CONNECT, IMG_METHOD_OPTIONS, IMG_METHOD_TRACE,
	IMG_METHOD_PATCH, IMG_METHOD_OTHER
};

/* What a bound socket speaks (Gateway listener protocol). Listeners of one bind all
 * have the same protocol: the compiler reports the others as conflicted. */
enum img_protocol {
	IMG_PROTO_HTTP = 0,
	IMG_PROTO_HTTPS = 1,    /* TLS terminated here, then HTTP/1.1 */
	IMG_PROTO_TLS = 2,      /* TLS passthrough: TLSRoute on the ClientHello's SNI */
	IMG_PROTO_TCP = 3,      /* TCPRoute: bytes spliced to the backend */
	IMG_PROTO_UDP = 4,      /* UDPRoute: datagrams, per-client sessions */
};

/* A socket to bind: every listener with this address and port is reached through it. */
struct img_bind {
	uint8_t family;         /* AF_INET or AF_INET6 */
	uint8_t protocol;       /* enum img_protocol */
	uint16_t port;
	uint8_t addr[16];       /* network byte order; all zero = any address */
	struct img_span listeners; /* uint32_t indices into listeners[], most specific hostname first */
};

struct img_listener {
	struct img_str gateway;   /* "namespace/name" */
	struct img_str name;      /* listener name */
	uint8_t host_kind;        /* enum img_host_kind */
	uint8_t pad[3];
	struct img_str host;      /* lowercase; for WILDCARD the suffix including the dot */
	uint16_t port;
	uint16_t pad2;
	struct img_span matches;  /* struct img_match, in precedence order: first match wins */
	struct img_span host_groups; /* struct img_host_group, sorted by (kind, host length,
					host bytes); empty = scan matches in order */
	/* TLS and layer-4 listeners. HTTPS: the certificates to serve, chosen by SNI
	 * (the runtime reads their names from the certificates), the first being the
	 * default for a missing or unknown SNI. TLS (passthrough), TCP and UDP listeners
	 * route with the same matches, rules and backend_refs as HTTP: a TLSRoute
	 * hostname is a match's host (compared with the SNI), a TCPRoute or UDPRoute
	 * rule is one match of any host and path "/"; the first match wins. */
	uint8_t protocol;         /* enum img_protocol, as the bind's */
	uint8_t tls_min_version;  /* enum img_tls_version (gatewayd.io/min-version) */
	uint8_t client_validation; /* enum img_client_validation (spec.tls.frontend) */
	uint8_t pad3;
	struct img_span certs;    /* struct img_cert (HTTPS) */
	struct img_str ciphers;   /* gatewayd.io/ciphers: IANA suite names, ":"-joined;
				     empty = the built-in forward-secret AEAD list */
	struct img_str client_ca; /* PEM CA bundle for client certificates; empty = none */
	/* The client certificate requests received here present to TLS backends (their
	 * Gateway's spec.tls.backend.clientCertificateRef): index into certs[], or IMG_NONE.
	 * Per listener, so per (backend, Gateway) pair: a backend reached from several
	 * Gateways gets each one's certificate, on separate pooled connections. */
	uint32_t backend_cert;
};

enum img_tls_version { IMG_TLS_DEFAULT = 0, IMG_TLS_1_2 = 1, IMG_TLS_1_3 = 2 };
enum img_client_validation {
	IMG_CLIENT_NONE = 0,      /* no client certificate asked */
	IMG_CLIENT_REQUIRE = 1,   /* AllowValidOnly: a valid certificate or no handshake */
	IMG_CLIENT_OPTIONAL = 2,  /* AllowInsecureFallback: asked, not required */
};

/* A certificate and its key from a Secret of type kubernetes.io/tls, checked at
 * compile time (both parse, the key matches the certificate). */
struct img_cert {
	struct img_str secret;    /* "namespace/name", for logs */
	struct img_str cert_pem;  /* the chain, leaf first, NUL-terminated PEM */
	struct img_str key_pem;   /* NUL-terminated PEM */
};

/* The router's index over one listener's matches: the contiguous run of matches that
 * share one hostname. Hostname specificity ranks first in Gateway API precedence (§3.4)
 * and distinct hostnames of one kind and length never fit the same request, so the
 * compiler keeps each hostname's matches together; a request scans only its exact
 * group, then the wildcard groups of its suffixes (longest first), then the any group. */
struct img_host_group {
	uint8_t kind;             /* enum img_host_kind */
	uint8_t pad[3];
	struct img_str host;      /* as img_match.host (lowercase; wildcard: ".suffix") */
	uint32_t first;           /* index of the first match, relative to listener.matches */
	uint32_t count;           /* matches in the group */
};

/* One HTTPRouteMatch of one rule of one route, for one effective hostname. */
struct img_match {
	uint8_t host_kind;        /* enum img_host_kind */
	uint8_t path_kind;        /* enum img_path_kind */
	uint8_t method;           /* enum img_method; 0 = any */
	uint8_t pad;
	struct img_str host;      /* as in img_listener */
	struct img_str path;      /* PathPrefix: without a trailing "/" (except "/" itself) */
	struct img_span headers;  /* struct img_header_match, all must match */
	uint32_t rule;            /* index into rules[] */
	struct img_span query_params; /* struct img_header_match (in header_matches[]): name
					 case-sensitive, first occurrence's value; all must match */
	uint32_t path_regex;      /* IMG_PATH_REGEX: index into patterns[]; else IMG_NO_PATTERN */
};

struct img_header_match {
	struct img_str name;      /* headers: lowercase; query parameters: as written */
	struct img_str value;     /* EXACT: compared case-sensitively; REGEX: the pattern text */
	uint8_t value_kind;       /* enum img_value_kind */
	uint8_t pad[3];
	uint32_t regex;           /* REGEX: index into patterns[]; else IMG_NO_PATTERN */
};

/* img_rule.flags */
#define IMG_RULE_REF_FILTERS 1u   /* some backend_refs[] entry has filters */

#define IMG_RETRY_CODE_MIN 400u
#define IMG_RETRY_CODE_WORDS 7u  /* 200 codes in 32-bit words */

struct img_rule {
	struct img_str route;     /* "namespace/name" */
	uint32_t rule_index;      /* position of the rule in the route */
	uint32_t total_weight;    /* sum of backend_refs weights; 0 = every request gets 500 */
	struct img_span backend_refs; /* struct img_backend_ref */
	struct img_span filters;  /* struct img_filter, in the order written */
	uint32_t timeout_request_ms;  /* timeouts.request; 0 = none */
	uint32_t timeout_backend_ms;  /* timeouts.backendRequest; 0 = none */
	uint32_t flags;           /* IMG_RULE_* */
	/* retry (GEP-1731, GATEWAY-API.md §2.6.6): retries after the first try (0 = no
	 * retry), the wait between tries, and the statuses that trigger one as a bitmap
	 * (bit code - IMG_RETRY_CODE_MIN). */
	uint32_t retry_attempts;
	uint32_t retry_backoff_ms;
	uint32_t retry_codes[IMG_RETRY_CODE_WORDS];
	uint32_t policy;          /* index into policies[] (BackendTrafficPolicy targeting the
				     route, else its Gateway), or IMG_NONE */
};


#define IMG_NO_BACKEND 0xffffffffu

struct img_backend_ref {
	uint32_t weight;
	uint32_t backend;         /* index into backends[], or IMG_NO_BACKEND (unresolved: 500) */
	struct img_span filters;  /* struct img_filter, run only when this ref is chosen */
};

/* HTTPRouteFilter (GATEWAY-API.md §2.6.2). IMG_FILTER_ERROR is an ExtensionRef, which
 * never resolves here: the requests it would handle get 500. */
enum img_filter_kind {
	IMG_FILTER_REQUEST_HEADER = 0, IMG_FILTER_RESPONSE_HEADER, IMG_FILTER_MIRROR,
	IMG_FILTER_REDIRECT, IMG_FILTER_REWRITE, IMG_FILTER_CORS, IMG_FILTER_ERROR
};
enum img_path_mod { IMG_PATHMOD_NONE = 0, IMG_PATHMOD_FULL, IMG_PATHMOD_PREFIX };
enum img_scheme { IMG_SCHEME_KEEP = 0, IMG_SCHEME_HTTP, IMG_SCHEME_HTTPS };
enum img_header_op_kind { IMG_HOP_SET = 0, IMG_HOP_ADD, IMG_HOP_REMOVE };

#define IMG_CORS_CREDENTIALS 1u   /* img_filter.flags */

struct img_header_op {
	uint8_t op;               /* enum img_header_op_kind */
	uint8_t pad[3];
	struct img_str name;      /* as written (compared case-insensitively) */
	struct img_str value;     /* empty for REMOVE */
};

struct img_filter {
	uint8_t kind;             /* enum img_filter_kind */
	uint8_t path_mod;         /* enum img_path_mod (REDIRECT, REWRITE) */
	uint8_t scheme;           /* enum img_scheme (REDIRECT) */
	uint8_t flags;            /* IMG_CORS_* */
	uint16_t port;            /* REDIRECT: 0 = unset */
	uint16_t status;          /* REDIRECT: 301, 302, 303, 307 or 308 */
	struct img_str hostname;  /* REDIRECT, REWRITE: empty = unset */
	struct img_str path;      /* the replacement path (path_mod != NONE) */
	struct img_str prefix;    /* PREFIX: the rule's PathPrefix, without a trailing "/" except "/" */
	struct img_span ops;      /* header modifiers: struct img_header_op (in header_ops[]),
				     removes first, then sets, then adds */
	uint32_t backend;         /* MIRROR: index into backends[] */
	uint32_t numerator;       /* MIRROR: share numerator / denominator (denominator >= 1) */
	uint32_t denominator;
	uint32_t max_age;         /* CORS: seconds */
	struct img_span origins;  /* CORS: struct img_str (in filter_strs[]), lowercase */
	struct img_str methods;   /* CORS: allowMethods joined with ", " */
	struct img_str allow_headers;  /* CORS: joined with ", " */
	struct img_str expose_headers; /* CORS: joined with ", " */
};

#define IMG_NONE 0xffffffffu   /* an absent optional index */

struct img_backend {
	struct img_str name;      /* "Kind/namespace/name" */
	struct img_span endpoints; /* struct img_endpoint */
	uint32_t tls;             /* index into backend_tls[] (BackendTLSPolicy), or IMG_NONE */
	uint32_t app_protocol;    /* enum img_app_protocol (Service port appProtocol) */
};

enum img_app_protocol { IMG_APP_HTTP1 = 0, IMG_APP_H2C = 1, IMG_APP_WS = 2, IMG_APP_WSS = 3 };

/* IMG_ENDPOINT_FQDN: path holds the lowercase hostname, resolved by DNS on the control
 * plane (A and AAAA, every record an address); port applies to each address. */
enum img_endpoint_kind { IMG_ENDPOINT_IP = 0, IMG_ENDPOINT_UNIX = 1, IMG_ENDPOINT_FQDN = 2 };

struct img_endpoint {
	uint8_t kind;             /* enum img_endpoint_kind */
	uint8_t family;           /* AF_INET / AF_INET6 for IP */
	uint16_t port;
	uint8_t addr[16];         /* network byte order */
	struct img_str path;      /* unix socket path, or the FQDN's hostname */
};

/* BackendTLSPolicy (GATEWAY-API.md): TLS from gatewayd to a backend. */
#define IMG_BTLS_SYSTEM_CA 1u     /* wellKnownCACertificates: System */
struct img_backend_tls {
	struct img_str policy;    /* "namespace/name", for logs */
	struct img_str sni;       /* validation.hostname: SNI and the name verified */
	struct img_str ca_pem;    /* caCertificateRefs, concatenated PEM; may be empty with SYSTEM_CA */
	uint32_t flags;           /* IMG_BTLS_* */
	struct img_span san;      /* struct img_str (in filter_strs[]): subjectAltNames; empty = sni */
};

struct img_header {
	uint32_t magic;           /* IMG_MAGIC */
	uint32_t version;         /* IMG_VERSION */
	uint32_t size;            /* total bytes of the image */
	uint32_t pad;
	struct img_span binds;         /* struct img_bind */
	struct img_span listener_index; /* uint32_t, the storage behind img_bind.listeners */
	struct img_span listeners;     /* struct img_listener */
	struct img_span matches;       /* struct img_match */
	struct img_span header_matches; /* struct img_header_match */
	struct img_span rules;         /* struct img_rule */
	struct img_span backend_refs;  /* struct img_backend_ref */
	struct img_span backends;      /* struct img_backend */
	struct img_span endpoints;     /* struct img_endpoint */
	struct img_span patterns;      /* struct img_str: distinct regular expressions, which the
					  runtime compiles once per generation (PCRE2) */
	struct img_span strings;       /* raw bytes (count = byte length) */
	struct img_str status_json;    /* the "resources" JSON array of this configuration */
	struct img_str source_digest;  /* hex SHA-256 of the source files, for `history` */
	struct img_span filters;       /* struct img_filter */
	struct img_span header_ops;    /* struct img_header_op */
	struct img_span filter_strs;   /* struct img_str: CORS origins */
	struct img_span host_groups;   /* struct img_host_group, the storage behind
					  img_listener.host_groups */
	struct img_span certs;         /* struct img_cert */
	struct img_span backend_tls;   /* struct img_backend_tls */
	struct img_span policies;      /* struct img_policy (compile/image_policy.h):
					  BackendTrafficPolicy, by img_rule.policy */
};

/* Accessors: valid only on an image that img_check() accepted. */
#define IMG_ARRAY(img, span, type) ((const type *)((const char *)(img) + (span).off))
static inline const char *img_str_ptr(const struct img_header *h, struct img_str s)
{
	return (const char *)h + h->strings.off + s.off;
}

/* Bounds-checks every span and string of an image read from storage. Returns 0 if
 * well formed, -1 otherwise. Defined in compile/image.c. */
int img_check(const void *data, size_t len);

#endif
