/* SPDX-License-Identifier: MIT */
/* h1_parse: strict single-pass HTTP/1.1 head parser (RFC 9112, RFC 9110). Bytes are
 * classified through the tables of h1_chars.c; nothing is allocated and no state is
 * kept between calls. The chunked-body scanner is in h1_chunked.c. */
#include "runtime/h1_parse.h"

#include <limits.h>
#include <string.h>

/* RFC 9112 §2.2 asks servers to ignore at least one empty line before the
 * request-line; a few cover broken clients without letting CRLF floods through. */
#define H1_MAX_EMPTY_LINES 4
#define H1_DEFAULT_HEAD_BYTES (32 * 1024)
#define H1_DEFAULT_HEADERS 100

#include "runtime/h1_chars.h"

/* Advances p while the bytes belong to class tab: eight at a time while it can, so
 * the common long run costs one branch per eight bytes, then byte by byte. */
#define H1_SKIP(p, end, tab) \
	do { \
		while ((end) - (p) >= 8 && \
		       (tab[H1_U((p)[0])] & tab[H1_U((p)[1])] & tab[H1_U((p)[2])] & \
			tab[H1_U((p)[3])] & tab[H1_U((p)[4])] & tab[H1_U((p)[5])] & \
			tab[H1_U((p)[6])] & tab[H1_U((p)[7])])) \
			(p) += 8; \
		while ((p) < (end) && tab[H1_U(*(p))]) \
			(p)++; \
	} while (0)

static inline bool h1_ieq(const char *s, size_t len, const char *lower)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned c = H1_U(s[i]);
		if (c - 'A' < 26u)
			c += 'a' - 'A';
		if (lower[i] == '\0' || c != H1_U(lower[i]))
			return false;
	}
	return lower[i] == '\0';
}

bool h1_token_eq(const char *s, size_t len, const char *lower)
{
	return h1_ieq(s, len, lower);
}

/* Case-insensitive comparison of two byte strings (hosts are case-insensitive,
 * RFC 3986 §3.2.2). */
static bool h1_ieq2(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		unsigned x = H1_U(a[i]), y = H1_U(b[i]);
		if (x - 'A' < 26u)
			x += 'a' - 'A';
		if (y - 'A' < 26u)
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return true;
}

/* What the header section says about framing and the connection; filled while the
 * fields are read, judged by the request or response code afterwards. */
struct h1_msg {
	bool is_request;
	bool has_cl;
	uint64_t cl;
	unsigned te_fields;
	unsigned te_codings;
	bool te_chunked;        /* chunked seen in some position */
	bool te_chunked_twice;  /* RFC 9112 §7: never applied twice */
	bool te_chunked_last;   /* the final coding so far is chunked */
	unsigned host_fields;
	const char *host;
	size_t host_len;
	bool conn_close, conn_keep_alive, conn_upgrade;
	bool has_upgrade, expect_continue;
	int err_status;
	const char *err_reason;
};

static int h1_fail(struct h1_msg *m, int status, const char *reason)
{
	m->err_status = status;
	m->err_reason = reason;
	return H1_ERROR;
}

/* authority = host [":" port] (RFC 3986 §3.2), without userinfo (RFC 9110 §4.2.4).
 * The port, when present, is 1 to 5 digits up to 65535. */
static bool h1_authority_valid(const char *s, size_t len, bool port_required)
{
	const char *p = s, *e = s + len, *h;

	if (p == e)
		return false;
	if (*p == '[') {
		/* IP-literal: only the characters of IPv6 addresses are let through. */
		bool colon = false;
		h = ++p;
		while (p < e && (h1_hex[H1_U(*p)] || *p == ':' || *p == '.')) {
			colon |= *p == ':';
			p++;
		}
		if (p == h || p == e || *p != ']' || !colon)
			return false;
		p++;
	} else {
		h = p;
		while (p < e && h1_regname[H1_U(*p)]) {
			if (*p == '%') {
				if (e - p < 3 || !h1_hex[H1_U(p[1])] || !h1_hex[H1_U(p[2])])
					return false;
				p += 2;
			}
			p++;
		}
		if (p == h)
			return false;
	}
	if (p == e)
		return !port_required;
	if (*p++ != ':' || p == e || e - p > 5)
		return false;
	unsigned port = 0;
	for (; p < e; p++) {
		if (!H1_IS_DIGIT(*p))
			return false;
		port = port * 10 + (unsigned)(*p - '0');
	}
	return port <= 65535;
}

