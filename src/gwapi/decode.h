/* SPDX-License-Identifier: MIT */
/* decode: building blocks shared by the per-kind decoders (decode_<kind>.c): a field
 * table checked against a YAML mapping, typed scalars under YAML 1.2 core rules, and
 * diagnostics of the form "Kind ns/name: spec.path: problem" at the node's position.
 * Every decoder reports all the problems it finds and keeps going. */
#ifndef GW_GWAPI_DECODE_H
#define GW_GWAPI_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/diag.h"
#include "gwapi/gwapi.h"
#include "yaml/ydoc.h"

/* One object being decoded. */
struct dctx {
	struct arena *a;
	struct diag_list *dl;
	const char *who;   /* message prefix: "Gateway default/edge", or just "Gateway" */
	const char *ns;    /* the object's namespace, for defaults ("" when cluster-scoped) */
	const struct ynode *root; /* the document, for positions of defaulted parts */
	size_t errors;     /* errors reported through this context */
};

enum dtype {
	DT_ANY,   /* anything; not looked into */
	DT_STR,   /* a string: quoted, block, or a plain scalar that is not null/bool/number */
	DT_INT,   /* a plain decimal integer */
	DT_BOOL,  /* true or false */
	DT_MAP,
	DT_SEQ,
};

#define DF_REQUIRED 1u

/* One field of a mapping. min/max bound the value (DT_INT), the length in characters
 * (DT_STR), the items (DT_SEQ) or the entries (DT_MAP); min == max == 0: unbounded. */
struct dfield {
	const char *name;
	enum dtype type;
	unsigned flags;
	int64_t min, max;
};

/* What decode_fields found for one field: both NULL when absent, null, or invalid. */
struct dval {
	const struct ynode *key, *val;
};

/* Checks map against fields[nfields]: reports a map of the wrong type, unknown fields
 * (at the key), missing required fields (at the map), values of the wrong type or out
 * of bounds. out[i] receives fields[i]'s key and value when present and valid. A null
 * value counts as absent, as in Kubernetes. Returns false if anything was reported. */
bool decode_fields(struct dctx *c, const struct ynode *map, const char *path,
		   const struct dfield *fields, size_t nfields, struct dval *out);
#define DECODE_FIELDS(c, map, path, fields, out) \
	decode_fields((c), (map), (path), (fields), sizeof(fields) / sizeof((fields)[0]), (out))

/* Checks one node against a type and bounds, as decode_fields does for a field. */
bool decode_check(struct dctx *c, const struct ynode *n, const char *path, enum dtype type,
		  int64_t min, int64_t max);

/* Field paths, allocated in the arena: "spec" + "listeners" -> "spec.listeners",
 * "spec.listeners" + 1 -> "spec.listeners[1]". An empty base yields just the field. */
const char *decode_path(struct dctx *c, const char *base, const char *field);
const char *decode_path_index(struct dctx *c, const char *base, size_t i);

