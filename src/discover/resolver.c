/* SPDX-License-Identifier: MIT */
/* resolver: c-ares driven by the main libev loop. Each watched name runs "rounds" of
 * two queries (A and AAAA); a round's outcome updates the name's addresses and
 * schedules the next round (TTL, or backoff after a failure). */
#include "config.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <ev.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/buf.h"
#include "base/log.h"
#include "discover/dns_ttl.h"
#include "discover/resolver.h"

/* The records of one answer read before sorting; the lowest RESOLVER_MAX_ADDRS of
 * them are kept. A 512-byte UDP answer holds fewer than 32 A records; a TCP answer may
 * hold more. */
#define ANSWER_MAX_RECORDS 256

enum { Q_A = 0, Q_AAAA = 1 };

/* The outcome of one query of a round. */
enum qstate { QS_NONE, QS_OK, QS_NODATA, QS_ERROR };

struct rname;

struct rquery {
	struct rname *e;
	int which;                /* Q_A or Q_AAAA */
};

struct rname {
	char *name;               /* lowercase */
	struct resolver *r;
	struct resolver_addr addrs[RESOLVER_MAX_ADDRS];
	size_t naddrs;
	enum resolver_result last_result;
	char last_error[160];
	uint32_t ttl;
	uint64_t resolved_ms;
	ev_tstamp due;            /* loop time of the next round */
	uint64_t successes, failures, empties;
	unsigned fail_streak;
	int pending;              /* queries in flight */
	bool dropped;             /* no longer watched: freed when pending reaches 0 */
	bool truncated_logged;
	/* the round in progress */
	struct rquery q[2];
	enum qstate qs[2];
	char qerr[2][64];
	struct resolver_addr got[2 * RESOLVER_MAX_ADDRS];
	size_t ngot[2];           /* per family, stored in got[which * RESOLVER_MAX_ADDRS ..] */
	uint32_t got_ttl;
	bool got_truncated;
};

/* One socket c-ares asked us to watch. Allocated one by one: libev keeps pointers to
 * pending watchers, so they must not move. */
struct rsock {
	ev_io io;
	struct resolver *r;
	struct rsock *next;
};

struct resolver {
	struct ev_loop *loop;
	ares_channel ch;
	bool ch_ok;
	uint64_t min_ms, max_ms;
	void (*changed)(void *arg);
	void *arg;
	struct rname **names;     /* watched, sorted by name */
	size_t nnames;
	struct rname **dying;     /* dropped with queries in flight */
	size_t ndying;
	struct rsock *socks;
	ev_timer ares_timer;      /* c-ares' own timeouts and retransmissions */
	ev_timer refresh_timer;   /* the next due round */
	ev_timer notify_timer;    /* a deferred call to changed */
	bool dirty;
	bool freeing;
};

/* ---- small helpers ---- */

static int addr_cmp(const void *a, const void *b)
{
	const struct resolver_addr *x = a, *y = b;
	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	return memcmp(x->addr, y->addr, x->family == AF_INET ? 4 : 16);
}

