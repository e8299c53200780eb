/* SPDX-License-Identifier: MIT */
/* h2_conn: HTTP/2 in clear with prior knowledge (RFC 9113 §3.3) on a client
 * connection of a plain HTTP listener, as a byte-stream layer under conn_io.h's cio_*
 * calls, like TLS: the connection reads each stream's request as HTTP/1.1 bytes and
 * writes one HTTP/1.1 response per request, which goes back on that stream. Streams
 * are served one at a time, in order (SETTINGS_MAX_CONCURRENT_STREAMS 1).
 *
 * Memory per connection is bounded: request bodies by the stream and connection
 * windows we advertise (H2_CONN_WINDOW; the window reopens only as the connection
 * reads the bytes out), translated request heads by max_head_bytes (at most two
 * requests are held: the one served and the next one), the response head by
 * resp_head_cap, the response body by H2_CONN_BODY_MAX and by the client's window
 * (only bytes that can be sent at once are taken), frames the socket did not take
 * by one frame (no new frame is made while some wait), plus nghttp2's own state
 * (HPACK tables of 4 KiB, its queue of control frames, which it caps itself).
 *
 * The core (h2_core_*) works on memory only, so that tests and the fuzz target
 * drive it without sockets; the h2_conn_* functions are its socket edge.
 * Worker thread only. */
#ifndef GW_RUNTIME_H2_CONN_H
#define GW_RUNTIME_H2_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct conn;
struct h2_conn;

/* Initial stream and connection window we advertise: request body bytes buffered. */
#define H2_CONN_WINDOW 65535u
/* Response body bytes taken from the connection and not yet framed. */
#define H2_CONN_BODY_MAX 65536u
/* The client connection preface (RFC 9113 §3.4). */
#define H2_CONN_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_CONN_PREFACE_LEN 24u

struct h2_conn_limits {
	uint32_t max_head_bytes;    /* translated request head; SETTINGS_MAX_HEADER_LIST_SIZE;
				     * beyond: the stream is answered 431 */
	uint32_t max_headers;       /* request fields; beyond: 431 */
	uint32_t max_request_line;  /* method, path and version; beyond: 414 */
	uint32_t resp_head_cap;     /* a response head the connection writes; beyond: error */
};

/* ---- Core, on memory ---- */

/* A server session that expects the client preface first. NULL when out of memory. */
struct h2_conn *h2_core_new(const struct h2_conn_limits *lim);
void h2_core_free(struct h2_conn *h);
/* Client bytes in. Returns 0, or -1 on a fatal error (h2_core_error says which;
 * a GOAWAY is queued when the protocol was broken). */
int h2_core_recv(struct h2_conn *h, const void *in, size_t len);
/* Translated HTTP/1.1 request bytes out, read(2)-like: > 0 bytes, 0 end of input
 * (client GOAWAY with no request left, or the session is over), -1 with errno
 * EAGAIN (none now) or EPROTO (fatal). */
ssize_t h2_core_read(struct h2_conn *h, void *buf, size_t len);
bool h2_core_input_pending(struct h2_conn *h);
/* HTTP/1.1 response bytes in, sendmsg(2)-like: > 0 bytes taken, -1 with errno
 * EAGAIN (none can be taken now: the client's window or the body buffer is full)
 * or EPROTO (fatal). Bytes that belong to no stream (a reply to no request) are
 * taken and dropped. */
ssize_t h2_core_write(struct h2_conn *h, const struct iovec *iov, int n);
/* Next frame bytes to send: > 0 (*out valid until the next call), 0 none, -1 fatal. */
ssize_t h2_core_send(struct h2_conn *h, const uint8_t **out);
/* True when writes are held back by the client's flow-control window (only a
 * WINDOW_UPDATE, that is input, can unblock them). */
bool h2_core_out_blocked(const struct h2_conn *h);
/* The end: the stream being answered ends (END_STREAM; RST_STREAM if its response
 * was cut), and a GOAWAY is queued. Idempotent. */
void h2_core_finish(struct h2_conn *h);
/* Why the session failed (static text), or NULL. */
const char *h2_core_error(const struct h2_conn *h);

/* ---- Socket edge, for struct conn ---- */

/* From conn_read_head, on the first bytes of a connection (in[0..in_end)): an HTTP
 * listener's connection that starts with the preface becomes HTTP/2 (c->h2), the
 * bytes go to the layer and in[] is emptied. Returns 0 (not HTTP/2: parse as
 * HTTP/1.1), 1 (HTTP/2 started, or a prefix of the preface: read on), or -1 when
 * the connection was closed. */
int h2_conn_start(struct conn *c);
/* The cio_* branches (runtime/conn_io.h). */
ssize_t h2_conn_read(struct conn *c, void *buf, size_t len);
ssize_t h2_conn_writev(struct conn *c, const struct iovec *iov, int n);
bool h2_conn_drained(const struct conn *c);
/* From conn_on_io, before the connection runs: the layer's own socket work (reads
 * control frames and WINDOW_UPDATEs, flushes frames), then client_rd/client_wr say
 * whether the connection can read or write through the layer. */
void h2_conn_on_io(struct conn *c, int revents);
/* From conn_watch: the events to watch given those the connection wants (ev): the
 * layer always reads; a write blocked by the client's window waits for input. */
int h2_conn_events(const struct conn *c, int ev);
/* Before a lingering close: end the stream and send GOAWAY (best effort). */
void h2_conn_notify(struct conn *c);
/* From conn_close, before the socket closes: h2_conn_notify, then frees c->h2. */
void h2_conn_close(struct conn *c);

#endif
