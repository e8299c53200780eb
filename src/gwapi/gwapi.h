/* SPDX-License-Identifier: MIT */
/* gwapi: the Gateway API object model, as decoded from YAML and validated.
 * Field names keep the upstream spelling (backendRefs -> backend_refs).
 * No I/O here. All memory (strings included) lives in the pipeline's arena.
 *
 * Lifecycle: gwapi_decode() fills a struct gw_model from YAML documents and reports
 * schema errors (what the Kubernetes API server would refuse) to a diag_list;
 * gwapi_resolve() then fills the "status" parts (attachment, references, conditions)
 * and reports semantic problems as warnings. compile/ reads the result. */
#ifndef GW_GWAPI_H
#define GW_GWAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/diag.h"
#include "yaml/ydoc.h"

#define GW_GROUP "gateway.networking.k8s.io"
#define GW_ENVOY_GROUP "gateway.envoyproxy.io"

struct gw_pos {
	const char *file;   /* NULL when not from a file */
	int line, col;      /* 1-based */
};

struct gw_label {
	const char *key, *value;
};

struct gw_meta {
	const char *api_version;
	const char *kind;
	const char *ns;              /* "default" when absent (cluster-scoped kinds: "") */
	const char *name;
	struct gw_pos pos;           /* the document's root node */
	struct gw_label *labels;
	size_t nlabels;
	const char *creation_timestamp; /* RFC 3339 text, or NULL */
	int64_t generation;          /* metadata.generation; 0 = not given (the pipeline fills it) */
	uint64_t content_hash;       /* FNV-1a over the object's spec, for generation tracking */
	uint32_t load_order;         /* position in load order (files by path, docs in file order) */
};

/* ---- status model (filled by gwapi_resolve) ---- */

struct gw_condition {
	const char *type;            /* "Accepted", "ResolvedRefs", "Programmed", ... */
	const char *status;          /* "True", "False", "Unknown" */
	const char *reason;
	const char *message;
	int64_t observed_generation;
};

#define GW_MAX_CONDITIONS 8
struct gw_conditions {
	struct gw_condition items[GW_MAX_CONDITIONS];
	size_t count;
};

/* ---- GatewayClass ---- */

struct gw_gatewayclass {
	struct gw_meta meta;
	const char *controller_name;
	const char *description;
	bool has_parameters_ref;     /* spec.parametersRef given (gatewayd defines no parameters kind) */
	/* status */
	bool is_ours;                /* controllerName == settings' controller_name */
	struct gw_conditions conditions;
};

/* ---- Gateway ---- */

enum gw_protocol { GW_PROTO_HTTP, GW_PROTO_HTTPS, GW_PROTO_TLS, GW_PROTO_TCP, GW_PROTO_UDP, GW_PROTO_OTHER };
enum gw_from { GW_FROM_SAME, GW_FROM_ALL, GW_FROM_SELECTOR, GW_FROM_NONE };

struct gw_label_requirement {
	const char *key;
	const char *op;              /* In, NotIn, Exists, DoesNotExist */
	const char **values;
	size_t nvalues;
};

struct gw_label_selector {
	struct gw_label *match_labels;
	size_t nmatch_labels;
	struct gw_label_requirement *match_expressions;
	size_t nmatch_expressions;
};

struct gw_route_group_kind {
	const char *group;           /* default GW_GROUP */
	const char *kind;
	struct gw_pos pos;
};

struct gw_listener_status {
	bool is_valid;               /* Accepted and not conflicted: gets traffic */
	struct gw_route_group_kind *supported_kinds;
	size_t nsupported_kinds;
	int32_t attached_routes;
	struct gw_conditions conditions;
};

struct gw_listener {
	const char *name;
	const char *hostname;        /* NULL = any host */
	uint16_t port;
	enum gw_protocol protocol;
	const char *protocol_name;   /* as written */
	enum gw_from from;           /* allowedRoutes.namespaces.from, default Same */
	struct gw_label_selector selector;
	struct gw_route_group_kind *kinds; /* allowedRoutes.kinds; nkinds == 0: from protocol */
	size_t nkinds;
	bool has_tls;                /* a tls stanza was given */
	bool tls_passthrough;        /* tls.mode is Passthrough (TLS listeners; TLSRoute) */
	struct gw_pos pos;
	struct gw_listener_status status;
	struct gw_listener_tls *tls; /* the tls stanza, NULL when absent */
};

