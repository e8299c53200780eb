/* SPDX-License-Identifier: MIT */
/* filter: the data-plane side of HTTPRoute filters and timeouts (GATEWAY-API.md §2.6).
 * Rule filters run first, then those of the chosen backendRef, each list in the order
 * written. Header modifiers edit the parsed field array in place (values then point
 * into the image) and queue new fields in a small array on the stack: no allocation.
 * Within one modifier, removes apply first, then sets, then adds, as in Envoy. */
#include "config.h"

#include "runtime/filter.h"

#include <stdio.h>
#include <string.h>

#include "runtime/conn.h"
#include "runtime/mirror.h"
#include "runtime/retry.h"
#include "runtime/router.h"
#include "runtime/worker.h"

/* Fields a request or response may gain: two modifiers of 16 sets and 16 adds, the
 * Host of a rewrite, the CORS fields. */
#define FILTER_MORE_MAX 72

struct more {
	struct h1_header h[FILTER_MORE_MAX];
	size_t n;
};

static bool name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

static const struct h1_header *find_header(const struct h1_header *hs, size_t n, const char *lower, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (name_eq(hs[i].name, hs[i].name_len, lower, len))
			return &hs[i];
	return NULL;
}

/* Calls fn on every filter of the rule, then of the chosen ref. */
#define FOR_EACH_FILTER(img, c, f, body)                                                          \
	do {                                                                                       \
		const struct img_span spans_[2] = {(c)->frule->filters,                            \
			(c)->fref != NULL ? (c)->fref->filters : (struct img_span){0, 0}};          \
		for (int s_ = 0; s_ < 2; s_++) {                                                   \
			const struct img_filter *fs_ = IMG_ARRAY(img, spans_[s_], struct img_filter); \
			for (uint32_t i_ = 0; i_ < spans_[s_].count; i_++) {                       \
				const struct img_filter *f = &fs_[i_];                             \
				body                                                               \
			}                                                                          \
		}                                                                                  \
	} while (0)

/* ---- header modifiers ---- */

static size_t drop_named(struct h1_header *hs, size_t n, const char *name, size_t len, size_t from)
{
	size_t k = from;
	for (size_t i = from; i < n; i++)
		if (!name_eq(hs[i].name, hs[i].name_len, name, len))
			hs[k++] = hs[i];
	return k;
}

static void more_push(struct more *m, const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (m->n == FILTER_MORE_MAX)
		return;  /* cannot happen: the API limits bound the count */
	m->h[m->n].name = name;
	m->h[m->n].name_len = nlen;
	m->h[m->n].value = value;
	m->h[m->n].value_len = vlen;
	m->n++;
}

/* set: the first field of that name (received or added) takes the value, the others
 * go; a name not present is added. */
static void header_set(struct h1_header *hs, size_t *nh, struct more *m, const char *name, size_t nlen,
		       const char *value, size_t vlen)
{
	for (size_t i = 0; i < *nh; i++) {
		if (!name_eq(hs[i].name, hs[i].name_len, name, nlen))
			continue;
		hs[i].value = value;
		hs[i].value_len = vlen;
		*nh = drop_named(hs, *nh, name, nlen, i + 1);
		m->n = drop_named(m->h, m->n, name, nlen, 0);
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (!name_eq(m->h[i].name, m->h[i].name_len, name, nlen))
			continue;
		m->h[i].value = value;
		m->h[i].value_len = vlen;
		m->n = drop_named(m->h, m->n, name, nlen, i + 1);
		return;
	}
	more_push(m, name, nlen, value, vlen);
}

static void apply_ops(const struct img_header *img, const struct img_filter *f, struct h1_header *hs,
		      size_t *nh, struct more *m)
{
	const struct img_header_op *ops = IMG_ARRAY(img, f->ops, struct img_header_op);
	for (uint32_t i = 0; i < f->ops.count; i++) {
		const char *name = img_str_ptr(img, ops[i].name), *value = img_str_ptr(img, ops[i].value);
		size_t nlen = ops[i].name.len, vlen = ops[i].value.len;
		switch (ops[i].op) {
		case IMG_HOP_REMOVE:
			*nh = drop_named(hs, *nh, name, nlen, 0);
			m->n = drop_named(m->h, m->n, name, nlen, 0);
			break;
		case IMG_HOP_SET:
			header_set(hs, nh, m, name, nlen, value, vlen);
			break;
		default:
			/* add appends a field line: a received value and the added one both
			 * reach the backend (joined with "," by whoever folds them). */
			more_push(m, name, nlen, value, vlen);
			break;
		}
	}
}

