/* SPDX-License-Identifier: MIT */
/* h2_map: what gatewayd needs to carry one message between HTTP/1.1 and HTTP/2
 * (RFC 9113 §8): which fields stay behind, a request head as HTTP/2 fields, the
 * chunked coding undone, HTTP/1.1 field lines built from HTTP/2 ones, and the
 * buffers and socket sends around an nghttp2 session. Shared by the h2c backend side
 * (h2_upstream.c), the h2c client side (h2_conn.c) and the one-request client of
 * health checks and mirrors (h2_once.c). No state: callers own every buffer. */
#ifndef GW_RUNTIME_H2_MAP_H
#define GW_RUNTIME_H2_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nghttp2/nghttp2.h>

struct h1_header;
struct h1_limits;
struct h1_request;

/* RFC 9113 §8.2.2: connection-specific fields never cross into HTTP/2 (Connection,
 * Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, and TE unless it is
 * "trailers"). Host is not dropped here: callers turn it into :authority. */
bool h2_field_dropped(const char *name, size_t nlen, const char *value, size_t vlen);

/* The trailer section of a chunked body, kept as received ("name: value\r\n" lines)
 * up to this many bytes; a longer one is a framing error. */
#define H1_DECHUNK_TRAILERS_MAX 4096

/* Undoes the chunked transfer coding (RFC 9112 §7.1) of a body whose framing was
 * already checked by h1_chunked_scan, or that gatewayd wrote itself. Zero-initialise
 * before the first call. */
struct h1_dechunk {
	uint8_t state;
	uint64_t left;              /* data bytes left in the current chunk */
	uint32_t line;              /* bytes of the current size or trailer line */
	uint32_t trailers_len;
	char trailers[H1_DECHUNK_TRAILERS_MAX];
};

/* Consumes chunked bytes from in[0..len) and returns how many (>= 0), or -1 on bad
 * framing. At most one run of payload is found per call: *data and *dlen point at it
 * inside in (*dlen 0 when the consumed bytes held none), so the caller copies it out
 * before calling again. *done is set once the last chunk and the trailer section are
 * consumed; bytes after the returned count belong to the next message. */
ssize_t h1_dechunk(struct h1_dechunk *d, const char *in, size_t len, const char **data,
		   size_t *dlen, bool *done);

/* Appends "name: value\r\n" to buf[*off..cap) and returns true, or false (buf
 * unchanged) when it does not fit. */
bool h2_map_field_line(char *buf, size_t cap, size_t *off, const char *name, size_t nlen,
		       const char *value, size_t vlen);

/* Appends n bytes to a malloc'ed buffer that grows (doubling) up to max bytes;
 * false, with nothing appended, past max or when out of memory. */
bool h2_map_buf_put(char **buf, uint32_t *len, uint32_t *cap, uint32_t max, const void *p, size_t n);
/* The same for a buffer read from *off: the bytes before *off are dropped first when
 * the new ones do not fit (max then bounds the unread bytes). */
bool h2_map_buf_push(char **buf, uint32_t *off, uint32_t *len, uint32_t *cap, uint32_t max,
		     const void *p, size_t n);
/* Where a message head that ends with CRLF CRLF ends in buf[0..len), given that
 * buf[0..old) held no end yet: the length up to and including the empty line, or 0. */
size_t h2_map_head_end(const char *buf, size_t old, size_t len);

/* A request head as gatewayd forwards it (head[0..len), CRLF CRLF included) as the
 * fields of an HTTP/2 request (RFC 9113 §8.3.1): the pseudo-header fields first
 * (:scheme http; Host as :authority, left out when there is none), names lowercased
 * in place, connection-specific fields dropped. The head is parsed into req with
 * scratch[0..max) and lim; the fields point into head. Returns the fields
 * (req->nheaders + 4 entries, malloc'ed: the caller frees) with their count in *n,
 * or NULL when the head does not parse or memory is short. */
nghttp2_nv *h2_map_request(char *head, size_t len, const struct h1_limits *lim,
			   struct h1_header *scratch, size_t max, struct h1_request *req, size_t *n);

/* Frames the socket did not take. */
struct h2_pending {
	char *buf;                  /* malloc'ed */
	uint32_t off, len, cap;
};

/* Sends what waits in *p, then the frames session s has ready, on the non-blocking
 * socket fd; keeps what the socket does not take in *p (one frame at most: no frame
 * is made while bytes wait). Returns 0, or -1 on a socket or session error. */
int h2_map_send(nghttp2_session *s, int fd, struct h2_pending *p);

/* HTTP/2 carries no reason phrase: HTTP/1.1 heads built from HTTP/2 use h1_reason
 * (runtime/h1_write.h). */

#endif