static struct rname *find_name(const struct resolver *r, const char *name)
{
	size_t lo = 0, hi = r->nnames;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcasecmp(name, r->names[mid]->name);
		if (c == 0)
			return r->names[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void addr_text(const struct resolver_addr *a, char *out, size_t len)
{
	if (!inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->addr, out, (socklen_t)len))
		snprintf(out, len, "?");
}

static void addrs_text(const struct resolver_addr *a, size_t n, struct buf *out)
{
	char t[INET6_ADDRSTRLEN];
	if (n == 0)
		buf_puts(out, "(none)");
	for (size_t i = 0; i < n; i++) {
		addr_text(&a[i], t, sizeof t);
		buf_printf(out, "%s%s", i ? " " : "", t);
	}
}

const char *resolver_result_name(enum resolver_result res)
{
	switch (res) {
	case RESOLVER_SUCCESS: return "success";
	case RESOLVER_EMPTY: return "empty";
	case RESOLVER_FAILURE: return "failure";
	default: return "pending";
	}
}

/* ---- c-ares plumbing on libev ---- */

static void after_ares(struct resolver *r);

static void on_sock(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rsock *s = w->data;
	struct resolver *r = s->r;
	int fd = w->fd;
	/* s may be freed inside ares_process_fd (the socket closed). */
	ares_process_fd(r->ch, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
			(revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	after_ares(r);
}

/* c-ares' ARES_OPT_SOCK_STATE_CB: start, change or stop watching one socket. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct rsock **pp = &r->socks, *s;
	while ((s = *pp) && s->io.fd != fd)
		pp = &s->next;
	if (!readable && !writable) {
		if (s) {
			ev_io_stop(r->loop, &s->io);
			*pp = s->next;
			free(s);
		}
		return;
	}
	int ev = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	if (!s) {
		s = calloc(1, sizeof *s);
		if (!s) {
			/* The query times out through the ares timer instead. */
			log_warnx("dns: out of memory watching a socket");
			return;
		}
		s->r = r;
		s->next = r->socks;
		r->socks = s;
		ev_io_init(&s->io, on_sock, fd, ev);
		s->io.data = s;
		ev_io_start(r->loop, &s->io);
		return;
	}
	if ((s->io.events & (EV_READ | EV_WRITE)) != ev) {
		ev_io_stop(r->loop, &s->io);
		ev_io_set(&s->io, fd, ev);
		ev_io_start(r->loop, &s->io);
	}
}

static void on_ares_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct resolver *r = w->data;
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	after_ares(r);
}

/* Re-arms the c-ares timer from ares_timeout(): the next retransmission or timeout. */
static void ares_timer_update(struct resolver *r)
{
	ev_timer_stop(r->loop, &r->ares_timer);
	struct timeval max = {3600, 0}, tv;
	struct timeval *t = ares_timeout(r->ch, &max, &tv);
	if (!r->socks && t == &max)
		return;     /* nothing in flight */
	double after = (double)t->tv_sec + (double)t->tv_usec / 1e6;
	ev_timer_set(&r->ares_timer, after, 0.);
	ev_timer_start(r->loop, &r->ares_timer);
}

static void refresh_schedule(struct resolver *r);

static void mark_dirty(struct resolver *r)
{
	if (r->dirty || r->freeing)
		return;
	r->dirty = true;
	ev_timer_set(&r->notify_timer, 0., 0.);
	ev_timer_start(r->loop, &r->notify_timer);
}

static void on_notify(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct resolver *r = w->data;
	r->dirty = false;
	if (r->changed)
		r->changed(r->arg);
}

static void after_ares(struct resolver *r)
{
	ares_timer_update(r);
	refresh_schedule(r);
}

/* ---- one round: A + AAAA ---- */

static void rname_free(struct rname *e)
{
	free(e->name);
	free(e);
}

static void dying_remove(struct resolver *r, struct rname *e)
{
	for (size_t i = 0; i < r->ndying; i++)
		if (r->dying[i] == e) {
			r->dying[i] = r->dying[--r->ndying];
			return;
		}
}

/* A family whose query failed keeps its previous addresses: one lost AAAA answer
 * must not take the IPv6 endpoints away. */
static size_t round_addresses(const struct rname *e, struct resolver_addr *out)
{
	size_t n = 0;
	for (int w = Q_A; w <= Q_AAAA; w++) {
		int family = w == Q_A ? AF_INET : AF_INET6;
		if (e->qs[w] == QS_OK) {
			memcpy(&out[n], &e->got[w * RESOLVER_MAX_ADDRS], e->ngot[w] * sizeof *out);
			n += e->ngot[w];
		} else if (e->qs[w] == QS_ERROR) {
			for (size_t i = 0; i < e->naddrs; i++)
				if (e->addrs[i].family == family)
					out[n++] = e->addrs[i];
		}
	}
	qsort(out, n, sizeof *out, addr_cmp);
	/* Both families together may exceed the cap: keep the lowest. */
	return n > RESOLVER_MAX_ADDRS ? RESOLVER_MAX_ADDRS : n;
}

