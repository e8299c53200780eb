/* SPDX-License-Identifier: MIT */
/* test_resolver: the c-ares resolver on a libev loop against a tiny DNS server in this
 * process (UDP on 127.0.0.1): addresses and TTLs, a changed record, a server that
 * stops answering (the last addresses stay), NXDOMAIN, and dropping names. */
#include "unit.h"

#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "discover/resolver.h"

/* ---- a DNS server answering from a table ---- */

struct rec {
	const char *name;
	int type;                 /* 1 = A, 28 = AAAA */
	const char *addr;
	uint32_t ttl;
};

struct fake_dns {
	int fd;
	uint16_t port;
	ev_io io;
	struct rec recs[8];
	size_t nrecs;
	bool mute;                /* read queries, answer nothing */
	unsigned queries;
};

/* "a.b" from the question at q, into out; returns the bytes after the name, or NULL. */
static const uint8_t *qname(const uint8_t *q, const uint8_t *end, char *out, size_t len)
{
	size_t o = 0;
	while (q < end && *q) {
		size_t l = *q++;
		if (l > 63 || q + l > end || o + l + 2 > len)
			return NULL;
		if (o)
			out[o++] = '.';
		memcpy(out + o, q, l);
		o += l;
		q += l;
	}
	out[o] = '\0';
	return q < end ? q + 1 : NULL;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void on_query(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct fake_dns *d = w->data;
	uint8_t in[512], out[1024];
	struct sockaddr_storage from;
	socklen_t flen = sizeof from;
	ssize_t n = recvfrom(d->fd, in, sizeof in, 0, (struct sockaddr *)&from, &flen);
	if (n < 12)
		return;
	d->queries++;
	if (d->mute)
		return;
	char name[256];
	const uint8_t *p = qname(in + 12, in + n, name, sizeof name);
	if (!p || p + 4 > in + n)
		return;
	unsigned type = (unsigned)(p[0] << 8 | p[1]);
	size_t qlen = (size_t)(p + 4 - in);
	memcpy(out, in, qlen);
	bool known = false;
	unsigned an = 0;
	size_t o = qlen;
	for (size_t i = 0; i < d->nrecs; i++) {
		const struct rec *r = &d->recs[i];
		if (strcasecmp(r->name, name) != 0)
			continue;
		known = true;
		if ((unsigned)r->type != type)
			continue;
		out[o] = 0xc0;        /* pointer to the question's name */
		out[o + 1] = 12;
		put16(out + o + 2, type);
		put16(out + o + 4, 1);
		put16(out + o + 6, r->ttl >> 16);
		put16(out + o + 8, r->ttl & 0xffff);
		unsigned rdlen = type == 1 ? 4 : 16;
		put16(out + o + 10, rdlen);
		inet_pton(type == 1 ? AF_INET : AF_INET6, r->addr, out + o + 12);
		o += 12 + rdlen;
		an++;
	}
	out[2] = 0x84 | (in[2] & 0x01);    /* QR, AA, RD copied */
	out[3] = 0x80 | (known ? 0 : 3);   /* RA; NXDOMAIN for unknown names */
	put16(out + 4, 1);
	put16(out + 6, an);
	put16(out + 8, 0);
	put16(out + 10, 0);
	sendto(d->fd, out, o, 0, (struct sockaddr *)&from, flen);
}

static void fake_start(struct ev_loop *loop, struct fake_dns *d)
{
	memset(d, 0, sizeof *d);
	d->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(d->fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(d->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	socklen_t len = sizeof sa;
	assert_int_equal(getsockname(d->fd, (struct sockaddr *)&sa, &len), 0);
	d->port = ntohs(sa.sin_port);
	ev_io_init(&d->io, on_query, d->fd, EV_READ);
	d->io.data = d;
	ev_io_start(loop, &d->io);
}

static void fake_stop(struct ev_loop *loop, struct fake_dns *d)
{
	ev_io_stop(loop, &d->io);
	close(d->fd);
}

/* ---- driving the loop ---- */

struct world {
	struct ev_loop *loop;
	struct fake_dns dns;
	struct resolver *r;
	struct settings s;
	char servers[64];
	unsigned changed;
};

static void on_changed(void *arg)
{
	((struct world *)arg)->changed++;
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof *w);
	w->loop = ev_loop_new(EVFLAG_AUTO);
	fake_start(w->loop, &w->dns);
	snprintf(w->servers, sizeof w->servers, "127.0.0.1:%u", (unsigned)w->dns.port);
	w->s.dns_nameservers = w->servers;
	w->s.dns_min_ttl_ms = 0;          /* the 500 ms floor applies */
	w->s.dns_max_ttl_ms = 60000;
	w->r = resolver_new(w->loop, &w->s, on_changed, w);
	assert_non_null(w->r);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	resolver_free(w->r);
	if (w->dns.fd >= 0)
		fake_stop(w->loop, &w->dns);
	ev_loop_destroy(w->loop);
	free(w);
	return 0;
}

static void on_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ONE);
}

