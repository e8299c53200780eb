/* SPDX-License-Identifier: MIT */
/* resolve: GatewayClasses, Gateways and their listeners -> status conditions, then the
 * route stages (attach.c, refs.c). Semantic problems become conditions plus warnings,
 * never errors: the rest of the configuration still applies (DESIGN.md). */
#include "gwapi/resolve.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "gwapi/resolve_policy.h"
#include "gwapi/resolve_tls.h"

void gw_conditions_set(struct gw_conditions *c, const char *type, bool status,
		       const char *reason, const char *message, int64_t generation)
{
	struct gw_condition *cond = NULL;
	for (size_t i = 0; i < c->count; i++)
		if (strcmp(c->items[i].type, type) == 0)
			cond = &c->items[i];
	if (!cond) {
		/* Upstream caps conditions at 8 per object; we never set that many. */
		if (c->count == GW_MAX_CONDITIONS)
			return;
		cond = &c->items[c->count++];
	}
	cond->type = type;
	cond->status = status ? "True" : "False";
	cond->reason = reason;
	cond->message = message ? message : "";
	cond->observed_generation = generation;
}

/* The CRD default status: what Kubernetes shows for an object no controller
 * reconciled (another controller's class, or a class that does not exist). */
static void conditions_pending(struct gw_conditions *c, bool with_programmed)
{
	c->count = 0;
	gw_conditions_set(c, "Accepted", false, "Pending", "Waiting for controller", 0);
	c->items[0].status = "Unknown";
	if (with_programmed) {
		gw_conditions_set(c, "Programmed", false, "Pending", "Waiting for controller", 0);
		c->items[1].status = "Unknown";
	}
}

const char *resolve_object_name(struct arena *a, const struct gw_meta *meta)
{
	if (!meta->ns || !meta->ns[0])
		return meta->name;
	return arena_printf(a, "%s/%s", meta->ns, meta->name);
}

void resolve_warn(struct diag_list *dl, const struct gw_meta *meta, const struct gw_pos *pos,
		  const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (!pos || !pos->file)
		pos = &meta->pos;
	if (meta->ns && meta->ns[0])
		diag_add(dl, DIAG_WARNING, pos->file, pos->line, pos->col, "%s %s/%s: %s",
			 meta->kind, meta->ns, meta->name, msg.data ? msg.data : "");
	else
		diag_add(dl, DIAG_WARNING, pos->file, pos->line, pos->col, "%s %s: %s",
			 meta->kind, meta->name, msg.data ? msg.data : "");
	buf_free(&msg);
}

bool resolve_hostname_is_wildcard(const char *h)
{
	return h && h[0] == '*' && h[1] == '.';
}

bool resolve_wildcard_covers(const char *wildcard, const char *name)
{
	const char *suffix = wildcard + 1; /* ".example.com" */
	size_t sl = strlen(suffix), nl = strlen(name);
	if (resolve_hostname_is_wildcard(name)) {
		/* Another wildcard: covered when its suffix is ours or narrower. */
		const char *ns = name + 1;
		size_t nsl = nl - 1;
		return nsl >= sl && strcasecmp(ns + nsl - sl, suffix) == 0;
	}
	/* One or more labels before the suffix (§3.1): never the bare domain. */
	return nl > sl && strcasecmp(name + nl - sl, suffix) == 0;
}

const char *resolve_rule_unsupported(const struct gw_http_rule *r)
{
	/* Every match type decodes into something the router implements (regular
	 * expressions included); the hook stays for the rule features still to come. */
	(void)r;
	return NULL;
}

/* ---- GatewayClass ---- */

