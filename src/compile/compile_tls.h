/* SPDX-License-Identifier: MIT */
/* compile_tls: the TLS parts of the image: an HTTPS listener's
 * certificates, version, ciphers and client validation; a backend's BackendTLSPolicy.
 * Called from compile.c; private to compile/. */
#ifndef GW_COMPILE_COMPILE_TLS_H
#define GW_COMPILE_COMPILE_TLS_H

#include <stdint.h>

#include "compile/cctx.h"

/* Fills il's TLS fields from an HTTPS listener (nothing for other protocols). */
void compile_tls_listener(struct cctx *c, const struct gw_listener *l, struct img_listener *il);

/* Sets il->backend_cert: gw's spec.tls.backend client certificate, or IMG_NONE. Called
 * for every listener (of the Gateway or of its ListenerSets). */
void compile_tls_backend_cert(struct cctx *c, const struct gw_gateway *gw, struct img_listener *il);

/* The index in backend_tls[] of b's BackendTLSPolicy (one record per policy), or
 * IMG_NONE. */
uint32_t compile_tls_backend(struct cctx *c, const struct gw_backend *b);

#endif
