/* SPDX-License-Identifier: MIT */
/* h1_write: builds forwarded and generated heads. The output never exceeds the
 * *_bound of its input: every kept field line is copied as "name: value\r\n" (at most
 * 2 bytes more than "name:value\n" received), the additions have a fixed size apart
 * from the received X-Forwarded-For values, which are part of head_len. */
#include "config.h"

#include "runtime/h1_write.h"

#include <stdio.h>
#include <string.h>

/* Tokens of the Connection field name more fields to drop (RFC 9110 §7.6.1). */
#define CONN_TOKENS_MAX 16

struct out {
	char *p, *end;
	bool overflow;
};

static inline void put(struct out *o, const char *s, size_t n)
{
	if ((size_t)(o->end - o->p) < n) {
		o->overflow = true;
		return;
	}
	memcpy(o->p, s, n);
	o->p += n;
}

#define PUTS(o, lit) put((o), (lit), sizeof(lit) - 1)

static bool lower_eq(const char *s, size_t len, const char *lower, size_t lower_len)
{
	if (len != lower_len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if (c != (unsigned char)lower[i])
			return false;
	}
	return true;
}

#define NAME_IS(h, lit) lower_eq((h)->name, (h)->name_len, (lit), sizeof(lit) - 1)

enum field_class { FIELD_KEEP, FIELD_DROP, FIELD_CONNECTION, FIELD_XFF, FIELD_XFP };

/* The fields a proxy must not forward (RFC 9110 §7.6.1, RFC 9112 §9.6). TE and Upgrade
 * are hop-by-hop too (upgrades are not proxied yet), except "TE: trailers", which
 * stays true through gatewayd (chunked bodies, trailers included, pass verbatim) and
 * which gRPC servers look for (RFC 9113 §8.2.2 lets it cross into HTTP/2 too).
 * Transfer-Encoding is forwarded: chunked bodies pass through verbatim. Trailer is
 * end-to-end and kept. */
static enum field_class field_class(const struct h1_header *h)
{
	switch (h->name_len) {
	case 2:
		if (!NAME_IS(h, "te"))
			return FIELD_KEEP;
		return lower_eq(h->value, h->value_len, "trailers", 8) ? FIELD_KEEP : FIELD_DROP;
	case 7:
		return NAME_IS(h, "upgrade") ? FIELD_DROP : FIELD_KEEP;
	case 10:
		if (NAME_IS(h, "connection"))
			return FIELD_CONNECTION;
		return NAME_IS(h, "keep-alive") ? FIELD_DROP : FIELD_KEEP;
	case 15:
		return NAME_IS(h, "x-forwarded-for") ? FIELD_XFF : FIELD_KEEP;
	case 16:
		return NAME_IS(h, "proxy-connection") ? FIELD_DROP : FIELD_KEEP;
	case 17:
		return NAME_IS(h, "x-forwarded-proto") ? FIELD_XFP : FIELD_KEEP;
	default:
		return FIELD_KEEP;
	}
}

struct tokens {
	struct { const char *s; size_t len; } t[CONN_TOKENS_MAX];
	size_t n;
};

/* Collects the comma-separated tokens of every Connection field. */
static void conn_tokens(const struct h1_header *hs, size_t n, struct tokens *tk)
{
	tk->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (field_class(&hs[i]) != FIELD_CONNECTION)
			continue;
		const char *v = hs[i].value, *end = v + hs[i].value_len;
		while (v < end && tk->n < CONN_TOKENS_MAX) {
			while (v < end && (*v == ',' || *v == ' ' || *v == '\t'))
				v++;
			const char *s = v;
			while (v < end && *v != ',' && *v != ' ' && *v != '\t')
				v++;
			if (v > s) {
				tk->t[tk->n].s = s;
				tk->t[tk->n].len = (size_t)(v - s);
				tk->n++;
			}
		}
	}
}

static bool named_by_connection(const struct h1_header *h, const struct tokens *tk)
{
	for (size_t i = 0; i < tk->n; i++) {
		/* Tokens are case-insensitive too: compare both lowercased. */
		if (tk->t[i].len != h->name_len)
			continue;
		size_t j = 0;
		for (; j < h->name_len; j++) {
			unsigned char a = (unsigned char)h->name[j], b = (unsigned char)tk->t[i].s[j];
			if (a >= 'A' && a <= 'Z')
				a = (unsigned char)(a + 32);
			if (b >= 'A' && b <= 'Z')
				b = (unsigned char)(b + 32);
			if (a != b)
				break;
		}
		if (j == h->name_len)
			return true;
	}
	return false;
}

static void put_field(struct out *o, const struct h1_header *h)
{
	put(o, h->name, h->name_len);
	PUTS(o, ": ");
	put(o, h->value, h->value_len);
	PUTS(o, "\r\n");
}

size_t h1_request_bound(size_t head_len, size_t nheaders)
{
	/* request line version fix-up, ": " per field, XFF prefix + ", " + address,
	 * X-Forwarded-Proto, Connection: keep-alive */
	return head_len + 2 * nheaders + 256;
}

