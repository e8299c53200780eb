/* SPDX-License-Identifier: MIT */
/* h1_parse: a strict, zero-copy, incremental HTTP/1.1 message-head parser and a
 * chunked-body scanner (RFC 9112). It never allocates: parsed fields point into the
 * caller's buffer, which therefore must not move or change while they are in use.
 *
 * Anything that a second reader (the backend, a cache) could frame differently is an
 * error: Content-Length with Transfer-Encoding, differing Content-Length values,
 * a Transfer-Encoding other than a single final "chunked", obs-fold, whitespace before
 * a colon, bare CR, NUL or other control bytes, several Host fields, HTTP/0.9,
 * absolute-form whose authority differs from Host. */
#ifndef GW_RUNTIME_H1_PARSE_H
#define GW_RUNTIME_H1_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Results of h1_parse_request / h1_parse_response (besides > 0 = head length). */
#define H1_INCOMPLETE (-2)
#define H1_ERROR (-1)

struct h1_header {
	const char *name;
	size_t name_len;
	const char *value;   /* leading and trailing whitespace removed */
	size_t value_len;
};

enum h1_body {
	H1_BODY_NONE = 0,     /* no body (requests without CL/TE; HEAD/1xx/204/304 responses) */
	H1_BODY_LENGTH,       /* content_length bytes */
	H1_BODY_CHUNKED,      /* chunked; scan it with h1_chunked_scan */
	H1_BODY_UNTIL_CLOSE,  /* responses only: read until the backend closes */
};

struct h1_request {
	const char *method;  size_t method_len;
	const char *target;  size_t target_len;  /* request-target as sent */
	const char *path;    size_t path_len;    /* origin-form path, without the query */
	const char *query;   size_t query_len;   /* after '?', without it; NULL if none */
	const char *host;    size_t host_len;    /* Host field (or absolute-form authority), NULL if none */
	int minor_version;                        /* HTTP/1.<minor>: 0 or 1 */
	struct h1_header *headers;                /* caller's array, filled */
	size_t nheaders;
	enum h1_body body;
	uint64_t content_length;
	bool keep_alive;       /* persistent per RFC 9112 §9.3 (version and Connection) */
	bool expect_continue;  /* Expect: 100-continue */
	bool upgrade;          /* Connection: upgrade with an Upgrade field */
	/* on H1_ERROR: */
	int err_status;        /* 400, 431 (too many/too long fields), 501 (unknown TE), 505 */
	const char *err_reason; /* short static text for the log, e.g. "content-length with transfer-encoding" */
	bool https;            /* not parsed: set by the connection when it is TLS (h1_write
				* sends X-Forwarded-Proto: https) */
};

struct h1_response {
	int status;
	const char *reason;  size_t reason_len;
	int minor_version;
	struct h1_header *headers;
	size_t nheaders;
	enum h1_body body;
	uint64_t content_length;
	bool keep_alive;
	int err_status;        /* 502 on a malformed response */
	const char *err_reason;
};

struct h1_limits {
	size_t max_head_bytes;   /* request/status line + header section; beyond: 431 (response: 502) */
	size_t max_headers;      /* header fields; beyond: 431 */
};

/* Parses a request head from buf[0..len). Returns the head length (> 0, up to and
 * including the empty line) when complete, H1_INCOMPLETE when more bytes are needed
 * (and len is still within the limits), or H1_ERROR with req->err_status set.
 * headers[max] is the caller's storage. Re-parsing from the start after more data
 * arrives is correct (the parser keeps no state between calls). */
int h1_parse_request(const char *buf, size_t len, const struct h1_limits *lim,
		     struct h1_request *req, struct h1_header *headers, size_t max);

/* Same for a response head. request_method_head: the request was HEAD (no body).
 * 1xx responses other than 101 parse as complete heads with body NONE; the caller
 * forwards them and parses again for the final response. */
int h1_parse_response(const char *buf, size_t len, const struct h1_limits *lim,
		      bool request_method_head, struct h1_response *resp,
		      struct h1_header *headers, size_t max);

/* Chunked body scanner: validates framing while the bytes are forwarded verbatim.
 * Zero-initialise before the first call. */
struct h1_chunked {
	int state;
	uint64_t remaining;    /* bytes left in the current chunk's data */
	uint32_t line_bytes;   /* bytes seen in the current size line or trailer field */
	uint32_t trailer_bytes;
};

/* Consumes bytes of a chunked body from buf[0..len). Returns how many bytes belong to
 * the body (all of them may be forwarded as they are), or -1 on a framing error
 * (bad size, overflow, bad extension, bad CRLF, trailer section too large). *done is
 * set when the last chunk and the trailer section have been consumed; bytes after
 * the returned count then belong to the next message. */
ssize_t h1_chunked_scan(struct h1_chunked *c, const char *buf, size_t len, bool *done);

/* Case-insensitive comparison of a token with a NUL-terminated lowercase literal. */
bool h1_token_eq(const char *s, size_t len, const char *lower);

#endif
