/* SPDX-License-Identifier: MIT */
/* reqlog: one byte ring per worker, written only by that worker and read only by the
 * main thread. Positions grow without wrapping (64 bits); a record never straddles
 * the end of the buffer: a zero size word there means "continue at the start".
 * Invariant: head is stored (release) only after the record bytes, and tail only
 * after the consumer is done with them, so each side sees whole records. */
#include "config.h"

#include "runtime/reqlog.h"

#include <ev.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "compile/image.h"
#include "runtime/conn.h"
#include "runtime/h1_parse.h"
#include "runtime/upstream.h"

/* Records handed to the consumer before its progress is published to the producer. */
#define DRAIN_PUBLISH_EVERY 64

struct reqlog_ring {
	/* Producer (worker) side. */
	_Atomic uint64_t head;     /* bytes ever produced */
	uint64_t tail_seen;        /* last tail read: free space is at least this */
	uint64_t rid_state;        /* splitmix64 state */
	_Atomic uint64_t dropped;
	char pad1[64];
	/* Consumer (main thread) side. */
	_Atomic uint64_t tail;     /* bytes ever consumed */
	_Atomic bool wake_sent;    /* the producer signalled; cleared by the consumer */
	char pad2[64];
	struct reqlog *rl;
	char *buf;                 /* owned; NULL when the access log is off */
	uint64_t cap;              /* power of two */
};

struct reqlog {
	unsigned nworkers;
	bool enabled;
	bool capture_headers;
	struct reqlog_ring **rings;
	struct ev_loop *_Atomic wake_loop;
	struct ev_async *_Atomic wake;
};

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t random_seed(unsigned index)
{
	uint64_t s;
	if (getrandom(&s, sizeof s, GRND_NONBLOCK) == (ssize_t)sizeof s)
		return s;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
	    (uint64_t)getpid() << 32 ^ (uint64_t)(index + 1) * 0x9e3779b97f4a7c15ull;
	return splitmix64(&s);
}

struct reqlog *reqlog_new(unsigned nworkers, bool enabled, bool capture_headers,
			  size_t ring_bytes)
{
	struct reqlog *rl = calloc(1, sizeof *rl);
	if (rl == NULL)
		return NULL;
	rl->nworkers = nworkers;
	rl->enabled = enabled;
	rl->capture_headers = enabled && capture_headers;
	rl->rings = calloc(nworkers ? nworkers : 1, sizeof *rl->rings);
	if (rl->rings == NULL)
		goto fail;
	/* Many workers share one drain on the main thread, which cannot format faster
	 * for more queues: their rings shrink so that all together stay bounded. */
	size_t share = REQLOG_TOTAL_BYTES / (nworkers ? nworkers : 1);
	if (share < REQLOG_MIN_RING_BYTES)
		share = REQLOG_MIN_RING_BYTES;
	if (ring_bytes > share)
		ring_bytes = share;
	uint64_t cap = 4096;
	while (cap < ring_bytes)
		cap *= 2;
	for (unsigned i = 0; i < nworkers; i++) {
		struct reqlog_ring *r = calloc(1, sizeof *r);
		if (r == NULL)
			goto fail;
		rl->rings[i] = r;
		r->rl = rl;
		r->rid_state = random_seed(i);
		if (enabled) {
			r->buf = malloc(cap);
			if (r->buf == NULL)
				goto fail;
			r->cap = cap;
		}
	}
	return rl;
fail:
	reqlog_free(rl);
	return NULL;
}

void reqlog_free(struct reqlog *rl)
{
	if (rl == NULL)
		return;
	if (rl->rings != NULL) {
		for (unsigned i = 0; i < rl->nworkers; i++) {
			if (rl->rings[i] != NULL)
				free(rl->rings[i]->buf);
			free(rl->rings[i]);
		}
		free(rl->rings);
	}
	free(rl);
}

void reqlog_set_wakeup(struct reqlog *rl, struct ev_loop *loop, struct ev_async *wake)
{
	atomic_store(&rl->wake, wake);
	atomic_store(&rl->wake_loop, loop);
}

bool reqlog_enabled(const struct reqlog *rl)
{
	return rl != NULL && rl->enabled;
}

uint64_t reqlog_dropped(const struct reqlog *rl)
{
	uint64_t n = 0;
	for (unsigned i = 0; rl != NULL && i < rl->nworkers; i++)
		n += atomic_load_explicit(&rl->rings[i]->dropped, memory_order_relaxed);
	return n;
}

struct reqlog_ring *reqlog_ring(struct reqlog *rl, unsigned index)
{
	return rl != NULL && index < rl->nworkers ? rl->rings[index] : NULL;
}

