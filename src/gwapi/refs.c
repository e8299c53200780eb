/* SPDX-License-Identifier: MIT */
/* refs: HTTPRoute backendRefs -> model backends (Gateway API §2.6.3). An unresolved
 * ref keeps its weight and answers 500 for its share; the route stays Accepted and
 * gets ResolvedRefs=False with the first failing reason (§3.6, §4.4). A ref to another
 * namespace needs a ReferenceGrant there (§2.10). A Service ref resolves to a backend
 * built here from the Service port and its EndpointSlices: one per Service and port. */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "gwapi/resolve.h"

#define ROUTE_KIND "HTTPRoute"

static struct gw_backend *find_backend(const struct gw_model *m, const char *ns, const char *name)
{
	for (size_t i = 0; i < m->nbackends; i++) {
		struct gw_backend *b = m->backends[i];
		if (strcmp(b->meta.ns, ns) == 0 && strcmp(b->meta.name, name) == 0)
			return b;
	}
	return NULL;
}

static struct gw_service *find_service(const struct gw_model *m, const char *ns, const char *name)
{
	for (size_t i = 0; i < m->nservices; i++) {
		struct gw_service *s = m->services[i];
		if (strcmp(s->meta.ns, ns) == 0 && strcmp(s->meta.name, name) == 0)
			return s;
	}
	return NULL;
}

/* §2.10: a grant in the target's namespace lets the route's kind in the route's
 * namespace reach the target's group and kind (and name, when it names one). Every
 * field must match exactly; the entries of from and of to are ORed. */
bool refs_granted(const struct gw_model *m, const char *from_group, const char *from_kind,
		  const char *from_ns, const char *to_group, const char *to_kind, const char *to_ns,
		  const char *to_name)
{
	for (size_t i = 0; i < m->nreferencegrants; i++) {
		const struct gw_referencegrant *g = m->referencegrants[i];
		if (strcmp(g->meta.ns, to_ns) != 0)
			continue;
		bool from_ok = false, to_ok = false;
		for (size_t f = 0; f < g->nfrom && !from_ok; f++)
			from_ok = !strcmp(g->from[f].group, from_group) && !strcmp(g->from[f].kind, from_kind) &&
				  !strcmp(g->from[f].ns, from_ns);
		for (size_t t = 0; t < g->nto && !to_ok; t++)
			to_ok = !strcmp(g->to[t].group, to_group) && !strcmp(g->to[t].kind, to_kind) &&
				(!g->to[t].name || !strcmp(g->to[t].name, to_name));
		if (from_ok && to_ok)
			return true;
	}
	return false;
}

/* The slice port that carries a Service port: the same name (what the Kubernetes
 * EndpointSlice controller writes), else the targetPort by number or by name, else,
 * for a slice without ports, the numeric targetPort. 0 when the slice has none. */
static uint16_t slice_port_for(const struct gw_endpointslice *es, const struct gw_service_port *sp)
{
	for (size_t i = 0; i < es->nports; i++)
		if (!strcmp(es->ports[i].name, sp->name) && !strcmp(es->ports[i].protocol, sp->protocol))
			return es->ports[i].port;
	for (size_t i = 0; i < es->nports; i++) {
		const struct gw_slice_port *p = &es->ports[i];
		if (strcmp(p->protocol, sp->protocol) != 0)
			continue;
		if (sp->target_port && p->port == sp->target_port)
			return p->port;
		if (sp->target_port_name && !strcmp(p->name, sp->target_port_name))
			return p->port;
	}
	return es->nports == 0 ? sp->target_port : 0;
}

static void add_slice_endpoints(struct arena *a, struct gw_backend *b, const struct gw_endpointslice *es,
				uint16_t port, struct diag_list *dl)
{
	if (es->address_type == GW_ADDRESS_FQDN) {
		resolve_warn(dl, &es->meta, NULL, "addressType FQDN is not supported yet (it needs DNS "
			     "resolution): the slice gives no endpoints");
		return;
	}
	for (size_t i = 0; i < es->nendpoints; i++) {
		const struct gw_slice_endpoint *ep = &es->endpoints[i];
		if (!ep->ready)
			continue;
		for (size_t k = 0; k < ep->naddresses; k++) {
			/* The same address in two slices (or twice) is one endpoint. */
			bool dup = false;
			for (size_t j = 0; j < b->nendpoints && !dup; j++)
				dup = b->endpoints[j].port == port && !strcmp(b->endpoints[j].address, ep->addresses[k]);
			if (dup)
				continue;
			b->endpoints = arena_grow(a, b->endpoints, b->nendpoints, b->nendpoints + 1, sizeof *b->endpoints);
			struct gw_endpoint *e = &b->endpoints[b->nendpoints++];
			e->kind = GW_ENDPOINT_IP;
			e->address = ep->addresses[k];
			e->port = port;
			e->pos = ep->pos;
		}
	}
}

