/* SPDX-License-Identifier: MIT */
/* resolve_backendtls: BackendTLSPolicy (GATEWAY-API.md §2.11, §4.6) -> the backends it
 * applies to (gw_backend.tls_policy), conflicts and status.ancestors. Among policies
 * for one target and sectionName the older wins (creationTimestamp, else load order,
 * then namespace/name); a policy with a sectionName and one without do not conflict,
 * and the one with the sectionName applies to that port. A policy whose CA cannot be
 * used still applies, with nothing trusted: requests to its backends fail (5xx)
 * rather than go out unverified or in clear. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "gwapi/resolve.h"
#include "gwapi/resolve_tls.h"
#include "gwapi/resolve_tls_int.h"

#define MAX_ANCESTORS 16

static bool is_service_target(const struct gw_btls_target *t)
{
	return t->group[0] == '\0' && !strcmp(t->kind, "Service");
}

static bool is_backend_target(const struct gw_btls_target *t)
{
	return !strcmp(t->group, GW_ENVOY_GROUP) && !strcmp(t->kind, "Backend");
}

static const struct gw_service *find_service(const struct gw_model *m, const char *ns, const char *name)
{
	for (size_t i = 0; i < m->nservices; i++)
		if (!strcmp(m->services[i]->meta.ns, ns) && !strcmp(m->services[i]->meta.name, name))
			return m->services[i];
	return NULL;
}

static bool backend_exists(const struct gw_model *m, const char *ns, const char *name)
{
	for (size_t i = 0; i < m->nbackends; i++)
		if (!strcmp(m->backends[i]->meta.ns, ns) && !strcmp(m->backends[i]->meta.name, name))
			return true;
	return false;
}

static const char *port_name(const struct gw_service *s, uint16_t port)
{
	for (size_t i = 0; i < s->nports; i++)
		if (s->ports[i].port == port)
			return s->ports[i].name;
	return NULL;
}

static bool port_name_exists(const struct gw_service *s, const char *name)
{
	for (size_t i = 0; i < s->nports; i++)
		if (!strcmp(s->ports[i].name, name))
			return true;
	return false;
}

/* Does target t (of a policy in namespace ns) cover backend b? Service backends are
 * named "service:port" by refs.c. */
static bool covers(const struct gw_model *m, const char *ns, const struct gw_btls_target *t,
		   const struct gw_backend *b)
{
	if (strcmp(b->meta.ns, ns) != 0)
		return false;
	if (is_backend_target(t))
		return !strcmp(b->meta.kind, "Backend") && !strcmp(b->meta.name, t->name) && !t->section_name;
	if (!is_service_target(t) || strcmp(b->meta.kind, "Service") != 0)
		return false;
	const char *colon = strrchr(b->meta.name, ':');
	size_t n = strlen(t->name);
	if (!colon || (size_t)(colon - b->meta.name) != n || strncmp(b->meta.name, t->name, n) != 0)
		return false;
	if (!t->section_name)
		return true;
	const struct gw_service *s = find_service(m, ns, t->name);
	const char *pn = s ? port_name(s, (uint16_t)atoi(colon + 1)) : NULL;
	return pn && !strcmp(pn, t->section_name);
}

static bool same_target(const struct gw_btls_target *x, const struct gw_btls_target *y)
{
	if (strcmp(x->group, y->group) || strcmp(x->kind, y->kind) || strcmp(x->name, y->name))
		return false;
	if (!x->section_name || !y->section_name)
		return !x->section_name && !y->section_name;
	return !strcmp(x->section_name, y->section_name);
}

/* The older policy wins a conflict. */
static int policy_cmp(const void *x, const void *y)
{
	return resolve_meta_age_cmp(&(*(struct gw_backendtlspolicy *const *)x)->meta,
				    &(*(struct gw_backendtlspolicy *const *)y)->meta);
}

/* Per target: why it does not apply (NULL: it applies). */
struct tstate {
	const char *reason;          /* TargetNotFound, Invalid or Conflicted */
	const char *msg;
};

