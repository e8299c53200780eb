/* SPDX-License-Identifier: MIT */
/* udp: UDPRoute sessions. SO_REUSEPORT hashes a client's datagrams to one worker's
 * socket, so a session lives on one worker: found by (socket, client address) in a
 * hash table, it owns a connected socket to its backend endpoint, pins the generation
 * it was routed with (for its log record, written when it ends) and ends after the
 * idle timeout. Datagrams that cannot be sent now (EAGAIN) are dropped, as a router
 * would: UDP promises nothing more. */
#include "config.h"

#include "runtime/udp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/balancer.h"
#include "runtime/conn.h"
#include "runtime/epset.h"
#include "runtime/listener.h"
#include "runtime/reqlog.h"
#include "runtime/reqstats.h"
#include "runtime/router.h"
#include "runtime/upstream.h"
#include "runtime/worker.h"

#define UDP_BUCKETS 1024u          /* power of two */
#define UDP_DGRAM_MAX 65536u       /* the largest UDP payload, plus one */
/* Datagrams per readiness event and direction, so one busy socket cannot starve the
 * others (as LISTENER_ACCEPT_BATCH). */
#define UDP_BATCH 64

struct udp_session {
	ev_io io;                  /* the upstream socket */
	ev_timer timer;            /* idle timeout, re-armed lazily from last */
	struct worker *w;
	struct udp_session *hnext; /* bucket chain */
	struct udp_session *prev, *next; /* all sessions of the worker */
	uint32_t hash;
	uint32_t listen_key;       /* the UDP socket the client talks to */
	int fd;                    /* connected to the endpoint, owned */
	socklen_t clen;
	struct sockaddr_storage client;
	/* the local address the client wrote to (IP_PKTINFO), the source of replies */
	bool has_local;
	union {
		struct in_pktinfo v4;
		struct in6_pktinfo v6;
	} local;
	ev_tstamp last;            /* last datagram either way */
	struct wgen *wg;           /* pinned: log pointers go into its image */
	struct upool *pool;        /* one reference: the endpoint's address and name */
	struct conn_reqlog log;
	char peer_ip[INET6_ADDRSTRLEN];
	uint8_t peer_ip_len;
};

struct udp_state {
	struct udp_session *buckets[UDP_BUCKETS];
	struct udp_session *all;
	size_t count;
	ev_tstamp full_warned;
	char buf[UDP_DGRAM_MAX];
};

