/* SPDX-License-Identifier: MIT */
/* status: the resolved model -> the "resources" JSON array of `gatewayd status --json`
 * (DESIGN.md "Status"). Each object's "status" has the shape Kubernetes would hold for
 * that kind, so conformance-style checks read the same fields. Output is compact and
 * deterministic: load order, fixed key order. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "gwapi/gwapi.h"
#include "gwapi/resolve_policy.h"
#include "gwapi/resolve_tls.h"

enum obj_type { OBJ_OTHER, OBJ_CLASS, OBJ_GATEWAY, OBJ_ROUTE, OBJ_BACKEND, OBJ_LISTENERSET,
		OBJ_BTPOLICY, OBJ_BACKENDTLS };

struct obj_entry {
	const struct gw_meta *meta;
	enum obj_type type;
};

/* m->all holds bare metas: the typed arrays say what each one is embedded in. */
static int entry_cmp(const void *x, const void *y)
{
	const struct obj_entry *a = x, *b = y;
	uintptr_t pa = (uintptr_t)a->meta, pb = (uintptr_t)b->meta;
	return pa < pb ? -1 : pa > pb;
}

static size_t index_add(struct obj_entry *idx, size_t n, const struct gw_meta *meta,
			enum obj_type t)
{
	idx[n].meta = meta;
	idx[n].type = t;
	return n + 1;
}

static void condition_json(struct buf *b, const struct gw_condition *c)
{
	buf_putc(b, '{');
	json_key(b, "type");
	json_str(b, c->type);
	buf_putc(b, ',');
	json_key(b, "status");
	json_str(b, c->status);
	buf_putc(b, ',');
	json_key(b, "reason");
	json_str(b, c->reason);
	buf_putc(b, ',');
	json_key(b, "message");
	json_str(b, c->message);
	/* The CRD's default (Pending) conditions carry no observedGeneration. */
	if (c->observed_generation > 0)
		buf_printf(b, ",\"observedGeneration\":%" PRId64, c->observed_generation);
	buf_putc(b, '}');
}

static void conditions_json(struct buf *b, const struct gw_conditions *cs)
{
	json_key(b, "conditions");
	buf_putc(b, '[');
	for (size_t i = 0; i < cs->count; i++) {
		if (i)
			buf_putc(b, ',');
		condition_json(b, &cs->items[i]);
	}
	buf_putc(b, ']');
}

/* Policy status (BackendTrafficPolicy, BackendTLSPolicy): ancestors[] of
 * PolicyAncestorStatus, GATEWAY-API.md §4.6. */
static void ancestors_json(struct buf *b, const struct gw_policy_ancestor *xs, size_t n,
			   const char *controller_name)
{
	json_key(b, "ancestors");
	buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		const struct gw_policy_ancestor *x = &xs[i];
		if (i)
			buf_putc(b, ',');
		buf_putc(b, '{');
		json_key(b, "ancestorRef");
		buf_putc(b, '{');
		json_key(b, "group");
		json_str(b, x->group);
		buf_putc(b, ',');
		json_key(b, "kind");
		json_str(b, x->kind);
		buf_putc(b, ',');
		json_key(b, "namespace");
		json_str(b, x->ns);
		buf_putc(b, ',');
		json_key(b, "name");
		json_str(b, x->name);
		if (x->section_name) {
			buf_putc(b, ',');
			json_key(b, "sectionName");
			json_str(b, x->section_name);
		}
		buf_puts(b, "},");
		json_key(b, "controllerName");
		json_str(b, controller_name);
		buf_putc(b, ',');
		conditions_json(b, &x->conditions);
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
}

static void listener_json(struct buf *b, const struct gw_listener *l)
{
	const struct gw_listener_status *st = &l->status;
	buf_putc(b, '{');
	json_key(b, "name");
	json_str(b, l->name);
	buf_putc(b, ',');
	json_key(b, "supportedKinds");
	buf_putc(b, '[');
	for (size_t i = 0; i < st->nsupported_kinds; i++) {
		if (i)
			buf_putc(b, ',');
		buf_putc(b, '{');
		json_key(b, "group");
		json_str(b, st->supported_kinds[i].group);
		buf_putc(b, ',');
		json_key(b, "kind");
		json_str(b, st->supported_kinds[i].kind);
		buf_putc(b, '}');
	}
	buf_printf(b, "],\"attachedRoutes\":%" PRId32 ",", st->attached_routes);
	conditions_json(b, &st->conditions);
	buf_putc(b, '}');
}

static void listeners_json(struct buf *b, const struct gw_listener *ls, size_t n)
{
	buf_putc(b, ',');
	json_key(b, "listeners");
	buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		listener_json(b, &ls[i]);
	}
	buf_putc(b, ']');
}

static void gateway_json(struct buf *b, const struct gw_gateway *gw)
{
	conditions_json(b, &gw->conditions);
	if (!gw->is_ours)
		return;
	listeners_json(b, gw->listeners, gw->nlisteners);
	buf_printf(b, ",\"attachedListenerSets\":%" PRId32, gw->attached_listener_sets);
}

/* §4.5: a ListenerSet nobody of ours reconciles keeps the CRD's default conditions. */
static void listenerset_json(struct buf *b, const struct gw_listenerset *s)
{
	conditions_json(b, &s->conditions);
	if (s->conditions.count && strcmp(s->conditions.items[0].status, "Unknown") != 0)
		listeners_json(b, s->listeners, s->nlisteners);
}