static void check_targets(struct arena *a, const struct gw_model *m, struct gw_backendtlspolicy *p,
			  struct gw_backendtlspolicy *const *winners, size_t nwinners, struct tstate *ts,
			  struct diag_list *dl)
{
	p->target_applies = arena_alloc(a, (p->ntargets + 1) * sizeof *p->target_applies);
	for (size_t i = 0; i < p->ntargets; i++) {
		const struct gw_btls_target *t = &p->targets[i];
		struct tstate *s = &ts[i];
		if (is_service_target(t)) {
			const struct gw_service *svc = find_service(m, p->meta.ns, t->name);
			if (!svc) {
				s->reason = "TargetNotFound";
				s->msg = arena_printf(a, "Service \"%s\" not found", t->name);
			} else if (t->section_name && !port_name_exists(svc, t->section_name)) {
				s->reason = "TargetNotFound";
				s->msg = arena_printf(a, "Service \"%s\" has no port named \"%s\"", t->name, t->section_name);
			}
		} else if (is_backend_target(t)) {
			if (!backend_exists(m, p->meta.ns, t->name)) {
				s->reason = "TargetNotFound";
				s->msg = arena_printf(a, "Backend \"%s\" not found", t->name);
			} else if (t->section_name) {
				s->reason = "TargetNotFound";
				s->msg = arena_printf(a, "Backend \"%s\" has no section \"%s\"", t->name, t->section_name);
			}
		} else {
			s->reason = "Invalid";
			s->msg = arena_printf(a, "kind \"%s\" in group \"%s\" cannot be a target (Service, or "
					      "Backend in %s)", t->kind, t->group, GW_ENVOY_GROUP);
		}
		for (size_t w = 0; w < nwinners && !s->reason; w++) {
			const struct gw_backendtlspolicy *o = winners[w];
			if (strcmp(o->meta.ns, p->meta.ns) != 0)
				continue;
			for (size_t k = 0; k < o->ntargets && !s->reason; k++) {
				if (!o->target_applies[k] || !same_target(&o->targets[k], t))
					continue;
				s->reason = "Conflicted";
				s->msg = arena_printf(a, "%s \"%s\"%s is already the target of BackendTLSPolicy %s, "
						      "which takes precedence (older)", t->kind, t->name,
						      t->section_name ? arena_printf(a, " port \"%s\"", t->section_name) : "",
						      resolve_object_name(a, &o->meta));
			}
		}
		p->target_applies[i] = s->reason == NULL;
		if (s->reason)
			resolve_warn(dl, &p->meta, &t->pos, "spec.targetRefs[%zu]: %s: the policy does not apply to it",
				     i, s->msg);
	}
}

/* The CA side: ca_pem, system_ca, and the ResolvedRefs / Accepted reasons. */
static void check_validation(struct arena *a, const struct gw_model *m, struct gw_backendtlspolicy *p,
			     const char **rr_reason, const char **rr_msg, const char **acc_reason,
			     const char **acc_msg, struct diag_list *dl)
{
	struct buf bundle = BUF_INIT;
	size_t nok = 0;
	for (size_t i = 0; i < p->nca_refs; i++) {
		struct rtls_ca_result res;
		enum rtls_ca rc = rtls_load_ca(a, m, &p->ca_refs[i], p->meta.ns, &res);
		if (rc == RTLS_CA_OK) {
			rtls_append_pem(&bundle, res.pem, res.len);
			nok++;
			continue;
		}
		const char *msg = arena_printf(a, "spec.validation.caCertificateRefs[%zu]: %s", i, res.problem);
		resolve_warn(dl, res.obj ? res.obj : &p->meta, &res.pos, "%s%s%s", res.obj ? "used by BackendTLSPolicy " : "",
			     res.obj ? arena_printf(a, "%s: ", resolve_object_name(a, &p->meta)) : "", msg);
		if (!*rr_reason) {
			*rr_reason = rc == RTLS_CA_BAD_KIND ? "InvalidKind" : "InvalidCACertificateRef";
			*rr_msg = msg;
		}
	}
	if (nok > 0)
		p->ca_pem = arena_strndup(a, bundle.data, bundle.len);
	buf_free(&bundle);
	if (p->well_known && !strcmp(p->well_known, "System")) {
		p->system_ca = true;
	} else if (p->well_known) {
		*acc_reason = "Invalid";
		*acc_msg = arena_printf(a, "wellKnownCACertificates \"%s\" is not supported (System)", p->well_known);
		resolve_warn(dl, &p->meta, &p->validation_pos, "spec.validation: %s: requests to its targets fail",
			     *acc_msg);
	}
	if (p->nca_refs > 0 && nok == 0 && !*acc_reason) {
		*acc_reason = "NoValidCACertificate";
		*acc_msg = arena_printf(a, "no usable CA certificate: %s", *rr_msg ? *rr_msg : "");
		resolve_warn(dl, &p->meta, &p->validation_pos, "spec.validation: %s: requests to its targets fail",
			     *acc_msg);
	}
}

/* Two passes: a policy for a whole Service first, then per-port ones, which win. */
static void apply(struct gw_model *m, struct gw_backendtlspolicy *p, bool sections)
{
	size_t nb[2] = { m->nbackends, m->nservice_backends };
	struct gw_backend **bs[2] = { m->backends, m->service_backends };
	for (size_t i = 0; i < p->ntargets; i++) {
		const struct gw_btls_target *t = &p->targets[i];
		if (!p->target_applies[i] || (t->section_name != NULL) != sections)
			continue;
		for (int k = 0; k < 2; k++)
			for (size_t j = 0; j < nb[k]; j++)
				if (covers(m, p->meta.ns, t, bs[k][j]))
					bs[k][j]->tls_policy = p;
	}
}