/* Runs the loop until pred(w) holds or secs pass; returns pred's last value. */
static bool run_until(struct world *w, bool (*pred)(struct world *), double secs)
{
	ev_timer dl;
	ev_timer_init(&dl, on_deadline, secs, 0.);
	ev_timer_start(w->loop, &dl);
	bool ok;
	while (!(ok = pred(w)) && ev_is_active(&dl))
		ev_run(w->loop, EVRUN_ONCE);
	ev_timer_stop(w->loop, &dl);
	return ok;
}

static void add(struct world *w, const char *name, int type, const char *addr, uint32_t ttl)
{
	w->dns.recs[w->dns.nrecs++] = (struct rec){name, type, addr, ttl};
}

static char *addrs_of(struct world *w, const char *name)
{
	static char out[512];
	struct resolver_addr a[RESOLVER_MAX_ADDRS];
	size_t n = resolver_addrs(w->r, name, a, RESOLVER_MAX_ADDRS);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char t[INET6_ADDRSTRLEN];
		inet_ntop(a[i].family, a[i].addr, t, sizeof t);
		snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? " " : "", t);
	}
	return out;
}

struct info_copy {
	const char *want;
	struct resolver_name_info info;
	char err[160];
	bool found;
};

static void grab(void *ctx, const struct resolver_name_info *in)
{
	struct info_copy *c = ctx;
	if (strcmp(in->name, c->want) != 0)
		return;
	c->info = *in;
	snprintf(c->err, sizeof c->err, "%s", in->last_error);
	c->found = true;
}

static struct info_copy info_of(struct world *w, const char *name)
{
	struct info_copy c = {.want = name};
	resolver_each(w->r, grab, &c);
	return c;
}

static bool changed_once(struct world *w) { return w->changed >= 1; }
static bool changed_twice(struct world *w) { return w->changed >= 2; }
static bool four_queries(struct world *w) { return w->dns.queries >= 4; }
static bool web_failed(struct world *w)
{
	struct info_copy c = info_of(w, "web.test");
	return c.found && c.info.failures >= 1;
}
static bool gone_empty(struct world *w)
{
	struct info_copy c = info_of(w, "gone.test");
	return c.found && c.info.empties >= 1;
}

/* ---- tests ---- */

static void test_every_a_and_aaaa_record_is_an_address(void **state)
{
	struct world *w = *state;
	add(w, "web.test", 1, "127.0.0.3", 30);
	add(w, "web.test", 1, "127.0.0.2", 20);
	add(w, "web.test", 28, "::1", 40);
	const char *names[] = {"WEB.test", "web.test"};
	resolver_watch(w->r, names, 2);
	assert_string_equal(addrs_of(w, "web.test"), "");
	assert_true(run_until(w, changed_once, 5));
	assert_string_equal(addrs_of(w, "web.test"), "127.0.0.2 127.0.0.3 ::1");
	assert_string_equal(addrs_of(w, "Web.Test"), "127.0.0.2 127.0.0.3 ::1");
	struct info_copy c = info_of(w, "web.test");
	assert_true(c.found);
	assert_int_equal(c.info.ttl, 20);          /* the lowest record TTL */
	assert_int_equal(c.info.last_result, RESOLVER_SUCCESS);
	assert_int_equal(c.info.successes, 1);
	assert_int_equal(c.info.failures, 0);
	assert_string_equal(c.err, "");
	assert_true(c.info.next_refresh_ms > c.info.resolved_ms + 19000);
	assert_int_equal(w->dns.queries, 2);       /* A and AAAA, once: duplicates merged */
}

