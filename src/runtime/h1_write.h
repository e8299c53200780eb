/* SPDX-License-Identifier: MIT */
/* h1_write: the heads gatewayd sends. Forwarded request and response heads are the
 * received ones minus hop-by-hop fields (RFC 9110 §7.6.1), plus X-Forwarded-For /
 * X-Forwarded-Proto on requests; error responses are small complete messages.
 * Pure functions: they only write into the caller's buffer. */
#ifndef GW_RUNTIME_H1_WRITE_H
#define GW_RUNTIME_H1_WRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/h1_parse.h"

/* The Connection field a response head gets. */
enum h1_conn_field {
	H1_CONN_NONE,        /* persistence is the default (HTTP/1.1 client) */
	H1_CONN_CLOSE,       /* "Connection: close": the connection closes after it */
	H1_CONN_KEEP_ALIVE,  /* "Connection: keep-alive": persistent HTTP/1.0 client */
};

/* Largest head h1_write_request / h1_write_response can produce for a parsed head of
 * head_len bytes with nheaders fields. */
size_t h1_request_bound(size_t head_len, size_t nheaders);
size_t h1_response_bound(size_t head_len, size_t nheaders);

/* The request head sent to the backend: request line as received but with the
 * version HTTP/1.1 (HTTP/1.0 for a 1.0 client, which then also gets
 * "Connection: keep-alive", so the backend never answers it chunked), every field but
 * the hop-by-hop ones, X-Forwarded-For with client_ip appended to any received value
 * (", " separated, as Envoy does), "X-Forwarded-Proto: http". req->headers must still
 * be valid. Returns the length, or 0 when cap is too small. */
size_t h1_write_request(char *out, size_t cap, const struct h1_request *req,
			const char *client_ip, size_t ip_len);
/* The same, with extra (complete "Name: value\r\n" field lines, e.g. X-Request-Id)
 * added at the end of the field section; cap must allow h1_request_bound + extra_len. */
size_t h1_write_request_extra(char *out, size_t cap, const struct h1_request *req,
			      const char *client_ip, size_t ip_len, const char *extra,
			      size_t extra_len);

/* The same with more fields (filters: header modifiers, CORS), each written
 * "name: value\r\n" after the others; cap must allow for them. */
size_t h1_write_request_more(char *out, size_t cap, const struct h1_request *req,
			     const char *client_ip, size_t ip_len, const char *extra,
			     size_t extra_len, const struct h1_header *more, size_t nmore);

/* A response head relayed to the client (final or 1xx): "HTTP/1.1 <status> <reason>",
 * the fields but the hop-by-hop ones, then conn. Returns the length or 0. */
size_t h1_write_response(char *out, size_t cap, const struct h1_response *resp,
			 enum h1_conn_field conn);

size_t h1_write_response_more(char *out, size_t cap, const struct h1_response *resp,
			      enum h1_conn_field conn, const struct h1_header *more, size_t nmore);

/* A complete "text/plain" response with a one-line body (no body when head_only:
 * the request was HEAD). Returns the length or 0. */
size_t h1_write_error(char *out, size_t cap, int status, const char *body,
		      enum h1_conn_field conn, bool head_only);

/* Reason phrase of a status code gatewayd generates, or of one it translates from
 * HTTP/2 (which carries none). */
const char *h1_reason(int status);

#endif
