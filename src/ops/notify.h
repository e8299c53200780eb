/* SPDX-License-Identifier: MIT */
/* notify: the systemd readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram per message to the unix socket named by $NOTIFY_SOCKET. */
#ifndef GW_OPS_NOTIFY_H
#define GW_OPS_NOTIFY_H

#include <stdbool.h>

/* Reads $NOTIFY_SOCKET once. Returns true when systemd (or a test) listens. */
bool notify_init(void);
/* Sends state (e.g. "READY=1\nSTATUS=generation 7"). No-op without a socket.
 * Returns 0, or -1 with errno. */
int notify_send(const char *state);
/* "RELOADING=1\nMONOTONIC_USEC=<now>", as Type=notify-reload expects. */
int notify_reloading(void);

#endif