size_t h1_response_bound(size_t head_len, size_t nheaders)
{
	return head_len + 2 * nheaders + 64;
}

size_t h1_write_request(char *buf, size_t cap, const struct h1_request *req,
			const char *client_ip, size_t ip_len)
{
	return h1_write_request_extra(buf, cap, req, client_ip, ip_len, NULL, 0);
}

size_t h1_write_request_extra(char *buf, size_t cap, const struct h1_request *req,
			      const char *client_ip, size_t ip_len, const char *extra,
			      size_t extra_len)
{
	return h1_write_request_more(buf, cap, req, client_ip, ip_len, extra, extra_len, NULL, 0);
}

size_t h1_write_request_more(char *buf, size_t cap, const struct h1_request *req,
			     const char *client_ip, size_t ip_len, const char *extra,
			     size_t extra_len, const struct h1_header *more, size_t nmore)
{
	struct out o = {buf, buf + cap, false};
	struct tokens tk;
	size_t nxff = 0;

	put(&o, req->method, req->method_len);
	PUTS(&o, " ");
	put(&o, req->target, req->target_len);
	if (req->minor_version == 0)
		PUTS(&o, " HTTP/1.0\r\n");
	else
		PUTS(&o, " HTTP/1.1\r\n");

	conn_tokens(req->headers, req->nheaders, &tk);
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct h1_header *h = &req->headers[i];
		switch (field_class(h)) {
		case FIELD_KEEP:
			if (tk.n == 0 || !named_by_connection(h, &tk))
				put_field(&o, h);
			break;
		case FIELD_XFF:
			nxff++;
			break;
		default:
			break;
		}
	}
	PUTS(&o, "X-Forwarded-For: ");
	if (nxff > 0) {
		for (size_t i = 0; i < req->nheaders; i++) {
			const struct h1_header *h = &req->headers[i];
			if (field_class(h) != FIELD_XFF || h->value_len == 0)
				continue;
			put(&o, h->value, h->value_len);
			PUTS(&o, ", ");
		}
	}
	put(&o, client_ip, ip_len);
	if (req->https)
		PUTS(&o, "\r\nX-Forwarded-Proto: https\r\n");
	else
		PUTS(&o, "\r\nX-Forwarded-Proto: http\r\n");
	if (req->minor_version == 0)
		PUTS(&o, "Connection: keep-alive\r\n");
	if (extra_len > 0)
		put(&o, extra, extra_len);
	for (size_t i = 0; i < nmore; i++)
		put_field(&o, &more[i]);
	PUTS(&o, "\r\n");
	return o.overflow ? 0 : (size_t)(o.p - buf);
}

size_t h1_write_response(char *buf, size_t cap, const struct h1_response *resp,
			 enum h1_conn_field conn)
{
	return h1_write_response_more(buf, cap, resp, conn, NULL, 0);
}

size_t h1_write_response_more(char *buf, size_t cap, const struct h1_response *resp,
			      enum h1_conn_field conn, const struct h1_header *more, size_t nmore)
{
	struct out o = {buf, buf + cap, false};
	struct tokens tk;
	char status[8];

	/* The parser guarantees three digits. */
	int st = resp->status;
	status[0] = (char)('0' + st / 100 % 10);
	status[1] = (char)('0' + st / 10 % 10);
	status[2] = (char)('0' + st % 10);
	status[3] = ' ';
	PUTS(&o, "HTTP/1.1 ");
	put(&o, status, 4);
	put(&o, resp->reason, resp->reason_len);
	PUTS(&o, "\r\n");

	conn_tokens(resp->headers, resp->nheaders, &tk);
	for (size_t i = 0; i < resp->nheaders; i++) {
		const struct h1_header *h = &resp->headers[i];
		enum field_class fc = field_class(h);
		if (fc == FIELD_DROP || fc == FIELD_CONNECTION)
			continue;
		if (tk.n == 0 || !named_by_connection(h, &tk))
			put_field(&o, h);
	}
	for (size_t i = 0; i < nmore; i++)
		put_field(&o, &more[i]);
	if (conn == H1_CONN_CLOSE)
		PUTS(&o, "Connection: close\r\n");
	else if (conn == H1_CONN_KEEP_ALIVE)
		PUTS(&o, "Connection: keep-alive\r\n");
	PUTS(&o, "\r\n");
	return o.overflow ? 0 : (size_t)(o.p - buf);
}

const char *h1_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default:
		/* the phrase is optional (RFC 9112 §4): none for other codes below 400 */
		return status < 400 ? "" : status < 500 ? "Bad Request" : "Internal Server Error";
	}
}

size_t h1_write_error(char *buf, size_t cap, int status, const char *body,
		      enum h1_conn_field conn, bool head_only)
{
	size_t blen = strlen(body);
	const char *cf = conn == H1_CONN_CLOSE ? "Connection: close\r\n"
		       : conn == H1_CONN_KEEP_ALIVE ? "Connection: keep-alive\r\n" : "";
	int n = snprintf(buf, cap,
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n%s",
			 status, h1_reason(status), blen, cf, head_only ? "" : body);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}
