/* SPDX-License-Identifier: MIT */
/* upstream: backend connections and the per-worker keep-alive pools. Idle connections
 * are kept most recently used first (the warmest is reused, the coldest ages out) and
 * watched for EOF, so a backend closing them is noticed without a request. */
#include "config.h"

#include "runtime/upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "runtime/conn.h"
#include "runtime/h2_upstream.h"
#include "runtime/tls_upstream.h"
#include "runtime/worker.h"

static uint32_t addr_hash(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u;  /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

/* The endpoint as a socket address, zero-padded so equal addresses compare equal. */
static int endpoint_addr(const struct img_header *img, const struct img_endpoint *ep,
			 struct sockaddr_storage *ss, socklen_t *len, char *name, size_t namelen)
{
	memset(ss, 0, sizeof *ss);
	if (ep->kind == IMG_ENDPOINT_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;
		const char *path = img_str_ptr(img, ep->path);
		if (ep->path.len == 0 || ep->path.len >= sizeof sun->sun_path)
			return -1;
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, path, ep->path.len);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + ep->path.len + 1);
		snprintf(name, namelen, "unix:%s", path);
		return 0;
	}
	char text[INET6_ADDRSTRLEN];
	if (ep->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(ep->port);
		memcpy(&sin->sin_addr, ep->addr, 4);
		*len = sizeof *sin;
		inet_ntop(AF_INET, ep->addr, text, sizeof text);
		snprintf(name, namelen, "%s:%u", text, ep->port);
		return 0;
	}
	if (ep->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(ep->port);
		memcpy(&sin6->sin6_addr, ep->addr, 16);
		*len = sizeof *sin6;
		inet_ntop(AF_INET6, ep->addr, text, sizeof text);
		snprintf(name, namelen, "[%s]:%u", text, ep->port);
		return 0;
	}
	return -1;
}

static int table_grow(struct upool_table *t)
{
	uint32_t n = t->nbuckets ? t->nbuckets * 2 : 16;
	struct upool **b = calloc(n, sizeof *b);
	if (b == NULL)
		return -1;
	for (uint32_t i = 0; i < t->nbuckets; i++) {
		struct upool *p = t->buckets[i];
		while (p != NULL) {
			struct upool *next = p->hnext;
			p->hnext = b[p->hash & (n - 1)];
			b[p->hash & (n - 1)] = p;
			p = next;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
	return 0;
}

struct upool *upool_get(struct worker *w, const struct img_header *img,
			const struct img_endpoint *ep)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char name[sizeof ((struct upool *)0)->name];
	if (endpoint_addr(img, ep, &ss, &len, name, sizeof name) < 0)
		return NULL;
	return upool_get_addr(w, &ss, len, name);
}

struct upool *upool_get_addr(struct worker *w, const struct sockaddr_storage *addr, socklen_t len,
			     const char *name)
{
	struct sockaddr_storage ss;
	memcpy(&ss, addr, sizeof ss);
	uint32_t h = addr_hash(&ss, len);
	struct upool_table *t = &w->pools;
	if (t->nbuckets != 0) {
		for (struct upool *p = t->buckets[h & (t->nbuckets - 1)]; p != NULL; p = p->hnext) {
			if (p->hash == h && p->addrlen == len && memcmp(&p->addr, &ss, len) == 0) {
				p->refs++;
				return p;
			}
		}
	}
	if (t->count >= t->nbuckets && table_grow(t) < 0)
		return NULL;
	struct upool *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->hash = h;
	p->addr = ss;
	p->addrlen = len;
	snprintf(p->name, sizeof p->name, "%s", name);
	p->refs = 1;
	p->hnext = t->buckets[h & (t->nbuckets - 1)];
	t->buckets[h & (t->nbuckets - 1)] = p;
	t->count++;
	return p;
}

void upool_unref(struct upool *p)
{
	if (p != NULL && p->refs > 0)
		p->refs--;
}

static void idle_unlink(struct upstream *u)
{
	struct upool *p = u->pool;
	if (u->prev != NULL)
		u->prev->next = u->next;
	else
		p->idle_head = u->next;
	if (u->next != NULL)
		u->next->prev = u->prev;
	else
		p->idle_tail = u->prev;
	u->prev = u->next = NULL;
	p->nidle--;
}

static void upstream_on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct upstream *u = container_of(io, struct upstream, io);
	(void)loop;
	if (u->owner != NULL) {
		conn_on_upstream_io(u->owner, revents);
		return;
	}
	/* Idle: readable means the backend closed it (or sent bytes nobody asked for);
	 * an HTTP/2 backend may also send control frames (SETTINGS, PING). */
	if (u->h2 == NULL || !h2_up_idle_input(u))
		upstream_close(u);
}

/* Past the idle timeout or the maximum age of the policy that last used it. */
static bool upstream_expired(const struct upstream *u, ev_tstamp now)
{
	ev_tstamp idle = u->idle_timeout != 0 ? u->idle_timeout : UPOOL_IDLE_TIMEOUT;
	return (idle > 0 && now - u->idle_since >= idle) ||
	       (u->max_age > 0 && now - u->born >= u->max_age);
}

int upstream_get(struct worker *w, struct upool *p, struct conn *owner, bool fresh,
		 struct upstream **out)
{
	return upstream_get_tls(w, p, owner, fresh, NULL, false, out);
}