/* RFC 9110 §8.6: 1*DIGIT, once. RFC 9110 lets a recipient either reject a list or
 * repeated field of one value or merge it; we reject it, as nginx does, and leading
 * zeros too: a backend that gave up on "5, 5" or read "010" as octal would frame the
 * body differently from us (a request smuggled in the body). */
static int h1_content_length(struct h1_msg *m, const char *v, size_t len)
{
	const char *p = v, *e = v + len;

	for (;;) {
		const char *d = p;
		uint64_t n = 0;
		while (p < e && H1_IS_DIGIT(*p)) {
			unsigned digit = (unsigned)(*p - '0');
			/* Kept within int64 so that an off_t or ssize_t can hold it. */
			if (n > ((uint64_t)INT64_MAX - digit) / 10)
				return h1_fail(m, 400, "content-length overflow");
			n = n * 10 + digit;
			p++;
		}
		if (p == d)
			return h1_fail(m, 400, "invalid content-length");
		if (m->has_cl && n != m->cl)
			return h1_fail(m, 400, "differing content-length values");
		if (m->has_cl)
			return h1_fail(m, 400, "repeated content-length");
		if (*d == '0' && p - d > 1)
			return h1_fail(m, 400, "content-length with leading zeros");
		m->has_cl = true;
		m->cl = n;
		while (p < e && H1_IS_WS(*p))
			p++;
		if (p == e)
			return 0;
		if (*p++ != ',')
			return h1_fail(m, 400, "invalid content-length");
		while (p < e && H1_IS_WS(*p))
			p++;
	}
}

/* RFC 9112 §6.1: a list of transfer codings. Only bare tokens are accepted: parameters,
 * quotes and empty elements are errors, so that nothing odd is ever read as chunked.
 * Stricter than the RFC, which makes coding names case-insensitive and allows OWS
 * after the value: "Chunked" or "chunked " is what no real client sends and what
 * request smuggling tries on a backend that compares bytes (trailing_ws: the field
 * line had whitespace after the value). */
static int h1_transfer_encoding(struct h1_msg *m, const char *v, size_t len, bool trailing_ws)
{
	const char *p = v, *e = v + len;

	m->te_fields++;
	if (trailing_ws)
		return h1_fail(m, 400, "whitespace after transfer-encoding");
	for (;;) {
		const char *t = p;
		while (p < e && h1_tchar[H1_U(*p)])
			p++;
		if (p == t)
			return h1_fail(m, 400, "invalid transfer-encoding");
		m->te_codings++;
		bool chunked = h1_ieq(t, (size_t)(p - t), "chunked");
		if (chunked && memcmp(t, "chunked", 7) != 0)
			return h1_fail(m, 400, "transfer-coding chunked not in lowercase");
		if (chunked && m->te_chunked)
			m->te_chunked_twice = true;
		m->te_chunked |= chunked;
		m->te_chunked_last = chunked;
		while (p < e && H1_IS_WS(*p))
			p++;
		if (p == e)
			return 0;
		if (*p++ != ',')
			return h1_fail(m, 400, "invalid transfer-encoding");
		while (p < e && H1_IS_WS(*p))
			p++;
	}
}

/* RFC 9110 §7.6.1: Connection is a list of tokens; unknown ones name hop-by-hop
 * fields and are left to the caller. */
static void h1_connection(struct h1_msg *m, const char *v, size_t len)
{
	const char *p = v, *e = v + len;

	while (p < e) {
		while (p < e && (H1_IS_WS(*p) || *p == ','))
			p++;
		const char *t = p;
		while (p < e && h1_tchar[H1_U(*p)])
			p++;
		size_t tl = (size_t)(p - t);
		if (h1_ieq(t, tl, "close"))
			m->conn_close = true;
		else if (h1_ieq(t, tl, "keep-alive"))
			m->conn_keep_alive = true;
		else if (h1_ieq(t, tl, "upgrade"))
			m->conn_upgrade = true;
		while (p < e && *p != ',')
			p++;
	}
}