/* ---- request ids ---- */

void reqlog_id_hex(uint64_t id, char out[16])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--) {
		out[i] = hex[id & 15];
		id >>= 4;
	}
}

size_t reqlog_id_field(uint64_t id, char out[32])
{
	memcpy(out, "X-Request-Id: ", 14);
	reqlog_id_hex(id, out + 14);
	out[30] = '\r';
	out[31] = '\n';
	return 32;
}

/* ---- worker side ---- */

void reqlog_begin(struct reqlog_ring *ring, struct conn_reqlog *log, const struct h1_request *req)
{
	if (ring == NULL)
		return;
	log->request_id = splitmix64(&ring->rid_state);
	bool capture = ring->rl->capture_headers;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct h1_header *h = &req->headers[i];
		switch (h->name_len) {
		case 12:
			/* The first one wins, as for a backend reading a single-valued field. */
			if (log->client_rid == NULL && h1_token_eq(h->name, 12, "x-request-id")) {
				log->client_rid = h->value;
				log->client_rid_len = (uint32_t)h->value_len;
			}
			break;
		case 7:
			if (capture && log->referer == NULL && h1_token_eq(h->name, 7, "referer")) {
				log->referer = h->value;
				log->referer_len = (uint32_t)h->value_len;
			}
			break;
		case 10:
			if (capture && log->user_agent == NULL && h1_token_eq(h->name, 10, "user-agent")) {
				log->user_agent = h->value;
				log->user_agent_len = (uint32_t)h->value_len;
			}
			break;
		default:
			break;
		}
	}
}

struct field {
	const char *s;
	size_t len;
};

static void wake_consumer(struct reqlog_ring *ring)
{
	if (atomic_load_explicit(&ring->wake_sent, memory_order_relaxed))
		return;
	atomic_store_explicit(&ring->wake_sent, true, memory_order_relaxed);
	struct ev_loop *loop = atomic_load_explicit(&ring->rl->wake_loop, memory_order_acquire);
	struct ev_async *wake = atomic_load_explicit(&ring->rl->wake, memory_order_acquire);
	if (loop != NULL && wake != NULL)
		ev_async_send(loop, wake);
}

static void set_field(struct field *f, uint32_t *present, enum reqlog_field i, const char *s,
		      size_t len)
{
	if (s == NULL)
		return;
	f[i].s = s;
	f[i].len = len;
	*present |= 1u << i;
}