static uint32_t udp_hash(uint32_t key, const struct sockaddr_storage *sa, socklen_t len)
{
	/* FNV-1a over the listening key and the client address */
	uint32_t h = 2166136261u ^ key;
	const unsigned char *p = (const unsigned char *)sa;
	for (socklen_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* The fd of the worker's UDP socket with this key, or -1 when it went away. */
static int udp_listen_fd(const struct worker *w, uint32_t key)
{
	for (const struct wlisten *l = w->listens; l != NULL; l = l->next)
		if (l->key == key)
			return l->io.fd;
	return -1;
}

static void udp_log(struct udp_session *s)
{
	struct worker *w = s->w;
	s->log.t_end = ev_now(w->loop);
	reqstats_count(s->wg != NULL ? s->wg->stats : w->stats_nogen, &s->log);
	reqlog_push(w->logring, &s->log, s->wg != NULL ? s->wg->gen->img : NULL, s->peer_ip, s->peer_ip_len);
}

static void udp_session_end(struct udp_session *s, const char *why)
{
	struct worker *w = s->w;
	struct udp_state *st = w->udp;
	if (s->log.error == NULL)
		s->log.error = why;
	udp_log(s);
	log_debug("udp session %s: ended: %s", s->peer_ip, why);
	struct udp_session **pp = &st->buckets[s->hash & (UDP_BUCKETS - 1)];
	while (*pp != NULL && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp == s)
		*pp = s->hnext;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		st->all = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	st->count--;
	ev_io_stop(w->loop, &s->io);
	ev_timer_stop(w->loop, &s->timer);
	if (s->fd >= 0)
		close(s->fd);
	if (s->pool != NULL)
		upool_unref(s->pool);
	if (s->wg != NULL)
		worker_request_end(w, s->wg);
	free(s);
}

static void udp_on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct udp_session *s = container_of(t, struct udp_session, timer);
	ev_tstamp left = s->last + s->w->lim->idle_timeout - ev_now(loop);
	(void)revents;
	if (left > 1e-3) {
		ev_timer_set(t, left, 0.);
		ev_timer_start(loop, t);
		return;
	}
	udp_session_end(s, "idle timeout");
}

/* One reply datagram of w->udp->buf, from the address the client wrote to: on a
 * wildcard socket the kernel would otherwise pick the source by route, and a client
 * that "connected" its socket would drop the reply. */
static ssize_t udp_reply(struct udp_session *s, int lfd, size_t n)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = s->w->udp->buf, .iov_len = n };
	struct msghdr m;
	memset(&m, 0, sizeof m);
	memset(&ctl, 0, sizeof ctl);
	m.msg_name = &s->client;
	m.msg_namelen = s->clen;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (s->has_local) {
		bool v6 = s->client.ss_family == AF_INET6;
		size_t len = v6 ? sizeof s->local.v6 : sizeof s->local.v4;
		m.msg_control = ctl.buf;
		m.msg_controllen = CMSG_SPACE(len);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
		cm->cmsg_type = v6 ? IPV6_PKTINFO : IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(len);
		memcpy(CMSG_DATA(cm), &s->local, len);
	}
	return sendmsg(lfd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Backend -> client: each datagram goes out of the socket the client wrote to. */
static void udp_on_upstream(struct ev_loop *loop, ev_io *io, int revents)
{
	struct udp_session *s = container_of(io, struct udp_session, io);
	struct worker *w = s->w;
	(void)revents;
	int lfd = udp_listen_fd(w, s->listen_key);
	if (lfd < 0) {
		udp_session_end(s, "listener removed");
		return;
	}
	for (int i = 0; i < UDP_BATCH; i++) {
		ssize_t n = recv(s->fd, w->udp->buf, UDP_DGRAM_MAX, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* ECONNREFUSED: an ICMP port unreachable from the backend */
			udp_session_end(s, errno == ECONNREFUSED ? "upstream refused" : "upstream read error");
			return;
		}
		s->last = ev_now(loop);
		if (udp_reply(s, lfd, (size_t)n) == n)
			s->log.bytes_out += (uint64_t)n;
	}
}

/* The destination address of the datagram m (IP_PKTINFO, IPV6_PKTINFO). */
static void udp_note_local(struct udp_session *s, struct msghdr *m)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm != NULL; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof s->local.v4)) {
			memcpy(&s->local.v4, CMSG_DATA(cm), sizeof s->local.v4);
			/* reply from the address, on whatever interface routes to the client */
			s->local.v4.ipi_spec_dst = s->local.v4.ipi_addr;
			s->local.v4.ipi_ifindex = 0;
			s->has_local = true;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
			   cm->cmsg_len >= CMSG_LEN(sizeof s->local.v6)) {
			memcpy(&s->local.v6, CMSG_DATA(cm), sizeof s->local.v6);
			/* a link-local address means something only with its interface */
			if (!IN6_IS_ADDR_LINKLOCAL(&s->local.v6.ipi6_addr))
				s->local.v6.ipi6_ifindex = 0;
			s->has_local = true;
		}
	}
}

/* A usable IP address of backend b, as a pool (for its address and name; one
 * reference): from the endpoint set (resolved fqdn endpoints, health and ejections,
 * runtime/epset.h), else from the image; at random, the session's one pick. Unix
 * sockets carry no datagrams here. NULL when there is none. */
