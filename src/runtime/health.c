/* SPDX-License-Identifier: MIT */
/* health: endpoint sets on the main thread, active HTTP health checks and the sweep that
 * ends ejections. A check is one HTTP/1.1 request on a new connection ("Connection:
 * close"), or one HTTP/2 stream to an h2c backend (h2_once.h): healthy when the status
 * line (:status) arrives within the timeout with an expected status. The first result
 * decides at once (an endpoint is used before its first check); after that
 * unhealthyThreshold failures in a row mark it unhealthy and healthyThreshold
 * successes in a row bring it back, as Envoy does. */
#include "config.h"

#include "runtime/health.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/epset.h"
#include "runtime/generation.h"
#include "runtime/h2_once.h"

/* The period of the main-thread pass over the endpoints (seconds). */
#define HEALTH_TICK 0.1
#define HEALTH_REQ_MAX 1400

struct hcheck {
	ev_io io;
	ev_timer timer;
	struct health *h;
	struct epset *set;            /* one reference: keeps ep and pol alive */
	struct ep_state *ep;
	const struct img_policy *pol;
	const char *backend;
	int fd;
	bool connecting;
	struct h2_once *h2;           /* h2c backend: the check is an HTTP/2 stream */
	uint32_t req_len, req_off, resp_len;
	char req[HEALTH_REQ_MAX];
	char resp[64];
	struct hcheck *prev, *next;
};

struct health {
	struct ev_loop *loop;         /* borrowed */
	ev_timer tick;
	const struct resolver *resolver;
	struct epset *cur;            /* one reference */
	uint64_t version;
	struct hcheck *checks;
	unsigned ninflight;
	uint64_t ok, fail;
};

struct health *health_new(void)
{
	return calloc(1, sizeof(struct health));
}

static void health_on_tick(struct ev_loop *loop, ev_timer *t, int revents);

void health_set_loop(struct health *h, struct ev_loop *loop)
{
	if (h->loop != NULL)
		return;
	h->loop = loop;
	ev_timer_init(&h->tick, health_on_tick, HEALTH_TICK, HEALTH_TICK);
	ev_timer_start(loop, &h->tick);
	ev_unref(loop);  /* the tick alone does not keep the loop running */
}

void health_set_resolver(struct health *h, const struct resolver *r)
{
	h->resolver = r;
}

struct epset *health_update(struct health *h, struct generation *g)
{
	struct epset *s = epset_build(g, h->cur, h->resolver, ++h->version);
	if (s == NULL)
		return NULL;
	epset_unref(h->cur);
	h->cur = s;
	epset_ref(s);
	return s;
}

struct epset *health_current(const struct health *h)
{
	if (h->cur != NULL)
		epset_ref(h->cur);
	return h->cur;
}

void health_counters(const struct health *h, uint64_t *ok, uint64_t *fail)
{
	*ok = h->ok;
	*fail = h->fail;
}

static void check_free(struct hcheck *k)
{
	struct health *h = k->h;
	ev_io_stop(h->loop, &k->io);
	ev_timer_stop(h->loop, &k->timer);
	if (k->fd >= 0)
		close(k->fd);
	h2_once_free(k->h2);
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		h->checks = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	h->ninflight--;
	epset_unref(k->set);
	free(k);
}