struct gw_address {
	const char *type;            /* default "IPAddress" */
	const char *value;
	struct gw_pos pos;
};

struct gw_gateway {
	struct gw_meta meta;
	const char *gateway_class_name;
	struct gw_listener *listeners;
	size_t nlisteners;
	struct gw_address *addresses;
	size_t naddresses;
	/* spec.allowedListeners.namespaces: which ListenerSets may attach (default None) */
	enum gw_from allowed_listeners_from;
	struct gw_label_selector allowed_listeners_selector;
	/* status */
	bool is_ours;                /* its class is ours */
	bool has_parameters_ref;     /* spec.infrastructure.parametersRef given (gatewayd
				      * defines no parameters kind: Accepted=False) */
	struct gw_conditions conditions;
	int32_t attached_listener_sets; /* ListenerSets attached and Accepted */
	struct gw_gateway_tls *tls;  /* spec.tls, NULL when absent */
};

/* ---- ListenerSet (gateway.networking.k8s.io/v1, GATEWAY-API.md §2.5) ---- */

struct gw_listenerset {
	struct gw_meta meta;
	const char *parent_group;    /* default GW_GROUP */
	const char *parent_kind;     /* default "Gateway" */
	const char *parent_ns;       /* default: the ListenerSet's namespace */
	const char *parent_name;
	struct gw_pos parent_pos;
	struct gw_listener *listeners; /* same shape and rules as a Gateway's */
	size_t nlisteners;
	/* status */
	struct gw_gateway *gateway;  /* the parent, when it is ours and lets us attach */
	struct gw_conditions conditions;
};

/* ---- HTTPRoute ---- */

struct gw_parent_ref {
	const char *group;           /* default GW_GROUP */
	const char *kind;            /* default "Gateway" */
	const char *ns;              /* default: the route's namespace */
	const char *name;
	const char *section_name;    /* NULL = unset */
	uint16_t port;               /* 0 = unset */
	struct gw_pos pos;
};

enum gw_path_type { GW_PATH_PREFIX, GW_PATH_EXACT, GW_PATH_REGEX };
enum gw_match_type { GW_MATCH_EXACT, GW_MATCH_REGEX };
enum gw_method {
	GW_METHOD_ANY = 0, GW_METHOD_GET, GW_METHOD_HEAD, GW_METHOD_POST, GW_METHOD_PUT,
	GW_METHOD_DELETE, GW_METHOD_CONNECT, GW_METHOD_OPTIONS, GW_METHOD_TRACE, GW_METHOD_PATCH
};
extern const char *const gw_method_names[]; /* indexed by enum gw_method; [0] = "" */

struct gw_header_match {
	enum gw_match_type type;
	const char *name;
	const char *value;
	struct gw_pos pos;
};

struct gw_http_match {
	enum gw_path_type path_type;  /* default PathPrefix */
	const char *path;             /* default "/" */
	struct gw_header_match *headers;
	size_t nheaders;
	struct gw_header_match *query_params;
	size_t nquery_params;
	enum gw_method method;
	struct gw_pos pos;
};

struct gw_backend;

struct gw_backend_ref {
	const char *group;           /* default "" (core) */
	const char *kind;            /* default "Service" */
	const char *ns;              /* default: the route's namespace */
	const char *name;
	uint16_t port;               /* 0 = unset */
	uint32_t weight;             /* default 1 */
	struct gw_pos pos;
	struct gw_http_filter *filters; /* run only when this backend is chosen */
	size_t nfilters;
	/* status */
	struct gw_backend *resolved; /* NULL: the ref does not resolve (its share gets 500) */
};

/* HTTPRouteFilter (GATEWAY-API.md §2.6.2), decoded by decode_filters.c. */
enum gw_filter_type {
	GW_FILTER_REQUEST_HEADER, GW_FILTER_RESPONSE_HEADER, GW_FILTER_MIRROR, GW_FILTER_REDIRECT,
	GW_FILTER_REWRITE, GW_FILTER_CORS, GW_FILTER_EXTENSION
};

struct gw_header_value {
	const char *name, *value;
};

enum gw_path_modifier_type { GW_PATH_MOD_NONE, GW_PATH_MOD_FULL, GW_PATH_MOD_PREFIX };