static size_t ops_size(const struct img_header *img, const struct img_filter *f)
{
	const struct img_header_op *ops = IMG_ARRAY(img, f->ops, struct img_header_op);
	size_t n = 0;
	for (uint32_t i = 0; i < f->ops.count; i++)
		n += ops[i].name.len + ops[i].value.len + 4;
	return n;
}

/* ---- paths ---- */

size_t filter_replace_prefix(const char *path, size_t path_len, const char *prefix, size_t prefix_len,
			     const char *repl, size_t repl_len, char *out)
{
	/* The router matched prefix element by element: what follows it is empty or
	 * starts with "/". The prefix "/" leaves the whole path. */
	size_t cut = prefix_len == 1 && prefix[0] == '/' ? 0 : prefix_len;
	if (cut > path_len)
		cut = path_len;
	while (repl_len > 0 && repl[repl_len - 1] == '/')
		repl_len--;
	size_t n = 0;
	memcpy(out, repl, repl_len);
	n += repl_len;
	memcpy(out + n, path + cut, path_len - cut);
	n += path_len - cut;
	if (n == 0 || out[0] != '/') {
		memmove(out + 1, out, n);
		out[0] = '/';
		n++;
	}
	return n;
}

/* The new path of a redirect or rewrite into out (room: path_len + path.len + 1). */
static size_t new_path(const struct img_header *img, const struct img_filter *f, const char *path,
		       size_t path_len, char *out)
{
	const char *repl = img_str_ptr(img, f->path);
	if (f->path_mod == IMG_PATHMOD_FULL) {
		memcpy(out, repl, f->path.len);
		return f->path.len;
	}
	return filter_replace_prefix(path, path_len, img_str_ptr(img, f->prefix), f->prefix.len, repl,
				     f->path.len, out);
}

/* ---- generated responses ---- */

static const char *redirect_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 303: return "See Other";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	default: return "Found";
	}
}

/* A response without a body made here, with the given fields. */
static int reply_fields(struct conn *c, int status, const struct h1_header *hs, size_t n)
{
	int r = conn_reply(c, status, "", false);
	if (r < 0)
		return r;
	c->log.error = NULL;
	char *p = c->hout, *end = c->hout + c->hout_cap;
	int k = snprintf(p, (size_t)(end - p), "HTTP/1.1 %d %s\r\n", status, redirect_reason(status));
	p += k;
	for (size_t i = 0; i < n; i++) {
		size_t need = hs[i].name_len + hs[i].value_len + 4;
		if ((size_t)(end - p) < need + 64) {
			c->resp_started = false;
			c->hout_len = 0;
			return conn_reply(c, 500, "redirect too long\n", false);
		}
		memcpy(p, hs[i].name, hs[i].name_len);
		p += hs[i].name_len;
		*p++ = ':';
		*p++ = ' ';
		memcpy(p, hs[i].value, hs[i].value_len);
		p += hs[i].value_len;
		*p++ = '\r';
		*p++ = '\n';
	}
	const char *cf = !c->keep_alive ? "Connection: close\r\n" : c->http10 ? "Connection: keep-alive\r\n" : "";
	k = snprintf(p, (size_t)(end - p), "Content-Length: 0\r\n%s\r\n", cf);
	p += k;
	c->hout_len = (uint32_t)(p - c->hout);
	c->log.head_bytes_out = c->log.bytes_out + c->hout_len;
	return r;
}

#define LIT(h, lit) ((h)->name = (lit), (h)->name_len = sizeof(lit) - 1)

/* RequestRedirect (§2.6.2): scheme, host and path default to the request's; the port
 * to the scheme's well-known one when the scheme is set, else to the listener's; a
 * well-known port is left out of Location. */