/* Fields whose meaning the parser needs; called once per field line. */
static int h1_field(struct h1_msg *m, const char *name, size_t nlen, const char *v, size_t vlen,
		    bool trailing_ws)
{
	switch (nlen) {
	case 4:
		if (m->is_request && h1_ieq(name, nlen, "host")) {
			/* RFC 9112 §3.2: more than one Host, or an invalid one, is a 400. */
			if (++m->host_fields > 1)
				return h1_fail(m, 400, "multiple host fields");
			if (!h1_authority_valid(v, vlen, false))
				return h1_fail(m, 400, "invalid host");
			m->host = v;
			m->host_len = vlen;
		}
		break;
	case 6:
		if (m->is_request && h1_ieq(name, nlen, "expect") && h1_ieq(v, vlen, "100-continue"))
			m->expect_continue = true;
		break;
	case 7:
		if (h1_ieq(name, nlen, "upgrade"))
			m->has_upgrade = true;
		break;
	case 10:
		if (h1_ieq(name, nlen, "connection"))
			h1_connection(m, v, vlen);
		break;
	case 14:
		if (h1_ieq(name, nlen, "content-length"))
			return h1_content_length(m, v, vlen);
		break;
	case 17:
		if (h1_ieq(name, nlen, "transfer-encoding"))
			return h1_transfer_encoding(m, v, vlen, trailing_ws);
		break;
	}
	return 0;
}

/* Reads field lines up to and including the empty line (RFC 9112 §5). Returns 0 with
 * *pp past the empty line, H1_INCOMPLETE when end was reached, or H1_ERROR. */
static int h1_fields(struct h1_msg *m, const char **pp, const char *end,
		     struct h1_header *hdrs, size_t nmax, size_t *nout)
{
	const char *p = *pp;
	size_t n = 0;

	for (;;) {
		if (p >= end)
			return H1_INCOMPLETE;
		if (*p == '\r') {
			if (p + 1 >= end)
				return H1_INCOMPLETE;
			if (p[1] != '\n')
				return h1_fail(m, 400, "bare cr");
			*pp = p + 2;
			*nout = n;
			return 0;
		}
		const char *name = p;
		H1_SKIP(p, end, h1_tchar);
		if (p >= end)
			return H1_INCOMPLETE;
		if (*p != ':') {
			if (p == name && H1_IS_WS(*p))
				/* RFC 9112 §5.2 obs-fold; before the first field, RFC 9112 §2.2. */
				return h1_fail(m, 400, n ? "obs-fold" : "whitespace before first field");
			if (p == name && *p == '\n')
				return h1_fail(m, 400, "bare lf");
			if (p != name && H1_IS_WS(*p))
				/* RFC 9112 §5.1 */
				return h1_fail(m, 400, "whitespace before colon");
			return h1_fail(m, 400, "invalid field name");
		}
		if (p == name)
			return h1_fail(m, 400, "empty field name");
		size_t nlen = (size_t)(p - name);
		p++;
		while (p < end && H1_IS_WS(*p))
			p++;
		const char *value = p;
		H1_SKIP(p, end, h1_fchar);
		if (p >= end)
			return H1_INCOMPLETE;
		if (*p == '\n')
			return h1_fail(m, 400, "bare lf");
		if (*p != '\r')
			return h1_fail(m, 400, "invalid character in field value");
		if (p + 1 >= end)
			return H1_INCOMPLETE;
		if (p[1] != '\n')
			return h1_fail(m, 400, "bare cr");
		const char *vend = p;
		while (vend > value && H1_IS_WS(vend[-1]))
			vend--;
		p += 2;
		if (n >= nmax)
			return h1_fail(m, 431, "too many header fields");
		hdrs[n].name = name;
		hdrs[n].name_len = nlen;
		hdrs[n].value = value;
		hdrs[n].value_len = (size_t)(vend - value);
		n++;
		if (h1_field(m, name, nlen, value, (size_t)(vend - value), vend != p - 2) < 0)
			return H1_ERROR;
	}
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3). Returns the
 * minor version (0 or 1) with *pp advanced, H1_INCOMPLETE, -400 when malformed or
 * -505 for another version. */
