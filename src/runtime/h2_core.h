/* SPDX-License-Identifier: MIT */
/* h2_core: what the pieces of the HTTP/2 client layer share (h2_core_in.c: requests,
 * h2_core_out.c: responses, h2_conn.c: the socket edge). Internal to them: the rest
 * of gatewayd uses runtime/h2_conn.h. */
#ifndef GW_RUNTIME_H2_CORE_H
#define GW_RUNTIME_H2_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "runtime/h2_map.h"

#include "runtime/h2_conn.h"

struct h1_dechunk;

/* Requests held at once: the one served and the next (MAX_CONCURRENT_STREAMS 1 lets
 * a new stream open only when the previous one closed). */
#define H2_RQ_MAX 2

/* One request stream, from its HEADERS until the connection read all of it and
 * wrote its whole response. */
struct h2_rq {
	int32_t id;
	bool is_head;
	bool has_body;        /* no END_STREAM on the request HEADERS */
	bool has_cl;          /* the client sent content-length: no chunked coding */
	bool head_ready;      /* translated, in the input queue */
	bool in_end;          /* END_STREAM received */
	bool in_done;         /* every translated byte was read by the connection */
	bool out_done;        /* its response was taken whole */
	bool last_queued;     /* the chunked terminator is in pend */
	int reject;           /* status the layer answers itself; 0 = none */
	uint32_t nfields, hbytes;
	/* while the head arrives: pseudo-header fields and the rest as field lines */
	char *method, *path, *authority, *host;
	uint32_t method_len, path_len, authority_len, host_len;
	char *fields;
	uint32_t fields_len, fields_cap;
	char *cookie;
	uint32_t cookie_len, cookie_cap;
	/* translated head, then body bytes as received (unconsumed DATA) */
	char *head;
	uint32_t head_len, head_off;
	char *body;
	uint32_t body_off, body_len, body_cap;
	uint32_t chunk_left;  /* chunked: data bytes of the open chunk not yet read */
	char pend[24];        /* chunked: framing bytes being read */
	uint8_t pend_off, pend_len;
};

struct h2_conn {
	nghttp2_session *s;
	struct h2_conn_limits lim;
	struct h2_rq *rq[H2_RQ_MAX];      /* in stream order */
	unsigned nrq;
	const char *error;
	int err_errno;
	bool goaway_recv;
	bool sock_eof;
	bool finished;
	/* the response being taken */
	uint8_t rstate;
	uint8_t rframing;                 /* enum h1_body */
	uint64_t rleft;
	char *rhead;
	uint32_t rhead_len, rhead_cap;
	struct h1_dechunk *dc;            /* chunked: decoder, then its trailers */
	/* body buffer, drained by the data provider of stream rstream */
	int32_t rstream;                  /* 0 = no provider */
	bool body_end, deferred;
	char *body;
	uint32_t body_off, body_len, body_cap;
	/* edge: frame bytes the socket did not take */
	struct h2_pending out;
};

/* Records the first failure: why (static text) and the errno the calls report. */
void h2_core_fail(struct h2_conn *h, const char *why, int err);
/* Takes a request out of h->rq[] and frees it. */
void h2_core_rq_remove(struct h2_conn *h, struct h2_rq *rq);
/* No response body is being taken: the data provider of rstream is let go. */
void h2_core_out_reset(struct h2_conn *h);
/* True when no request bytes will come any more. */
bool h2_core_input_over(struct h2_conn *h);

#endif