int upstream_get_tls(struct worker *w, struct upool *p, struct conn *owner, bool fresh,
		     struct tls_client *tls, bool h2, struct upstream **out)
{
	struct upstream *u = fresh ? NULL : p->idle_head;
	ev_tstamp now = ev_now(w->loop);
	/* TLS and plain connections to one address never mix (nor TLS configs). One past
	 * its policy's limits closes now rather than at the next sweep. */
	while (u != NULL) {
		struct upstream *next = u->next;
		if (upstream_expired(u, now))
			upstream_close(u);
		else if ((u->tls != NULL ? u->tls->tc : NULL) == tls && (u->h2 != NULL) == h2)
			break;
		u = next;
	}
	if (u != NULL) {
		idle_unlink(u);
		u->owner = owner;
		u->reused = true;
		u->idle_timeout = u->max_age = 0;  /* this request's policy sets them */
		p->nactive++;
		*out = u;
		return 0;
	}
	int fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (p->addr.ss_family != AF_UNIX) {
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	int r = 0;
	if (connect(fd, (const struct sockaddr *)&p->addr, p->addrlen) < 0) {
		/* A unix socket with a full backlog says EAGAIN: a failure here, as the
		 * kernel offers no completion event for it. */
		if (errno != EINPROGRESS) {
			int e = errno;
			close(fd);
			return -e;
		}
		r = 1;
	}
	u = calloc(1, sizeof *u);
	if (u == NULL) {
		close(fd);
		return -ENOMEM;
	}
	if (tls != NULL && (u->tls = tls_up_new(tls, fd)) == NULL) {
		free(u);
		close(fd);
		return -ENOMEM;
	}
	if (tls != NULL)
		r = 1;  /* the handshake completes the connect */
	if (h2 && (u->h2 = h2_up_new(fd, w->lim, w->hdrs)) == NULL) {
		tls_up_free(u->tls);
		free(u);
		close(fd);
		return -ENOMEM;
	}
	u->fd = fd;
	u->w = w;
	u->pool = p;
	u->owner = owner;
	u->born = now;
	ev_io_init(&u->io, upstream_on_io, fd, 0);
	p->nactive++;
	*out = u;
	return r;
}

int upstream_connect_result(struct upstream *u)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return err != 0 ? -err : 0;
}

void upstream_watch(struct upstream *u, int events)
{
	if ((u->io.events & (EV_READ | EV_WRITE)) == events && (events == 0 || ev_is_active(&u->io)))
		return;
	ev_io_stop(u->w->loop, &u->io);
	ev_io_modify(&u->io, events);
	if (events != 0)
		ev_io_start(u->w->loop, &u->io);
}

void upstream_release(struct upstream *u)
{
	struct upool *p = u->pool;
	struct worker *w = u->w;
	/* maxConnectionDuration: never cuts a request, ends the connection after it. */
	if (w->draining || p->nidle >= UPOOL_MAX_IDLE || (u->h2 != NULL && !h2_up_release(u)) ||
	    (u->max_age > 0 && ev_now(w->loop) - u->born >= u->max_age)) {
		upstream_close(u);
		return;
	}
	u->owner = NULL;
	p->nactive--;
	u->idle_since = ev_now(w->loop);
	u->prev = NULL;
	u->next = p->idle_head;
	if (p->idle_head != NULL)
		p->idle_head->prev = u;
	else
		p->idle_tail = u;
	p->idle_head = u;
	p->nidle++;
	upstream_watch(u, EV_READ);
}

void upstream_close(struct upstream *u)
{
	struct upool *p = u->pool;
	ev_io_stop(u->w->loop, &u->io);
	tls_up_free(u->tls);
	h2_up_free(u->h2);
	close(u->fd);
	if (u->owner != NULL)
		p->nactive--;
	else
		idle_unlink(u);
	free(u);
}

static void upool_free_unused(struct upool_table *t)
{
	for (uint32_t i = 0; i < t->nbuckets; i++) {
		struct upool **pp = &t->buckets[i];
		while (*pp != NULL) {
			struct upool *p = *pp;
			if (p->refs == 0 && p->nidle == 0 && p->nactive == 0) {
				*pp = p->hnext;
				t->count--;
				free(p);
			} else {
				pp = &p->hnext;
			}
		}
	}
}

void upool_sweep(struct worker *w, ev_tstamp now)
{
	struct upool_table *t = &w->pools;
	for (uint32_t i = 0; i < t->nbuckets; i++) {
		for (struct upool *p = t->buckets[i]; p != NULL; p = p->hnext) {
			/* Timeouts differ per connection (per policy): every one is looked at. */
			for (struct upstream *u = p->idle_tail, *prev; u != NULL; u = prev) {
				prev = u->prev;
				if (upstream_expired(u, now))
					upstream_close(u);
			}
		}
	}
	upool_free_unused(t);
}

void upool_close_idle(struct worker *w)
{
	struct upool_table *t = &w->pools;
	for (uint32_t i = 0; i < t->nbuckets; i++)
		for (struct upool *p = t->buckets[i]; p != NULL; p = p->hnext)
			while (p->idle_head != NULL)
				upstream_close(p->idle_head);
}

void upool_table_fini(struct worker *w)
{
	struct upool_table *t = &w->pools;
	upool_close_idle(w);
	for (uint32_t i = 0; i < t->nbuckets; i++) {
		struct upool *p = t->buckets[i];
		while (p != NULL) {
			struct upool *next = p->hnext;
			free(p);
			p = next;
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->count = 0;
}
