/* SPDX-License-Identifier: MIT */
/* resolve_policy: BackendTrafficPolicy targets and status, as Envoy Gateway does it.
 * A policy applies to the Gateways and HTTPRoutes its targetRefs name (same namespace);
 * when two policies target one object, the oldest (creationTimestamp, then load order
 * as its stand-in, then namespace/name) wins and the other is Conflicted there. A route's
 * policy wins over its Gateway's (compile_policy.c). Status: one ancestors[] entry per
 * Gateway the policy reaches (the Gateway itself, or each parentRef of a targeted route). */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "gwapi/gwapi.h"
#include "gwapi/resolve.h"
#include "gwapi/resolve_policy.h"

#define POLICY_MAX_ANCESTORS 16

static int policy_older(const struct gw_btpolicy *x, const struct gw_btpolicy *y)
{
	const char *tx = x->meta.creation_timestamp, *ty = y->meta.creation_timestamp;
	if (tx && ty) {
		int c = strcmp(tx, ty);  /* RFC 3339 in UTC compares as text */
		if (c != 0)
			return c < 0;
	}
	if (x->meta.load_order != y->meta.load_order)
		return x->meta.load_order < y->meta.load_order;
	int c = strcmp(x->meta.ns, y->meta.ns);
	return c != 0 ? c < 0 : strcmp(x->meta.name, y->meta.name) < 0;
}

static const void *find_target(const struct gw_model *m, const char *ns, const struct gw_policy_target *t)
{
	if (strcmp(t->kind, "Gateway") == 0) {
		for (size_t i = 0; i < m->ngateways; i++) {
			const struct gw_gateway *g = m->gateways[i];
			if (g->is_ours && strcmp(g->meta.ns, ns) == 0 && strcmp(g->meta.name, t->name) == 0)
				return g;
		}
		return NULL;
	}
	for (size_t i = 0; i < m->nhttproutes; i++) {
		const struct gw_httproute *r = m->httproutes[i];
		if (strcmp(r->meta.ns, ns) == 0 && strcmp(r->meta.name, t->name) == 0)
			return r;
	}
	return NULL;
}

static struct gw_policy_ancestor *ancestor_add(struct arena *a, struct gw_btpolicy *p, size_t *cap,
					       const char *group, const char *kind, const char *ns,
					       const char *name, const char *section)
{
	for (size_t i = 0; i < p->nancestors; i++) {
		struct gw_policy_ancestor *x = &p->ancestors[i];
		if (!strcmp(x->kind, kind) && !strcmp(x->ns, ns) && !strcmp(x->name, name) &&
		    ((x->section_name == NULL && section == NULL) ||
		     (x->section_name && section && !strcmp(x->section_name, section))))
			return x;
	}
	if (p->nancestors >= POLICY_MAX_ANCESTORS)
		return NULL;
	if (p->nancestors == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		p->ancestors = arena_grow(a, p->ancestors, p->nancestors, ncap, sizeof *p->ancestors);
		*cap = ncap;
	}
	struct gw_policy_ancestor *x = &p->ancestors[p->nancestors++];
	memset(x, 0, sizeof *x);
	x->group = group;
	x->kind = kind;
	x->ns = ns;
	x->name = name;
	x->section_name = section;
	return x;
}

/* Sets Accepted on an ancestor; a False reason never gets overwritten by True. */
static void ancestor_accept(struct gw_policy_ancestor *x, bool ok, const char *reason, const char *msg,
			    int64_t gen)
{
	if (x == NULL)
		return;
	for (size_t i = 0; i < x->conditions.count; i++)
		if (!strcmp(x->conditions.items[i].type, "Accepted") &&
		    !strcmp(x->conditions.items[i].status, "False") && ok)
			return;
	gw_conditions_set(&x->conditions, "Accepted", ok, reason, msg, gen);
}

/* The Gateways a target reaches, each made an ancestor with the given condition. */
static void mark_ancestors(struct arena *a, struct gw_btpolicy *p, size_t *cap,
			   const struct gw_policy_target *t, const void *obj, bool ok,
			   const char *reason, const char *msg)
{
	int64_t gen = p->meta.generation;
	if (obj == NULL || strcmp(t->kind, "Gateway") == 0) {
		ancestor_accept(ancestor_add(a, p, cap, GW_GROUP, "Gateway", p->meta.ns, t->name, NULL),
				ok, reason, msg, gen);
		return;
	}
	const struct gw_httproute *r = obj;
	for (size_t i = 0; i < r->nparents; i++) {
		const struct gw_parent_ref *pr = r->parents[i].ref;
		ancestor_accept(ancestor_add(a, p, cap, pr->group ? pr->group : GW_GROUP,
					     pr->kind ? pr->kind : "Gateway", pr->ns ? pr->ns : r->meta.ns,
					     pr->name, pr->section_name),
				ok, reason, msg, gen);
	}
}

void resolve_btpolicies(struct arena *a, struct gw_model *m, struct diag_list *dl)
{
	size_t n = m->nbtpolicies;
	/* Oldest first: a target belongs to the first policy that names it. */
	struct gw_btpolicy **order = arena_alloc(a, (n + 1) * sizeof *order);
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		while (j > 0 && policy_older(m->btpolicies[i], order[j - 1])) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = m->btpolicies[i];
	}
	for (size_t i = 0; i < n; i++) {
		struct gw_btpolicy *p = order[i];
		size_t cap = 0;
		p->applied = arena_alloc(a, (p->ntargets + 1) * sizeof *p->applied);
		for (size_t t = 0; t < p->ntargets; t++) {
			const struct gw_policy_target *tg = &p->targets[t];
			const void *obj = find_target(m, p->meta.ns, tg);
			if (obj == NULL) {
				resolve_warn(dl, &p->meta, &tg->pos, "spec.targetRefs: %s %s/%s not found",
					     tg->kind, p->meta.ns, tg->name);
				mark_ancestors(a, p, &cap, tg, NULL, false, "TargetNotFound",
					       arena_printf(a, "%s %s/%s not found", tg->kind, p->meta.ns, tg->name));
				continue;
			}
			const struct gw_btpolicy *owner = NULL;
			for (size_t k = 0; k < i && !owner; k++)
				for (size_t u = 0; u < order[k]->ntargets; u++)
					if (order[k]->applied[u] == obj)
						owner = order[k];
			if (owner != NULL) {
				const char *msg = arena_printf(a, "Unable to target %s/%s, another BackendTrafficPolicy "
							       "has already attached to it", tg->kind, tg->name);
				resolve_warn(dl, &p->meta, &tg->pos, "spec.targetRefs: %s %s/%s is already targeted by "
					     "BackendTrafficPolicy %s/%s", tg->kind, p->meta.ns, tg->name,
					     owner->meta.ns, owner->meta.name);
				mark_ancestors(a, p, &cap, tg, obj, false, "Conflicted", msg);
				continue;
			}
			p->applied[t] = obj;
			p->accepted = true;
			mark_ancestors(a, p, &cap, tg, obj, true, "Accepted", "Policy has been accepted.");
		}
	}
}
