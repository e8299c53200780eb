/* SPDX-License-Identifier: MIT */
/* control: the unix control socket run_dir/gatewayd.sock (mode 0600) that `reload`,
 * `status`, `history` and `rollback` talk to, both ends of it.
 *
 * Protocol (the only place it is defined): the client connects and sends one command
 * line ("reload", "status --json", "rollback 7", ... at most CONTROL_MAX_LINE bytes,
 * ending in "\n"). The daemon answers with lines "1 <text>" (for the client's stdout)
 * and "2 <text>" (for its stderr), then one final line "exit <code>" (the client's
 * exit status), and closes. */
#ifndef GW_OPS_CONTROL_H
#define GW_OPS_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/buf.h"

#define CONTROL_SOCKET_NAME "gatewayd.sock"
#define CONTROL_MAX_LINE 512

struct ev_loop;
struct control;

/* What a command answers; exit_code starts at 0. */
struct ctl_reply {
	struct buf wire;          /* the encoded lines so far, owned */
	int exit_code;
};

/* Append text for the client's stdout / stderr; text with newlines becomes several
 * lines. */
void ctl_reply_out(struct ctl_reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ctl_reply_err(struct ctl_reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends text as-is (e.g. a large JSON document) as stdout lines. */
void ctl_reply_out_text(struct ctl_reply *r, const char *text, size_t len);

/* Runs one command on the main thread; it may take its time (a reload compiles). */
typedef void (*control_command_fn)(void *ctx, const char *command, struct ctl_reply *r);

/* Binds path (replacing a stale socket left by a dead daemon; failing when a live
 * daemon answers there) and serves it on loop. Returns NULL with a message in err. */
struct control *control_start(struct ev_loop *loop, const char *path, control_command_fn fn,
			      void *ctx, char *err, size_t errlen);
/* Closes the socket and open connections and removes the file. NULL is a no-op. */
void control_stop(struct control *c);

/* Client: sends command to the daemon at path, copies its lines to out / errout and
 * sets *exit_code. Returns 0; -1 with a message in err when the daemon cannot be
 * reached (errno kept: ENOENT, ECONNREFUSED...) or the answer was cut short. */
int control_call(const char *path, const char *command, FILE *out, FILE *errout,
		 int *exit_code, char *err, size_t errlen);

#endif