struct gw_http_filter {
	enum gw_filter_type type;
	struct gw_pos pos;
	/* RequestHeaderModifier, ResponseHeaderModifier */
	struct gw_header_value *set, *add;
	size_t nset, nadd;
	const char **remove;
	size_t nremove;
	/* RequestRedirect, URLRewrite */
	const char *scheme;          /* NULL = unset */
	const char *hostname;        /* NULL = unset */
	uint16_t port;               /* 0 = unset */
	uint16_t status_code;        /* default 302 */
	enum gw_path_modifier_type path_type;
	const char *path_value;      /* replaceFullPath or replacePrefixMatch */
	/* RequestMirror: the ref (weight unused), and the share mirrored */
	struct gw_backend_ref *mirror;
	uint32_t mirror_numerator, mirror_denominator; /* default 100/100 */
	/* CORS */
	const char **allow_origins, **allow_methods, **allow_headers, **expose_headers;
	size_t nallow_origins, nallow_methods, nallow_headers, nexpose_headers;
	bool allow_credentials;
	uint32_t max_age;            /* default 5 */
	/* ExtensionRef */
	const char *ext_group, *ext_kind, *ext_name;
};

struct gw_http_rule {
	const char *name;            /* NULL = unset */
	struct gw_http_match *matches; /* at least one: the default PathPrefix "/" is filled in */
	size_t nmatches;
	struct gw_backend_ref *backend_refs;
	size_t nbackend_refs;
	struct gw_pos pos;
	struct gw_http_filter *filters;
	size_t nfilters;
	/* timeouts (GEP-1742): milliseconds; 0 = no timeout; has_* false = unset */
	bool has_timeout_request, has_timeout_backend;
	uint32_t timeout_request_ms, timeout_backend_ms;
	/* retry (GEP-1731) */
	bool has_retry;
	uint32_t retry_attempts;     /* retries after the first try */
	uint32_t retry_backoff_ms;
	uint16_t *retry_codes;
	size_t nretry_codes;
};

/* One listener a route attached to, with the hostnames it serves there. */
struct gw_attachment {
	struct gw_gateway *gateway;  /* the Gateway that serves it (a ListenerSet's parent) */
	struct gw_listenerset *listenerset; /* NULL: a listener of the Gateway itself */
	size_t listener;             /* index into gateway->listeners, or listenerset->listeners */
	const char **hostnames;      /* the intersection; a single NULL entry = any host */
	size_t nhostnames;
};

struct gw_route_parent_status {
	struct gw_parent_ref *ref;   /* borrowed from parent_refs */
	struct gw_conditions conditions;
};

struct gw_httproute {
	struct gw_meta meta;
	struct gw_parent_ref *parent_refs;
	size_t nparent_refs;
	const char **hostnames;
	size_t nhostnames;
	struct gw_http_rule *rules;  /* at least one: the default rule is filled in */
	size_t nrules;
	/* status */
	struct gw_route_parent_status *parents; /* one per parentRef whose parent is ours */
	size_t nparents;
	struct gw_attachment *attachments;
	size_t nattachments;
};

/* ---- TLSRoute, TCPRoute, UDPRoute (GATEWAY-API.md §2.8, §2.9; decode_l4route.c) ----
 * They share HTTPRoute's shape and live in gw_model.httproutes, meta.kind telling them
 * apart, so attachment, references, status and compilation are one code path: one rule
 * (legacy versions' rules merged) with the default match PathPrefix "/", its
 * backendRefs and no filters; hostnames only on TLSRoute, where they match the SNI. */
enum gw_route_kind { GW_ROUTE_HTTP = 0, GW_ROUTE_TLS, GW_ROUTE_TCP, GW_ROUTE_UDP };
/* The kind of a route of gw_model.httproutes, from meta.kind. */
enum gw_route_kind gw_route_kind_of(const struct gw_meta *meta);

/* ---- Backend (gateway.envoyproxy.io/v1alpha1) ---- */

enum gw_endpoint_kind { GW_ENDPOINT_IP, GW_ENDPOINT_FQDN, GW_ENDPOINT_UNIX };

struct gw_endpoint {
	enum gw_endpoint_kind kind;
	const char *address;         /* IP literal, hostname, or unix socket path */
	uint16_t port;               /* 0 for unix */
	struct gw_pos pos;
};

/* What gatewayd speaks to a backend (GEP-1911 appProtocol). */
enum gw_app_protocol { GW_APP_HTTP1 = 0, GW_APP_H2C };