static void round_done(struct rname *e)
{
	struct resolver *r = e->r;
	bool any_ok = e->qs[Q_A] == QS_OK || e->qs[Q_AAAA] == QS_OK;
	bool any_err = e->qs[Q_A] == QS_ERROR || e->qs[Q_AAAA] == QS_ERROR;
	enum resolver_result prev = e->last_result;
	char prev_err[sizeof e->last_error];
	memcpy(prev_err, e->last_error, sizeof prev_err);
	ev_tstamp now = ev_now(r->loop);
	uint64_t delay;

	if (any_ok) {
		struct resolver_addr next[2 * RESOLVER_MAX_ADDRS];
		size_t n = round_addresses(e, next);
		bool changed = n != e->naddrs || memcmp(next, e->addrs, n * sizeof *next) != 0;
		e->last_result = RESOLVER_SUCCESS;
		e->last_error[0] = '\0';
		e->successes++;
		e->fail_streak = 0;
		e->ttl = e->got_ttl;
		e->resolved_ms = (uint64_t)(ev_time() * 1000);
		delay = dns_ttl_refresh_ms(e->ttl, r->min_ms, r->max_ms);
		if (changed) {
			struct buf b = BUF_INIT;
			addrs_text(e->addrs, e->naddrs, &b);
			buf_puts(&b, " -> ");
			addrs_text(next, n, &b);
			log_info("dns: %s: %s (ttl %" PRIu32 "s, next query in %" PRIu64 " ms)", e->name,
				 b.data, e->ttl, delay);
			buf_free(&b);
			memcpy(e->addrs, next, n * sizeof *next);
			e->naddrs = n;
			mark_dirty(r);
		} else if (prev != RESOLVER_SUCCESS && prev != RESOLVER_PENDING) {
			log_info("dns: %s: resolves again (%zu address(es))", e->name, n);
		}
		if (e->got_truncated && !e->truncated_logged)
			log_warnx("dns: %s: more than %d addresses: the lowest %d are used", e->name,
				  RESOLVER_MAX_ADDRS, RESOLVER_MAX_ADDRS);
		e->truncated_logged = e->got_truncated;
	} else {
		if (any_err) {
			e->last_result = RESOLVER_FAILURE;
			e->failures++;
			int w = e->qs[Q_A] == QS_ERROR ? Q_A : Q_AAAA;
			snprintf(e->last_error, sizeof e->last_error, "%s", e->qerr[w]);
		} else {
			e->last_result = RESOLVER_EMPTY;
			e->empties++;
			snprintf(e->last_error, sizeof e->last_error, "%s", e->qerr[Q_A][0] ? e->qerr[Q_A] :
				 "no A or AAAA record");
		}
		e->fail_streak++;
		delay = dns_ttl_backoff_ms(e->fail_streak, r->min_ms, r->max_ms);
		/* Once per change of state, not once per retry. */
		if (prev != e->last_result || strcmp(prev_err, e->last_error) != 0)
			log_warnx("dns: %s: %s%s; %s; next try in %" PRIu64 " ms", e->name,
				  e->last_result == RESOLVER_FAILURE ? "resolution failed: " : "empty answer: ",
				  e->last_error,
				  e->naddrs ? "the last known addresses stay in use" :
				  "no address known: requests to its backends get 503", delay);
	}
	e->due = now + (double)delay / 1000.0;
}