/* The backend of one Service port, built once and shared by every ref to it. */
static struct gw_backend *service_backend(struct arena *a, struct gw_model *m, const struct gw_service *s,
					  const struct gw_service_port *sp, struct diag_list *dl)
{
	const char *name = arena_printf(a, "%s:%u", s->meta.name, (unsigned)sp->port);
	for (size_t i = 0; i < m->nservice_backends; i++) {
		struct gw_backend *b = m->service_backends[i];
		if (!strcmp(b->meta.ns, s->meta.ns) && !strcmp(b->meta.name, name))
			return b;
	}
	struct gw_backend *b = arena_alloc(a, sizeof *b);
	b->meta = s->meta;
	b->meta.name = name;
	if (sp->app_protocol != NULL && !strcmp(sp->app_protocol, "kubernetes.io/h2c"))
		b->app_protocol = GW_APP_H2C;
	size_t nslices = 0;
	for (size_t i = 0; i < m->nendpointslices; i++) {
		const struct gw_endpointslice *es = m->endpointslices[i];
		if (strcmp(es->meta.ns, s->meta.ns) != 0 || !es->service_name ||
		    strcmp(es->service_name, s->meta.name) != 0)
			continue;
		nslices++;
		uint16_t port = slice_port_for(es, sp);
		if (port == 0) {
			resolve_warn(dl, &es->meta, NULL, "no port for Service \"%s\" port %u (name \"%s\"): "
				     "the slice gives it no endpoints", s->meta.name, (unsigned)sp->port, sp->name);
			continue;
		}
		add_slice_endpoints(a, b, es, port, dl);
	}
	if (nslices == 0)
		resolve_warn(dl, &s->meta, NULL, "no EndpointSlice (label kubernetes.io/service-name=%s)%s: "
			     "requests to it get 503", s->meta.name,
			     s->has_selector ? "; gatewayd does not know Pods, so spec.selector selects nothing" : "");
	m->service_backends = arena_grow(a, m->service_backends, m->nservice_backends,
					 m->nservice_backends + 1, sizeof *m->service_backends);
	m->service_backends[m->nservice_backends++] = b;
	return b;
}

/* GEP-1911: HTTP/1.1, WebSocket (kubernetes.io/ws: an Upgrade over HTTP/1.1, which
 * the proxy tunnels) and HTTP/2 with prior knowledge (kubernetes.io/h2c). wss would
 * need implicit TLS. */
static bool app_protocol_supported(const char *p)
{
	return !p || !strcasecmp(p, "http") || !strcmp(p, "kubernetes.io/http") ||
	       !strcmp(p, "kubernetes.io/ws") || !strcmp(p, "kubernetes.io/h2c");
}

/* Resolves one ref; returns NULL, or the failing reason with *msg set. */
static const char *resolve_ref(struct arena *a, struct gw_model *m, const struct gw_httproute *r,
			       struct gw_backend_ref *br, const char **msg, struct diag_list *dl)
{
	const char *group = br->group ? br->group : "";
	const char *kind = br->kind ? br->kind : "Service";
	const char *ns = br->ns ? br->ns : r->meta.ns;
	const char *name = br->name ? br->name : "";
	/* messages name the target as the ref does: "name", or "ns/name" across namespaces */
	const char *shown = strcmp(ns, r->meta.ns) ? arena_printf(a, "%s/%s", ns, name) : name;
	bool is_backend = strcmp(group, GW_ENVOY_GROUP) == 0 && strcmp(kind, "Backend") == 0;
	bool is_service = group[0] == '\0' && strcmp(kind, "Service") == 0;