static void resolve_classes(struct gw_model *m, const char *controller_name,
			    struct diag_list *dl)
{
	for (size_t i = 0; i < m->ngatewayclasses; i++) {
		struct gw_gatewayclass *gc = m->gatewayclasses[i];
		gc->is_ours = gc->controller_name && controller_name &&
			      strcmp(gc->controller_name, controller_name) == 0;
		if (!gc->is_ours) {
			conditions_pending(&gc->conditions, false);
		} else if (gc->has_parameters_ref) {
			/* §2.3: a parametersRef the implementation cannot use. */
			static const char msg[] = "gatewayd defines no parameters kind: spec.parametersRef cannot be used";
			gw_conditions_set(&gc->conditions, "Accepted", false, "InvalidParameters", msg,
					  gc->meta.generation);
			resolve_warn(dl, &gc->meta, NULL,
				     "spec.parametersRef: gatewayd defines no parameters kind: the class is not accepted");
		} else {
			gw_conditions_set(&gc->conditions, "Accepted", true, "Accepted",
					  "Valid GatewayClass", gc->meta.generation);
		}
	}
}

static bool class_accepted(const struct gw_gatewayclass *gc)
{
	return gc->conditions.count > 0 && strcmp(gc->conditions.items[0].status, "True") == 0;
}

static struct gw_gatewayclass *find_class(const struct gw_model *m, const char *name)
{
	for (size_t i = 0; i < m->ngatewayclasses; i++)
		if (name && strcmp(m->gatewayclasses[i]->meta.name, name) == 0)
			return m->gatewayclasses[i];
	return NULL;
}

/* ---- Gateway addresses ---- */

/* Per-Gateway facts that conflicts and conditions need, kept beside the model. */
struct gw_info {
	struct gw_gateway *gw;
	const char *class_msg;  /* the class is ours but not accepted, or the Gateway's
				 * parametersRef cannot be used: nothing is served */
	const char *class_reason; /* its Accepted reason: Invalid or InvalidParameters */
	bool addresses_ok;      /* every address usable: the Gateway may bind */
	const char *addr_reason; /* first address problem (reason), or NULL */
	const char *addr_message;
	bool addr_unsupported;  /* the problem is UnsupportedAddress (Accepted=False) */
	unsigned char (*addrs)[17]; /* family byte + 16 address bytes of each usable address */
	size_t naddrs;
};

static void check_addresses(struct arena *a, struct gw_info *gi, struct diag_list *dl)
{
	struct gw_gateway *gw = gi->gw;
	gi->addresses_ok = true;
	gi->addrs = arena_alloc(a, (gw->naddresses + 1) * sizeof *gi->addrs);
	for (size_t i = 0; i < gw->naddresses; i++) {
		const struct gw_address *ad = &gw->addresses[i];
		const char *type = ad->type ? ad->type : "IPAddress";
		const char *reason = NULL, *msg = NULL;
		unsigned char bin[16];
		if (strcmp(type, "IPAddress") != 0) {
			reason = "UnsupportedAddress";
			msg = arena_printf(a, "address type \"%s\" is not supported", type);
		} else if (!ad->value || !ad->value[0]) {
			/* GatewayAddressEmpty: we cannot pick an address for the user. */
			reason = "AddressNotAssigned";
			msg = "an empty IPAddress cannot be assigned: give the address to bind";
		} else if (inet_pton(AF_INET, ad->value, bin) == 1) {
			unsigned char *e = gi->addrs[gi->naddrs++];
			memset(e, 0, 17);
			e[0] = AF_INET;
			memcpy(e + 1, bin, 4);
		} else if (inet_pton(AF_INET6, ad->value, bin) == 1) {
			unsigned char *e = gi->addrs[gi->naddrs++];
			e[0] = AF_INET6;
			memcpy(e + 1, bin, 16);
		} else {
			reason = "AddressNotUsable";
			msg = arena_printf(a, "\"%s\" is not an IP address", ad->value);
		}
		if (!reason)
			continue;
		resolve_warn(dl, &gw->meta, &ad->pos, "spec.addresses[%zu]: %s", i, msg);
		gi->addresses_ok = false;
		bool unsupported = strcmp(reason, "UnsupportedAddress") == 0;
		/* The first problem is reported, except that UnsupportedAddress (which
		 * makes the Gateway Accepted=False) wins over the Programmed-only ones. */
		if (!gi->addr_reason || (unsupported && !gi->addr_unsupported)) {
			gi->addr_reason = reason;
			gi->addr_message = msg;
			gi->addr_unsupported = unsupported;
		}
	}
}