struct gw_backend {
	struct gw_meta meta;
	struct gw_endpoint *endpoints;
	size_t nendpoints;
	enum gw_app_protocol app_protocol; /* kubernetes.io/h2c, gateway.envoyproxy.io/h2c */
	/* status */
	struct gw_conditions conditions;
	const struct gw_backendtlspolicy *tls_policy; /* BackendTLSPolicy in force, or NULL */
};

/* ---- Service (v1) and EndpointSlice (discovery.k8s.io/v1): a Service named the
 * Kubernetes way, its endpoints given statically by EndpointSlices ---- */

enum gw_service_type {
	GW_SERVICE_CLUSTER_IP, GW_SERVICE_EXTERNAL_NAME, GW_SERVICE_NODE_PORT, GW_SERVICE_LOAD_BALANCER
};

struct gw_service_port {
	const char *name;            /* "" when unset (allowed for a single port) */
	uint16_t port;
	uint16_t target_port;        /* numeric targetPort; 0 when named (default: port) */
	const char *target_port_name; /* named targetPort, or NULL */
	const char *protocol;        /* default "TCP" */
	const char *app_protocol;    /* NULL = unset */
	struct gw_pos pos;
};

struct gw_service {
	struct gw_meta meta;
	enum gw_service_type type;   /* default ClusterIP */
	const char *external_name;   /* ExternalName only */
	bool has_selector;           /* its Pods are unknown here: only EndpointSlices count */
	struct gw_service_port *ports;
	size_t nports;
};

enum gw_address_type { GW_ADDRESS_IPV4, GW_ADDRESS_IPV6, GW_ADDRESS_FQDN };

struct gw_slice_endpoint {
	const char **addresses;
	size_t naddresses;
	bool ready;                  /* conditions.ready; unset counts as ready (Kubernetes) */
	struct gw_pos pos;
};

struct gw_slice_port {
	const char *name;            /* "" when unset */
	uint16_t port;               /* 0 when unset */
	const char *protocol;        /* default "TCP" */
	const char *app_protocol;
};

struct gw_endpointslice {
	struct gw_meta meta;
	const char *service_name;    /* label kubernetes.io/service-name, NULL when absent */
	enum gw_address_type address_type;
	struct gw_slice_endpoint *endpoints;
	size_t nendpoints;
	struct gw_slice_port *ports;
	size_t nports;
};

/* ---- ReferenceGrant (v1, v1beta1; §2.10) ---- */

struct gw_grant_from {
	const char *group, *kind, *ns;
};

struct gw_grant_to {
	const char *group, *kind;
	const char *name;            /* NULL = every object of that kind */
};

struct gw_referencegrant {
	struct gw_meta meta;
	struct gw_grant_from *from;
	size_t nfrom;
	struct gw_grant_to *to;
	size_t nto;
};

/* ---- Namespace (v1; labels for allowedRoutes selectors) ---- */

struct gw_namespace {
	struct gw_meta meta;
};

/* A document of a kind we do not serve: kept for the warning and for status. */
struct gw_other {
	struct gw_meta meta;
};

/* ---- BackendTrafficPolicy (gateway.envoyproxy.io/v1alpha1; decode_policy.c,
 * resolve_policy.c, compile_policy.c) ---- */

enum gw_lb { GW_LB_ROUND_ROBIN = 0, GW_LB_LEAST_REQUEST, GW_LB_RANDOM, GW_LB_CONSISTENT_HASH };
enum gw_hash { GW_HASH_SOURCE_IP = 0, GW_HASH_HEADER, GW_HASH_COOKIE };

/* A LocalPolicyTargetReference: same namespace as the policy. */
struct gw_policy_target {
	const char *group, *kind, *name;
	struct gw_pos pos;
};

/* One entry of a policy's status.ancestors[] (Gateway API PolicyAncestorStatus). */
struct gw_policy_ancestor {
	const char *group, *kind, *ns, *name, *section_name; /* section_name NULL = unset */
	struct gw_conditions conditions;
};