static inline int h1_version(const char **pp, const char *end)
{
	static const char name[] = "HTTP/";
	const char *p = *pp;
	ptrdiff_t avail = end - p;

	for (int i = 0; i < 5; i++) {
		if (avail <= i)
			return H1_INCOMPLETE;
		if (p[i] != name[i])
			return -400;
	}
	if (avail <= 5)
		return H1_INCOMPLETE;
	if (!H1_IS_DIGIT(p[5]))
		return -400;
	if (avail <= 6)
		return H1_INCOMPLETE;
	if (p[6] != '.')
		return -400;
	if (avail <= 7)
		return H1_INCOMPLETE;
	if (!H1_IS_DIGIT(p[7]))
		return -400;
	*pp = p + 8;
	if (p[5] != '1' || p[7] > '1')
		return -505;
	return p[7] - '0';
}

/* Expects CRLF at *pp: 0 (advanced), H1_INCOMPLETE or H1_ERROR. */
static inline int h1_crlf(struct h1_msg *m, const char **pp, const char *end, const char *what)
{
	const char *p = *pp;

	if (p >= end)
		return H1_INCOMPLETE;
	if (*p == '\n')
		return h1_fail(m, 400, "bare lf");
	if (*p != '\r')
		return h1_fail(m, 400, what);
	if (p + 1 >= end)
		return H1_INCOMPLETE;
	if (p[1] != '\n')
		return h1_fail(m, 400, "bare cr");
	*pp = p + 2;
	return 0;
}

static void h1_limits_get(const struct h1_limits *lim, size_t len, size_t max,
			  size_t *scan, bool *at_limit, size_t *nmax)
{
	size_t head = lim ? lim->max_head_bytes : H1_DEFAULT_HEAD_BYTES;
	size_t nh = lim ? lim->max_headers : H1_DEFAULT_HEADERS;

	if (head > INT_MAX)
		head = INT_MAX;
	*at_limit = len >= head;
	*scan = *at_limit ? head : len;
	*nmax = nh < max ? nh : max;
}

/* The request-target forms of RFC 9112 §3.2; fills path, query and, for
 * absolute-form, the authority. */
static int h1_target(struct h1_msg *m, struct h1_request *req, const char **auth, size_t *auth_len)
{
	const char *t = req->target, *e = t + req->target_len;
	bool connect = req->method_len == 7 && memcmp(req->method, "CONNECT", 7) == 0;
	const char *path;

	*auth = NULL;
	if (connect) {
		/* RFC 9112 §3.2.3: CONNECT takes authority-form, port required. */
		if (!h1_authority_valid(t, req->target_len, true))
			return h1_fail(m, 400, "connect needs authority-form");
		return 0;
	}
	if (*t == '/') {
		path = t;
	} else if (req->target_len == 1 && *t == '*') {
		/* RFC 9112 §3.2.4 */
		if (req->method_len != 7 || memcmp(req->method, "OPTIONS", 7) != 0)
			return h1_fail(m, 400, "asterisk-form without options");
		req->path = t;
		req->path_len = 1;
		return 0;
	} else {
		/* RFC 9112 §3.2.2 absolute-form, http and https only. */
		size_t skip;
		if (req->target_len >= 7 && h1_ieq(t, 7, "http://"))
			skip = 7;
		else if (req->target_len >= 8 && h1_ieq(t, 8, "https://"))
			skip = 8;
		else
			return h1_fail(m, 400, "invalid request-target");
		const char *a = t + skip, *p = a;
		while (p < e && *p != '/' && *p != '?')
			p++;
		/* RFC 9110 §4.2.1: an empty host is invalid. */
		if (!h1_authority_valid(a, (size_t)(p - a), false))
			return h1_fail(m, 400, "invalid authority in request-target");
		*auth = a;
		*auth_len = (size_t)(p - a);
		path = p;
	}
	const char *q = memchr(path, '?', (size_t)(e - path));
	if (q) {
		req->query = q + 1;
		req->query_len = (size_t)(e - q - 1);
	} else {
		q = e;
	}
	if (q == path) {
		/* absolute-form with an empty path: RFC 9110 §4.2.3 makes it "/". */
		req->path = "/";
		req->path_len = 1;
	} else {
		req->path = path;
		req->path_len = (size_t)(q - path);
	}
	return 0;
}

static int h1_req_fail(struct h1_request *req, struct h1_msg *m, int status, const char *reason)
{
	if (status) {
		m->err_status = status;
		m->err_reason = reason;
	}
	req->err_status = m->err_status;
	req->err_reason = m->err_reason;
	return H1_ERROR;
}

