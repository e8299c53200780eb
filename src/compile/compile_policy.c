/* SPDX-License-Identifier: MIT */
/* compile_policy: BackendTrafficPolicy into the image. Envoy Gateway's precedence: a
 * policy that targets an HTTPRoute wins over one that targets the route's Gateway (the
 * more specific target). A route attached to several Gateways with different policies
 * takes the policy of the first Gateway in its attachment order (one image rule serves
 * every listener of a route). */
#include <string.h>

#include "compile/cctx.h"
#include "compile/compile_policy.h"
#include "compile/image_policy.h"

/* The attributes of a generated hash cookie as Envoy writes them: Max-Age (whole
 * seconds, none for a ttl under 1s: a session cookie), then the policy's attributes,
 * then HttpOnly (RFC 6265 §4.1.1). */
static const char *cookie_suffix(struct cctx *c, const struct gw_btpolicy *p)
{
	const char *s = p->cookie_ttl_ms >= 1000
		      ? arena_printf(&c->a, "; Max-Age=%u", (unsigned)(p->cookie_ttl_ms / 1000)) : "";
	for (size_t i = 0; i < p->ncookie_attrs; i++) {
		const char *name = p->cookie_attrs[2 * i], *value = p->cookie_attrs[2 * i + 1];
		s = value[0] ? arena_printf(&c->a, "%s; %s=%s", s, name, value)
			     : arena_printf(&c->a, "%s; %s", s, name);
	}
	return arena_printf(&c->a, "%s; HttpOnly", s);
}

static struct img_policy policy_record(struct cctx *c, const struct gw_btpolicy *p)
{
	struct img_policy ip;
	memset(&ip, 0, sizeof ip);
	ip.name = strtab_add(&c->st, arena_printf(&c->a, "%s/%s", p->meta.ns, p->meta.name));
	ip.lb = (uint8_t)p->lb;
	ip.hash = (uint8_t)p->hash;
	/* header names compare case-insensitively: stored lowercase; cookie names as written */
	ip.hash_name = p->hash == GW_HASH_HEADER ? strtab_add_lower(&c->st, p->hash_name)
						: strtab_add(&c->st, p->hash_name);
	ip.table_size = p->table_size ? p->table_size : 65537;
	ip.hc_path = strtab_add(&c->st, p->hc_path);
	ip.hc_method = strtab_add(&c->st, p->hc_method ? p->hc_method : "GET");
	if (p->active) {
		ip.flags |= IMG_POL_ACTIVE_HC;
		ip.hc_interval_ms = p->hc_interval_ms ? p->hc_interval_ms : 1;
		ip.hc_timeout_ms = p->hc_timeout_ms ? p->hc_timeout_ms : 1;
		ip.hc_healthy = p->hc_healthy ? p->hc_healthy : 1;
		ip.hc_unhealthy = p->hc_unhealthy ? p->hc_unhealthy : 1;
		if (p->nhc_statuses == 0)
			ip.hc_statuses[(200 - IMG_HC_STATUS_MIN) / 32] |= 1u << ((200 - IMG_HC_STATUS_MIN) % 32);
		for (size_t i = 0; i < p->nhc_statuses; i++) {
			uint32_t b = (uint32_t)p->hc_statuses[i] - IMG_HC_STATUS_MIN;
			if (b < IMG_HC_STATUS_WORDS * 32u)
				ip.hc_statuses[b / 32] |= 1u << (b % 32);
		}
	}
	if (p->passive) {
		ip.flags |= IMG_POL_PASSIVE;
		if (p->split_local)
			ip.flags |= IMG_POL_SPLIT_LOCAL;
		ip.od_5xx = p->od_5xx;
		ip.od_gateway = p->od_gateway;
		ip.od_local = p->od_local;
		ip.od_interval_ms = p->od_interval_ms ? p->od_interval_ms : 1;
		ip.od_base_ejection_ms = p->od_base_ejection_ms;
		ip.od_max_percent = p->od_max_percent;
	}
	ip.cb_connections = p->cb_connections;
	ip.cb_pending = p->cb_pending;
	ip.cb_requests = p->cb_requests;
	ip.cb_retries = p->cb_retries;
	ip.connect_timeout_ms = p->connect_timeout_ms;
	ip.request_timeout_ms = p->request_timeout_ms;
	ip.idle_timeout_ms = p->idle_timeout_ms;
	ip.max_conn_ms = p->max_conn_ms;
	ip.cookie_suffix = strtab_add(&c->st, p->hash == GW_HASH_COOKIE && p->cookie_generate
					      ? cookie_suffix(c, p) : "");
	if (p->hash == GW_HASH_COOKIE && p->cookie_generate)
		ip.flags |= IMG_POL_COOKIE_GEN;
	return ip;
}

/* The image policy of the accepted policy applied to obj, or IMG_NONE. */
static uint32_t policy_of(const struct gw_model *m, const uint32_t *index, const void *obj)
{
	for (size_t i = 0; i < m->nbtpolicies; i++) {
		const struct gw_btpolicy *p = m->btpolicies[i];
		if (index[i] == IMG_NONE)
			continue;
		for (size_t t = 0; t < p->ntargets; t++)
			if (p->applied != NULL && p->applied[t] == obj)
				return index[i];
	}
	return IMG_NONE;
}

void compile_policies(struct cctx *c)
{
	const struct gw_model *m = c->m;
	if (m->nbtpolicies == 0)
		return;
	uint32_t *index = arena_alloc(&c->a, m->nbtpolicies * sizeof *index);
	for (size_t i = 0; i < m->nbtpolicies; i++) {
		const struct gw_btpolicy *p = m->btpolicies[i];
		index[i] = IMG_NONE;
		if (!p->accepted)
			continue;
		index[i] = (uint32_t)c->policies.n;
		*(struct img_policy *)vec_push(&c->policies) = policy_record(c, p);
	}
	for (size_t i = 0; i < m->nhttproutes; i++) {
		const struct gw_httproute *r = m->httproutes[i];
		if (c->rule_map[i] == NULL)
			continue;
		uint32_t pol = policy_of(m, index, r);
		for (size_t k = 0; k < r->nattachments && pol == IMG_NONE; k++)
			pol = policy_of(m, index, r->attachments[k].gateway);
		if (pol == IMG_NONE)
			continue;
		for (size_t j = 0; j < r->nrules; j++)
			if (c->rule_map[i][j] != NO_RULE)
				VEC_AT(c->rules, struct img_rule, c->rule_map[i][j])->policy = pol;
	}
}