/* Could two Gateways receive the same connection? No addresses = every address. */
static bool addresses_overlap(const struct gw_info *x, const struct gw_info *y)
{
	if (x->naddrs == 0 || y->naddrs == 0)
		return true;
	for (size_t i = 0; i < x->naddrs; i++)
		for (size_t j = 0; j < y->naddrs; j++)
			if (memcmp(x->addrs[i], y->addrs[j], 17) == 0)
				return true;
	return false;
}

/* ---- listeners ---- */

static bool protocol_supported(enum gw_protocol p)
{
	/* HTTPS (and TLS, TCP, UDP) arrive with later versions. */
	return p == GW_PROTO_HTTP || p == GW_PROTO_HTTPS || attach_l4_protocol(p);
}

/* §2.4 "Distinct listeners": listeners sharing a port must share a protocol; UDP ports
 * are separate from TCP ones. Custom protocols have no known transport and never
 * conflict. HTTPS and TLS both select by SNI and may share a port upstream, where the
 * implementation supports it; gatewayd binds one protocol per socket (compile/image.h
 * img_bind.protocol), so it reports them as ProtocolConflict, as conformance
 * TLSRouteListenerMixedTerminationNotSupported expects of an implementation without
 * mixed termination. */
static bool protocols_compatible(enum gw_protocol x, enum gw_protocol y)
{
	return x == y;
}

static bool same_transport(enum gw_protocol x, enum gw_protocol y)
{
	if (x == GW_PROTO_OTHER || y == GW_PROTO_OTHER)
		return false;
	return (x == GW_PROTO_UDP) == (y == GW_PROTO_UDP);
}

static bool hostnames_equal(const char *x, const char *y)
{
	if (!x || !y)
		return !x && !y;
	return strcasecmp(x, y) == 0;
}

struct lis_ref {
	struct gw_info *gi;          /* the Gateway that binds it */
	struct gw_listener *l;
	const struct gw_meta *owner; /* the Gateway, or the ListenerSet that declares it */
	uint32_t rank;               /* 0: the Gateway's own; n: the n-th ListenerSet (§2.4) */
	const char *conflict; /* "HostnameConflict", "ProtocolConflict" or NULL */
	const char *conflict_with;
};

/* Every pair of listeners that could receive the same connection (same port, Gateways
 * whose addresses overlap), on one Gateway or across Gateways. Conflicted listeners
 * all lose: upstream says none of them may be chosen as a winner; except that between
 * a Gateway and its ListenerSets precedence decides (§2.4): the Gateway's own listener,
 * then the older ListenerSet, keeps the port and only the other one is conflicted. */
static void find_conflicts(struct arena *a, struct lis_ref *ls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct gw_listener *li = ls[i].l;
		for (size_t j = i + 1; j < n; j++) {
			const struct gw_listener *lj = ls[j].l;
			if (li->port != lj->port || !same_transport(li->protocol, lj->protocol) ||
			    !addresses_overlap(ls[i].gi, ls[j].gi))
				continue;
			const char *reason;
			if (!protocols_compatible(li->protocol, lj->protocol))
				reason = "ProtocolConflict";
			else if (hostnames_equal(li->hostname, lj->hostname))
				reason = "HostnameConflict";
			else
				continue;
			bool ranked = ls[i].gi == ls[j].gi && ls[i].rank != ls[j].rank;
			for (int k = 0; k < 2; k++) {
				struct lis_ref *me = &ls[k ? j : i], *other = &ls[k ? i : j];
				if (ranked && me->rank < other->rank)
					continue; /* the winner stays unconflicted */
				/* A protocol conflict is the stronger statement: keep it. */
				if (me->conflict && strcmp(me->conflict, "ProtocolConflict") == 0)
					continue;
				me->conflict = reason;
				me->conflict_with = arena_printf(a, "%s %s/%s listener \"%s\"", other->owner->kind,
					other->owner->ns, other->owner->name, other->l->name);
			}
		}
	}
}

/* The route kind of the listener's protocol (attach_l4.c): HTTPRoute on HTTP. */
static bool kind_fits(const struct gw_listener *l, const struct gw_route_group_kind *k)
{
	return attach_l4_kind_fits(l->protocol, k);
}

