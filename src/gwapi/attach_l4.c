/* SPDX-License-Identifier: MIT */
/* attach_l4: what TLSRoute, TCPRoute and UDPRoute change in the shared resolve stages
 * (resolve.c listeners, attach.c parentRefs, refs.c backendRefs): which route kinds a
 * listener protocol carries (GATEWAY-API.md §2.4 allowedRoutes.kinds), which TLS
 * listeners gatewayd serves (Passthrough only, §2.8), and which Service ports the
 * backendRefs of each kind name. */
#include <string.h>

#include "gwapi/resolve.h"

static bool is_l4(enum gw_protocol p)
{
	return p == GW_PROTO_TLS || p == GW_PROTO_TCP || p == GW_PROTO_UDP;
}

bool attach_l4_protocol(enum gw_protocol p)
{
	return is_l4(p);
}

const char *attach_l4_default_kind(enum gw_protocol p)
{
	switch (p) {
	case GW_PROTO_HTTP:
	case GW_PROTO_HTTPS:
		return "HTTPRoute";
	case GW_PROTO_TLS:
		return "TLSRoute";
	case GW_PROTO_TCP:
		return "TCPRoute";
	case GW_PROTO_UDP:
		return "UDPRoute";
	default:
		return NULL;
	}
}

/* A listener carries the route kind of its protocol: TLSRoute only on TLS, and so on
 * (conformance TLSRouteInvalidNoMatchingListener, TCPRouteInvalidNonTCPListener,
 * UDPRouteNotAllowedByListeners expect the other pairs to be NotAllowedByListeners). */
bool attach_l4_kind_fits(enum gw_protocol p, const struct gw_route_group_kind *k)
{
	const char *group = k->group ? k->group : GW_GROUP;
	const char *want = attach_l4_default_kind(p);
	return want && k->kind && strcmp(group, GW_GROUP) == 0 && strcmp(k->kind, want) == 0;
}

const char *attach_l4_listener_unsupported(const struct gw_listener *l)
{
	/* TLSRouteListenerTerminateNotSupported: Accepted=False/UnsupportedValue */
	if (l->protocol == GW_PROTO_TLS && !l->tls_passthrough)
		return "tls.mode Terminate is not supported on a TLS listener (use Passthrough, or "
		       "protocol HTTPS to terminate TLS)";
	return NULL;
}

const char *attach_l4_port_protocol(const struct gw_httproute *r)
{
	return gw_route_kind_of(&r->meta) == GW_ROUTE_UDP ? "UDP" : "TCP";
}

bool attach_l4_route(const struct gw_httproute *r)
{
	return gw_route_kind_of(&r->meta) != GW_ROUTE_HTTP;
}
