/* SPDX-License-Identifier: MIT */
/* conn: one client connection and the request in flight on it. An explicit state
 * machine with one dispatcher (conn_run) and one exit (conn_close). conn.c holds the
 * client side (heads, routing, generated responses, keep-alive, timeouts);
 * conn_proxy.c streams a routed request to its backend and the response back.
 * Worker thread only. */
#ifndef GW_RUNTIME_CONN_H
#define GW_RUNTIME_CONN_H

#include <ev.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "compile/image.h"
#include "runtime/h1_parse.h"

struct worker;
struct wgen;
struct upool;
struct epset;
struct upstream;
struct tls_conn;
struct h2_conn;

enum conn_state {
	CONN_IDLE,    /* no byte of the next request yet (idle_timeout, closes silently) */
	CONN_HEAD,    /* reading a request head (header_timeout, then 408) */
	CONN_PROXY,   /* routed: request and response stream between client and backend */
	CONN_REPLY,   /* writing a response generated here (404, 502...) */
	CONN_TUNNEL,  /* bytes flow both ways unchanged between client and c->up: after a
		       * 101 (Upgrade), or a TLS passthrough / TCP connection (tunnel.c) */
	CONN_LINGER,  /* done writing before a close: input read and dropped for a while,
		       * so the close does not reset the response away (RFC 9112 §9.6) */
	CONN_PEEK,    /* TLS passthrough: reading the ClientHello for its SNI (l4_conn.c) */
	CONN_CLOSED,
};
extern const char *const conn_state_name[];

/* Request direction (client -> backend) while proxying. RQ_STOPPED: the backend
 * stopped taking the request (it may have answered early); the rest of the body is
 * read and dropped while the response is relayed, then the connection closes. */
enum conn_rq { RQ_CONNECT, RQ_SEND, RQ_DONE, RQ_STOPPED };
/* Response direction (backend -> client). */
enum conn_rs { RS_HEAD, RS_BODY, RS_DONE };

/* The facts about one request that the access log and the metrics need: filled as the
 * request goes and handed over once, by conn_request_log(), when it ends (completed
 * or not). Pointers are borrowed and valid only during that call. */
struct conn_reqlog {
	ev_tstamp t_start;        /* first byte of the head */
	ev_tstamp t_head;         /* head complete */
	ev_tstamp t_upstream;     /* request sent towards the backend (0 = never) */
	ev_tstamp t_response;     /* final response head from the backend (0 = none) */
	ev_tstamp t_end;
	uint64_t bytes_in;        /* from the client: head and body */
	uint64_t bytes_out;       /* to the client: heads and body */
	int status;               /* final status sent to the client; 0 = none */
	const struct h1_request *req;         /* method, target, host, version */
	const struct img_listener *listener;  /* from the generation; NULL = none matched */
	const struct img_rule *rule;          /* ->route is "namespace/name"; NULL = none */
	const struct img_backend *backend;    /* NULL = none */
	const struct upool *upstream;         /* ->name is the upstream address; NULL = none */
	const char *error;        /* static text when gatewayd answered or gave up */
	/* From reqlog_begin at the parsed head (pointers into the head, like req): */
	uint64_t request_id;      /* sent as X-Request-Id unless the client sent one */
	const char *client_rid;   /* the client's X-Request-Id value; NULL = none */
	const char *referer, *user_agent;  /* captured for the combined format only */
	uint32_t client_rid_len, referer_len, user_agent_len;
	uint64_t head_bytes_out;  /* of bytes_out, response heads (the rest is body) */
	bool h2;                  /* the request came as an HTTP/2 stream (runtime/h2_conn.c) */
};

struct conn {
	ev_io io;
	ev_timer timer;            /* one deadline at a time, re-armed lazily */
	struct worker *w;
	struct conn *prev, *next;  /* worker's list */
	int fd;
	enum conn_state state;
	uint64_t id;
	uint32_t listen_key;       /* which listening socket accepted it */
	union {
		struct sockaddr sa;
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} peer;
	char peer_ip[46];          /* text of peer, filled at the first request */
	uint8_t peer_ip_len;
	bool client_rd;            /* the client socket may have input (else wait for it) */
	bool client_wr;            /* the client socket may take output */
	bool client_eof;           /* the client shut its sending side */
	bool parse_pending;        /* in holds unparsed bytes of the next head */
	ev_tstamp deadline;        /* when the current phase times out */
	ev_tstamp timer_at;        /* when the timer fires (<= deadline) */
	const char *close_reason;  /* kept for the log line after lingering */
	char *sni;                 /* owned: a TLS passthrough ClientHello's server name, the
				    * log's host (l4_conn.c); freed by conn_close */
	struct tls_conn *tls;      /* owned: HTTPS (runtime/tls_conn.h); NULL = plain */
	struct h2_conn *h2;        /* owned: HTTP/2 prior knowledge (runtime/h2_conn.h) */

	/* Client input, owned. The request head is at in[0..head_len); its body is
	 * scanned up to scan_off and sent to the backend up to fwd_off; bytes after the
	 * body (pipelined requests) stay for the next request. */
	char *in;
	uint32_t in_cap, in_end;
	uint32_t nrequests;        /* requests started on this connection (limit) */