/* Does some route attached to gw send to a backend that target t covers? */
static bool reaches(const struct gw_model *m, const struct gw_backendtlspolicy *p, const struct gw_btls_target *t,
		    const struct gw_gateway *gw)
{
	for (size_t i = 0; i < m->nhttproutes; i++) {
		const struct gw_httproute *r = m->httproutes[i];
		bool attached = false;
		for (size_t k = 0; k < r->nattachments && !attached; k++)
			attached = r->attachments[k].gateway == gw;
		if (!attached)
			continue;
		for (size_t j = 0; j < r->nrules; j++) {
			const struct gw_http_rule *rule = &r->rules[j];
			for (size_t k = 0; k < rule->nbackend_refs; k++)
				if (rule->backend_refs[k].resolved && covers(m, p->meta.ns, t, rule->backend_refs[k].resolved))
					return true;
			for (size_t k = 0; k < rule->nfilters; k++)
				if (rule->filters[k].mirror && rule->filters[k].mirror->resolved &&
				    covers(m, p->meta.ns, t, rule->filters[k].mirror->resolved))
					return true;
		}
	}
	return false;
}

static void set_conditions(struct gw_policy_ancestor *x, const struct gw_backendtlspolicy *p, const char *acc_reason,
			   const char *acc_msg, const char *rr_reason, const char *rr_msg)
{
	int64_t gen = p->meta.generation;
	if (acc_reason)
		gw_conditions_set(&x->conditions, "Accepted", false, acc_reason, acc_msg, gen);
	else
		gw_conditions_set(&x->conditions, "Accepted", true, "Accepted", "Policy has been accepted", gen);
	if (rr_reason)
		gw_conditions_set(&x->conditions, "ResolvedRefs", false, rr_reason, rr_msg, gen);
	else
		gw_conditions_set(&x->conditions, "ResolvedRefs", true, "ResolvedRefs",
				  "Resolved all the Object references for the policy", gen);
}

static void ancestors(struct arena *a, const struct gw_model *m, struct gw_backendtlspolicy *p,
		      const struct tstate *ts, const char *acc_reason, const char *acc_msg,
		      const char *rr_reason, const char *rr_msg)
{
	p->ancestors = arena_alloc(a, (MAX_ANCESTORS + 1) * sizeof *p->ancestors);
	p->nancestors = 0;
	/* Accepted as a whole: not every target failed; the first failure explains */
	size_t napplies = 0;
	const struct tstate *first_fail = NULL;
	for (size_t i = 0; i < p->ntargets; i++) {
		napplies += p->target_applies[i];
		if (!first_fail && ts[i].reason)
			first_fail = &ts[i];
	}
	if (napplies == 0 && first_fail && !acc_reason) {
		acc_reason = first_fail->reason;
		acc_msg = first_fail->msg;
	}
	for (size_t g = 0; g < m->ngateways && p->nancestors < MAX_ANCESTORS; g++) {
		const struct gw_gateway *gw = m->gateways[g];
		if (!gw->is_ours)
			continue;
		bool any = false, any_applies = false;
		const struct tstate *why = NULL;
		for (size_t i = 0; i < p->ntargets; i++) {
			if (!reaches(m, p, &p->targets[i], gw))
				continue;
			any = true;
			any_applies |= p->target_applies[i];
			if (!why && ts[i].reason)
				why = &ts[i];
		}
		if (!any)
			continue;
		struct gw_policy_ancestor *x = &p->ancestors[p->nancestors++];
		*x = (struct gw_policy_ancestor){ GW_GROUP, "Gateway", gw->meta.ns, gw->meta.name, NULL, { .count = 0 } };
		if (!any_applies && why)
			set_conditions(x, p, why->reason, why->msg, rr_reason, rr_msg);
		else
			set_conditions(x, p, acc_reason, acc_msg, rr_reason, rr_msg);
	}
	if (p->nancestors == 0 && p->ntargets > 0) {
		/* No Gateway of ours sends to it: report on the first target itself, so that
		 * status still says what is wrong with the policy. */
		const struct gw_btls_target *t = &p->targets[0];
		struct gw_policy_ancestor *x = &p->ancestors[p->nancestors++];
		*x = (struct gw_policy_ancestor){ t->group, t->kind, p->meta.ns, t->name, t->section_name, { .count = 0 } };
		set_conditions(x, p, acc_reason, acc_msg, rr_reason, rr_msg);
	}
}

void resolve_backendtls(struct arena *a, struct gw_model *m, struct diag_list *dl)
{
	size_t n = m->nbackendtlspolicies;
	if (n == 0)
		return;
	struct gw_backendtlspolicy **order = arena_alloc(a, n * sizeof *order);
	memcpy(order, m->backendtlspolicies, n * sizeof *order);
	qsort(order, n, sizeof *order, policy_cmp);
	for (size_t i = 0; i < n; i++) {
		struct gw_backendtlspolicy *p = order[i];
		struct tstate *ts = arena_alloc(a, (p->ntargets + 1) * sizeof *ts);
		const char *rr_reason = NULL, *rr_msg = NULL, *acc_reason = NULL, *acc_msg = NULL;
		check_targets(a, m, p, order, i, ts, dl);
		check_validation(a, m, p, &rr_reason, &rr_msg, &acc_reason, &acc_msg, dl);
		p->accepted = acc_reason == NULL;
		ancestors(a, m, p, ts, acc_reason, acc_msg, rr_reason, rr_msg);
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			apply(m, order[i], pass == 1);
}