static void parent_ref_json(struct buf *b, const struct gw_parent_ref *pr, const char *route_ns)
{
	buf_putc(b, '{');
	json_key(b, "group");
	json_str(b, pr->group ? pr->group : GW_GROUP);
	buf_putc(b, ',');
	json_key(b, "kind");
	json_str(b, pr->kind ? pr->kind : "Gateway");
	buf_putc(b, ',');
	json_key(b, "namespace");
	json_str(b, pr->ns ? pr->ns : route_ns);
	buf_putc(b, ',');
	json_key(b, "name");
	json_str(b, pr->name);
	if (pr->section_name) {
		buf_putc(b, ',');
		json_key(b, "sectionName");
		json_str(b, pr->section_name);
	}
	if (pr->port)
		buf_printf(b, ",\"port\":%u", (unsigned)pr->port);
	buf_putc(b, '}');
}

static void route_json(struct buf *b, const struct gw_httproute *r, const char *controller_name)
{
	json_key(b, "parents");
	buf_putc(b, '[');
	for (size_t i = 0; i < r->nparents; i++) {
		const struct gw_route_parent_status *ps = &r->parents[i];
		if (i)
			buf_putc(b, ',');
		buf_putc(b, '{');
		json_key(b, "parentRef");
		parent_ref_json(b, ps->ref, r->meta.ns);
		buf_putc(b, ',');
		json_key(b, "controllerName");
		json_str(b, controller_name);
		buf_putc(b, ',');
		conditions_json(b, &ps->conditions);
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
}

static void resource_json(struct buf *b, const struct gw_meta *meta, enum obj_type t,
			  const char *controller_name)
{
	buf_putc(b, '{');
	json_key(b, "apiVersion");
	json_str(b, meta->api_version);
	buf_putc(b, ',');
	json_key(b, "kind");
	json_str(b, meta->kind);
	buf_putc(b, ',');
	if (meta->ns && meta->ns[0]) { /* cluster-scoped kinds have no namespace */
		json_key(b, "namespace");
		json_str(b, meta->ns);
		buf_putc(b, ',');
	}
	json_key(b, "name");
	json_str(b, meta->name);
	buf_putc(b, ',');
	json_key(b, "source");
	if (meta->pos.file) {
		struct buf src = BUF_INIT;
		buf_printf(&src, "%s:%d", meta->pos.file, meta->pos.line);
		json_strn(b, src.data, src.len);
		buf_free(&src);
	} else {
		json_str(b, "");
	}
	buf_putc(b, ',');
	json_key(b, "status");
	buf_putc(b, '{');
	/* Every typed object embeds its meta first: the cast recovers the object. */
	switch (t) {
	case OBJ_CLASS:
		conditions_json(b, &((const struct gw_gatewayclass *)meta)->conditions);
		break;
	case OBJ_GATEWAY:
		gateway_json(b, (const struct gw_gateway *)meta);
		break;
	case OBJ_ROUTE:
		route_json(b, (const struct gw_httproute *)meta, controller_name);
		break;
	case OBJ_LISTENERSET:
		listenerset_json(b, (const struct gw_listenerset *)meta);
		break;
	case OBJ_BACKEND: {
		const struct gw_backend *be = (const struct gw_backend *)meta;
		if (be->conditions.count)
			conditions_json(b, &be->conditions);
		break;
	}
	case OBJ_BTPOLICY:
		ancestors_json(b, ((const struct gw_btpolicy *)meta)->ancestors,
			       ((const struct gw_btpolicy *)meta)->nancestors, controller_name);
		break;
	case OBJ_BACKENDTLS:
		ancestors_json(b, ((const struct gw_backendtlspolicy *)meta)->ancestors,
			       ((const struct gw_backendtlspolicy *)meta)->nancestors, controller_name);
		break;
	case OBJ_OTHER:
		break;
	}
	buf_puts(b, "}}");
}

void gwapi_status_json(const struct gw_model *m, const char *controller_name, struct buf *out)
{
	size_t n = m->ngatewayclasses + m->ngateways + m->nhttproutes + m->nbackends + m->nlistenersets +
		   m->nbtpolicies + m->nbackendtlspolicies;
	struct obj_entry *idx = calloc(n + 1, sizeof *idx);
	size_t k = 0;
	if (!idx)
		fatalx("out of memory");
	for (size_t i = 0; i < m->ngatewayclasses; i++)
		k = index_add(idx, k, &m->gatewayclasses[i]->meta, OBJ_CLASS);
	for (size_t i = 0; i < m->ngateways; i++)
		k = index_add(idx, k, &m->gateways[i]->meta, OBJ_GATEWAY);
	for (size_t i = 0; i < m->nhttproutes; i++)
		k = index_add(idx, k, &m->httproutes[i]->meta, OBJ_ROUTE);
	for (size_t i = 0; i < m->nbackends; i++)
		k = index_add(idx, k, &m->backends[i]->meta, OBJ_BACKEND);
	for (size_t i = 0; i < m->nlistenersets; i++)
		k = index_add(idx, k, &m->listenersets[i]->meta, OBJ_LISTENERSET);
	for (size_t i = 0; i < m->nbtpolicies; i++)
		k = index_add(idx, k, &m->btpolicies[i]->meta, OBJ_BTPOLICY);
	for (size_t i = 0; i < m->nbackendtlspolicies; i++)
		k = index_add(idx, k, &m->backendtlspolicies[i]->meta, OBJ_BACKENDTLS);
	qsort(idx, k, sizeof *idx, entry_cmp);

	buf_putc(out, '[');
	for (size_t i = 0; i < m->nall; i++) {
		struct obj_entry key = {m->all[i], OBJ_OTHER};
		const struct obj_entry *e = k ? bsearch(&key, idx, k, sizeof *idx, entry_cmp) : NULL;
		if (i)
			buf_putc(out, ',');
		resource_json(out, m->all[i], e ? e->type : OBJ_OTHER, controller_name);
	}
	buf_putc(out, ']');
	free(idx);
}