/* c-ares callback of one query. */
static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct rquery *q = arg;
	struct rname *e = q->e;
	struct resolver *r = e->r;
	int w = q->which;
	e->pending--;
	if (e->dropped || r->freeing) {
		if (e->pending == 0 && !r->freeing) {
			dying_remove(r, e);
			rname_free(e);
		}
		return;
	}
	struct resolver_addr *dst = &e->got[w * RESOLVER_MAX_ADDRS];
	e->ngot[w] = 0;
	e->qerr[w][0] = '\0';
	if (status == ARES_SUCCESS) {
		struct resolver_addr all[ANSWER_MAX_RECORDS];
		int n = ANSWER_MAX_RECORDS;
		int minttl = -1;
		if (w == Q_A) {
			struct ares_addrttl t[ANSWER_MAX_RECORDS];
			status = ares_parse_a_reply(abuf, alen, NULL, t, &n);
			for (int i = 0; status == ARES_SUCCESS && i < n; i++) {
				memset(&all[i], 0, sizeof all[i]);
				all[i].family = AF_INET;
				memcpy(all[i].addr, &t[i].ipaddr, 4);
				if (minttl < 0 || t[i].ttl < minttl)
					minttl = t[i].ttl;
			}
		} else {
			struct ares_addr6ttl t[ANSWER_MAX_RECORDS];
			status = ares_parse_aaaa_reply(abuf, alen, NULL, t, &n);
			for (int i = 0; status == ARES_SUCCESS && i < n; i++) {
				all[i].family = AF_INET6;
				memcpy(all[i].addr, &t[i].ip6addr, 16);
				if (minttl < 0 || t[i].ttl < minttl)
					minttl = t[i].ttl;
			}
		}
		if (status == ARES_SUCCESS && n > 0) {
			size_t m = (size_t)n;
			qsort(all, m, sizeof *all, addr_cmp);
			size_t k = 0;
			for (size_t i = 0; i < m && k < RESOLVER_MAX_ADDRS; i++)
				if (k == 0 || addr_cmp(&dst[k - 1], &all[i]) != 0)
					dst[k++] = all[i];
			e->got_truncated |= k == RESOLVER_MAX_ADDRS && m > k;
			e->ngot[w] = k;
			uint32_t ttl = minttl < 0 ? 0 : (uint32_t)minttl;
			if (e->qs[w ^ 1] != QS_OK || ttl < e->got_ttl)
				e->got_ttl = ttl;
			e->qs[w] = QS_OK;
		} else if (status == ARES_SUCCESS || status == ARES_ENODATA) {
			e->qs[w] = QS_NODATA;
		} else {
			e->qs[w] = QS_ERROR;
			snprintf(e->qerr[w], sizeof e->qerr[w], "%s answer: %s", w == Q_A ? "A" : "AAAA",
				 ares_strerror(status));
		}
	} else if (status == ARES_ENODATA) {
		e->qs[w] = QS_NODATA;
	} else if (status == ARES_ENOTFOUND) {
		e->qs[w] = QS_NODATA;
		snprintf(e->qerr[w], sizeof e->qerr[w], "no such name (NXDOMAIN)");
	} else {
		e->qs[w] = QS_ERROR;
		snprintf(e->qerr[w], sizeof e->qerr[w], "%s", ares_strerror(status));
	}
	if (e->pending == 0)
		round_done(e);
}

static void round_start(struct rname *e)
{
	struct resolver *r = e->r;
	e->pending = 2;
	e->qs[Q_A] = e->qs[Q_AAAA] = QS_NONE;
	e->ngot[Q_A] = e->ngot[Q_AAAA] = 0;
	e->got_ttl = 0;
	e->got_truncated = false;
	e->due = 0;
	/* A name with a dot is taken as absolute, so that resolv.conf search domains do
	 * not turn a typo into someone else's host; a single label goes through them. */
	bool search = strchr(e->name, '.') == NULL;
	for (int w = Q_A; w <= Q_AAAA; w++) {
		e->q[w].e = e;
		e->q[w].which = w;
		int type = w == Q_A ? ns_t_a : ns_t_aaaa;
		/* The callback may run right here (an immediate error). */
		if (search)
			ares_search(r->ch, e->name, ns_c_in, type, on_answer, &e->q[w]);
		else
			ares_query(r->ch, e->name, ns_c_in, type, on_answer, &e->q[w]);
	}
}

static void on_refresh(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct resolver *r = w->data;
	ev_tstamp now = ev_now(loop);
	/* round_start may complete a round inline, which only touches that name. */
	for (size_t i = 0; i < r->nnames; i++) {
		struct rname *e = r->names[i];
		if (e->pending == 0 && e->due <= now + 0.001)
			round_start(e);
	}
	after_ares(r);
}

