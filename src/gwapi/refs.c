/* SPDX-License-Identifier: MIT */
/* refs: HTTPRoute backendRefs -> model backends (Gateway API §2.6.3). An unresolved
 * ref keeps its weight and answers 500 for its share; the route stays Accepted and
 * gets ResolvedRefs=False with the first failing reason (§3.6, §4.4). */
#include <string.h>

#include "gwapi/resolve.h"

static struct gw_backend *find_backend(const struct gw_model *m, const char *ns, const char *name)
{
	for (size_t i = 0; i < m->nbackends; i++) {
		struct gw_backend *b = m->backends[i];
		if (strcmp(b->meta.ns, ns) == 0 && strcmp(b->meta.name, name) == 0)
			return b;
	}
	return NULL;
}

/* Resolves one ref; returns NULL, or the failing reason with *msg set. */
static const char *resolve_ref(struct arena *a, const struct gw_model *m,
			       const struct gw_httproute *r, struct gw_backend_ref *br,
			       const char **msg)
{
	const char *group = br->group ? br->group : "";
	const char *kind = br->kind ? br->kind : "Service";
	const char *ns = br->ns ? br->ns : r->meta.ns;
	const char *name = br->name ? br->name : "";
	bool is_backend = strcmp(group, GW_ENVOY_GROUP) == 0 && strcmp(kind, "Backend") == 0;
	bool is_service = group[0] == '\0' && strcmp(kind, "Service") == 0;

	br->resolved = NULL;
	if (!is_backend && !is_service) {
		*msg = arena_printf(a, "kind \"%s\" in group \"%s\" is not supported (Backend in %s, or Service)",
				    kind, group, GW_ENVOY_GROUP);
		return "InvalidKind";
	}
	if (strcmp(ns, r->meta.ns) != 0) {
		/* A cross-namespace reference needs a ReferenceGrant in the target
		 * namespace (§2.10); ReferenceGrants are not read yet, so none exists. */
		*msg = arena_printf(a, "%s \"%s/%s\" is in another namespace and no ReferenceGrant allows it",
				    kind, ns, name);
		return "RefNotPermitted";
	}
	if (is_service) {
		*msg = arena_printf(a, "Service \"%s\": Service backends are not supported yet", name);
		return "BackendNotFound";
	}
	br->resolved = find_backend(m, ns, name);
	if (!br->resolved) {
		*msg = arena_printf(a, "Backend \"%s\" not found", name);
		return "BackendNotFound";
	}
	return NULL;
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
				const char *reason = resolve_ref(a, m, r, br, &msg);
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
		if (!first_reason)
			continue;
		for (size_t p = 0; p < r->nparents; p++)
			gw_conditions_set(&r->parents[p].conditions, "ResolvedRefs", false,
					  first_reason, first_msg, r->meta.generation);
	}
}