static void test_a_changed_record_is_picked_up_after_its_ttl(void **state)
{
	struct world *w = *state;
	add(w, "web.test", 1, "127.0.0.2", 0);
	const char *names[] = {"web.test"};
	resolver_watch(w->r, names, 1);
	assert_true(run_until(w, changed_once, 5));
	assert_string_equal(addrs_of(w, "web.test"), "127.0.0.2");
	w->dns.recs[0].addr = "127.0.0.3";
	assert_true(run_until(w, changed_twice, 5));
	assert_string_equal(addrs_of(w, "web.test"), "127.0.0.3");
}

static void test_a_silent_server_keeps_the_last_addresses(void **state)
{
	struct world *w = *state;
	add(w, "web.test", 1, "127.0.0.2", 0);
	const char *names[] = {"web.test"};
	resolver_watch(w->r, names, 1);
	assert_true(run_until(w, changed_once, 5));
	w->dns.mute = true;
	/* c-ares: 2 tries of 2 s each (the second with a doubled timeout) */
	assert_true(run_until(w, web_failed, 12));
	assert_string_equal(addrs_of(w, "web.test"), "127.0.0.2");
	struct info_copy c = info_of(w, "web.test");
	assert_int_equal(c.info.last_result, RESOLVER_FAILURE);
	assert_non_null(strstr(c.err, "imeout"));
	assert_int_equal(c.info.naddrs, 1);
	assert_int_equal(w->changed, 1);
}

static void test_nxdomain_is_empty_and_keeps_the_last_addresses(void **state)
{
	struct world *w = *state;
	add(w, "gone.test", 1, "127.0.0.9", 0);
	const char *names[] = {"gone.test"};
	resolver_watch(w->r, names, 1);
	assert_true(run_until(w, changed_once, 5));
	w->dns.recs[0].name = "elsewhere.test";
	assert_true(run_until(w, gone_empty, 5));
	assert_string_equal(addrs_of(w, "gone.test"), "127.0.0.9");
	struct info_copy c = info_of(w, "gone.test");
	assert_int_equal(c.info.last_result, RESOLVER_EMPTY);
	assert_string_equal(c.err, "no such name (NXDOMAIN)");
}

static void test_a_name_never_resolved_has_no_address(void **state)
{
	struct world *w = *state;
	const char *names[] = {"gone.test"};
	resolver_watch(w->r, names, 1);
	assert_true(run_until(w, gone_empty, 5));
	assert_string_equal(addrs_of(w, "gone.test"), "");
	assert_int_equal(w->changed, 0);
}

static void test_names_no_longer_watched_are_dropped(void **state)
{
	struct world *w = *state;
	add(w, "web.test", 1, "127.0.0.2", 30);
	add(w, "api.test", 1, "127.0.0.4", 30);
	const char *names[] = {"web.test", "api.test"};
	resolver_watch(w->r, names, 2);
	/* dropping a name with queries in flight must be safe */
	assert_true(run_until(w, four_queries, 5));
	resolver_watch(w->r, names + 1, 1);
	assert_true(run_until(w, changed_once, 5));
	assert_string_equal(addrs_of(w, "api.test"), "127.0.0.4");
	assert_string_equal(addrs_of(w, "web.test"), "");
	assert_false(info_of(w, "web.test").found);
	resolver_watch(w->r, NULL, 0);
	assert_string_equal(addrs_of(w, "api.test"), "");
}

/* The INI's forms: spaces after commas, bracketed and bare IPv6, default port. */
static void test_nameserver_lists_in_the_ini_forms_are_accepted(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct settings s;
	memset(&s, 0, sizeof s);
	s.dns_min_ttl_ms = 1000;
	s.dns_max_ttl_ms = 2000;
	char list[] = "127.0.0.1:5353, [::1]:53,  ::1 ,10.0.0.1, [::1]";
	s.dns_nameservers = list;
	struct resolver *r = resolver_new(loop, &s, NULL, NULL);
	assert_non_null(r);
	resolver_free(r);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_a_and_aaaa_record_is_an_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_changed_record_is_picked_up_after_its_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_silent_server_keeps_the_last_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nxdomain_is_empty_and_keeps_the_last_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_name_never_resolved_has_no_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_no_longer_watched_are_dropped, setup, teardown),
		cmocka_unit_test(test_nameserver_lists_in_the_ini_forms_are_accepted),
	};
	return UNIT_RUN(tests);
}