static struct upool *udp_endpoint(struct udp_session *s, const struct img_rule *rule, uint32_t b)
{
	struct worker *w = s->w;
	const struct generation *g = s->wg->gen;
	struct wbal *bal = s->wg->bal;
	int ci = bal != NULL && bal->set != NULL ? epset_find(bal->set, b, rule->policy) : -1;
	if (ci >= 0) {
		const struct epcluster *cl = &bal->set->clusters[ci];
		uint32_t start = cl->count ? worker_rand(w) % cl->count : 0;
		for (uint32_t k = 0; k < cl->count; k++) {
			const struct ep_state *e = bal->set->eps[cl->first + (start + k) % cl->count];
			unsigned flags = atomic_load_explicit(&e->flags, memory_order_relaxed);
			if ((flags & (EP_UNHEALTHY | EP_EJECTED)) ||
			    (e->addr.ss_family != AF_INET && e->addr.ss_family != AF_INET6))
				continue;
			return upool_get_addr(w, &e->addr, e->addrlen, e->name);
		}
		return NULL;
	}
	const struct img_backend *be = &g->backends[b];
	uint32_t rel = be->endpoints.off - g->img->endpoints.off;
	uint32_t first = rel / (uint32_t)sizeof(struct img_endpoint);
	uint32_t count = be->endpoints.count;
	if (be->endpoints.off < g->img->endpoints.off || first + count > g->img->endpoints.count)
		return NULL;
	uint32_t start = count ? worker_rand(w) % count : 0;
	for (uint32_t k = 0; k < count; k++) {
		const struct img_endpoint *e = &g->endpoints[first + (start + k) % count];
		if (e->kind == IMG_ENDPOINT_IP)
			return upool_get(w, g->img, e);
	}
	return NULL;
}

/* Routes a new client: listener, rule, backend by weight, one IP endpoint of it. The
 * status is the outcome as for TCP (l4_conn.c); 0 when the session can start. */
static int udp_route(struct udp_session *s, uint32_t bind, const char **why)
{
	struct worker *w = s->w;
	const struct generation *g = s->wg->gen;
	if (bind >= g->img->binds.count) {
		*why = "listener removed";
		return 404;
	}
	const struct img_listener *l = router_select_listener(g->img, &g->binds[bind], "", 0);
	s->log.listener = l;
	if (l == NULL) {
		*why = "no listener";
		return 404;
	}
	struct router_request rq = {
		.host = "", .path = "/", .path_len = 1, .method = IMG_METHOD_GET,
		.regex = g->regex, .scratch = w->rx,
	};
	const struct img_rule *rule = router_match(g->img, l, &rq);
	s->log.rule = rule;
	if (rule == NULL) {
		*why = "no route";
		return 404;
	}
	uint32_t b = rule->total_weight == 0 ? IMG_NO_BACKEND : router_pick_backend(g->img, rule, worker_rand(w));
	if (b == IMG_NO_BACKEND || b >= g->img->backends.count) {
		*why = "no backend";
		return 500;
	}
	s->log.backend = &g->backends[b];
	s->pool = udp_endpoint(s, rule, b);
	if (s->pool == NULL) {
		*why = "no healthy upstream";
		return 503;
	}
	s->log.upstream = s->pool;
	s->fd = socket(s->pool->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || connect(s->fd, (const struct sockaddr *)&s->pool->addr, s->pool->addrlen) < 0) {
		*why = "upstream connect error";
		return 502;
	}
	return 0;
}

static struct udp_state *udp_state_get(struct worker *w)
{
	if (w->udp == NULL)
		w->udp = calloc(1, sizeof *w->udp);
	return w->udp;
}

