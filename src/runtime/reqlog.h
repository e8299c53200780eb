/* SPDX-License-Identifier: MIT */
/* reqlog: the access log's hand-off from the workers to the main thread. Each worker
 * copies the facts of every finished request into one fixed-layout record (strings
 * copied and cut to bounded lengths, so nothing points into a generation or a
 * connection) in its own single-producer/single-consumer byte ring; the main thread
 * drains the rings and formats the lines (ops/accesslog). A full ring drops the
 * record and counts it: a worker never waits, formats, locks or writes a file.
 * Also the request ids: 16 hex digits from a per-worker sequence. */
#ifndef GW_RUNTIME_REQLOG_H
#define GW_RUNTIME_REQLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct ev_async;
struct conn_reqlog;
struct h1_request;
struct img_header;
struct reqlog;
struct reqlog_ring;

/* The strings of a record, in storage order. */
enum reqlog_field {
	REQLOG_CLIENT,     /* client address (text, no port) */
	REQLOG_METHOD,
	REQLOG_HOST,       /* Host field as received */
	REQLOG_TARGET,     /* request-target as received (path and query) */
	REQLOG_GATEWAY,    /* "namespace/name" */
	REQLOG_LISTENER,
	REQLOG_ROUTE,      /* "namespace/name" */
	REQLOG_BACKEND,    /* "Kind/namespace/name" */
	REQLOG_UPSTREAM,   /* "10.0.0.1:8080", "[::1]:80" or "unix:/path" */
	REQLOG_RID,        /* the client's X-Request-Id (else the generated id is used) */
	REQLOG_REFERER,    /* only when headers are captured (combined format) */
	REQLOG_USER_AGENT,
	REQLOG_ERROR,      /* why gatewayd answered or gave up */
	REQLOG_NFIELDS
};

/* Longest kept value of each field, in bytes (longer ones are cut). */
#define REQLOG_TARGET_MAX 4096
#define REQLOG_VALUE_MAX 512
/* Ring size per worker: about 10 000 typical records, a tenth of a second of a very
 * busy worker. With more than 8 workers each gets less (REQLOG_TOTAL_BYTES in all),
 * but never under REQLOG_MIN_RING_BYTES. */
#define REQLOG_RING_BYTES (2u << 20)
#define REQLOG_TOTAL_BYTES (16u << 20)
#define REQLOG_MIN_RING_BYTES (512u << 10)

struct reqlog_rec {
	uint32_t size;             /* bytes of the record with its strings, multiple of 8 */
	uint16_t status;           /* reqstats_status(): 499 when no response began */
	uint8_t version;           /* HTTP major * 10 + minor (10, 11, 20); meaningless
				    * without REQLOG_METHOD */
	uint8_t pad;
	uint32_t present;          /* bit i: field i is known (it may still be empty) */
	uint32_t cut;              /* bit i: field i was cut to its maximum */
	double ts;                 /* request start, seconds since the epoch (UTC) */
	double duration;           /* first byte of the head to the end, seconds */
	double upstream;           /* request sent to the backend until its response
				    * head, seconds; < 0 when no response came */
	uint64_t bytes_in;         /* from the client: head and body */
	uint64_t bytes_out;        /* to the client: heads and body */
	uint64_t body_out;         /* of bytes_out, the body */
	uint64_t request_id;       /* generated; shown when REQLOG_RID is not present */
	uint16_t len[REQLOG_NFIELDS];
	/* the present strings follow, each NUL-terminated, in field order */
};

/* Field i of r, or NULL when not present; *len receives its length. */
const char *reqlog_field(const struct reqlog_rec *r, enum reqlog_field i, size_t *len);

/* Main thread. enabled: records are queued (else only request ids are made);
 * capture_headers: Referer and User-Agent are kept (combined format);
 * ring_bytes: per worker (see REQLOG_TOTAL_BYTES), rounded up to a power of two.
 * NULL on OOM. */
struct reqlog *reqlog_new(unsigned nworkers, bool enabled, bool capture_headers,
			  size_t ring_bytes);
void reqlog_free(struct reqlog *rl);
/* Where a worker signals a ring that became half full (ev_async_send). Call before
 * the workers start, and with NULL only after they stopped. */
void reqlog_set_wakeup(struct reqlog *rl, struct ev_loop *loop, struct ev_async *wake);
/* Hands every queued record to fn, oldest first per worker; returns how many. */
size_t reqlog_drain(struct reqlog *rl, void (*fn)(void *ctx, const struct reqlog_rec *r),
		    void *ctx);
/* Records dropped because a ring was full, all workers. */
uint64_t reqlog_dropped(const struct reqlog *rl);
bool reqlog_enabled(const struct reqlog *rl);

/* Worker thread, index's ring only. */
struct reqlog_ring *reqlog_ring(struct reqlog *rl, unsigned index);
/* At a parsed head: gives the request its id and notes the client's X-Request-Id
 * (and, when captured, Referer and User-Agent) in log; req->headers must be valid. */
void reqlog_begin(struct reqlog_ring *ring, struct conn_reqlog *log, const struct h1_request *req);
/* At the end of a request: queues its record (when enabled). img: the image log's
 * listener/rule/backend point into (NULL when none); client: address text. */
void reqlog_push(struct reqlog_ring *ring, const struct conn_reqlog *log,
		 const struct img_header *img, const char *client, size_t client_len);

/* The request id as sent to backends and logged: 16 lowercase hex digits (no NUL). */
void reqlog_id_hex(uint64_t id, char out[16]);
/* "X-Request-Id: <16 hex>\r\n" into out; returns its length (32). */
size_t reqlog_id_field(uint64_t id, char out[32]);

#endif