static void refresh_schedule(struct resolver *r)
{
	ev_tstamp now = ev_now(r->loop), first = 0;
	bool any = false;
	for (size_t i = 0; i < r->nnames; i++) {
		const struct rname *e = r->names[i];
		if (e->pending)
			continue;
		if (!any || e->due < first)
			first = e->due;
		any = true;
	}
	ev_timer_stop(r->loop, &r->refresh_timer);
	if (!any)
		return;
	ev_timer_set(&r->refresh_timer, first > now ? first - now : 0., 0.);
	ev_timer_start(r->loop, &r->refresh_timer);
}

/* ---- the API ---- */

/* "127.0.0.1:5353, [::1]:53, [::1]" -> "127.0.0.1:5353,[::1]:53,::1": c-ares 1.18 reads
 * no spaces, and a bracketed IPv6 address only with a port (a bare one it reads). */
static void servers_csv(const char *in, struct buf *out)
{
	const char *p = in;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		size_t len = (size_t)(e - p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		bool unport = len > 2 && p[0] == '[' && p[len - 1] == ']';
		buf_printf(out, "%s%.*s", out->len ? "," : "", (int)(unport ? len - 2 : len), unport ? p + 1 : p);
		p = e;
	}
}

struct resolver *resolver_new(struct ev_loop *main_loop, const struct settings *s,
			      void (*changed)(void *arg), void *arg)
{
	struct resolver *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->loop = main_loop;
	r->min_ms = s->dns_min_ttl_ms;
	r->max_ms = s->dns_max_ttl_ms;
	r->changed = changed;
	r->arg = arg;
	ev_timer_init(&r->ares_timer, on_ares_timer, 0., 0.);
	ev_timer_init(&r->refresh_timer, on_refresh, 0., 0.);
	ev_timer_init(&r->notify_timer, on_notify, 0., 0.);
	r->ares_timer.data = r->refresh_timer.data = r->notify_timer.data = r;

	int rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS) {
		log_error("dns: c-ares: %s", ares_strerror(rc));
		free(r);
		return NULL;
	}
	struct ares_options o;
	memset(&o, 0, sizeof o);
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = r;
	o.timeout = 2000;          /* per try, ms */
	o.tries = 2;
	rc = ares_init_options(&r->ch, &o, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		log_error("dns: c-ares: %s", ares_strerror(rc));
		ares_library_cleanup();
		free(r);
		return NULL;
	}
	r->ch_ok = true;
	if (s->dns_nameservers && s->dns_nameservers[0]) {
		struct buf csv = BUF_INIT;
		servers_csv(s->dns_nameservers, &csv);
		rc = ares_set_servers_ports_csv(r->ch, csv.data ? csv.data : "");
		if (rc != ARES_SUCCESS) {
			log_error("dns: [dns] nameservers \"%s\": %s", s->dns_nameservers, ares_strerror(rc));
			buf_free(&csv);
			resolver_free(r);
			return NULL;
		}
		log_debug("dns: nameservers %s", csv.data);
		buf_free(&csv);
	}
	return r;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void drop_name(struct resolver *r, struct rname *e)
{
	if (e->pending == 0) {
		rname_free(e);
		return;
	}
	struct rname **d = realloc(r->dying, (r->ndying + 1) * sizeof *d);
	if (!d) {
		/* Cannot park it: keep it alive as a leak rather than risk a dangling callback. */
		e->dropped = true;
		return;
	}
	r->dying = d;
	e->dropped = true;
	r->dying[r->ndying++] = e;
}

