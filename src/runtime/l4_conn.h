/* SPDX-License-Identifier: MIT */
/* l4_conn: client connections on TLS passthrough (TLSRoute) and TCP (TCPRoute) binds.
 * TLS: the ClientHello is read (bounded by header_timeout and CH_MAX_BYTES) in state
 * CONN_PEEK, its SNI routed through the listener's matches; TCP: routed at accept. Both
 * then pick a backend by weight, open a fresh upstream connection (never pooled, closed
 * at the end), send what the client sent so far and become a tunnel (runtime/tunnel.c).
 * No route, no backend or no endpoint: the connection is closed. Worker thread only. */
#ifndef GW_RUNTIME_L4_CONN_H
#define GW_RUNTIME_L4_CONN_H

#include "runtime/conn.h"

/* From conn_accept, once c is set up: a connection on a TLS or TCP bind is taken over
 * (and may be closed here); on any other bind nothing happens. */
void l4_conn_accept(struct conn *c);
/* CONN_PEEK: reads the ClientHello; handler returns as conn_run expects. */
int l4_conn_run(struct conn *c);
/* CONN_PEEK deadline: closes the connection. */
void l4_conn_timeout(struct conn *c);

#endif