	br->resolved = NULL;
	if (!is_backend && !is_service) {
		*msg = arena_printf(a, "kind \"%s\" in group \"%s\" is not supported (Service, or Backend in %s)",
				    kind, group, GW_ENVOY_GROUP);
		return "InvalidKind";
	}
	if (strcmp(ns, r->meta.ns) != 0 &&
	    !refs_granted(m, GW_GROUP, r->meta.kind, r->meta.ns, group, kind, ns, name)) {
		*msg = arena_printf(a, "%s \"%s/%s\" is in another namespace and no ReferenceGrant allows it",
				    kind, ns, name);
		return "RefNotPermitted";
	}
	if (is_backend) {
		br->resolved = find_backend(m, ns, name);
		if (!br->resolved) {
			*msg = arena_printf(a, "Backend \"%s\" not found", shown);
			return "BackendNotFound";
		}
		return NULL;
	}
	const struct gw_service *s = find_service(m, ns, name);
	if (!s) {
		*msg = arena_printf(a, "Service \"%s\" not found", shown);
		return "BackendNotFound";
	}
	/* ExternalName (DNS, refs_external.c): a Service listing no port takes any. */
	if (s->type == GW_SERVICE_EXTERNAL_NAME && s->nports == 0) {
		br->resolved = refs_external_name_backend(a, m, s, br->port);
		return NULL;
	}
	const struct gw_service_port *sp = NULL;
	for (size_t i = 0; i < s->nports && !sp; i++)
		if (s->ports[i].port == br->port && !strcmp(s->ports[i].protocol, attach_l4_port_protocol(r)))
			sp = &s->ports[i];
	if (!sp) {
		*msg = arena_printf(a, "Service \"%s\" has no %s port %u", shown, attach_l4_port_protocol(r),
				    (unsigned)br->port);
		return "BackendNotFound";
	}
	/* layer-4 routes pass bytes through: the backend's protocol is not ours to speak */
	if (!attach_l4_route(r) && !app_protocol_supported(sp->app_protocol)) {
		*msg = arena_printf(a, "Service \"%s\" port %u: appProtocol \"%s\" is not supported "
				    "(gatewayd speaks HTTP/1.1, WebSocket and h2c to backends)", shown, (unsigned)br->port,
				    sp->app_protocol);
		return "UnsupportedProtocol";
	}
	br->resolved = s->type == GW_SERVICE_EXTERNAL_NAME ? refs_external_name_backend(a, m, s, br->port) :
		service_backend(a, m, s, sp, dl);
	return NULL;
}

/* References inside filters (§4.4: ResolvedRefs covers mirror backends and extension
 * refs). A mirror that does not resolve is not configured; an ExtensionRef never
 * resolves (gatewayd defines no extension kinds), and its requests get 500. */
static void refs_filter_list(struct arena *a, struct gw_model *m, const struct gw_httproute *r,
			     struct gw_http_filter *fs, size_t n, const char *where,
			     const char **first_reason, const char **first_msg, struct diag_list *dl)
{
	for (size_t i = 0; i < n; i++) {
		const char *msg = NULL, *reason = NULL;
		if (fs[i].type == GW_FILTER_MIRROR && fs[i].mirror)
			reason = resolve_ref(a, m, r, fs[i].mirror, &msg, dl);
		else if (fs[i].type == GW_FILTER_EXTENSION) {
			msg = arena_printf(a, "extensionRef kind \"%s\" in group \"%s\" is not supported: "
					   "requests get 500", fs[i].ext_kind ? fs[i].ext_kind : "",
					   fs[i].ext_group ? fs[i].ext_group : "");
			reason = "InvalidKind";
		}
		if (!reason)
			continue;
		resolve_warn(dl, &r->meta, &fs[i].pos, "%s.filters[%zu]: %s", where, i, msg);
		if (!*first_reason) {
			*first_reason = reason;
			*first_msg = arena_printf(a, "%s.filters[%zu]: %s", where, i, msg);
		}
	}
}

static void refs_resolve_filters(struct arena *a, struct gw_model *m, const struct gw_httproute *r,
				 const char **first_reason, const char **first_msg, struct diag_list *dl)
{
	for (size_t j = 0; j < r->nrules; j++) {
		struct gw_http_rule *rule = &r->rules[j];
		const char *where = arena_printf(a, "spec.rules[%zu]", j);
		refs_filter_list(a, m, r, rule->filters, rule->nfilters, where, first_reason, first_msg, dl);
		for (size_t k = 0; k < rule->nbackend_refs; k++)
			refs_filter_list(a, m, r, rule->backend_refs[k].filters, rule->backend_refs[k].nfilters,
					 arena_printf(a, "%s.backendRefs[%zu]", where, k), first_reason, first_msg, dl);
	}
}

void refs_resolve_routes(struct arena *a, struct gw_model *m, struct diag_list *dl)
{
	for (size_t i = 0; i < m->nhttproutes; i++) {
		struct gw_httproute *r = m->httproutes[i];
		const char *first_reason = NULL, *first_msg = NULL;
		for (size_t j = 0; j < r->nrules; j++) {
			struct gw_http_rule *rule = &r->rules[j];
			for (size_t k = 0; k < rule->nbackend_refs; k++) {
				struct gw_backend_ref *br = &rule->backend_refs[k];
				const char *msg = NULL;
				const char *reason = resolve_ref(a, m, r, br, &msg, dl);
				if (!reason)
					continue;
				resolve_warn(dl, &r->meta, &br->pos, "spec.rules[%zu].backendRefs[%zu]: %s",
					     j, k, msg);
				if (!first_reason) {
					first_reason = reason;
					first_msg = arena_printf(a, "spec.rules[%zu].backendRefs[%zu]: %s",
								 j, k, msg);
				}
			}
		}
		refs_resolve_filters(a, m, r, &first_reason, &first_msg, dl);
		if (!first_reason)
			continue;
		for (size_t p = 0; p < r->nparents; p++)
			gw_conditions_set(&r->parents[p].conditions, "ResolvedRefs", false,
					  first_reason, first_msg, r->meta.generation);
	}
}