static void check_done(struct hcheck *k, bool ok, const char *why)
{
	struct health *h = k->h;
	struct ep_state *e = k->ep;
	const struct img_policy *pol = k->pol;
	e->hc_busy = false;
	e->hc_next_ms = epset_now_ms() + pol->hc_interval_ms;
	bool first = !e->hc_checked;
	e->hc_checked = true;
	unsigned flags = atomic_load(&e->flags);
	if (ok) {
		h->ok++;
		atomic_fetch_add_explicit(&e->hc_ok, 1, memory_order_relaxed);
		e->hc_run_fail = 0;
		e->hc_run_ok++;
		if ((flags & EP_UNHEALTHY) && (first || e->hc_run_ok >= pol->hc_healthy)) {
			atomic_fetch_and(&e->flags, ~EP_UNHEALTHY);
			log_info("backend %s: endpoint %s is healthy", k->backend, e->name);
		}
	} else {
		h->fail++;
		atomic_fetch_add_explicit(&e->hc_fail, 1, memory_order_relaxed);
		e->hc_run_ok = 0;
		e->hc_run_fail++;
		if (!(flags & EP_UNHEALTHY) && (first || e->hc_run_fail >= pol->hc_unhealthy)) {
			atomic_fetch_or(&e->flags, EP_UNHEALTHY);
			log_warnx("backend %s: endpoint %s is unhealthy: %s", k->backend, e->name, why);
		}
	}
	check_free(k);
}

/* The status code of an HTTP/1.x status line, 0 when not one. */
static int status_of(const char *p, size_t n)
{
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
		return 0;
	int s = 0;
	for (int i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		s = s * 10 + (p[i] - '0');
	}
	return s;
}

static void check_status(struct hcheck *k, int status)
{
	if (!img_policy_status_ok(k->pol, status)) {
		char why[48];
		snprintf(why, sizeof why, "unexpected status %d", status);
		check_done(k, false, why);
		return;
	}
	check_done(k, true, NULL);
}

/* An h2c backend (appProtocol kubernetes.io/h2c) may answer nothing but HTTP/2 with
 * prior knowledge: its check is one stream, decided by the :status of the answer. */
static void check_h2_io(struct hcheck *k)
{
	int r = h2_once_io(k->h2, k->fd);
	int status = h2_once_status(k->h2);
	if (status != 0) {
		check_status(k, status);
		return;
	}
	if (r != 0) {
		check_done(k, false, r < 0 ? "HTTP/2 connection failed" : "HTTP/2 stream closed without a response");
		return;
	}
	ev_io_stop(k->h->loop, &k->io);
	ev_io_set(&k->io, k->fd, h2_once_events(k->h2));
	ev_io_start(k->h->loop, &k->io);
}

static void check_on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct hcheck *k = (struct hcheck *)(void *)io;
	(void)loop;
	(void)revents;
	if (k->connecting) {
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			check_done(k, false, strerror(err));
			return;
		}
		k->connecting = false;
	}
	if (k->h2 != NULL) {
		check_h2_io(k);
		return;
	}
	while (k->req_off < k->req_len) {
		ssize_t n = send(k->fd, k->req + k->req_off, k->req_len - k->req_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			check_done(k, false, strerror(errno));
			return;
		}
		k->req_off += (uint32_t)n;
		if (k->req_off == k->req_len) {
			ev_io_stop(k->h->loop, &k->io);
			ev_io_set(&k->io, k->fd, EV_READ);
			ev_io_start(k->h->loop, &k->io);
			return;
		}
	}
	for (;;) {
		ssize_t n = recv(k->fd, k->resp + k->resp_len, sizeof k->resp - k->resp_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			check_done(k, false, n == 0 ? "connection closed before a status line" : strerror(errno));
			return;
		}
		k->resp_len += (uint32_t)n;
		if (k->resp_len >= 12 || k->resp_len == sizeof k->resp)
			break;
	}
	int status = status_of(k->resp, k->resp_len);
	if (status == 0) {
		check_done(k, false, "not an HTTP response");
		return;
	}
	check_status(k, status);
}

static void check_on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct hcheck *k = (struct hcheck *)(void *)((char *)t - offsetof(struct hcheck, timer));
	(void)loop;
	(void)revents;
	check_done(k, false, "timeout");
}

