/* SPDX-License-Identifier: MIT */
/* compile_l4: TLS passthrough, TCP and UDP listeners in the image. Their routes are
 * ordinary matches (a TLSRoute hostname is the match host, compared with the SNI; a
 * TCPRoute or UDPRoute is one match of any host), so precedence does the rest: exact
 * SNI before wildcards, then the oldest route (GATEWAY-API.md §2.9: only the oldest
 * TCPRoute or UDPRoute of a listener carries traffic). */
#include "compile/compile_l4.h"

#include "gwapi/resolve.h"

bool compile_l4_serves(const struct gw_listener *l)
{
	return attach_l4_protocol(l->protocol) && !attach_l4_listener_unsupported(l);
}

uint8_t compile_l4_protocol(enum gw_protocol p)
{
	switch (p) {
	case GW_PROTO_HTTPS:
		return IMG_PROTO_HTTPS;
	case GW_PROTO_TLS:
		return IMG_PROTO_TLS;
	case GW_PROTO_TCP:
		return IMG_PROTO_TCP;
	case GW_PROTO_UDP:
		return IMG_PROTO_UDP;
	default:
		return IMG_PROTO_HTTP;
	}
}

bool compile_l4_dgram(const struct cctx *c, uint32_t listener)
{
	return listener < c->listeners.n &&
	       VEC_AT(c->listeners, struct img_listener, listener)->protocol == IMG_PROTO_UDP;
}

/* §2.9: routes beyond the first on a TCP or UDP listener are accepted and counted, yet
 * carry nothing; say so, since nothing else would. */
static void warn_shadowed(struct cctx *c, const struct gw_meta *owner, const struct gw_listener *ls,
			  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct gw_listener *l = &ls[i];
		if ((l->protocol != GW_PROTO_TCP && l->protocol != GW_PROTO_UDP) || !l->status.is_valid ||
		    l->status.attached_routes < 2)
			continue;
		resolve_warn(c->dl, owner, &l->pos,
			     "listener \"%s\": %d %s attached: only the oldest carries traffic", l->name,
			     (int)l->status.attached_routes,
			     l->protocol == GW_PROTO_TCP ? "TCPRoutes" : "UDPRoutes");
	}
}

void compile_l4(struct cctx *c)
{
	const uint32_t *lindex = (const uint32_t *)c->lindex.data;
	for (size_t i = 0; i < c->binds.n; i++) {
		struct img_bind *b = VEC_AT(c->binds, struct img_bind, i);
		/* spans still hold indices here (write_image makes them offsets) */
		if (b->listeners.count == 0 || b->listeners.off >= c->lindex.n)
			continue;
		uint32_t li = lindex[b->listeners.off];
		if (li < c->listeners.n)
			b->protocol = VEC_AT(c->listeners, struct img_listener, li)->protocol;
	}
	for (size_t i = 0; i < c->m->ngateways; i++) {
		const struct gw_gateway *gw = c->m->gateways[i];
		if (gw->is_ours)
			warn_shadowed(c, &gw->meta, gw->listeners, gw->nlisteners);
	}
	for (size_t i = 0; i < c->m->nlistenersets; i++) {
		const struct gw_listenerset *set = c->m->listenersets[i];
		if (set->gateway)
			warn_shadowed(c, &set->meta, set->listeners, set->nlisteners);
	}
}
