/* SPDX-License-Identifier: MIT */
/* admin: the admin HTTP listener ([admin] listen) on the main loop. GET /healthz,
 * /readyz, /status and /metrics; one request per connection (Connection: close).
 * It asks the daemon for what it serves through admin_hooks, so it knows nothing of
 * the store or the runtime. */
#ifndef GW_OPS_ADMIN_H
#define GW_OPS_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

struct ev_loop;
struct admin;

struct admin_hooks {
	void *ctx;
	/* True once listeners are bound and a generation is active; *stale: that
	 * generation is not what config_dir holds (it did not compile at start). */
	bool (*ready)(void *ctx, bool *stale);
	/* Appends the status JSON object (the body of /status). */
	void (*status_json)(void *ctx, struct buf *out);
	/* Appends Prometheus text exposition; NULL: /metrics is 404. */
	void (*metrics)(void *ctx, struct buf *out);
};

/* listen: "host:port", "[v6]:port" or "*:port". Returns NULL with err on failure. */
struct admin *admin_start(struct ev_loop *loop, const char *listen, const struct admin_hooks *hooks,
			  char *err, size_t errlen);
/* Closes the listener and open connections. NULL is a no-op. */
void admin_stop(struct admin *a);

#endif