/* allowedRoutes.kinds -> supportedKinds; returns false if some kind is invalid. */
static bool listener_kinds(struct arena *a, const struct gw_meta *owner, struct gw_listener *l, size_t li,
			   struct diag_list *dl)
{
	struct gw_listener_status *st = &l->status;
	st->supported_kinds = arena_alloc(a, (l->nkinds + 1) * sizeof *st->supported_kinds);
	st->nsupported_kinds = 0;
	if (!protocol_supported(l->protocol))
		return true; /* supportedKinds [] (conformance: UnsupportedProtocol) */
	if (l->nkinds == 0) {
		st->supported_kinds[0].group = GW_GROUP;
		st->supported_kinds[0].kind = attach_l4_default_kind(l->protocol);
		st->supported_kinds[0].pos = l->pos;
		st->nsupported_kinds = 1;
		return true;
	}
	bool ok = true;
	for (size_t k = 0; k < l->nkinds; k++) {
		const struct gw_route_group_kind *rk = &l->kinds[k];
		if (!kind_fits(l, rk)) {
			resolve_warn(dl, owner, &rk->pos,
				     "spec.listeners[%zu].allowedRoutes.kinds[%zu]: kind \"%s\" in group \"%s\" is not supported on an %s listener",
				     li, k, rk->kind ? rk->kind : "", rk->group ? rk->group : GW_GROUP,
				     l->protocol_name ? l->protocol_name : "HTTP");
			ok = false;
			continue;
		}
		if (st->nsupported_kinds == 0) { /* the same kind twice is listed once */
			st->supported_kinds[0] = *rk;
			st->supported_kinds[0].group = GW_GROUP;
			st->nsupported_kinds = 1;
		}
	}
	return ok;
}

static void listener_conditions(struct arena *a, const struct gw_meta *owner, struct gw_listener *l, size_t li,
				const struct lis_ref *lr, struct diag_list *dl)
{
	struct gw_listener_status *st = &l->status;
	int64_t gen = owner->generation;
	bool kinds_ok = listener_kinds(a, owner, l, li, dl);
	bool accepted = true;
	const char *conflict_msg = NULL;

	st->conditions.count = 0;
	st->attached_routes = 0;
	if (lr && lr->conflict)
		conflict_msg = arena_printf(a, "%s with %s on port %u",
			strcmp(lr->conflict, "HostnameConflict") == 0 ? "hostname conflicts" : "protocol conflicts",
			lr->conflict_with, (unsigned)l->port);
	if (!protocol_supported(l->protocol)) {
		const char *msg = arena_printf(a, "protocol \"%s\" is not supported",
					       l->protocol_name ? l->protocol_name : "?");
		gw_conditions_set(&st->conditions, "Accepted", false, "UnsupportedProtocol", msg, gen);
		gw_conditions_set(&st->conditions, "Programmed", false, "Invalid", msg, gen);
		resolve_warn(dl, owner, &l->pos, "spec.listeners[%zu] \"%s\": %s", li, l->name, msg);
		accepted = false;
	} else if (conflict_msg) {
		gw_conditions_set(&st->conditions, "Accepted", false, lr->conflict, conflict_msg, gen);
		gw_conditions_set(&st->conditions, "Programmed", false, lr->conflict, conflict_msg, gen);
		resolve_warn(dl, owner, &l->pos, "spec.listeners[%zu] \"%s\": %s", li, l->name,
			     conflict_msg);
		accepted = false;
	} else if (attach_l4_listener_unsupported(l)) {
		const char *msg = attach_l4_listener_unsupported(l);
		gw_conditions_set(&st->conditions, "Accepted", false, "UnsupportedValue", msg, gen);
		gw_conditions_set(&st->conditions, "Programmed", false, "Invalid", msg, gen);
		resolve_warn(dl, owner, &l->pos, "spec.listeners[%zu] \"%s\": %s", li, l->name, msg);
		accepted = false;
	} else {
		gw_conditions_set(&st->conditions, "Accepted", true, "Accepted", "Listener is accepted", gen);
		if (st->nsupported_kinds > 0)
			gw_conditions_set(&st->conditions, "Programmed", true, "Programmed",
					  "Listener is programmed", gen);
		else
			gw_conditions_set(&st->conditions, "Programmed", false, "Invalid",
					  "no supported route kind: no route can attach", gen);
	}
	if (kinds_ok)
		gw_conditions_set(&st->conditions, "ResolvedRefs", true, "ResolvedRefs",
				  "Listener references are resolved", gen);
	else
		gw_conditions_set(&st->conditions, "ResolvedRefs", false, "InvalidRouteKinds",
				  "some allowedRoutes.kinds are not supported", gen);
	if (conflict_msg) /* only when true: since v1.6 absence means no conflict */
		gw_conditions_set(&st->conditions, "Conflicted", true, lr->conflict, conflict_msg, gen);
	st->is_valid = accepted && st->nsupported_kinds > 0;
}