static int filter_redirect(struct conn *c, const struct img_header *img, const struct img_listener *l,
			   const struct img_filter *f)
{
	const struct h1_request *req = &c->req;
	/* An unset scheme keeps the request's: https on a TLS connection. */
	const char *scheme = f->scheme == IMG_SCHEME_HTTPS ||
			     (f->scheme == IMG_SCHEME_KEEP && req->https) ? "https" : "http";
	unsigned port = f->port != 0 ? f->port
		      : f->scheme != IMG_SCHEME_KEEP ? (f->scheme == IMG_SCHEME_HTTPS ? 443u : 80u)
		      : l->port;
	bool is_default = (port == 80 && scheme[4] == '\0') || (port == 443 && scheme[4] == 's');
	const char *host = f->hostname.len ? img_str_ptr(img, f->hostname) : req->host ? req->host : "";
	size_t host_len = f->hostname.len ? f->hostname.len
			: req->host ? router_host_len(req->host, req->host_len) : 0;
	/* Location: scheme "://" host [":" port] path ["?" query], built in the input
	 * buffer's free space would race with reads: use the worker's second buffer. */
	size_t cap = 32 + host_len + req->path_len + f->path.len + 1 + req->query_len + 1;
	uint32_t bcap;
	char *b = worker_buf_get(c->w, cap, &bcap);
	if (b == NULL) {
		conn_close(c, "out of memory");
		return -1;
	}
	int k = snprintf(b, bcap, "%s://%.*s", scheme, (int)host_len, host);
	size_t n = (size_t)k;
	if (!is_default)
		n += (size_t)snprintf(b + n, bcap - n, ":%u", port);
	if (f->path_mod != IMG_PATHMOD_NONE)
		n += new_path(img, f, req->path, req->path_len, b + n);
	else {
		memcpy(b + n, req->path, req->path_len);
		n += req->path_len;
	}
	if (req->query != NULL) {
		b[n++] = '?';
		memcpy(b + n, req->query, req->query_len);
		n += req->query_len;
	}
	struct h1_header loc;
	LIT(&loc, "Location");
	loc.value = b;
	loc.value_len = n;
	int r = reply_fields(c, f->status, &loc, 1);
	worker_buf_put(c->w, b, bcap);
	return r;
}

/* ---- CORS (§2.6.4) ---- */

static unsigned default_port(const char *scheme, size_t len)
{
	return len == 5 && name_eq(scheme, 5, "https", 5) ? 443u : 80u;
}

struct origin {
	const char *scheme, *host;
	size_t scheme_len, host_len;
	unsigned port;
};

static bool origin_parse(const char *s, size_t len, struct origin *o)
{
	const char *sep = len >= 3 ? memmem(s, len, "://", 3) : NULL;
	if (sep == NULL)
		return false;
	o->scheme = s;
	o->scheme_len = (size_t)(sep - s);
	o->host = sep + 3;
	const char *end = s + len;
	const char *colon = NULL;
	for (const char *p = o->host; p < end; p++)
		if (*p == ':')
			colon = p;
		else if (*p == ']')
			colon = NULL;
	o->host_len = (size_t)((colon ? colon : end) - o->host);
	o->port = default_port(o->scheme, o->scheme_len);
	if (colon != NULL) {
		unsigned v = 0;
		for (const char *p = colon + 1; p < end; p++) {
			if (*p < '0' || *p > '9' || v > 65535)
				return false;
			v = v * 10 + (unsigned)(*p - '0');
		}
		o->port = v;
	}
	return true;
}

bool filter_origin_match(const char *pattern, size_t plen, const char *origin, size_t olen)
{
	if (plen == 1 && pattern[0] == '*')
		return true;
	struct origin p, o;
	if (!origin_parse(pattern, plen, &p) || !origin_parse(origin, olen, &o))
		return false;
	if (!name_eq(p.scheme, p.scheme_len, o.scheme, o.scheme_len) || p.port != o.port)
		return false;
	if (p.host_len >= 1 && p.host[0] == '*') {
		/* "*" matches greedily to the left, over one or more labels. */
		size_t sl = p.host_len - 1;
		return o.host_len > sl && name_eq(o.host + o.host_len - sl, sl, p.host + 1, sl);
	}
	return name_eq(p.host, p.host_len, o.host, o.host_len);
}

static bool cors_allowed(const struct img_header *img, const struct img_filter *f, const struct h1_header *origin)
{
	const struct img_str *os = IMG_ARRAY(img, f->origins, struct img_str);
	for (uint32_t i = 0; i < f->origins.count; i++)
		if (filter_origin_match(img_str_ptr(img, os[i]), os[i].len, origin->value, origin->value_len))
			return true;
	return false;
}

static bool is_star(const struct img_header *img, struct img_str s)
{
	return s.len == 1 && img_str_ptr(img, s)[0] == '*';
}