/* The session of (key, client), or a new one; NULL when the datagram is dropped. */
static struct udp_session *udp_session_find(struct worker *w, uint32_t key, uint32_t bind,
					    const struct sockaddr_storage *sa, socklen_t len)
{
	struct udp_state *st = w->udp;
	uint32_t h = udp_hash(key, sa, len);
	for (struct udp_session *s = st->buckets[h & (UDP_BUCKETS - 1)]; s != NULL; s = s->hnext)
		if (s->hash == h && s->listen_key == key && s->clen == len && memcmp(&s->client, sa, len) == 0)
			return s;
	if (st->count >= UDP_MAX_SESSIONS || w->draining) {
		if (ev_now(w->loop) - st->full_warned >= 10.) {
			log_warnx("worker %u: %u UDP sessions: datagrams of new clients dropped", w->index,
				  UDP_MAX_SESSIONS);
			st->full_warned = ev_now(w->loop);
		}
		return NULL;
	}
	struct udp_session *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->w = w;
	s->fd = -1;
	s->hash = h;
	s->listen_key = key;
	s->clen = len;
	memcpy(&s->client, sa, len);
	s->last = s->log.t_start = s->log.t_head = ev_now(w->loop);
	static const struct h1_request no_headers;
	reqlog_begin(w->logring, &s->log, &no_headers);
	const void *a = sa->ss_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
						  : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (inet_ntop(sa->ss_family, a, s->peer_ip, sizeof s->peer_ip) == NULL)
		strcpy(s->peer_ip, "unknown");
	s->peer_ip_len = (uint8_t)strlen(s->peer_ip);
	ev_init(&s->io, udp_on_upstream);
	ev_init(&s->timer, udp_on_timer);
	/* linked first, so that udp_session_end can undo everything */
	s->hnext = st->buckets[h & (UDP_BUCKETS - 1)];
	st->buckets[h & (UDP_BUCKETS - 1)] = s;
	s->next = st->all;
	if (st->all != NULL)
		st->all->prev = s;
	st->all = s;
	st->count++;

	s->wg = worker_request_begin(w);
	const char *why = "no configuration";
	int status = s->wg == NULL ? 503 : udp_route(s, bind, &why);
	if (status != 0) {
		s->log.status = status;
		udp_session_end(s, why);
		return NULL;
	}
	s->log.status = 200;
	s->log.t_upstream = ev_now(w->loop);
	ev_io_set(&s->io, s->fd, EV_READ);
	ev_io_start(w->loop, &s->io);
	ev_timer_set(&s->timer, w->lim->idle_timeout, 0.);
	ev_timer_start(w->loop, &s->timer);
	return s;
}

void udp_on_readable(struct ev_loop *loop, ev_io *io, int revents)
{
	struct wlisten *l = container_of(io, struct wlisten, io);
	struct worker *w = l->w;
	(void)revents;
	struct udp_state *st = udp_state_get(w);
	if (st == NULL)
		return;
	for (int i = 0; i < UDP_BATCH; i++) {
		struct sockaddr_storage sa;
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = st->buf, .iov_len = UDP_DGRAM_MAX };
		struct msghdr m;
		memset(&sa, 0, sizeof sa);
		memset(&m, 0, sizeof m);
		m.msg_name = &sa;
		m.msg_namelen = sizeof sa;
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = ctl.buf;
		m.msg_controllen = sizeof ctl.buf;
		ssize_t n = recvmsg(io->fd, &m, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;  /* EAGAIN: drained; other errors concern one datagram */
		}
		struct udp_session *s = udp_session_find(w, l->key, l->bind, &sa, m.msg_namelen);
		if (s == NULL)
			continue;
		if (!s->has_local)
			udp_note_local(s, &m);
		s->last = ev_now(loop);
		s->log.bytes_in += (uint64_t)n;
		/* EAGAIN, ECONNREFUSED (an earlier ICMP): the datagram is lost, as on a wire */
		(void)send(s->fd, st->buf, (size_t)n, MSG_DONTWAIT);
	}
}

void udp_fini(struct worker *w)
{
	if (w->udp == NULL)
		return;
	while (w->udp->all != NULL)
		udp_session_end(w->udp->all, w->draining ? "shutting down" : "worker stopped");
	free(w->udp);
	w->udp = NULL;
}