int h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim,
		     struct h1_request *req, struct h1_header *headers, size_t max)
{
	struct h1_msg m = {.is_request = true};
	const char *p = buf, *end, *auth;
	size_t scan, nmax, auth_len = 0;
	bool at_limit;
	int rc;

	memset(req, 0, sizeof *req);
	req->headers = headers;
	h1_limits_get(lim, len, max, &scan, &at_limit, &nmax);
	end = buf + scan;

	for (int i = 0; i < H1_MAX_EMPTY_LINES; i++) {
		if (p >= end)
			goto more;
		if (*p == '\n')
			return h1_req_fail(req, &m, 400, "bare lf");
		if (*p != '\r')
			break;
		if (p + 1 >= end)
			goto more;
		if (p[1] != '\n')
			return h1_req_fail(req, &m, 400, "bare cr");
		p += 2;
	}

	/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3) */
	req->method = p;
	while (p < end && h1_tchar[H1_U(*p)])
		p++;
	if (p >= end)
		goto more;
	if (p == req->method || *p != ' ')
		return h1_req_fail(req, &m, 400, "invalid method");
	req->method_len = (size_t)(p - req->method);
	req->target = ++p;
	H1_SKIP(p, end, h1_tgchar);
	if (p >= end)
		goto more;
	if (p == req->target)
		return h1_req_fail(req, &m, 400, "invalid request-target");
	if (*p == '\r' || *p == '\n')
		return h1_req_fail(req, &m, 400, "http/0.9 request");
	if (*p != ' ')
		return h1_req_fail(req, &m, 400, "invalid character in request-target");
	req->target_len = (size_t)(p - req->target);
	p++;
	rc = h1_version(&p, end);
	if (rc == H1_INCOMPLETE)
		goto more;
	if (rc == -400)
		return h1_req_fail(req, &m, 400, "invalid http version");
	if (rc == -505)
		return h1_req_fail(req, &m, 505, "unsupported http version");
	req->minor_version = rc;
	rc = h1_crlf(&m, &p, end, "invalid request-line");
	if (rc == H1_INCOMPLETE)
		goto more;
	if (rc < 0)
		return h1_req_fail(req, &m, 0, NULL);
	if (h1_target(&m, req, &auth, &auth_len) < 0)
		return h1_req_fail(req, &m, 0, NULL);

	rc = h1_fields(&m, &p, end, headers, nmax, &req->nheaders);
	if (rc == H1_INCOMPLETE)
		goto more;
	if (rc < 0)
		return h1_req_fail(req, &m, 0, NULL);

	/* RFC 9112 §3.2: Host is required in HTTP/1.1; absolute-form must agree with it. */
	if (req->minor_version == 1 && m.host_fields == 0)
		return h1_req_fail(req, &m, 400, "missing host");
	if (auth) {
		if (m.host_fields && !h1_ieq2(auth, auth_len, m.host, m.host_len))
			return h1_req_fail(req, &m, 400, "host differs from absolute-form authority");
		req->host = auth;
		req->host_len = auth_len;
	} else {
		req->host = m.host;
		req->host_len = m.host_len;
	}

	/* RFC 9112 §6.1-6.3: request framing. */
	if (m.te_fields) {
		if (m.has_cl)
			return h1_req_fail(req, &m, 400, "content-length with transfer-encoding");
		if (req->minor_version == 0)
			return h1_req_fail(req, &m, 400, "transfer-encoding in http/1.0");
		if (m.te_chunked_twice)
			return h1_req_fail(req, &m, 400, "chunked applied twice");
		if (!m.te_chunked_last)
			return h1_req_fail(req, &m, 400, "chunked is not the final transfer coding");
		if (m.te_codings > 1)
			return h1_req_fail(req, &m, 501, "unsupported transfer-encoding");
		req->body = H1_BODY_CHUNKED;
	} else if (m.has_cl) {
		req->body = H1_BODY_LENGTH;
		req->content_length = m.cl;
	}

	/* RFC 9112 §9.3 persistence; RFC 9110 §10.1.1 and §7.8: Expect and Upgrade are
	 * ignored in HTTP/1.0. */
	if (req->minor_version == 1) {
		req->keep_alive = !m.conn_close;
		req->expect_continue = m.expect_continue;
		req->upgrade = m.conn_upgrade && m.has_upgrade;
	} else {
		req->keep_alive = m.conn_keep_alive && !m.conn_close;
	}
	return (int)(p - buf);