	/* Everything from here on belongs to one request and is zeroed after it. */
	uint32_t head_len, fwd_off, scan_off;
	uint8_t rq, rs;            /* enum conn_rq / conn_rs while CONN_PROXY */
	uint8_t ubody;             /* enum h1_body of the response */
	uint64_t cl_left;          /* Content-Length body bytes not yet scanned */
	uint64_t body_seen;        /* body bytes scanned (max_body_bytes) */
	struct h1_chunked chunk;
	struct h1_request req;     /* pointers into in; headers valid only while routing */
	/* Filters and timeouts of the routed rule (runtime/filter.c); all NULL/0 when the
	 * rule has none. Borrowed from the generation (or from the head in in[]). */
	const struct img_rule *frule;
	const struct img_backend_ref *fref;
	ev_tstamp route_deadline;  /* timeouts: 504 (or a close) when reached; 0 = none */
	ev_tstamp tunnel_idle;     /* CONN_TUNNEL: seconds without a byte before it closes */
	const char *cors_origin;   /* an allowed Origin of an actual CORS request */
	uint32_t cors_origin_len;
	uint32_t retries;          /* rule retries made (runtime/retry.c) */
	/* The endpoint runtime/balancer.c chose for this attempt: counted in flight (least
	 * request, circuit breaker) until proxy_finish, its outcome fed to outlier
	 * detection. Owned: one reference on set. */
	struct bal_lease {
		struct epset *set;
		uint32_t cluster, ep;
		uint32_t flags;     /* BAL_LEASE_* (balancer.h) */
		uint32_t hash;      /* consistent-hash key of the request (BAL_LEASE_HASHED) */
		uint64_t cookie;    /* generated hash cookie value (BAL_LEASE_SETCOOKIE) */
	} lease;

	/* Head output, owned: the forwarded request head while hout_is_req (kept until
	 * the response begins, for a retry), then response heads or a generated reply. */
	char *hout;
	uint32_t hout_cap, hout_off, hout_len;

	struct wgen *wg;           /* pinned generation while a request is in flight */
	struct upool *pool;        /* borrowed from the wgen cache */
	struct upstream *up;       /* owned while in use */
	char *uin;                 /* response bytes, owned: unparsed head from uin_start;
				    * body sent up to ufwd, scanned up to uscan */
	uint32_t uin_cap, uin_start, uin_end, ufwd, uscan;
	uint64_t ucl_left;
	struct h1_chunked uchunk;

	bool hout_is_req : 1;
	bool up_rd : 1;            /* the upstream socket may have input */
	bool up_wr : 1;
	bool keep_alive : 1;       /* the client connection persists after this request */
	bool http10 : 1;
	bool is_head : 1;
	bool body_done : 1;        /* the whole request body is scanned */
	bool body_dropped : 1;     /* sent body bytes were dropped: no retry any more */
	bool resp_started : 1;     /* a final response head went to the output */
	bool resp_byte : 1;        /* the backend sent a byte on this attempt */
	bool ubody_done : 1;
	bool up_reusable : 1;      /* the backend allows keep-alive and framing was clean */
	bool retried : 1;
	bool retry_wait : 1;       /* waiting out a rule retry's backoff (no upstream) */
	bool upgrade : 1;          /* the request asked for an Upgrade that is forwarded
				    * (runtime/upgrade.c): a 101 switches to CONN_TUNNEL */

	struct conn_reqlog log;
};

/* From listener.c: a new client connection (fd is non-blocking; owned from here). */
void conn_accept(struct worker *w, int fd, uint32_t key, const struct sockaddr *sa,
		 socklen_t salen);
/* Worker draining: idle connections close now, busy ones after their response. */
void conn_drain(struct conn *c);
/* The only way a connection ends. Logs one line at debug level. */
void conn_close(struct conn *c, const char *reason);
/* Frees the worker's cache of released connection structs. */
void conn_cache_free(struct worker *w);

/* Between conn.c and conn_proxy.c. Handlers return -1 when the connection was closed
 * (do not touch it), 0 when waiting for an event, 1 when the state changed. */
void conn_run(struct conn *c);
int conn_reply(struct conn *c, int status, const char *body, bool close);
int conn_request_done(struct conn *c);
/* Hands the request's facts to the metrics and the access log (once; c->log is then
 * cleared). Used by upgrade.c when a request becomes a tunnel. */
void conn_request_log(struct conn *c);
void conn_set_deadline(struct conn *c, ev_tstamp at);
void conn_touch(struct conn *c);   /* progress: push the inactivity deadline */

/* conn_proxy.c: makes c->hout hold at least size bytes (its content is dropped).
 * Returns 0, or -1 when no buffer could be had. */
int proxy_hout_reserve(struct conn *c, size_t size);
/* One writev to the client of the pending response head (hout) and the body bytes
 * uin[ufwd..body_end); advances both and counts bytes_out. Returns 1 when bytes
 * went out (client_wr cleared after a short write), 0 when the socket is full or
 * nothing was pending, -1 on an error (errno; the caller closes). */
int proxy_write_client(struct conn *c, uint32_t body_end);
int proxy_start(struct conn *c, struct upool *pool);
int proxy_run(struct conn *c);
int proxy_timeout(struct conn *c);
/* Sends the request held in hout/in again, to pool (a rule retry, runtime/retry.c). */
int proxy_reconnect(struct conn *c, struct upool *pool);
/* Ends the backend side of the request: the upstream connection goes back to its
 * pool when the exchange was clean (reuse), else it is closed. */
void proxy_finish(struct conn *c, bool reuse);
/* Watched events of the upstream connection for the current state. */
int proxy_up_events(const struct conn *c);
/* From upstream.c: events on the upstream connection owned by c. */
void conn_on_upstream_io(struct conn *c, int revents);

static inline bool conn_client_out_pending(const struct conn *c)
{
	return (!c->hout_is_req && c->hout_off < c->hout_len) || c->ufwd < c->uscan;
}

#endif