void reqlog_push(struct reqlog_ring *ring, const struct conn_reqlog *log,
		 const struct img_header *img, const char *client, size_t client_len)
{
	if (ring == NULL || ring->buf == NULL)
		return;
	struct field f[REQLOG_NFIELDS];
	uint32_t present = 0, cut = 0;
	memset(f, 0, sizeof f);
	set_field(f, &present, REQLOG_CLIENT, client, client_len);
	const struct h1_request *req = log->req;
	if (req != NULL) {
		set_field(f, &present, REQLOG_METHOD, req->method, req->method_len);
		set_field(f, &present, REQLOG_HOST, req->host, req->host_len);
		set_field(f, &present, REQLOG_TARGET, req->target, req->target_len);
	}
	if (img != NULL && log->listener != NULL) {
		set_field(f, &present, REQLOG_GATEWAY, img_str_ptr(img, log->listener->gateway),
			  log->listener->gateway.len);
		set_field(f, &present, REQLOG_LISTENER, img_str_ptr(img, log->listener->name),
			  log->listener->name.len);
	}
	if (img != NULL && log->rule != NULL)
		set_field(f, &present, REQLOG_ROUTE, img_str_ptr(img, log->rule->route), log->rule->route.len);
	if (img != NULL && log->backend != NULL)
		set_field(f, &present, REQLOG_BACKEND, img_str_ptr(img, log->backend->name),
			  log->backend->name.len);
	if (log->upstream != NULL)
		set_field(f, &present, REQLOG_UPSTREAM, log->upstream->name,
			  strnlen(log->upstream->name, sizeof log->upstream->name));
	set_field(f, &present, REQLOG_RID, log->client_rid, log->client_rid_len);
	set_field(f, &present, REQLOG_REFERER, log->referer, log->referer_len);
	set_field(f, &present, REQLOG_USER_AGENT, log->user_agent, log->user_agent_len);
	if (log->error != NULL) {
		/* Reply bodies double as reasons: their final newline is not part of it. */
		size_t n = strnlen(log->error, REQLOG_VALUE_MAX);
		while (n > 0 && (log->error[n - 1] == '\n' || log->error[n - 1] == '\r'))
			n--;
		set_field(f, &present, REQLOG_ERROR, log->error, n);
	}

	size_t size = sizeof(struct reqlog_rec);
	for (int i = 0; i < REQLOG_NFIELDS; i++) {
		if (!(present & 1u << i))
			continue;
		size_t max = i == REQLOG_TARGET ? REQLOG_TARGET_MAX : REQLOG_VALUE_MAX;
		if (f[i].len > max) {
			f[i].len = max;
			cut |= 1u << i;
		}
		size += f[i].len + 1;
	}
	size = (size + 7) & ~(size_t)7;

	uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
	uint64_t off = head & (ring->cap - 1);
	uint64_t to_end = ring->cap - off;
	uint64_t need = size + (to_end < size ? to_end : 0);
	if (head + need - ring->tail_seen > ring->cap) {
		ring->tail_seen = atomic_load_explicit(&ring->tail, memory_order_acquire);
		if (head + need - ring->tail_seen > ring->cap) {
			atomic_store_explicit(&ring->dropped,
					      atomic_load_explicit(&ring->dropped, memory_order_relaxed) + 1,
					      memory_order_relaxed);
			wake_consumer(ring);
			return;
		}
	}
	if (to_end < size) {
		uint32_t wrap = 0;
		memcpy(ring->buf + off, &wrap, sizeof wrap);
		head += to_end;
		off = 0;
	}
	struct reqlog_rec *r = (struct reqlog_rec *)(void *)(ring->buf + off);
	r->size = (uint32_t)size;
	r->status = (uint16_t)(log->status > 0 && log->status < 65536 ? log->status : 499);
	r->version = log->h2 ? 20 : (uint8_t)(10 + (req != NULL ? req->minor_version : 1));
	r->pad = 0;
	r->present = present;
	r->cut = cut;
	ev_tstamp start = log->t_start > 0 ? log->t_start : log->t_end;
	r->ts = start;
	r->duration = log->t_end > start ? log->t_end - start : 0;
	r->upstream = log->t_response > 0 && log->t_upstream > 0 && log->t_response >= log->t_upstream
		      ? log->t_response - log->t_upstream : -1;
	r->bytes_in = log->bytes_in;
	r->bytes_out = log->bytes_out;
	r->body_out = log->bytes_out > log->head_bytes_out ? log->bytes_out - log->head_bytes_out : 0;
	r->request_id = log->request_id;
	char *p = (char *)(r + 1);
	for (int i = 0; i < REQLOG_NFIELDS; i++) {
		r->len[i] = (uint16_t)f[i].len;
		if (!(present & 1u << i))
			continue;
		memcpy(p, f[i].s, f[i].len);
		p += f[i].len;
		*p++ = '\0';
	}
	head += size;
	atomic_store_explicit(&ring->head, head, memory_order_release);
	if (head - ring->tail_seen > ring->cap / 2) {
		ring->tail_seen = atomic_load_explicit(&ring->tail, memory_order_acquire);
		if (head - ring->tail_seen > ring->cap / 2)
			wake_consumer(ring);
	}
}

/* ---- main thread ---- */

const char *reqlog_field(const struct reqlog_rec *r, enum reqlog_field i, size_t *len)
{
	if (!(r->present & 1u << i)) {
		*len = 0;
		return NULL;
	}
	const char *p = (const char *)(r + 1);
	for (int k = 0; k < (int)i; k++)
		if (r->present & 1u << k)
			p += r->len[k] + 1;
	*len = r->len[i];
	return p;
}

size_t reqlog_drain(struct reqlog *rl, void (*fn)(void *ctx, const struct reqlog_rec *r),
		    void *ctx)
{
	size_t n = 0;
	for (unsigned w = 0; rl != NULL && w < rl->nworkers; w++) {
		struct reqlog_ring *ring = rl->rings[w];
		if (ring->buf == NULL)
			continue;
		/* Cleared first: a record queued after the head read below signals again. */
		atomic_store_explicit(&ring->wake_sent, false, memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst);
		uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
		uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
		unsigned since = 0;
		while (tail < head) {
			uint64_t off = tail & (ring->cap - 1);
			uint32_t size;
			memcpy(&size, ring->buf + off, sizeof size);
			if (size == 0) {
				tail += ring->cap - off;
				continue;
			}
			fn(ctx, (const struct reqlog_rec *)(const void *)(ring->buf + off));
			tail += size;
			n++;
			if (++since == DRAIN_PUBLISH_EVERY) {
				atomic_store_explicit(&ring->tail, tail, memory_order_release);
				since = 0;
			}
		}
		atomic_store_explicit(&ring->tail, tail, memory_order_release);
	}
	return n;
}
