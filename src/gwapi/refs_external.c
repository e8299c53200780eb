/* SPDX-License-Identifier: MIT */
/* refs_external: a backendRef to a Service of type ExternalName becomes a backend with
 * one fqdn endpoint, resolved by DNS at run time (discover/resolver.h). */
#include <string.h>

#include "gwapi/resolve.h"

/* Kubernetes implements ExternalName as a DNS CNAME, without proxying: a client
 * connects to spec.externalName on the port it asked for, so the endpoint's port is
 * the ref's (the Service port); targetPort plays no part. Envoy Gateway does the
 * same. One backend per Service and port, shared with the other refs to it. */
struct gw_backend *refs_external_name_backend(struct arena *a, struct gw_model *m,
					      const struct gw_service *s, uint16_t port)
{
	const char *name = arena_printf(a, "%s:%u", s->meta.name, (unsigned)port);
	for (size_t i = 0; i < m->nservice_backends; i++) {
		struct gw_backend *b = m->service_backends[i];
		if (!strcmp(b->meta.ns, s->meta.ns) && !strcmp(b->meta.name, name))
			return b;
	}
	struct gw_backend *b = arena_alloc(a, sizeof *b);
	b->meta = s->meta;
	b->meta.name = name;
	b->endpoints = arena_alloc(a, sizeof *b->endpoints);
	b->nendpoints = 1;
	b->endpoints[0].kind = GW_ENDPOINT_FQDN;
	b->endpoints[0].address = s->external_name;
	b->endpoints[0].port = port;
	b->endpoints[0].pos = s->meta.pos;
	m->service_backends = arena_grow(a, m->service_backends, m->nservice_backends,
					 m->nservice_backends + 1, sizeof *m->service_backends);
	m->service_backends[m->nservice_backends++] = b;
	return b;
}