static struct h2_once *check_h2_new(const struct img_header *img, const struct epcluster *cl,
				     const struct ep_state *e)
{
	const char *m = img_str_ptr(img, cl->pol->hc_method), *p = img_str_ptr(img, cl->pol->hc_path);
	static const char ua[] = "gatewayd-health-check";
#define NV(n, v, vl) { (uint8_t *)(uintptr_t)(n), (uint8_t *)(uintptr_t)(v), sizeof(n) - 1, (vl), \
			     NGHTTP2_NV_FLAG_NONE }
	const nghttp2_nv nv[] = {
		NV(":method", m, strlen(m)), NV(":scheme", "http", 4),
		NV(":authority", e->host, strlen(e->host)),  /* what HTTP/1.1 sends as Host */
		NV(":path", p, strlen(p)), NV("user-agent", ua, sizeof ua - 1),
	};
#undef NV
	return h2_once_new(nv, sizeof nv / sizeof nv[0], NULL, 0);
}

static void check_start(struct health *h, struct epset *s, struct epcluster *cl, struct ep_state *e)
{
	const struct img_header *img = s->gen->img;
	struct hcheck *k = calloc(1, sizeof *k);
	if (k == NULL)
		return;
	k->h = h;
	k->ep = e;
	k->pol = cl->pol;
	k->backend = cl->backend_name;
	int n = snprintf(k->req, sizeof k->req,
			 "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gatewayd-health-check\r\n"
			 "Connection: close\r\n\r\n",
			 img_str_ptr(img, cl->pol->hc_method), img_str_ptr(img, cl->pol->hc_path), e->host);
	if (n <= 0 || (size_t)n >= sizeof k->req) {
		free(k);
		return;
	}
	k->req_len = (uint32_t)n;
	if (s->gen->backends[cl->backend].app_protocol == IMG_APP_H2C &&
	    (k->h2 = check_h2_new(img, cl, e)) == NULL) {
		free(k);
		return;
	}
	k->fd = socket(e->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	epset_ref(s);
	k->set = s;
	k->next = h->checks;
	if (h->checks != NULL)
		h->checks->prev = k;
	h->checks = k;
	h->ninflight++;
	e->hc_busy = true;
	ev_io_init(&k->io, check_on_io, k->fd, EV_WRITE);
	ev_timer_init(&k->timer, check_on_timeout, cl->pol->hc_timeout_ms / 1000.0, 0.);
	if (k->fd < 0) {
		check_done(k, false, strerror(errno));
		return;
	}
	int r;
	do
		r = connect(k->fd, (const struct sockaddr *)&e->addr, e->addrlen);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno != EINPROGRESS) {
		check_done(k, false, strerror(errno));
		return;
	}
	k->connecting = r < 0;
	ev_timer_start(h->loop, &k->timer);
	ev_io_start(h->loop, &k->io);
}

static void health_on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct health *h = (struct health *)(void *)((char *)t - offsetof(struct health, tick));
	(void)loop;
	(void)revents;
	struct epset *s = h->cur;
	if (s == NULL)
		return;
	uint64_t now = epset_now_ms();
	for (uint32_t c = 0; c < s->nclusters; c++) {
		struct epcluster *cl = &s->clusters[c];
		if (cl->pol == NULL)
			continue;
		for (uint32_t i = 0; i < cl->count; i++) {
			struct ep_state *e = s->eps[cl->first + i];
			if (atomic_load_explicit(&e->flags, memory_order_relaxed) & EP_EJECTED)
				epset_uneject_due(cl, e, now);
			if ((cl->pol->flags & IMG_POL_ACTIVE_HC) && !e->hc_busy && now >= e->hc_next_ms &&
			    h->ninflight < HEALTH_MAX_INFLIGHT)
				check_start(h, s, cl, e);
		}
	}
}

void health_free(struct health *h)
{
	if (h == NULL)
		return;
	while (h->checks != NULL) {
		h->checks->ep->hc_busy = false;
		check_free(h->checks);
	}
	if (h->loop != NULL) {
		ev_ref(h->loop);
		ev_timer_stop(h->loop, &h->tick);
	}
	epset_unref(h->cur);
	free(h);
}
