/* SPDX-License-Identifier: MIT */
/* attach: HTTPRoute parentRefs -> Gateway or ListenerSet listeners (Gateway API §3.2,
 * §2.5): sectionName and port select listeners, allowedRoutes filters kinds and
 * namespaces, hostnames must intersect. Each parentRef to a parent of ours gets its own
 * status entry. A Gateway parentRef reaches only the Gateway's own listeners, a
 * ListenerSet parentRef only that set's (ListenerSetGatewayParentSectionNameNotFound). */
#include <string.h>
#include <strings.h>

#include "gwapi/resolve.h"

#define ROUTE_KIND "HTTPRoute"
#define NS_NAME_LABEL "kubernetes.io/metadata.name"

static struct gw_gateway *find_gateway(const struct gw_model *m, const char *ns, const char *name)
{
	for (size_t i = 0; i < m->ngateways; i++) {
		struct gw_gateway *gw = m->gateways[i];
		if (strcmp(gw->meta.ns, ns) == 0 && strcmp(gw->meta.name, name) == 0)
			return gw;
	}
	return NULL;
}

static struct gw_listenerset *find_listenerset(const struct gw_model *m, const char *ns, const char *name)
{
	for (size_t i = 0; i < m->nlistenersets; i++) {
		struct gw_listenerset *s = m->listenersets[i];
		if (strcmp(s->meta.ns, ns) == 0 && strcmp(s->meta.name, name) == 0)
			return s;
	}
	return NULL;
}

/* A namespace's label: from its Namespace object if there is one, and in any case
 * kubernetes.io/metadata.name=<ns>, which Kubernetes sets on every namespace. */
static const char *ns_label(const struct gw_model *m, const char *ns, const char *key)
{
	if (strcmp(key, NS_NAME_LABEL) == 0)
		return ns;
	for (size_t i = 0; i < m->nnamespaces; i++) {
		const struct gw_meta *nm = &m->namespaces[i]->meta;
		if (strcmp(nm->name, ns) != 0)
			continue;
		for (size_t j = 0; j < nm->nlabels; j++)
			if (strcmp(nm->labels[j].key, key) == 0)
				return nm->labels[j].value;
	}
	return NULL;
}

static bool value_in(const char *v, const struct gw_label_requirement *r)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i], v) == 0)
			return true;
	return false;
}

/* Kubernetes label selector semantics: every matchLabels entry and every
 * matchExpressions requirement must hold; an empty selector selects everything. */
bool attach_namespace_selected(const struct gw_model *m, const struct gw_label_selector *sel,
			       const char *ns)
{
	for (size_t i = 0; i < sel->nmatch_labels; i++) {
		const char *v = ns_label(m, ns, sel->match_labels[i].key);
		if (!v || strcmp(v, sel->match_labels[i].value ? sel->match_labels[i].value : "") != 0)
			return false;
	}
	for (size_t i = 0; i < sel->nmatch_expressions; i++) {
		const struct gw_label_requirement *r = &sel->match_expressions[i];
		const char *v = ns_label(m, ns, r->key);
		const char *op = r->op ? r->op : "";
		bool ok;
		if (strcmp(op, "In") == 0)
			ok = v && value_in(v, r);
		else if (strcmp(op, "NotIn") == 0)
			ok = !v || !value_in(v, r);
		else if (strcmp(op, "Exists") == 0)
			ok = v != NULL;
		else if (strcmp(op, "DoesNotExist") == 0)
			ok = v == NULL;
		else
			ok = false;
		if (!ok)
			return false;
	}
	return true;
}

/* A parent as routes see it: a Gateway, or an attached ListenerSet of one. */
struct parent_view {
	struct gw_gateway *gw;
	struct gw_listenerset *set;  /* NULL: the Gateway itself */
	struct gw_listener *listeners;
	size_t nlisteners;
	const char *ns;              /* the namespace "Same" means: the declaring object's */
	const char *what;            /* "Gateway ns/name" or "ListenerSet ns/name" */
};

static bool namespace_allowed(const struct gw_model *m, const struct parent_view *pv,
			      const struct gw_listener *l, const char *route_ns)
{
	switch (l->from) {
	case GW_FROM_SAME:
		return strcmp(pv->ns, route_ns) == 0;
	case GW_FROM_ALL:
		return true;
	case GW_FROM_SELECTOR:
		return attach_namespace_selected(m, &l->selector, route_ns);
	case GW_FROM_NONE:
		break;
	}
	return false;
}

/* route_kind: the route's meta.kind (HTTPRoute, or a layer-4 kind: gwapi.h). */
static bool kind_allowed(const struct gw_listener *l, const char *route_kind)
{
	for (size_t i = 0; i < l->status.nsupported_kinds; i++) {
		const struct gw_route_group_kind *k = &l->status.supported_kinds[i];
		if (strcmp(k->group, GW_GROUP) == 0 && strcmp(k->kind, route_kind) == 0)
			return true;
	}
	return false;
}

