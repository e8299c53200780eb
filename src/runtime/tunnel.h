/* SPDX-License-Identifier: MIT */
/* tunnel: a connection in state CONN_TUNNEL carries bytes both ways, unchanged, between
 * the client (through conn_io, so TLS works) and the upstream connection c->up, until
 * both directions ended or nothing moved for the idle timeout. Used after a 101
 * Switching Protocols (WebSocket and other Upgrades) and for TLS passthrough and
 * TCPRoute connections. Buffers are the connection's own: client -> upstream bytes
 * wait in c->in[fwd_off..in_end), upstream -> client bytes in c->uin[ufwd..uin_end);
 * a full buffer stops reading that side (back-pressure). Worker thread only. */
#ifndef GW_RUNTIME_TUNNEL_H
#define GW_RUNTIME_TUNNEL_H

#include "runtime/conn.h"

/* Enters CONN_TUNNEL. c->up is connected (or connecting: it waits for EV_WRITE);
 * bytes already buffered on either side are sent first. idle: seconds without a byte
 * in either direction before both sides close (0 = the [limits] idle_timeout).
 * Returns like the other handlers: -1 closed, 0 waiting, 1 state changed.
 * The caller sets c->rq: RQ_CONNECT (the zero value) when upstream_get said 1 or it
 * does not know (the tunnel then waits for EV_WRITE, checks SO_ERROR, and closes on a
 * failure or after connect_timeout), anything else when c->up is connected. A
 * response head waiting in c->hout (hout_is_req false) goes out before c->uin bytes.
 * Bytes moved are added to c->log.bytes_in / bytes_out; conn_close logs c->log when
 * t_head or status is set and leaves bytes_in as counted. The tunnel does not touch
 * c->wg: a caller that keeps it pins the generation (and its LMDB snapshot) as long
 * as the connection lasts, so log early and release it (upgrade.c does). */
int tunnel_start(struct conn *c, ev_tstamp idle);
/* From conn_run and conn_on_upstream_io in CONN_TUNNEL. */
int tunnel_run(struct conn *c);
/* From conn_on_timer in CONN_TUNNEL: closes both sides. */
int tunnel_timeout(struct conn *c);
/* Events the upstream and the client connection need in CONN_TUNNEL. */
int tunnel_up_events(const struct conn *c);
int tunnel_client_events(const struct conn *c);

#endif
