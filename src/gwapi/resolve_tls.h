/* SPDX-License-Identifier: MIT */
/* resolve_tls: the status side of TLS: HTTPS listeners' certificates
 * and client-certificate validation, Gateway TLS conditions, BackendTLSPolicy targets,
 * conflicts and ancestors. Internal to the config pipeline. */
#ifndef GW_GWAPI_RESOLVE_TLS_H
#define GW_GWAPI_RESOLVE_TLS_H

#include <stddef.h>

#include "gwapi/gwapi.h"

struct buf;

/* Right after listener_conditions(), before the Gateway's own conditions: an HTTPS
 * listener of gw (declared by owner: the Gateway or a ListenerSet) gets its
 * certificates and CA bundle resolved; bad references make ResolvedRefs False and,
 * when nothing usable is left, Programmed False (the listener is not served). */
void resolve_tls_listener(struct arena *a, struct gw_model *m, const struct gw_gateway *gw,
			  const struct gw_meta *owner, struct gw_listener *l, size_t li,
			  struct diag_list *dl);

/* After routes and backendRefs: Gateway InsecureFrontendValidationMode, listener
 * OverlappingTLSConfig, and every BackendTLSPolicy (sets gw_backend.tls_policy). */
void resolve_tls(struct arena *a, struct gw_model *m, struct diag_list *dl);

#endif