more:
	if (at_limit)
		return h1_req_fail(req, &m, 431, "header section too large");
	return H1_INCOMPLETE;
}

static int h1_resp_fail(struct h1_response *resp, struct h1_msg *m, const char *reason)
{
	/* Whatever the rule, a bad response is the backend's fault: 502. */
	resp->err_status = 502;
	resp->err_reason = reason ? reason : m->err_reason;
	return H1_ERROR;
}

int h1_parse_response(const char *buf, size_t len, const struct h1_limits *lim,
		      bool request_method_head, struct h1_response *resp,
		      struct h1_header *headers, size_t max)
{
	struct h1_msg m = {.is_request = false};
	const char *p = buf, *end;
	size_t scan, nmax;
	bool at_limit;
	int rc;

	memset(resp, 0, sizeof *resp);
	resp->headers = headers;
	h1_limits_get(lim, len, max, &scan, &at_limit, &nmax);
	end = buf + scan;

	/* status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4) */
	rc = h1_version(&p, end);
	if (rc == H1_INCOMPLETE)
		goto more;
	if (rc == -400)
		return h1_resp_fail(resp, &m, "invalid http version");
	if (rc == -505)
		return h1_resp_fail(resp, &m, "unsupported http version");
	resp->minor_version = rc;
	for (int i = 0; i < 4; i++) {
		if (end - p <= i)
			goto more;
		if (i == 0 ? p[i] != ' ' : !H1_IS_DIGIT(p[i]))
			return h1_resp_fail(resp, &m, "invalid status-line");
	}
	resp->status = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
	/* RFC 9110 §15: values outside 100..599 are invalid. */
	if (resp->status < 100 || resp->status > 599)
		return h1_resp_fail(resp, &m, "invalid status code");
	p += 4;
	if (p >= end)
		goto more;
	/* A missing reason-phrase with its SP is common enough to accept. */
	if (*p == ' ') {
		resp->reason = ++p;
		while (p < end && h1_fchar[H1_U(*p)])
			p++;
		resp->reason_len = (size_t)(p - resp->reason);
	}
	rc = h1_crlf(&m, &p, end, "invalid status-line");
	if (rc == H1_INCOMPLETE)
		goto more;
	if (rc < 0)
		return h1_resp_fail(resp, &m, NULL);

	rc = h1_fields(&m, &p, end, headers, nmax, &resp->nheaders);
	if (rc == H1_INCOMPLETE)
		goto more;
	if (rc < 0)
		return h1_resp_fail(resp, &m, NULL);

	/* RFC 9112 §6.1 and §6.3; framing faults are errors even where no body follows,
	 * since nothing forwarded should carry them. */
	if (m.te_fields) {
		if (m.has_cl)
			return h1_resp_fail(resp, &m, "content-length with transfer-encoding");
		if (resp->minor_version == 0)
			return h1_resp_fail(resp, &m, "transfer-encoding in http/1.0");
		if (m.te_chunked_twice)
			return h1_resp_fail(resp, &m, "chunked applied twice");
		/* RFC 9112 §6.3 item 4 would read such a body until the close; forwarded,
		 * the field would tell the client something else. */
		if (!m.te_chunked_last)
			return h1_resp_fail(resp, &m, "chunked is not the final transfer coding");
	}
	if (request_method_head || resp->status < 200 || resp->status == 204 ||
	    resp->status == 304) {
		resp->body = H1_BODY_NONE;
	} else if (m.te_fields) {
		resp->body = H1_BODY_CHUNKED;
	} else if (m.has_cl) {
		resp->body = H1_BODY_LENGTH;
		resp->content_length = m.cl;
	} else {
		resp->body = H1_BODY_UNTIL_CLOSE;
	}
	if (resp->minor_version == 1)
		resp->keep_alive = !m.conn_close;
	else
		resp->keep_alive = m.conn_keep_alive && !m.conn_close;
	if (resp->body == H1_BODY_UNTIL_CLOSE)
		resp->keep_alive = false;
	return (int)(p - buf);

more:
	if (at_limit)
		return h1_resp_fail(resp, &m, "header section too large");
	return H1_INCOMPLETE;
}
