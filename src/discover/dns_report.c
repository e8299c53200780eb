/* SPDX-License-Identifier: MIT */
/* dns_report: the hostnames of an image, and the resolver's state as status JSON, a
 * status table section and Prometheus metrics. */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/json.h"
#include "discover/dns_report.h"

/* ---- the hostnames of an image ---- */

static int use_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dns_use *)a)->name, ((const struct dns_use *)b)->name);
}

static char *dup_n(const char *s, size_t len)
{
	char *c = malloc(len + 1);
	if (c) {
		memcpy(c, s, len);
		c[len] = '\0';
	}
	return c;
}

static struct dns_use *use_get(struct dns_uses *u, const char *name, size_t len, size_t *cap)
{
	for (size_t i = 0; i < u->n; i++)
		if (strlen(u->items[i].name) == len && memcmp(u->items[i].name, name, len) == 0)
			return &u->items[i];
	if (u->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct dns_use *it = realloc(u->items, ncap * sizeof *it);
		if (!it)
			return NULL;
		u->items = it;
		*cap = ncap;
	}
	char *c = dup_n(name, len);
	if (!c)
		return NULL;
	struct dns_use *e = &u->items[u->n++];
	memset(e, 0, sizeof *e);
	e->name = c;
	return e;
}

static void use_add_backend(struct dns_use *e, const char *b, size_t len)
{
	for (size_t i = 0; i < e->nbackends; i++)
		if (strlen(e->backends[i]) == len && memcmp(e->backends[i], b, len) == 0)
			return;
	char **nb = realloc(e->backends, (e->nbackends + 1) * sizeof *nb);
	if (!nb)
		return;
	e->backends = nb;
	char *c = dup_n(b, len);
	if (c)
		e->backends[e->nbackends++] = c;
}

void dns_uses_from_image(struct dns_uses *u, const struct img_header *img)
{
	dns_uses_fini(u);
	const struct img_backend *bs = IMG_ARRAY(img, img->backends, struct img_backend);
	const struct img_endpoint *eps = IMG_ARRAY(img, img->endpoints, struct img_endpoint);
	size_t cap = 0;
	for (uint32_t i = 0; i < img->backends.count; i++) {
		const struct img_backend *b = &bs[i];
		uint32_t first = (b->endpoints.off - img->endpoints.off) / (uint32_t)sizeof(struct img_endpoint);
		for (uint32_t k = 0; k < b->endpoints.count && first + k < img->endpoints.count; k++) {
			const struct img_endpoint *ep = &eps[first + k];
			if (ep->kind != IMG_ENDPOINT_FQDN || ep->path.len == 0)
				continue;
			struct dns_use *e = use_get(u, img_str_ptr(img, ep->path), ep->path.len, &cap);
			if (e)
				use_add_backend(e, img_str_ptr(img, b->name), b->name.len);
		}
	}
	if (u->n)
		qsort(u->items, u->n, sizeof *u->items, use_cmp);
	u->names = calloc(u->n ? u->n : 1, sizeof *u->names);
	if (!u->names)
		return;
	for (size_t i = 0; i < u->n; i++)
		u->names[i] = u->items[i].name;
}

void dns_uses_fini(struct dns_uses *u)
{
	for (size_t i = 0; i < u->n; i++) {
		for (size_t k = 0; k < u->items[i].nbackends; k++)
			free(u->items[i].backends[k]);
		free(u->items[i].backends);
		free(u->items[i].name);
	}
	free(u->items);
	free(u->names);
	memset(u, 0, sizeof *u);
}

static const struct dns_use *use_find(const struct dns_uses *u, const char *name)
{
	if (!u || !u->n)
		return NULL;
	struct dns_use key = {.name = (char *)name};
	return bsearch(&key, u->items, u->n, sizeof *u->items, use_cmp);
}

/* ---- status JSON ---- */

static void put_time(struct buf *out, uint64_t ms)
{
	if (ms == 0) {
		buf_puts(out, "null");
		return;
	}
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[40];
	if (!gmtime_r(&t, &tm) || !strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm)) {
		buf_puts(out, "null");
		return;
	}
	buf_printf(out, "\"%s.%03uZ\"", s, (unsigned)(ms % 1000));
}

static void addr_str(const struct resolver_addr *a, char *out, size_t len)
{
	if (!inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->addr, out, (socklen_t)len))
		snprintf(out, len, "?");
}

struct json_ctx {
	struct buf *out;
	const struct dns_uses *u;
	size_t n;
};

static void json_one(void *ctx, const struct resolver_name_info *in)
{
	struct json_ctx *c = ctx;
	struct buf *out = c->out;
	char a[INET6_ADDRSTRLEN];
	buf_puts(out, c->n++ ? ",{" : "{");
	json_key(out, "name");
	json_str(out, in->name);
	buf_putc(out, ',');
	json_key(out, "backends");
	buf_putc(out, '[');
	const struct dns_use *e = use_find(c->u, in->name);
	for (size_t i = 0; e && i < e->nbackends; i++) {
		if (i)
			buf_putc(out, ',');
		json_str(out, e->backends[i]);
	}
	buf_puts(out, "],");
	json_key(out, "addresses");
	buf_putc(out, '[');
	for (size_t i = 0; i < in->naddrs; i++) {
		addr_str(&in->addrs[i], a, sizeof a);
		if (i)
			buf_putc(out, ',');
		json_str(out, a);
	}
	buf_puts(out, "],");
	json_key(out, "ttl");
	buf_printf(out, "%" PRIu32 ",", in->ttl);
	json_key(out, "lastResult");
	json_str(out, resolver_result_name(in->last_result));
	buf_putc(out, ',');
	json_key(out, "lastError");
	if (in->last_error && in->last_error[0])
		json_str(out, in->last_error);
	else
		buf_puts(out, "null");
	buf_putc(out, ',');
	json_key(out, "lastSuccess");
	put_time(out, in->resolved_ms);
	buf_putc(out, ',');
	json_key(out, "nextRefresh");
	put_time(out, in->next_refresh_ms);
	buf_putc(out, ',');
	json_key(out, "resolutions");
	buf_printf(out, "{\"success\":%" PRIu64 ",\"empty\":%" PRIu64 ",\"failure\":%" PRIu64 "}}",
		   in->successes, in->empties, in->failures);
}