/* One intersection (§3.2); NULL when the two do not intersect. Absent = "*". */
static const char *intersect_one(const char *lh, const char *rh)
{
	if (!lh)
		return rh;
	bool lw = resolve_hostname_is_wildcard(lh), rw = resolve_hostname_is_wildcard(rh);
	if (!lw && !rw)
		return strcasecmp(lh, rh) == 0 ? rh : NULL;
	if (lw && resolve_wildcard_covers(lh, rh))
		return rh; /* the narrower name (or the same wildcard) */
	if (rw && resolve_wildcard_covers(rh, lh))
		return lh;
	return NULL;
}

/* The hostnames a route serves on a listener: a list in the arena (a single NULL
 * entry = any host), or 0 when nothing intersects. */
static size_t intersect(struct arena *a, const char *lh, const struct gw_httproute *r,
			const char ***out)
{
	const char **hs = arena_alloc(a, (r->nhostnames + 1) * sizeof *hs);
	size_t n = 0;
	if (r->nhostnames == 0) {
		hs[n++] = lh;
	} else {
		for (size_t i = 0; i < r->nhostnames; i++) {
			const char *h = intersect_one(lh, r->hostnames[i]);
			bool dup = false;
			for (size_t j = 0; h && j < n; j++)
				dup |= strcasecmp(hs[j], h) == 0;
			if (h && !dup)
				hs[n++] = h;
		}
	}
	*out = hs;
	return n;
}

static void add_attachment(struct arena *a, struct gw_httproute *r, const struct parent_view *pv,
			   size_t li, const char **hosts, size_t nhosts)
{
	/* Two parentRefs may reach the same listener: it counts the route once. */
	for (size_t i = 0; i < r->nattachments; i++)
		if (r->attachments[i].gateway == pv->gw && r->attachments[i].listenerset == pv->set &&
		    r->attachments[i].listener == li)
			return;
	r->attachments = arena_grow(a, r->attachments, r->nattachments, r->nattachments + 1,
				    sizeof *r->attachments);
	struct gw_attachment *at = &r->attachments[r->nattachments++];
	at->gateway = pv->gw;
	at->listenerset = pv->set;
	at->listener = li;
	at->hostnames = hosts;
	at->nhostnames = nhosts;
	pv->listeners[li].status.attached_routes++;
}

struct pending {
	size_t listener;
	const char **hosts;
	size_t nhosts;
};

static void attach_parent(struct arena *a, struct gw_model *m, struct gw_httproute *r,
			  size_t pi, const struct parent_view *pv, const char *drop_reason,
			  size_t nimplemented, struct diag_list *dl)
{
	struct gw_parent_ref *pr = &r->parent_refs[pi];
	struct gw_route_parent_status *ps = &r->parents[r->nparents++];
	int64_t gen = r->meta.generation;
	const char *gwname = pv->what;
	struct pending *cand = arena_alloc(a, (pv->nlisteners + 1) * sizeof *cand);
	size_t nsel = 0, nkind = 0, nallowed = 0, ncand = 0;

	ps->ref = pr;
	for (size_t j = 0; j < pv->nlisteners; j++) {
		const struct gw_listener *l = &pv->listeners[j];
		if (pr->section_name && strcmp(l->name, pr->section_name) != 0)
			continue;
		if (pr->port && l->port != pr->port)
			continue;
		nsel++;
		if (!kind_allowed(l, r->meta.kind))
			continue;
		nkind++;
		if (!namespace_allowed(m, pv, l, r->meta.ns))
			continue;
		nallowed++;
		cand[ncand].listener = j;
		cand[ncand].nhosts = intersect(a, l->hostname, r, &cand[ncand].hosts);
		if (cand[ncand].nhosts > 0)
			ncand++;
	}

	const char *reason = NULL, *msg = NULL;
	if (pv->set && !pv->set->gateway) {
		reason = "NoMatchingParent";
		msg = arena_printf(a, "%s is not attached to its Gateway", gwname);
	} else if (nsel == 0) {
		reason = "NoMatchingParent";
		if (pr->section_name && pr->port)
			msg = arena_printf(a, "%s has no listener \"%s\" on port %u", gwname,
					   pr->section_name, (unsigned)pr->port);
		else if (pr->section_name)
			msg = arena_printf(a, "%s has no listener \"%s\"", gwname, pr->section_name);
		else
			msg = arena_printf(a, "%s has no listener on port %u", gwname,
					   (unsigned)pr->port);
	} else if (nkind == 0) {
		reason = "NotAllowedByListeners";
		msg = arena_printf(a, "no listener of %s allows kind %s", gwname, r->meta.kind);
	} else if (nallowed == 0) {
		reason = "NotAllowedByListeners";
		msg = arena_printf(a, "no listener of %s allows routes from namespace \"%s\"",
				   gwname, r->meta.ns);
	} else if (ncand == 0) {
		reason = "NoMatchingListenerHostname";
		msg = arena_printf(a, "no hostname of the route intersects a listener hostname of %s",
				   gwname);
	} else if (nimplemented == 0) {
		reason = "UnsupportedValue";
		msg = arena_printf(a, "no rule can be implemented: %s", drop_reason);
	}

	if (reason) {
		gw_conditions_set(&ps->conditions, "Accepted", false, reason, msg, gen);
		resolve_warn(dl, &r->meta, &pr->pos, "spec.parentRefs[%zu]: %s", pi, msg);
	} else {
		gw_conditions_set(&ps->conditions, "Accepted", true, "Accepted", "Route is accepted", gen);
		for (size_t k = 0; k < ncand; k++)
			add_attachment(a, r, pv, cand[k].listener, cand[k].hosts, cand[k].nhosts);
	}
	/* refs.c fills it in; set here so that the conditions keep a stable order. */
	gw_conditions_set(&ps->conditions, "ResolvedRefs", true, "ResolvedRefs",
			  "Resolved all the Object references for the Route", gen);
	if (!reason && nimplemented < r->nrules)
		gw_conditions_set(&ps->conditions, "PartiallyInvalid", true, "UnsupportedValue",
				  arena_printf(a, "Dropped Rule(s): %s", drop_reason), gen);
}