static void gateway_conditions(struct gw_info *gi)
{
	struct gw_gateway *gw = gi->gw;
	int64_t gen = gw->meta.generation;
	size_t nvalid = 0;
	for (size_t i = 0; i < gw->nlisteners; i++)
		nvalid += gw->listeners[i].status.is_valid;

	gw->conditions.count = 0;
	if (gi->class_msg)
		gw_conditions_set(&gw->conditions, "Accepted", false, gi->class_reason, gi->class_msg, gen);
	else if (gi->addr_unsupported)
		gw_conditions_set(&gw->conditions, "Accepted", false, "UnsupportedAddress",
				  gi->addr_message, gen);
	else if (nvalid == gw->nlisteners && nvalid > 0)
		gw_conditions_set(&gw->conditions, "Accepted", true, "Accepted",
				  "Gateway is accepted", gen);
	else if (nvalid > 0)
		gw_conditions_set(&gw->conditions, "Accepted", true, "ListenersNotValid",
				  "some listeners are not valid", gen);
	else
		gw_conditions_set(&gw->conditions, "Accepted", false, "ListenersNotValid",
				  "no valid listener", gen);

	bool programmed = false;
	if (gi->class_msg)
		gw_conditions_set(&gw->conditions, "Programmed", false, "Invalid", gi->class_msg, gen);
	else if (!gi->addresses_ok)
		gw_conditions_set(&gw->conditions, "Programmed", false,
				  gi->addr_unsupported ? "Invalid" : gi->addr_reason, gi->addr_message, gen);
	else if (nvalid > 0) {
		gw_conditions_set(&gw->conditions, "Programmed", true, "Programmed",
				  "Gateway is programmed", gen);
		programmed = true;
	} else
		gw_conditions_set(&gw->conditions, "Programmed", false, "Invalid",
				  "no valid listener", gen);

	if (programmed)
		return;
	/* Nothing of this Gateway is served: its listeners are not programmed either. */
	for (size_t i = 0; i < gw->nlisteners; i++) {
		struct gw_listener_status *st = &gw->listeners[i].status;
		if (st->is_valid)
			gw_conditions_set(&st->conditions, "Programmed", false, "Invalid",
					  "the Gateway is not programmed", gen);
		st->is_valid = false;
	}
}

/* ---- ListenerSets (§2.5, §4.5) ---- */

static struct gw_info *info_of(struct gw_info *infos, size_t n, const struct gw_gateway *gw)
{
	for (size_t i = 0; i < n; i++)
		if (infos[i].gw == gw)
			return &infos[i];
	return NULL;
}

int resolve_meta_age_cmp(const struct gw_meta *a, const struct gw_meta *b)
{
	if (!a->creation_timestamp != !b->creation_timestamp)
		return a->creation_timestamp ? -1 : 1;
	int c = a->creation_timestamp ? strcmp(a->creation_timestamp, b->creation_timestamp) : 0;
	if (c)
		return c;
	if (a->load_order != b->load_order)
		return a->load_order < b->load_order ? -1 : 1;
	if ((c = strcmp(a->ns, b->ns)) != 0)
		return c;
	return strcmp(a->name, b->name);
}

