/* SPDX-License-Identifier: MIT */
/* retry: another attempt of a routed request after a retryable status or a connection
 * failure (GEP-1731, GATEWAY-API.md §2.6.6). The request is replayed only from what the
 * gateway still holds (the head in hout, the whole body in the client buffer), never
 * re-read from the client; the backoff is the connection timer, never a wait. */
#include "config.h"

#include "runtime/retry.h"

#include "base/log.h"
#include "runtime/balancer.h"
#include "runtime/conn.h"
#include "runtime/generation.h"
#include "runtime/router.h"
#include "runtime/upstream.h"
#include "runtime/worker.h"

bool retry_keep_body(const struct conn *c)
{
	return c->frule != NULL && c->retries < c->frule->retry_attempts && !c->resp_byte;
}

/* Can the request go once more? Retries are left, nothing of a response reached the
 * client (an interim head would have replaced the request head in hout), and every
 * byte of the request is still held: no body, or a complete one never dropped. */
static bool retry_possible(const struct conn *c)
{
	return c->frule != NULL && c->retries < c->frule->retry_attempts && c->state == CONN_PROXY &&
	       c->hout_is_req && !c->resp_started &&
	       (c->req.body == H1_BODY_NONE || (c->body_done && !c->body_dropped));
}

/* timeouts.request (§2.6.5) counts from the complete head; 0 = none. */
static ev_tstamp request_deadline(const struct conn *c)
{
	return c->frule->timeout_request_ms != 0 ? c->log.t_head + c->frule->timeout_request_ms / 1000.0 : 0;
}

/* Drops the attempt and arms the backoff on the connection timer (also for a zero
 * backoff: the next attempt starts from the loop, never recursively). */
static int retry_schedule(struct conn *c, const char *why)
{
	struct ev_loop *loop = c->w->loop;
	c->retries++;
	c->retried = true;  /* no silent stale-connection replay on top: attempts count */
	log_debug("conn %llu: %s from %s: retry %u of %u", (unsigned long long)c->id, why,
		  c->pool != NULL ? c->pool->name : "?", c->retries, c->frule->retry_attempts);
	if (c->up != NULL) {
		/* Closing beats draining a body we do not want: bounded and immediate. */
		upstream_close(c->up);
		c->up = NULL;
	}
	c->hout_off = 0;
	c->fwd_off = c->head_len;
	c->uin_start = c->uin_end = c->ufwd = c->uscan = 0;
	c->rq = RQ_CONNECT;  /* nothing is sent or read until retry_resume */
	c->rs = RS_HEAD;
	c->resp_byte = c->up_rd = c->up_wr = c->up_reusable = false;
	c->log.status = 0;
	c->log.t_response = 0;
	c->retry_wait = true;
	/* The attempt's backendRequest limit ends with it; the request timeout covers
	 * every attempt and the waits between them (conn_set_deadline caps the wait). */
	c->route_deadline = request_deadline(c);
	conn_set_deadline(c, ev_now(loop) + c->frule->retry_backoff_ms / 1000.0);
	return 1;
}

int retry_on_status(struct conn *c, int status)
{
	if (c->frule == NULL || !retry_code(c->frule, status) || !retry_possible(c))
		return 0;
	return retry_schedule(c, "retryable status");
}

int retry_on_failure(struct conn *c, const char *what)
{
	if (!retry_possible(c))
		return 0;
	return retry_schedule(c, what);
}

int retry_on_attempt_timeout(struct conn *c)
{
	/* The gateway would answer 504 for the attempt, so 504 in codes retries it (as
	 * Envoy retries a per-try timeout); never once the request timeout passed. */
	if (c->frule == NULL || !retry_code(c->frule, 504) || !retry_possible(c))
		return 0;
	ev_tstamp dl = request_deadline(c);
	if (dl != 0 && ev_now(c->w->loop) >= dl - 1e-3)
		return 0;
	return retry_schedule(c, "backendRequest timeout");
}

/* Like Envoy, a retry picks a backend again; but a backendRef with its own filters
 * already shaped the request head in hout, so then the request stays on its backend. */
static const struct img_backend *retry_backend(struct conn *c, const struct generation *g)
{
	const struct img_rule *r = c->frule;
	const struct img_backend *cur = c->log.backend;
	const struct img_backend_ref *refs = IMG_ARRAY(g->img, r->backend_refs, struct img_backend_ref);
	for (uint32_t k = 0; k < r->backend_refs.count; k++)
		if (refs[k].filters.count != 0)
			return cur;
	if (r->total_weight == 0)
		return cur;
	uint32_t b = balancer_backend(c, r);
	if (b == IMG_NO_BACKEND || b >= g->img->backends.count || g->backends[b].endpoints.count == 0)
		return cur;
	return &g->backends[b];
}

int retry_resume(struct conn *c)
{
	struct worker *w = c->w;
	const struct generation *g = c->wg->gen;
	c->retry_wait = false;
	const struct img_backend *be = retry_backend(c, g);
	/* Endpoint, health, circuit breaker (maxParallelRetries): runtime/balancer.c. */
	struct upool *p;
	const char *why;
	int st = balancer_repick(c, (uint32_t)(be - g->backends), &p, &why);
	if (st != 0)
		return conn_reply(c, st, why, false);
	c->log.backend = be;
	c->log.upstream = p;
	/* Timeouts (§2.6.5): request still counts from the head, backendRequest anew
	 * for each attempt. */
	ev_tstamp now = ev_now(w->loop), dl = request_deadline(c);
	if (c->frule->timeout_backend_ms != 0) {
		ev_tstamp b = now + c->frule->timeout_backend_ms / 1000.0;
		dl = dl == 0 || b < dl ? b : dl;
	}
	c->route_deadline = dl;
	return proxy_reconnect(c, p);
}