static void attach_route(struct arena *a, struct gw_model *m, struct gw_httproute *r,
			 struct diag_list *dl)
{
	const char *drop_reason = NULL;
	size_t nimplemented = 0;
	for (size_t i = 0; i < r->nrules; i++) {
		const char *why = resolve_rule_unsupported(&r->rules[i]);
		if (!why) {
			nimplemented++;
			continue;
		}
		resolve_warn(dl, &r->meta, &r->rules[i].pos, "spec.rules[%zu]: %s: the rule is ignored",
			     i, why);
		if (!drop_reason)
			drop_reason = arena_printf(a, "spec.rules[%zu]: %s", i, why);
	}

	r->parents = arena_alloc(a, (r->nparent_refs + 1) * sizeof *r->parents);
	r->nparents = 0;
	r->attachments = NULL;
	r->nattachments = 0;
	if (r->nparent_refs == 0)
		resolve_warn(dl, &r->meta, NULL, "spec.parentRefs: none given: the route attaches nowhere");
	for (size_t i = 0; i < r->nparent_refs; i++) {
		struct gw_parent_ref *pr = &r->parent_refs[i];
		const char *group = pr->group ? pr->group : GW_GROUP;
		const char *kind = pr->kind ? pr->kind : "Gateway";
		const char *ns = pr->ns ? pr->ns : r->meta.ns;
		bool is_set = strcmp(group, GW_GROUP) == 0 && strcmp(kind, "ListenerSet") == 0;
		if (strcmp(group, GW_GROUP) != 0 || (strcmp(kind, "Gateway") != 0 && !is_set)) {
			resolve_warn(dl, &r->meta, &pr->pos,
				     "spec.parentRefs[%zu]: parent kind \"%s\" in group \"%s\" is not supported",
				     i, kind, group);
			continue;
		}
		if (is_set) {
			struct gw_listenerset *set = find_listenerset(m, ns, pr->name ? pr->name : "");
			if (!set) {
				resolve_warn(dl, &r->meta, &pr->pos, "spec.parentRefs[%zu]: ListenerSet \"%s/%s\" not found",
					     i, ns, pr->name ? pr->name : "");
				continue;
			}
			/* Ours when its Gateway is ours, attached or not. */
			struct gw_gateway *pgw = find_gateway(m, set->parent_ns, set->parent_name ? set->parent_name : "");
			if (!pgw || !pgw->is_ours || strcmp(set->parent_kind, "Gateway") != 0)
				continue;
			struct parent_view pv = {
				.gw = pgw, .set = set, .listeners = set->listeners, .nlisteners = set->nlisteners,
				.ns = set->meta.ns,
				.what = arena_printf(a, "ListenerSet %s", resolve_object_name(a, &set->meta)),
			};
			attach_parent(a, m, r, i, &pv, drop_reason, nimplemented, dl);
			continue;
		}
		struct gw_gateway *gw = find_gateway(m, ns, pr->name ? pr->name : "");
		if (!gw) {
			/* In Kubernetes another controller might own it: no status entry. */
			resolve_warn(dl, &r->meta, &pr->pos, "spec.parentRefs[%zu]: Gateway \"%s/%s\" not found",
				     i, ns, pr->name ? pr->name : "");
			continue;
		}
		if (!gw->is_ours)
			continue;
		struct parent_view pv = {
			.gw = gw, .listeners = gw->listeners, .nlisteners = gw->nlisteners, .ns = gw->meta.ns,
			.what = arena_printf(a, "Gateway %s", resolve_object_name(a, &gw->meta)),
		};
		attach_parent(a, m, r, i, &pv, drop_reason, nimplemented, dl);
	}
}

void attach_routes(struct arena *a, struct gw_model *m, struct diag_list *dl)
{
	for (size_t i = 0; i < m->nhttproutes; i++)
		attach_route(a, m, m->httproutes[i], dl);
}