/* ListenerSet precedence: the older first. */
static int set_cmp(const void *x, const void *y)
{
	return resolve_meta_age_cmp(&(*(struct gw_listenerset *const *)x)->meta,
				    &(*(struct gw_listenerset *const *)y)->meta);
}

static void set_pending(struct gw_listenerset *s)
{
	conditions_pending(&s->conditions, true);
	for (size_t i = 0; i < s->nlisteners; i++) {
		s->listeners[i].status.conditions.count = 0;
		s->listeners[i].status.is_valid = false;
	}
}

/* Finds each ListenerSet's parent and applies its allowedListeners. The sets that may
 * attach (to a Gateway that binds) go to out[], in precedence order; the others get
 * their conditions here. */
static size_t attach_listenersets(struct arena *a, struct gw_model *m, struct gw_info *infos, size_t ninfos,
				  struct gw_listenerset **out, struct diag_list *dl)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nlistenersets; i++) {
		struct gw_listenerset *s = m->listenersets[i];
		int64_t gen = s->meta.generation;
		s->gateway = NULL;
		if (strcmp(s->parent_group, GW_GROUP) != 0 || strcmp(s->parent_kind, "Gateway") != 0) {
			resolve_warn(dl, &s->meta, &s->parent_pos, "spec.parentRef: kind \"%s\" in group \"%s\" "
				     "is not a Gateway", s->parent_kind, s->parent_group);
			set_pending(s);
			continue;
		}
		struct gw_gateway *gw = NULL;
		for (size_t g = 0; g < m->ngateways && !gw; g++)
			if (!strcmp(m->gateways[g]->meta.ns, s->parent_ns) &&
			    !strcmp(m->gateways[g]->meta.name, s->parent_name ? s->parent_name : ""))
				gw = m->gateways[g];
		if (!gw || !gw->is_ours) {
			/* Nobody of ours reconciles it: the CRD's default status. */
			if (!gw)
				resolve_warn(dl, &s->meta, &s->parent_pos, "spec.parentRef: Gateway \"%s/%s\" not found",
					     s->parent_ns, s->parent_name ? s->parent_name : "");
			set_pending(s);
			continue;
		}
		bool allowed;
		switch (gw->allowed_listeners_from) {
		case GW_FROM_ALL:
			allowed = true;
			break;
		case GW_FROM_SAME:
			allowed = !strcmp(gw->meta.ns, s->meta.ns);
			break;
		case GW_FROM_SELECTOR:
			allowed = attach_namespace_selected(m, &gw->allowed_listeners_selector, s->meta.ns);
			break;
		default:
			allowed = false;
			break;
		}
		struct gw_info *gi = info_of(infos, ninfos, gw);
		const char *reason = NULL, *msg = NULL;
		if (!allowed) {
			reason = "NotAllowed";
			msg = arena_printf(a, "Gateway %s/%s does not allow ListenerSets from namespace \"%s\" "
					   "(spec.allowedListeners)", gw->meta.ns, gw->meta.name, s->meta.ns);
		} else if (!gi || gi->class_msg || !gi->addresses_ok) {
			reason = "ParentNotAccepted";
			msg = arena_printf(a, "Gateway %s/%s is not served", gw->meta.ns, gw->meta.name);
		}
		if (reason) {
			resolve_warn(dl, &s->meta, &s->parent_pos, "spec.parentRef: %s", msg);
			s->conditions.count = 0;
			gw_conditions_set(&s->conditions, "Accepted", false, reason, msg, gen);
			gw_conditions_set(&s->conditions, "Programmed", false,
					  !strcmp(reason, "NotAllowed") ? "NotAllowed" : "ParentNotProgrammed", msg, gen);
			for (size_t j = 0; j < s->nlisteners; j++) {
				struct gw_listener_status *st = &s->listeners[j].status;
				st->conditions.count = 0;
				st->is_valid = false;
				st->attached_routes = 0;
				gw_conditions_set(&st->conditions, "Accepted", false, reason, msg, gen);
				gw_conditions_set(&st->conditions, "Programmed", false, "Invalid", msg, gen);
			}
			continue;
		}
		s->gateway = gw;
		out[n++] = s;
	}
	if (n > 1)
		qsort(out, n, sizeof *out, set_cmp);
	return n;
}