void resolver_watch(struct resolver *r, const char *const *names, size_t n)
{
	if (!r)
		return;
	/* The wanted names: lowercase copies, sorted, without duplicates or bad ones. */
	char **want = calloc(n ? n : 1, sizeof *want);
	size_t nwant = 0;
	if (!want) {
		log_warnx("dns: out of memory: the watched names stay as they are");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = names[i] ? strlen(names[i]) : 0;
		if (len == 0 || len > RESOLVER_MAX_NAME_LEN)
			continue;
		char *c = strdup(names[i]);
		if (!c)
			continue;
		for (char *p = c; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		want[nwant++] = c;
	}
	qsort(want, nwant, sizeof *want, str_cmp);
	size_t u = 0;
	for (size_t i = 0; i < nwant; i++) {
		if (u && strcmp(want[u - 1], want[i]) == 0) {
			free(want[i]);
			continue;
		}
		want[u++] = want[i];
	}
	nwant = u;
	if (nwant > RESOLVER_MAX_NAMES) {
		log_warnx("dns: %zu hostnames to resolve, more than %d: the names after \"%s\" "
			  "(in byte order) are not resolved", nwant, RESOLVER_MAX_NAMES,
			  want[RESOLVER_MAX_NAMES - 1]);
		for (size_t i = RESOLVER_MAX_NAMES; i < nwant; i++)
			free(want[i]);
		nwant = RESOLVER_MAX_NAMES;
	}

	struct rname **next = calloc(nwant ? nwant : 1, sizeof *next);
	if (!next) {
		for (size_t i = 0; i < nwant; i++)
			free(want[i]);
		free(want);
		log_warnx("dns: out of memory: the watched names stay as they are");
		return;
	}
	/* Merge the two sorted lists: kept names keep their state. */
	size_t i = 0, j = 0, k = 0, added = 0;
	ev_tstamp now = ev_now(r->loop);
	while (i < r->nnames || j < nwant) {
		int c = i == r->nnames ? 1 : j == nwant ? -1 : strcmp(r->names[i]->name, want[j]);
		if (c < 0) {
			drop_name(r, r->names[i++]);
		} else if (c == 0) {
			next[k++] = r->names[i++];
			free(want[j++]);
		} else {
			struct rname *e = calloc(1, sizeof *e);
			if (!e) {
				free(want[j++]);
				continue;
			}
			e->name = want[j++];
			e->r = r;
			e->due = now;
			next[k++] = e;
			added++;
		}
	}
	free(want);
	free(r->names);
	r->names = next;
	r->nnames = k;
	if (added)
		log_debug("dns: watching %zu name(s), %zu new", k, added);
	/* New names are queried from the loop, not from inside this call. */
	refresh_schedule(r);
}

size_t resolver_addrs(const struct resolver *r, const char *name, struct resolver_addr *out, size_t max)
{
	if (!r || !name)
		return 0;
	const struct rname *e = find_name(r, name);
	if (!e)
		return 0;
	size_t n = e->naddrs < max ? e->naddrs : max;
	memcpy(out, e->addrs, n * sizeof *out);
	return n;
}

void resolver_each(const struct resolver *r, void (*fn)(void *ctx, const struct resolver_name_info *info),
		   void *ctx)
{
	if (!r)
		return;
	ev_tstamp now = ev_now(r->loop);
	double wall = ev_time();
	for (size_t i = 0; i < r->nnames; i++) {
		const struct rname *e = r->names[i];
		struct resolver_name_info info = {
			.name = e->name,
			.addrs = e->addrs,
			.naddrs = e->naddrs,
			.last_result = e->last_result,
			.last_error = e->last_error,
			.ttl = e->ttl,
			.resolved_ms = e->resolved_ms,
			.successes = e->successes,
			.failures = e->failures,
			.empties = e->empties,
		};
		if (!e->pending) {
			double at = wall + (e->due > now ? e->due - now : 0.);
			info.next_refresh_ms = (uint64_t)(at * 1000);
		}
		fn(ctx, &info);
	}
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	r->freeing = true;
	if (r->ch_ok) {
		/* Runs every pending callback with ARES_EDESTRUCTION; they only count down. */
		ares_destroy(r->ch);
		ares_library_cleanup();
	}
	while (r->socks) {
		struct rsock *s = r->socks;
		r->socks = s->next;
		ev_io_stop(r->loop, &s->io);
		free(s);
	}
	ev_timer_stop(r->loop, &r->ares_timer);
	ev_timer_stop(r->loop, &r->refresh_timer);
	ev_timer_stop(r->loop, &r->notify_timer);
	for (size_t i = 0; i < r->nnames; i++)
		rname_free(r->names[i]);
	for (size_t i = 0; i < r->ndying; i++)
		rname_free(r->dying[i]);
	free(r->names);
	free(r->dying);
	free(r);
}
