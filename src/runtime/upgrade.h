/* SPDX-License-Identifier: MIT */
/* upgrade: HTTP/1.1 Upgrade through the proxy (RFC 9110 §7.8, §15.2.2; WebSocket is
 * RFC 6455). A request with "Connection: upgrade" and an Upgrade field is forwarded
 * with both; a 101 Switching Protocols from the backend is relayed and the connection
 * becomes a tunnel (runtime/tunnel.c); any other answer is an ordinary response (the
 * upgrade was refused). "h2c" is never forwarded: gatewayd speaks HTTP/1.1 to the
 * backend itself. Worker thread only. */
#ifndef GW_RUNTIME_UPGRADE_H
#define GW_RUNTIME_UPGRADE_H

#include <stddef.h>

#include "runtime/conn.h"
#include "runtime/h1_parse.h"

/* The forwarded request head is c->hout[0..n) and c->req.headers are still valid: adds
 * "Connection: upgrade" and the Upgrade field when the request asks for an upgrade that
 * may be forwarded, and then sets c->upgrade. Returns the new length (n when nothing
 * was added), or 0 when no buffer could be had. */
size_t upgrade_request_head(struct conn *c, size_t n);

/* A 101 response head resp of head_len bytes at c->uin + c->uin_start, to a request
 * with c->upgrade: relays it, logs the request (status 101), releases the generation
 * and enters CONN_TUNNEL. Returns like the other handlers (-1 closed, 1 changed). */
int upgrade_switch(struct conn *c, const struct h1_response *resp, size_t head_len);

#endif