/* §4.5, after its listeners and its Gateway got theirs. */
static void listenerset_conditions(struct arena *a, struct gw_listenerset *s, struct diag_list *dl)
{
	int64_t gen = s->meta.generation;
	const struct gw_gateway *gw = s->gateway;
	size_t nvalid = 0;
	for (size_t i = 0; i < s->nlisteners; i++)
		nvalid += s->listeners[i].status.is_valid;
	bool gw_accepted = false, gw_programmed = false;
	for (size_t i = 0; i < gw->conditions.count; i++) {
		const struct gw_condition *c = &gw->conditions.items[i];
		if (!strcmp(c->type, "Accepted"))
			gw_accepted = !strcmp(c->status, "True");
		if (!strcmp(c->type, "Programmed"))
			gw_programmed = !strcmp(c->status, "True");
	}
	const char *gwname = arena_printf(a, "%s/%s", gw->meta.ns, gw->meta.name);
	s->conditions.count = 0;
	if (!gw_accepted) {
		const char *msg = arena_printf(a, "Gateway %s is not accepted", gwname);
		gw_conditions_set(&s->conditions, "Accepted", false, "ParentNotAccepted", msg, gen);
	} else if (nvalid == 0) {
		gw_conditions_set(&s->conditions, "Accepted", false, "ListenersNotValid", "no valid listener", gen);
	} else if (nvalid < s->nlisteners) {
		gw_conditions_set(&s->conditions, "Accepted", true, "ListenersNotValid",
				  "some listeners are not valid", gen);
	} else {
		gw_conditions_set(&s->conditions, "Accepted", true, "Accepted", "ListenerSet is accepted", gen);
	}
	if (!gw_programmed) {
		const char *msg = arena_printf(a, "Gateway %s is not programmed", gwname);
		gw_conditions_set(&s->conditions, "Programmed", false, "ParentNotProgrammed", msg, gen);
		for (size_t i = 0; i < s->nlisteners; i++) {
			struct gw_listener_status *st = &s->listeners[i].status;
			if (st->is_valid)
				gw_conditions_set(&st->conditions, "Programmed", false, "Invalid", msg, gen);
			st->is_valid = false;
		}
	} else if (nvalid == 0) {
		gw_conditions_set(&s->conditions, "Programmed", false, "ListenersNotValid", "no valid listener", gen);
	} else {
		gw_conditions_set(&s->conditions, "Programmed", true, "Programmed", "ListenerSet is programmed", gen);
	}
	if (gw_accepted && nvalid > 0)
		s->gateway->attached_listener_sets++;
	else
		resolve_warn(dl, &s->meta, NULL, "not accepted: %s", s->conditions.items[0].message);
}

