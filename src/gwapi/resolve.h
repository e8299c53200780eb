/* SPDX-License-Identifier: MIT */
/* resolve: the stages behind gwapi_resolve() (resolve.c: classes, Gateways, listeners;
 * attach.c: parentRefs -> listeners; refs.c: backendRefs), and the few rules compile/
 * must apply identically (which HTTPRoute rules are implemented). Internal to the
 * config pipeline: the data plane never includes this. */
#ifndef GW_GWAPI_RESOLVE_H
#define GW_GWAPI_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "gwapi/gwapi.h"

/* Appends a warning "Kind ns/name: text" at pos (the object's own position when pos
 * has no file). */
void resolve_warn(struct diag_list *dl, const struct gw_meta *meta, const struct gw_pos *pos,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Age order of two objects: the older first (creationTimestamp, compared as text,
 * which orders the usual UTC "...Z" form; one with a timestamp before one without),
 * then load order, then namespace/name. For qsort-style comparators. */
int resolve_meta_age_cmp(const struct gw_meta *a, const struct gw_meta *b);

/* "ns/name", or "name" for cluster-scoped objects; in the arena. */
const char *resolve_object_name(struct arena *a, const struct gw_meta *meta);

/* Gateway API hostnames (§2.1): "*.example.com" covers every name with one or more
 * labels before ".example.com", never "example.com" itself. Comparisons ignore case. */
bool resolve_hostname_is_wildcard(const char *h);
bool resolve_wildcard_covers(const char *wildcard, const char *name);

/* Why an HTTPRoute rule cannot be implemented in this version, or NULL when it can.
 * resolve reports such rules as UnsupportedValue; compile leaves them out of the image. */
const char *resolve_rule_unsupported(const struct gw_http_rule *r);

/* Does the label selector select namespace ns (its Namespace object's labels, plus
 * kubernetes.io/metadata.name)? An empty selector selects every namespace. */
bool attach_namespace_selected(const struct gw_model *m, const struct gw_label_selector *sel,
			       const char *ns);

/* Layer-4 routes and listeners (attach_l4.c). attach_l4_protocol: TLS, TCP or UDP.
 * attach_l4_default_kind: the route kind a listener of protocol p carries ("HTTPRoute"
 * for HTTP and HTTPS, "TLSRoute", "TCPRoute", "UDPRoute"), NULL for custom protocols;
 * attach_l4_kind_fits: may it carry kind k. attach_l4_listener_unsupported: why an
 * otherwise supported listener is not served (Accepted=False/UnsupportedValue), or
 * NULL. attach_l4_port_protocol: the Service port protocol the route's backendRefs
 * name ("UDP" for UDPRoute, else "TCP"). attach_l4_route: TLSRoute, TCPRoute or UDPRoute. */
bool attach_l4_protocol(enum gw_protocol p);
const char *attach_l4_default_kind(enum gw_protocol p);
bool attach_l4_kind_fits(enum gw_protocol p, const struct gw_route_group_kind *k);
const char *attach_l4_listener_unsupported(const struct gw_listener *l);
const char *attach_l4_port_protocol(const struct gw_httproute *r);
bool attach_l4_route(const struct gw_httproute *r);

/* Stage 2: route attachment (fills parents, attachments, listener attachedRoutes). */
void attach_routes(struct arena *a, struct gw_model *m, struct diag_list *dl);
/* Does a ReferenceGrant in to_ns let from_kind objects in from_ns refer to to_name
 * (of to_group/to_kind) there? (§2.10) */
bool refs_granted(const struct gw_model *m, const char *from_group, const char *from_kind,
		  const char *from_ns, const char *to_group, const char *to_kind, const char *to_ns,
		  const char *to_name);
/* Stage 3: backendRefs (fills resolved, and each parent's ResolvedRefs condition);
 * builds m->service_backends for the Service ports that refs name. */
void refs_resolve_routes(struct arena *a, struct gw_model *m, struct diag_list *dl);
/* The backend of a Service of type ExternalName at port (refs_external.c): one fqdn
 * endpoint spec.externalName:port, added to m->service_backends once per Service and
 * port. */
struct gw_backend *refs_external_name_backend(struct arena *a, struct gw_model *m,
					      const struct gw_service *s, uint16_t port);

#endif