struct gw_btpolicy {
	struct gw_meta meta;
	struct gw_policy_target *targets;  size_t ntargets;
	/* loadBalancer */
	enum gw_lb lb;
	enum gw_hash hash;
	const char *hash_name;       /* header or cookie name (Header, Cookie) */
	uint32_t cookie_ttl_ms;      /* 0 = unset */
	uint32_t table_size;         /* consistentHash.tableSize (default 65537) */
	/* healthCheck.active (type HTTP) */
	bool active;
	const char *hc_path, *hc_method;   /* method default "GET" */
	uint32_t hc_interval_ms, hc_timeout_ms, hc_healthy, hc_unhealthy;
	uint16_t *hc_statuses; size_t nhc_statuses; /* none = 200 only */
	/* healthCheck.passive (outlier detection) */
	bool passive, split_local;
	uint32_t od_5xx, od_gateway, od_local, od_interval_ms, od_base_ejection_ms, od_max_percent;
	/* circuitBreaker: UINT32_MAX = no limit (no circuitBreaker block) */
	uint32_t cb_connections, cb_pending, cb_requests, cb_retries;
	/* timeout */
	uint32_t connect_timeout_ms, request_timeout_ms; /* 0 = unset */
	/* timeout.http: connectionIdleTimeout (0 = unset, UINT32_MAX = "0s", never) and
	 * maxConnectionDuration (0 = unset or "0s": no limit) */
	uint32_t idle_timeout_ms, max_conn_ms;
	/* consistentHash.cookie: ttl given (generate the cookie), attributes as
	 * name, value pairs in document order */
	bool cookie_generate;
	const char **cookie_attrs; size_t ncookie_attrs;
	/* status */
	struct gw_policy_ancestor *ancestors; size_t nancestors;
	bool accepted;               /* applies to its targets (resolve_policy.c) */
	const void **applied;        /* per target: the gw_gateway / gw_httproute it applies to,
					NULL when not found or conflicted */
};

/* ---- TLS: Secret, ConfigMap (v1), listener tls, Gateway spec.tls.frontend,
 * BackendTLSPolicy (decode_secret.c, decode_backendtls.c, resolve_tls.c,
 * compile_tls.c) ---- */

/* SecretObjectReference, ObjectReference or LocalObjectReference (§2.2). */
struct gw_object_ref {
	const char *group;           /* "" = core */
	const char *kind;
	const char *ns;              /* NULL = the referring object's namespace */
	const char *name;
	struct gw_pos pos;
};

/* v1 Secret. Kubernetes merges stringData into data (stringData wins): the model
 * holds the result, always as text (base64 `data` decoded once). */
struct gw_secret {
	struct gw_meta meta;
	const char *type;            /* default "Opaque" */
	const char *tls_crt, *tls_key, *ca_crt; /* NULL when the key is absent */
	size_t tls_crt_len, tls_key_len, ca_crt_len;
	struct gw_pos tls_crt_pos, tls_key_pos, ca_crt_pos;
	/* resolve_tls.c: the pair checked once, whoever refers to it */
	int checked;                 /* 0 not yet, 1 usable, -1 not usable */
	const char *problem;         /* why not usable */
};

/* v1 ConfigMap: only ca.crt is used (CA bundles for client and backend validation). */
struct gw_configmap {
	struct gw_meta meta;
	const char *ca_crt;          /* NULL when absent */
	size_t ca_crt_len;
	struct gw_pos ca_crt_pos;
};

enum gw_tls_version { GW_TLS_DEFAULT = 0, GW_TLS_1_2 = 12, GW_TLS_1_3 = 13 };
enum gw_client_validation { GW_CLIENT_NONE = 0, GW_CLIENT_REQUIRE = 1, GW_CLIENT_OPTIONAL = 2 };

/* A usable certificate of a listener (resolve_tls.c). */
struct gw_tls_cert {
	const struct gw_secret *secret;
	const char *cert_pem, *key_pem;  /* NUL-terminated PEM */
};

/* A listener's tls stanza, and what resolve made of it. */
struct gw_listener_tls {
	bool passthrough;            /* mode Passthrough */
	struct gw_object_ref *certificate_refs; size_t ncertificate_refs;
	enum gw_tls_version min_version; /* option gatewayd.io/min-version */
	const char *ciphers;         /* option gatewayd.io/ciphers: the suites this mbedTLS
					supports, IANA names ":"-joined; NULL = default */
	bool ciphers_unusable;       /* ciphers were given but none is supported here */
	struct gw_pos options_pos;
	/* status */
	struct gw_tls_cert *certs; size_t ncerts;
	enum gw_client_validation client_validation;
	const char *client_ca_pem;   /* concatenated PEM, NULL = none */
};

