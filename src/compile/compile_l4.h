/* SPDX-License-Identifier: MIT */
/* compile_l4: the layer-4 part of the compiler (TLS passthrough, TCP, UDP listeners).
 * Their routes (TLSRoute, TCPRoute, UDPRoute) compile with the HTTPRoutes into matches,
 * rules and backend refs (image.h img_listener); this file says which listeners are
 * served, what each bind speaks, and checks what only layer 4 needs. Private to
 * compile/. */
#ifndef GW_COMPILE_COMPILE_L4_H
#define GW_COMPILE_COMPILE_L4_H

#include <stdbool.h>
#include <stdint.h>

#include "compile/cctx.h"
#include "gwapi/gwapi.h"

/* A valid TLS (Passthrough), TCP or UDP listener: gatewayd serves it. */
bool compile_l4_serves(const struct gw_listener *l);
/* enum img_protocol of a listener protocol (HTTP for custom ones, which are not served). */
uint8_t compile_l4_protocol(enum gw_protocol p);
/* Is this image listener datagram-bound (UDP)? Binds of UDP and of TCP on one port are
 * distinct sockets. */
bool compile_l4_dgram(const struct cctx *c, uint32_t listener);
/* After compile_binds: each bind's protocol (its listeners all share one: resolve made
 * the others conflicted), and the warnings about layer-4 routes that carry no traffic. */
void compile_l4(struct cctx *c);

#endif