/* Returns 0 to go on, else what the preflight reply returned. */
static int filter_cors(struct conn *c, const struct img_header *img, const struct img_filter *f, int method)
{
	const struct h1_request *req = &c->req;
	const struct h1_header *origin = find_header(req->headers, req->nheaders, "origin", 6);
	if (origin == NULL)
		return 0;
	bool ok = cors_allowed(img, f, origin);
	const struct h1_header *acrm = find_header(req->headers, req->nheaders, "access-control-request-method", 29);
	if (method != IMG_METHOD_OPTIONS || acrm == NULL) {
		if (ok) {
			c->cors_origin = origin->value;
			c->cors_origin_len = (uint32_t)origin->value_len;
		}
		return 0;
	}
	/* A preflight is answered here and never forwarded. */
	struct h1_header hs[7];
	size_t n = 0;
	if (ok) {
		char age[16];
		const struct h1_header *acrh = find_header(req->headers, req->nheaders,
							   "access-control-request-headers", 30);
		LIT(&hs[n], "Access-Control-Allow-Origin");
		hs[n].value = origin->value;
		hs[n++].value_len = origin->value_len;
		if (f->flags & IMG_CORS_CREDENTIALS) {
			LIT(&hs[n], "Access-Control-Allow-Credentials");
			hs[n].value = "true";
			hs[n++].value_len = 4;
		}
		if (f->methods.len > 0) {
			/* "*" is echoed as the method asked for: valid with credentials too. */
			LIT(&hs[n], "Access-Control-Allow-Methods");
			hs[n].value = is_star(img, f->methods) ? acrm->value : img_str_ptr(img, f->methods);
			hs[n++].value_len = is_star(img, f->methods) ? acrm->value_len : f->methods.len;
		}
		if (f->allow_headers.len > 0 && (!is_star(img, f->allow_headers) || acrh != NULL)) {
			LIT(&hs[n], "Access-Control-Allow-Headers");
			hs[n].value = is_star(img, f->allow_headers) ? acrh->value : img_str_ptr(img, f->allow_headers);
			hs[n++].value_len = is_star(img, f->allow_headers) ? acrh->value_len : f->allow_headers.len;
		}
		if (f->expose_headers.len > 0) {
			LIT(&hs[n], "Access-Control-Expose-Headers");
			hs[n].value = img_str_ptr(img, f->expose_headers);
			hs[n++].value_len = f->expose_headers.len;
		}
		int k = snprintf(age, sizeof age, "%u", f->max_age);
		LIT(&hs[n], "Access-Control-Max-Age");
		hs[n].value = age;
		hs[n++].value_len = (size_t)k;
		return reply_fields(c, 200, hs, n);
	}
	return reply_fields(c, 200, hs, 0);
}

/* ---- hooks ---- */

static const struct img_backend_ref *pick_ref(const struct img_header *img, const struct img_rule *r,
					      uint32_t rnd)
{
	if (r->total_weight == 0)
		return NULL;
	const struct img_backend_ref *refs = IMG_ARRAY(img, r->backend_refs, struct img_backend_ref);
	uint32_t x = rnd % r->total_weight;
	for (uint32_t k = 0; k < r->backend_refs.count; k++) {
		if (x < refs[k].weight)
			return &refs[k];
		x -= refs[k].weight;
	}
	return NULL;
}

int filter_rule_begin(struct conn *c, const struct img_header *img, const struct img_listener *l,
		      const struct img_rule *rule, uint32_t *backend)
{
	c->frule = rule;
	c->fref = pick_ref(img, rule, worker_rand(c->w));
	*backend = c->fref != NULL ? c->fref->backend : IMG_NO_BACKEND;
	int method = router_method(c->req.method, c->req.method_len);
	FOR_EACH_FILTER(img, c, f, {
		int r = 0;
		switch (f->kind) {
		case IMG_FILTER_ERROR:
			c->log.error = "extensionRef filter not available";
			return conn_reply(c, 500, "filter not available\n", false);
		case IMG_FILTER_REDIRECT:
			return filter_redirect(c, img, l, f);
		case IMG_FILTER_CORS:
			r = filter_cors(c, img, f, method);
			if (r != 0)
				return r;
			break;
		default:
			break;
		}
	});
	return 0;
}