static void resolve_gateways(struct arena *a, struct gw_model *m, struct diag_list *dl)
{
	struct gw_info *infos = arena_alloc(a, (m->ngateways + 1) * sizeof *infos);
	size_t ninfos = 0, nlis = 0;

	for (size_t i = 0; i < m->ngateways; i++) {
		struct gw_gateway *gw = m->gateways[i];
		struct gw_gatewayclass *gc = find_class(m, gw->gateway_class_name);
		gw->is_ours = gc && gc->is_ours;
		if (!gw->is_ours) {
			/* Nobody reconciles a Gateway whose class is missing, and another
			 * controller owns the others: both keep the CRD's default status
			 * (Accepted/Programmed Unknown, Pending), as in Kubernetes. */
			conditions_pending(&gw->conditions, true);
			if (!gc)
				resolve_warn(dl, &gw->meta, NULL,
					     "spec.gatewayClassName: GatewayClass \"%s\" not found: the Gateway is ignored",
					     gw->gateway_class_name ? gw->gateway_class_name : "");
			continue;
		}
		struct gw_info *gi = &infos[ninfos++];
		gi->gw = gw;
		gw->attached_listener_sets = 0;
		check_addresses(a, gi, dl);
		gi->class_reason = "Invalid";
		if (!class_accepted(gc)) {
			gi->class_msg = arena_printf(a, "GatewayClass \"%s\" is not accepted", gc->meta.name);
			resolve_warn(dl, &gw->meta, NULL, "%s: the Gateway is not served", gi->class_msg);
		} else if (gw->has_parameters_ref) {
			/* GatewayInvalidParametersRef: a reference the implementation cannot use */
			gi->class_msg = "gatewayd defines no parameters kind: spec.infrastructure.parametersRef "
					"cannot be used";
			gi->class_reason = "InvalidParameters";
			resolve_warn(dl, &gw->meta, NULL, "%s: the Gateway is not served", gi->class_msg);
		}
		if (gi->addresses_ok && !gi->class_msg)
			nlis += gw->nlisteners;
	}

	/* ListenerSets merge into their Gateway, in precedence order (§2.4). */
	struct gw_listenerset **sets = arena_alloc(a, (m->nlistenersets + 1) * sizeof *sets);
	size_t nsets = attach_listenersets(a, m, infos, ninfos, sets, dl);
	for (size_t i = 0; i < nsets; i++)
		nlis += sets[i]->nlisteners;

	/* Only Gateways that may bind take part in conflicts. */
	struct lis_ref *ls = arena_alloc(a, (nlis + 1) * sizeof *ls);
	size_t n = 0;
	for (size_t i = 0; i < ninfos; i++) {
		if (!infos[i].addresses_ok || infos[i].class_msg)
			continue;
		for (size_t j = 0; j < infos[i].gw->nlisteners; j++)
			ls[n++] = (struct lis_ref){ .gi = &infos[i], .l = &infos[i].gw->listeners[j],
						    .owner = &infos[i].gw->meta, .rank = 0 };
	}
	size_t first_set = n;
	for (size_t i = 0; i < nsets; i++) {
		struct gw_info *gi = info_of(infos, ninfos, sets[i]->gateway);
		for (size_t j = 0; j < sets[i]->nlisteners; j++)
			ls[n++] = (struct lis_ref){ .gi = gi, .l = &sets[i]->listeners[j],
						    .owner = &sets[i]->meta, .rank = (uint32_t)i + 1 };
	}
	find_conflicts(a, ls, n);

	size_t k = 0;
	for (size_t i = 0; i < ninfos; i++) {
		struct gw_gateway *gw = infos[i].gw;
		for (size_t j = 0; j < gw->nlisteners; j++) {
			const struct lis_ref *lr = NULL;
			if (infos[i].addresses_ok && !infos[i].class_msg)
				lr = &ls[k++];
			listener_conditions(a, &gw->meta, &gw->listeners[j], j, lr, dl);
			resolve_tls_listener(a, m, gw, &gw->meta, &gw->listeners[j], j, dl);
		}
		gateway_conditions(&infos[i]);
	}
	k = first_set;
	for (size_t i = 0; i < nsets; i++) {
		for (size_t j = 0; j < sets[i]->nlisteners; j++) {
			listener_conditions(a, &sets[i]->meta, &sets[i]->listeners[j], j, &ls[k++], dl);
			resolve_tls_listener(a, m, sets[i]->gateway, &sets[i]->meta, &sets[i]->listeners[j], j, dl);
		}
		listenerset_conditions(a, sets[i], dl);
	}
}

static void resolve_backends(struct gw_model *m)
{
	/* Envoy Gateway's Backend status: Accepted once the resource is valid, which
	 * decode guarantees. */
	for (size_t i = 0; i < m->nbackends; i++) {
		struct gw_backend *b = m->backends[i];
		gw_conditions_set(&b->conditions, "Accepted", true, "Accepted",
				  "The Backend was accepted", b->meta.generation);
	}
}

bool gwapi_resolve(struct arena *a, struct gw_model *m, const char *controller_name,
		   struct diag_list *dl)
{
	size_t errors = dl->errors;
	resolve_classes(m, controller_name, dl);
	resolve_gateways(a, m, dl);
	resolve_backends(m);
	attach_routes(a, m, dl);
	refs_resolve_routes(a, m, dl);
	resolve_btpolicies(a, m, dl);
	resolve_tls(a, m, dl);
	return dl->errors == errors;
}