/* "who: path: message" at n's position (n may be NULL: no position). */
void decode_error(struct dctx *c, const struct ynode *n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void decode_warning(struct dctx *c, const struct ynode *n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void decode_note(struct dctx *c, const struct ynode *n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* ERROR "path: field "name" is not supported yet" at the key: a field we parse for
 * shape but whose behaviour this version does not implement, so it is never ignored. */
void decode_unsupported(struct dctx *c, const struct dval *v, const char *path, const char *field);

/* A user value quoted and escaped for a message (long values are shortened). */
const char *decode_quote(struct dctx *c, const char *s);

/* Typed access to validated values. */
static inline const char *dval_str(const struct dval *v) { return v->val ? v->val->scalar : NULL; }
int64_t decode_int_value(const struct ynode *n);
static inline bool dval_bool(const struct dval *v, bool dflt)
{
	return v->val ? (v->val->scalar[0] == 't' || v->val->scalar[0] == 'T') : dflt;
}
struct gw_pos decode_pos(const struct ynode *n);

/* Looks a string value up in names[n]: returns its index, or -1 after reporting
 * 'unsupported value "x" (expected A, B or C)'. */
int decode_enum(struct dctx *c, const struct ynode *n, const char *path,
		const char *const *names, size_t count);

/* Scalar rules of validate.h, reported with the value: each returns false after one
 * diagnostic at n. */
bool decode_hostname(struct dctx *c, const struct ynode *n, const char *path, bool allow_wildcard);
bool decode_dns_label(struct dctx *c, const struct ynode *n, const char *path);
bool decode_dns_subdomain(struct dctx *c, const struct ynode *n, const char *path);
bool decode_section_name(struct dctx *c, const struct ynode *n, const char *path);
bool decode_kind_name(struct dctx *c, const struct ynode *n, const char *path);
bool decode_group_name(struct dctx *c, const struct ynode *n, const char *path);
bool decode_header_name(struct dctx *c, const struct ynode *n, const char *path);
bool decode_duration(struct dctx *c, const struct ynode *n, const char *path);
bool decode_ip_address(struct dctx *c, const struct ynode *n, const char *path);

/* A RegularExpression match value: compiles it with PCRE2 as the runtime will
 * (DECODE_REGEX_OPTIONS: anchored at both ends, so the whole value must match; no UTF
 * mode, so it matches bytes; case-sensitive). An invalid pattern is an error with
 * PCRE2's message and offset. */
#define DECODE_REGEX_OPTIONS (PCRE2_ANCHORED | PCRE2_ENDANCHORED)
bool decode_regex(struct dctx *c, const struct ynode *n, const char *path);

/* A Service port name or named targetPort: IANA_SVC_NAME (RFC 6335 §5.1). */
bool decode_svc_port_name(struct dctx *c, const struct ynode *n, const char *path);

/* metadata.labels-style string map (keys and values checked as Kubernetes labels). */
void decode_labels(struct dctx *c, const struct ynode *map, const char *path,
		   struct gw_label **out, size_t *nout);
/* A metav1.LabelSelector: matchLabels and matchExpressions. */
void decode_label_selector(struct dctx *c, const struct ynode *map, const char *path,
			   struct gw_label_selector *out);
/* A sequence of strings (invalid items are reported and left out). */
void decode_string_list(struct dctx *c, const struct ynode *seq, const char *path,
			const char ***out, size_t *nout);

/* The kinds (one file each). spec may be NULL where the kind allows it. */
void decode_gatewayclass(struct dctx *c, const struct ynode *spec, struct gw_gatewayclass *gc);
void decode_gateway(struct dctx *c, const struct ynode *spec, struct gw_gateway *gw);
void decode_httproute(struct dctx *c, const struct ynode *spec, struct gw_httproute *r);
void decode_backend(struct dctx *c, const struct ynode *spec, struct gw_backend *b);
void decode_namespace(struct dctx *c, const struct ynode *spec, struct gw_namespace *ns);
void decode_service(struct dctx *c, const struct ynode *spec, struct gw_service *s);
/* An EndpointSlice has no spec: its fields sit at the top of the document. */
void decode_endpointslice(struct dctx *c, const struct ynode *root, struct gw_endpointslice *es);
void decode_referencegrant(struct dctx *c, const struct ynode *spec, struct gw_referencegrant *g);
void decode_listenerset(struct dctx *c, const struct ynode *spec, struct gw_listenerset *ls);
/* TLSRoute, TCPRoute and UDPRoute (decode_l4route.c): r->meta (kind, apiVersion) is
 * set; fills r in HTTPRoute's shape (gwapi.h). */
void decode_l4route(struct dctx *c, const struct ynode *spec, struct gw_httproute *r);
/* A route's spec.parentRefs (decode_httproute.c), with the CEL rules across them. */
void decode_parent_refs(struct dctx *c, const struct ynode *seq, struct gw_httproute *r);
/* A BackendRef's group, kind, name, namespace, port and weight from v[0..5] (the
 * first six entries of the caller's field table, in that order), with defaults and
 * the CEL rule that a core Service needs its port. */
void decode_backend_ref_fields(struct dctx *c, const struct ynode *n, const char *path,
			       const struct dval *v, struct gw_backend_ref *br);
/* BackendTrafficPolicy (decode_policy.c); spec NULL reports the missing spec. */
void decode_btpolicy(struct dctx *c, const struct ynode *spec, struct gw_btpolicy *p);
/* TLS. Secret and ConfigMap have no spec: their fields sit at the top
 * (decode_secret.c). BackendTLSPolicy (decode_backendtls.c). A listener's tls stanza
 * into l->tls, after decode_gateway.c checked its shape, and a Gateway's spec.tls
 * (decode_tls.c). */
void decode_secret(struct dctx *c, const struct ynode *root, struct gw_secret *s);
void decode_configmap(struct dctx *c, const struct ynode *root, struct gw_configmap *cm);
void decode_backendtls(struct dctx *c, const struct ynode *spec, struct gw_backendtlspolicy *p);
void decode_listener_tls_model(struct dctx *c, const struct ynode *n, const char *path, struct gw_listener *l);
void decode_gateway_tls(struct dctx *c, const struct dval *tls, struct gw_gateway *gw);
/* A Gateway's (or ListenerSet's) spec.listeners, with the CEL rules across them. */
void decode_listeners(struct dctx *c, const struct ynode *seq, struct gw_listener **out, size_t *n);

/* HTTPRouteFilter lists (decode_filters.c), of a rule or of a backendRef. sum collects
 * what the rule-level CEL rules need across both. */
struct decode_filter_summary {
	bool has_redirect;
	bool has_prefix_rewrite;   /* a ReplacePrefixMatch in a redirect or rewrite */
};
void decode_filters(struct dctx *c, const struct ynode *seq, const char *path,
		    struct gw_http_filter **out, size_t *nout, struct decode_filter_summary *sum);

/* A plain scalar's YAML 1.2 core-schema type (quoted scalars are strings). */
enum sclass { SC_NULL, SC_BOOL, SC_INT, SC_FLOAT, SC_STR };
enum sclass decode_scalar_class(const struct ynode *n);

/* FNV-1a 64 over a canonical form of a document: keys sorted, null values dropped,
 * scalars by their YAML 1.2 type, without status and without metadata other than
 * the given namespace, name and labels. Reordering keys does not change it. */
uint64_t decode_content_hash(struct arena *a, const struct ynode *root, const struct gw_meta *meta);
/* FNV-1a of a string (decode_hash.c). */
uint64_t decode_str_hash(const char *s);

#endif