/* FrontendTLSValidation (GEP-91). */
struct gw_frontend_validation {
	bool set;
	struct gw_object_ref *ca_refs; size_t nca_refs;
	bool insecure_fallback;      /* mode AllowInsecureFallback */
	struct gw_pos pos;
};

struct gw_frontend_port {
	uint16_t port;
	struct gw_frontend_validation validation; /* .set false: no validation on this port */
	struct gw_pos pos;
};

/* Gateway spec.tls. */
struct gw_gateway_tls {
	struct gw_frontend_validation frontend_default;
	struct gw_frontend_port *per_port; size_t nper_port;
	/* spec.tls.backend.clientCertificateRef (SecretObjectReference), and what resolve
	 * made of it: the pair presented to TLS backends, NULL when absent or unusable */
	bool has_backend_client;
	struct gw_object_ref backend_client_ref;
	struct gw_tls_cert *backend_client;
};

struct gw_btls_target {
	const char *group, *kind, *name;
	const char *section_name;    /* NULL = every port */
	struct gw_pos pos;
};

struct gw_btls_san {
	bool uri;                    /* type URI (else Hostname) */
	const char *value;
	struct gw_pos pos;
};

/* BackendTLSPolicy (v1, v1alpha3; §2.11). */
struct gw_backendtlspolicy {
	struct gw_meta meta;
	struct gw_btls_target *targets; size_t ntargets;
	struct gw_object_ref *ca_refs; size_t nca_refs; /* local: ns NULL */
	const char *well_known;      /* wellKnownCACertificates, or NULL */
	const char *hostname;
	struct gw_btls_san *sans; size_t nsans;
	struct gw_pos validation_pos;
	/* status (resolve_tls.c) */
	struct gw_policy_ancestor *ancestors; size_t nancestors;
	bool accepted;               /* not Invalid and some CA usable */
	bool *target_applies;        /* per target: found and not conflicted */
	const char *ca_pem;          /* the usable CA bundles, concatenated; NULL = none */
	bool system_ca;              /* wellKnownCACertificates: System */
};

struct gw_model {
	struct gw_gatewayclass **gatewayclasses; size_t ngatewayclasses;
	struct gw_gateway **gateways;             size_t ngateways;
	struct gw_httproute **httproutes;         size_t nhttproutes;
	struct gw_backend **backends;             size_t nbackends;
	struct gw_namespace **namespaces;         size_t nnamespaces;
	struct gw_service **services;             size_t nservices;
	struct gw_endpointslice **endpointslices; size_t nendpointslices;
	struct gw_referencegrant **referencegrants; size_t nreferencegrants;
	struct gw_listenerset **listenersets;     size_t nlistenersets;
	struct gw_btpolicy **btpolicies;          size_t nbtpolicies;
	struct gw_secret **secrets;               size_t nsecrets;
	struct gw_configmap **configmaps;         size_t nconfigmaps;
	struct gw_backendtlspolicy **backendtlspolicies; size_t nbackendtlspolicies;
	/* Backends that resolve builds for Service backendRefs (one per Service and port,
	 * kind "Service", name "name:port"), after the Backend kinds in the image */
	struct gw_backend **service_backends;     size_t nservice_backends;
	/* every object above, in load order, for status output */
	struct gw_meta **all;                     size_t nall;
};

/* Decodes and validates every document. Unknown kinds are warnings. Duplicate
 * kind/namespace/name is an error. Returns false if any error was reported. */
bool gwapi_decode(struct arena *a, const struct ydoc_set *docs, struct gw_model *out,
		  struct diag_list *dl);

/* Attachment, references and conditions. Semantic problems are warnings and
 * conditions, never errors (DESIGN.md "What is an error and what is a condition"),
 * except for conflicts the API server would refuse. controller_name selects our classes. */
bool gwapi_resolve(struct arena *a, struct gw_model *m, const char *controller_name,
		   struct diag_list *dl);

/* Appends the "resources" array of the status JSON (DESIGN.md "Status"): one object per
 * resource with apiVersion, kind, namespace, name, source, status. */
struct buf;
void gwapi_status_json(const struct gw_model *m, const char *controller_name, struct buf *out);

/* Condition helpers for resolve. */
void gw_conditions_set(struct gw_conditions *c, const char *type, bool status,
		       const char *reason, const char *message, int64_t generation);

#endif
