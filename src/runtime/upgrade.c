/* SPDX-License-Identifier: MIT */
/* upgrade: forwards an Upgrade request's hop-by-hop fields (which h1_write drops like
 * every hop-by-hop field) and turns the connection into a tunnel on a 101. */
#include "config.h"

#include "runtime/upgrade.h"

#include <string.h>

#include "runtime/balancer.h"
#include "runtime/filter.h"
#include "runtime/h1_write.h"
#include "runtime/tunnel.h"
#include "runtime/upstream.h"
#include "runtime/worker.h"

#define UPGRADE_FIELDS_HEAD "Connection: upgrade\r\nUpgrade: "

/* The protocols of every Upgrade field (RFC 9110 §7.8: a comma-separated list),
 * joined with ", " into out (when not NULL), "h2c" left out when skip_h2c: a request
 * for it is served as HTTP/1.1 (RFC 9113 §3.1 removed that upgrade). Returns the
 * length of the list. */
static size_t upgrade_protocols(const struct h1_header *hs, size_t nh, bool skip_h2c, char *out)
{
	size_t len = 0;
	for (size_t i = 0; i < nh; i++) {
		if (!h1_token_eq(hs[i].name, hs[i].name_len, "upgrade"))
			continue;
		const char *v = hs[i].value, *end = v + hs[i].value_len;
		while (v < end) {
			while (v < end && (*v == ',' || *v == ' ' || *v == '\t'))
				v++;
			const char *s = v;
			while (v < end && *v != ',')
				v++;
			const char *e = v;
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			size_t tl = (size_t)(e - s);
			if (tl == 0 || (skip_h2c && h1_token_eq(s, tl, "h2c")))
				continue;
			if (len > 0) {
				if (out != NULL)
					memcpy(out + len, ", ", 2);
				len += 2;
			}
			if (out != NULL)
				memcpy(out + len, s, tl);
			len += tl;
		}
	}
	return len;
}

/* Puts the Connection and Upgrade fields before the empty line that ends buf[0..n);
 * the caller made room for plen + sizeof UPGRADE_FIELDS_HEAD + 4 more bytes. */
static size_t upgrade_insert(char *buf, size_t n, const struct h1_header *hs, size_t nh,
			     bool skip_h2c, size_t plen)
{
	char *p = buf + n - 2;  /* the final CRLF */
	memcpy(p, UPGRADE_FIELDS_HEAD, sizeof UPGRADE_FIELDS_HEAD - 1);
	p += sizeof UPGRADE_FIELDS_HEAD - 1;
	upgrade_protocols(hs, nh, skip_h2c, p);
	p += plen;
	memcpy(p, "\r\n\r\n", 4);
	return (size_t)(p + 4 - buf);
}

size_t upgrade_request_head(struct conn *c, size_t n)
{
	const struct h1_request *req = &c->req;
	/* The new protocol starts after the request: its end must be known without
	 * scanning chunks in a stream that is no longer HTTP. CONNECT never gets here. */
	if (!req->upgrade || n < 4 || (req->body != H1_BODY_NONE && req->body != H1_BODY_LENGTH))
		return n;
	size_t plen = upgrade_protocols(req->headers, req->nheaders, true, NULL);
	if (plen == 0)
		return n;
	size_t need = n + plen + sizeof UPGRADE_FIELDS_HEAD + 4;
	if (c->hout_cap < need &&
	    worker_buf_grow(c->w, &c->hout, &c->hout_cap, n, need) < 0)
		return 0;
	c->upgrade = true;
	return upgrade_insert(c->hout, n, req->headers, req->nheaders, true, plen);
}

int upgrade_switch(struct conn *c, const struct h1_response *resp, size_t head_len)
{
	struct worker *w = c->w;
	ev_tstamp now = ev_now(w->loop);
	/* RFC 9110 §15.2.2: a 101 names the protocol switched to. Without it, or when the
	 * request could not be sent whole, there is no sane stream to relay. */
	size_t plen = upgrade_protocols(resp->headers, resp->nheaders, false, NULL);
	if (plen == 0 || c->rq == RQ_STOPPED || c->rq == RQ_CONNECT) {
		c->log.error = "bad 101 from upstream";
		return conn_reply(c, 502, "bad upstream response\n", false);
	}
	struct h1_response r = *resp;
	size_t fx = c->frule != NULL ? filter_response_extra(c) : 0;
	size_t need = h1_response_bound(head_len, r.nheaders) + fx + plen + sizeof UPGRADE_FIELDS_HEAD + 4;
	if (proxy_hout_reserve(c, need) < 0) {
		conn_close(c, "out of memory");
		return -1;
	}
	size_t n = c->frule != NULL ? filter_response_head(c, c->hout, c->hout_cap, &r, H1_CONN_NONE)
		 : h1_write_response(c->hout, c->hout_cap, &r, H1_CONN_NONE);
	if (n < 4) {
		c->log.error = "upstream response head too large";
		return conn_reply(c, 502, "bad upstream response\n", false);
	}
	n = upgrade_insert(c->hout, n, resp->headers, resp->nheaders, false, plen);
	c->hout_len = (uint32_t)n;
	c->hout_off = 0;
	c->hout_is_req = false;
	c->resp_started = true;
	/* Bytes after the 101 head are the new protocol's. */
	c->ufwd = c->uscan = c->uin_start + (uint32_t)head_len;

	/* The request ends here for the access log and the metrics (status 101, its
	 * head counted as sent): a tunnel may last for hours and must pin neither the
	 * generation nor its LMDB snapshot. Everything that points into them goes. */
	c->log.status = 101;
	c->log.t_response = c->log.t_end = now;
	c->log.head_bytes_out = c->log.bytes_out + n;
	c->log.bytes_out += n;
	c->log.bytes_in = c->head_len + c->body_seen;
	conn_request_log(c);
	c->frule = NULL;
	c->fref = NULL;
	c->cors_origin = NULL;
	c->cors_origin_len = 0;
	c->route_deadline = 0;
	c->pool = NULL;  /* borrowed from the wgen; c->up keeps its own pool counted */
	/* The endpoint lease holds the endpoint set, which holds the generation: the
	 * switch is the attempt's outcome, and the tunnel no longer counts as a request
	 * in flight (least request, circuit breaker). */
	balancer_on_status(c, 101);
	balancer_release(c);
	if (c->wg != NULL) {
		worker_request_end(w, c->wg);
		c->wg = NULL;
	}
	c->rq = RQ_SEND;
	/* A policy's timeout.http.connectionIdleTimeout, else [limits] idle_timeout. */
	return tunnel_start(c, c->up->idle_timeout > 0 ? c->up->idle_timeout : 0);
}