void dns_report_json(struct buf *out, const struct resolver *r, const struct dns_uses *u)
{
	struct json_ctx c = {out, u, 0};
	buf_putc(out, '[');
	resolver_each(r, json_one, &c);
	buf_putc(out, ']');
}

void dns_report_add_to_status(struct buf *doc, const struct resolver *r, const struct dns_uses *u)
{
	size_t n = doc->len;
	while (n && (doc->data[n - 1] == '\n' || doc->data[n - 1] == ' '))
		n--;
	if (n < 2 || doc->data[n - 1] != '}')
		return;
	struct buf tail = BUF_INIT;
	buf_append(&tail, doc->data + n, doc->len - n);
	doc->len = n - 1;
	/* "{}" gets no comma */
	size_t k = doc->len;
	while (k && (doc->data[k - 1] == ' ' || doc->data[k - 1] == '\n'))
		k--;
	if (k && doc->data[k - 1] != '{')
		buf_putc(doc, ',');
	json_key(doc, "dns");
	dns_report_json(doc, r, u);
	buf_putc(doc, '}');
	if (tail.len)
		buf_append(doc, tail.data, tail.len);
	buf_free(&tail);
}

/* ---- the table ---- */

struct table_ctx {
	struct buf *out;
	const struct dns_uses *u;
	uint64_t now_ms;
	size_t n;
};

static void pad(struct buf *out, size_t start, size_t width)
{
	size_t used = out->len - start;
	do
		buf_putc(out, ' ');
	while (++used < width);
}

static void table_one(void *ctx, const struct resolver_name_info *in)
{
	struct table_ctx *c = ctx;
	struct buf *out = c->out;
	char a[INET6_ADDRSTRLEN];
	if (c->n++ == 0)
		buf_puts(out, "\nDNS NAME                                ADDRESSES                        TTL     NEXT     LAST\n");
	size_t start = out->len;
	buf_puts(out, in->name);
	pad(out, start, 40);
	size_t astart = out->len;
	for (size_t i = 0; i < in->naddrs; i++) {
		addr_str(&in->addrs[i], a, sizeof a);
		buf_printf(out, "%s%s", i ? "," : "", a);
	}
	if (in->naddrs == 0)
		buf_puts(out, "(none yet)");
	pad(out, astart, 33);
	size_t tstart = out->len;
	buf_printf(out, "%" PRIu32 "s", in->ttl);
	pad(out, tstart, 8);
	tstart = out->len;
	if (in->next_refresh_ms == 0)
		buf_puts(out, "now");
	else
		buf_printf(out, "%" PRIu64 "s", in->next_refresh_ms > c->now_ms ?
			   (in->next_refresh_ms - c->now_ms + 999) / 1000 : 0);
	pad(out, tstart, 9);
	buf_puts(out, resolver_result_name(in->last_result));
	if (in->last_error && in->last_error[0])
		buf_printf(out, ": %s", in->last_error);
	buf_putc(out, '\n');
	const struct dns_use *e = use_find(c->u, in->name);
	if (in->naddrs == 0 && e)
		for (size_t i = 0; i < e->nbackends; i++)
			buf_printf(out, "  no address yet for %s: its requests get 503\n", e->backends[i]);
}

void dns_report_table(struct buf *out, const struct resolver *r, const struct dns_uses *u)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct table_ctx c = {out, u, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, 0};
	resolver_each(r, table_one, &c);
}

/* ---- metrics ---- */

static void put_label(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(out, '\\');
		if (*s == '\n')
			buf_puts(out, "\\n");
		else
			buf_putc(out, *s);
	}
}

static void metrics_counts(void *ctx, const struct resolver_name_info *in)
{
	struct buf *out = ctx;
	static const char *const res[] = {"success", "empty", "failure"};
	uint64_t v[] = {in->successes, in->empties, in->failures};
	for (int i = 0; i < 3; i++) {
		buf_puts(out, "gatewayd_dns_resolutions_total{name=\"");
		put_label(out, in->name);
		buf_printf(out, "\",result=\"%s\"} %" PRIu64 "\n", res[i], v[i]);
	}
}

static void metrics_addrs(void *ctx, const struct resolver_name_info *in)
{
	struct buf *out = ctx;
	buf_puts(out, "gatewayd_dns_addresses{name=\"");
	put_label(out, in->name);
	buf_printf(out, "\"} %zu\n", in->naddrs);
}

void dns_report_metrics(struct buf *out, const struct resolver *r)
{
	buf_puts(out, "# HELP gatewayd_dns_resolutions_total DNS resolutions (A and AAAA queries of one "
		 "name) by result.\n# TYPE gatewayd_dns_resolutions_total counter\n");
	resolver_each(r, metrics_counts, out);
	buf_puts(out, "# HELP gatewayd_dns_addresses Addresses in use for a hostname (the last good answer).\n"
		 "# TYPE gatewayd_dns_addresses gauge\n");
	resolver_each(r, metrics_addrs, out);
}