size_t filter_request_head(struct conn *c, const char *extra, size_t extra_len)
{
	const struct img_header *img = c->wg->gen->img;
	struct h1_request req = c->req;
	struct more m;
	size_t add = 0, target_len = 0;
	const struct img_filter *rewrite = NULL;
	m.n = 0;
	FOR_EACH_FILTER(img, c, f, {
		if (f->kind == IMG_FILTER_REQUEST_HEADER)
			add += ops_size(img, f);
		else if (f->kind == IMG_FILTER_REWRITE)
			rewrite = f;
	});
	if (rewrite != NULL) {
		add += rewrite->hostname.len + 8;
		target_len = req.path_len + rewrite->path.len + 2 + req.query_len;
	}
	size_t need = h1_request_bound(c->head_len, req.nheaders) + extra_len + add + target_len;
	if (proxy_hout_reserve(c, need) < 0)
		return 0;
	size_t cap = c->hout_cap;
	/* Filters in order: a rewrite's Host counts as a set at its place in the list. */
	FOR_EACH_FILTER(img, c, f, {
		if (f->kind == IMG_FILTER_REQUEST_HEADER)
			apply_ops(img, f, req.headers, &req.nheaders, &m);
		else if (f->kind == IMG_FILTER_REWRITE && f->hostname.len > 0)
			header_set(req.headers, &req.nheaders, &m, "Host", 4, img_str_ptr(img, f->hostname),
				   f->hostname.len);
	});
	if (rewrite != NULL && rewrite->path_mod != IMG_PATHMOD_NONE) {
		/* The new origin-form target goes at the end of hout, past the head. */
		char *t = c->hout + cap - target_len;
		size_t n = new_path(img, rewrite, req.path, req.path_len, t);
		if (req.query != NULL) {
			t[n++] = '?';
			memcpy(t + n, req.query, req.query_len);
			n += req.query_len;
		}
		req.target = t;
		req.target_len = n;
		cap -= target_len;
	} else if (rewrite != NULL && rewrite->hostname.len > 0 && req.target[0] != '/') {
		/* absolute-form names the old authority: send origin-form */
		req.target = req.path;
		req.target_len = req.query != NULL ? (size_t)(req.query + req.query_len - req.path) : req.path_len;
	}
	size_t n = h1_write_request_more(c->hout, cap, &req, c->peer_ip, c->peer_ip_len, extra, extra_len,
					 m.h, m.n);
	if (n == 0)
		return 0;
	/* RequestMirror copies the head as forwarded, after the earlier filters (§2.6.2). */
	FOR_EACH_FILTER(img, c, f, {
		if (f->kind == IMG_FILTER_MIRROR)
			mirror_start(c, img, f, c->hout, n);
	});
	/* Timeouts (§2.6.5): request from the complete head, backendRequest from now. */
	ev_tstamp now = ev_now(c->w->loop), dl = 0;
	if (c->frule->timeout_request_ms != 0)
		dl = c->log.t_head + c->frule->timeout_request_ms / 1000.0;
	if (c->frule->timeout_backend_ms != 0) {
		ev_tstamp b = now + c->frule->timeout_backend_ms / 1000.0;
		dl = dl == 0 || b < dl ? b : dl;
	}
	c->route_deadline = dl;
	return n;
}

size_t filter_response_extra(const struct conn *c)
{
	const struct img_header *img = c->wg->gen->img;
	size_t n = 0;
	FOR_EACH_FILTER(img, c, f, {
		if (f->kind == IMG_FILTER_RESPONSE_HEADER)
			n += ops_size(img, f);
		else if (f->kind == IMG_FILTER_CORS)
			n += c->cors_origin_len + f->expose_headers.len + 128;
	});
	return n;
}

size_t filter_response_head(struct conn *c, char *out, size_t cap, struct h1_response *resp,
			    enum h1_conn_field cf)
{
	const struct img_header *img = c->wg->gen->img;
	struct h1_response r = *resp;
	struct more m;
	m.n = 0;
	FOR_EACH_FILTER(img, c, f, {
		if (f->kind == IMG_FILTER_RESPONSE_HEADER) {
			apply_ops(img, f, r.headers, &r.nheaders, &m);
		} else if (f->kind == IMG_FILTER_CORS && c->cors_origin != NULL) {
			header_set(r.headers, &r.nheaders, &m, "Access-Control-Allow-Origin", 27, c->cors_origin,
				   c->cors_origin_len);
			if (f->flags & IMG_CORS_CREDENTIALS)
				header_set(r.headers, &r.nheaders, &m, "Access-Control-Allow-Credentials", 32,
					   "true", 4);
			if (f->expose_headers.len > 0)
				header_set(r.headers, &r.nheaders, &m, "Access-Control-Expose-Headers", 29,
					   img_str_ptr(img, f->expose_headers), f->expose_headers.len);
		}
	});
	return h1_write_response_more(out, cap, &r, cf, m.h, m.n);
}

int filter_timeout(struct conn *c)
{
	c->route_deadline = 0;
	if (retry_on_attempt_timeout(c))
		return 1;
	if (!c->resp_started && !(c->hout_off < c->hout_len && !c->hout_is_req)) {
		c->log.error = "route timeout";
		return conn_reply(c, 504, "upstream timeout\n", true);
	}
	conn_close(c, "route timeout during response");
	return -1;
}
