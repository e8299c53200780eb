/* SPDX-License-Identifier: MIT */
/* metrics: gathers the workers' counters by label names and prints them. A scrape
 * sums the live blocks into a fresh snapshot, adds the totals of retired blocks
 * (folded in once, when the collector reports them final), and prints each family
 * sorted by labels, so consecutive scrapes list series in the same order. */
#include "config.h"

#include "ops/metrics.h"
#include "ops/backend_status.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "runtime/reqstats.h"

/* Values kept per entry: a series uses requests[5], bytes in, bytes out; a
 * histogram its buckets and the sum in microseconds. */
#define MV_BYTES_IN REQSTATS_CLASSES
#define MV_BYTES_OUT (REQSTATS_CLASSES + 1)
#define MV_SUM (REQSTATS_BUCKETS + 1)
#define MV_COUNT (REQSTATS_BUCKETS + 2)

/* Separates the label values inside a series key (not valid in any name). */
#define KEY_SEP '\x1f'

struct mentry {
	char *key;                 /* owned; NULL = free slot */
	uint64_t v[MV_COUNT];
};

struct mmap {
	struct mentry *e;
	size_t cap, n;             /* cap: power of two or 0 */
};

struct metrics {
	struct mmap series_total;  /* retired blocks, by "gateway\x1flistener\x1froute\x1fbackend" */
	struct mmap hist_total;    /* retired blocks, by route */
	time_t started;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static void mmap_free(struct mmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->e[i].key);
	free(m->e);
	m->e = NULL;
	m->cap = m->n = 0;
}

static struct mentry *mmap_slot(struct mentry *e, size_t cap, const char *key)
{
	size_t i = (size_t)fnv1a(key) & (cap - 1);
	while (e[i].key != NULL && strcmp(e[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &e[i];
}

/* The entry for key, created with zero values. Out of memory is fatal: this is
 * control-plane code, like struct buf. */
static struct mentry *mmap_get(struct mmap *m, const char *key)
{
	if ((m->n + 1) * 10 > m->cap * 7) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct mentry *e = calloc(cap, sizeof *e);
		if (e == NULL)
			fatalx("out of memory");
		for (size_t i = 0; i < m->cap; i++)
			if (m->e[i].key != NULL)
				*mmap_slot(e, cap, m->e[i].key) = m->e[i];
		free(m->e);
		m->e = e;
		m->cap = cap;
	}
	struct mentry *s = mmap_slot(m->e, m->cap, key);
	if (s->key == NULL) {
		s->key = strdup(key);
		if (s->key == NULL)
			fatalx("out of memory");
		m->n++;
	}
	return s;
}

static void mmap_add(struct mmap *m, const char *key, const uint64_t *v, size_t nv)
{
	struct mentry *e = mmap_get(m, key);
	for (size_t i = 0; i < nv; i++)
		e->v[i] += v[i];
}

static int entry_cmp(const void *a, const void *b)
{
	const struct mentry *x = *(const struct mentry *const *)a;
	const struct mentry *y = *(const struct mentry *const *)b;
	return strcmp(x->key, y->key);
}

/* The used entries of m sorted by key; free the array. */
static struct mentry **mmap_sorted(const struct mmap *m)
{
	struct mentry **v = malloc((m->n ? m->n : 1) * sizeof *v);
	if (v == NULL)
		fatalx("out of memory");
	size_t k = 0;
	for (size_t i = 0; i < m->cap; i++)
		if (m->e[i].key != NULL)
			v[k++] = &m->e[i];
	qsort(v, k, sizeof *v, entry_cmp);
	return v;
}

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	m->started = time(NULL);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	mmap_free(&m->series_total);
	mmap_free(&m->hist_total);
	free(m);
}

/* ---- collecting ---- */

struct scrape {
	struct metrics *m;
	struct mmap series, hist;  /* this scrape's snapshot */
	struct mmap backends;      /* v[0] = endpoints */
	struct buf key;
};

static void scrape_fini(struct scrape *sc)
{
	mmap_free(&sc->series);
	mmap_free(&sc->hist);
	mmap_free(&sc->backends);
	buf_free(&sc->key);
}

static void series_key(struct buf *k, const struct reqstats_labels *l)
{
	k->len = 0;
	buf_puts(k, l->gateway);
	buf_putc(k, KEY_SEP);
	buf_puts(k, l->listener);
	buf_putc(k, KEY_SEP);
	buf_puts(k, l->route);
	buf_putc(k, KEY_SEP);
	buf_puts(k, l->backend);
}

static void on_series(void *ctx, const struct reqstats_labels *l,
		      const uint64_t requests[REQSTATS_CLASSES], uint64_t bytes_in,
		      uint64_t bytes_out, bool final)
{
	struct scrape *sc = ctx;
	uint64_t v[MV_COUNT] = {0};
	memcpy(v, requests, REQSTATS_CLASSES * sizeof *v);
	v[MV_BYTES_IN] = bytes_in;
	v[MV_BYTES_OUT] = bytes_out;
	series_key(&sc->key, l);
	mmap_add(final ? &sc->m->series_total : &sc->series, sc->key.data, v, MV_COUNT);
}

static void on_hist(void *ctx, const char *route, const uint64_t buckets[REQSTATS_BUCKETS + 1],
		    uint64_t sum_us, bool final)
{
	struct scrape *sc = ctx;
	uint64_t v[MV_COUNT] = {0};
	memcpy(v, buckets, (REQSTATS_BUCKETS + 1) * sizeof *v);
	v[MV_SUM] = sum_us;
	mmap_add(final ? &sc->m->hist_total : &sc->hist, route, v, MV_COUNT);
}

static void on_backend(void *ctx, const char *backend, uint32_t endpoints)
{
	struct scrape *sc = ctx;
	uint64_t v = endpoints;
	mmap_add(&sc->backends, backend, &v, 1);
}

static void merge(struct mmap *into, const struct mmap *from)
{
	for (size_t i = 0; i < from->cap; i++)
		if (from->e[i].key != NULL)
			mmap_add(into, from->e[i].key, from->e[i].v, MV_COUNT);
}

/* ---- printing ---- */

static void put_label_value(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\\' || c == '"')
			buf_putc(out, '\\');
		if (c == '\n')
			buf_puts(out, "\\n");
		else
			buf_putc(out, c);
	}
}

static void put_family(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* gateway="..",listener="..",route="..",backend=".." from a series key. */
static void put_series_labels(struct buf *out, const char *key)
{
	static const char *const names[] = {"gateway", "listener", "route", "backend"};
	const char *p = key;
	for (int i = 0; i < 4; i++) {
		const char *end = strchr(p, KEY_SEP);
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		buf_printf(out, "%s%s=\"", i ? "," : "", names[i]);
		put_label_value(out, p, len);
		buf_putc(out, '"');
		p = end != NULL ? end + 1 : p + len;
	}
}

static void put_requests(struct buf *out, const struct mmap *series)
{
	put_family(out, "gatewayd_http_requests_total", "counter",
		   "HTTP requests answered (gatewayd's own error responses included), by "
		   "gateway, listener, route, backend and status class.");
	struct mentry **v = mmap_sorted(series);
	for (size_t i = 0; i < series->n; i++) {
		for (int c = 0; c < REQSTATS_CLASSES; c++) {
			if (v[i]->v[c] == 0)
				continue;
			buf_puts(out, "gatewayd_http_requests_total{");
			put_series_labels(out, v[i]->key);
			buf_printf(out, ",code_class=\"%dxx\"} %" PRIu64 "\n", c + 1, v[i]->v[c]);
		}
	}
	static const struct {
		const char *name, *help;
		int index;
	} bytes[] = {
		{"gatewayd_http_request_bytes_total",
		 "Bytes received from clients (request heads and bodies).", MV_BYTES_IN},
		{"gatewayd_http_response_bytes_total",
		 "Bytes sent to clients (response heads and bodies).", MV_BYTES_OUT},
	};
	for (size_t b = 0; b < 2; b++) {
		put_family(out, bytes[b].name, "counter", bytes[b].help);
		for (size_t i = 0; i < series->n; i++) {
			buf_printf(out, "%s{", bytes[b].name);
			put_series_labels(out, v[i]->key);
			buf_printf(out, "} %" PRIu64 "\n", v[i]->v[bytes[b].index]);
		}
	}
	free(v);
}

static void put_histograms(struct buf *out, const struct mmap *hist)
{
	const char *name = "gatewayd_http_request_duration_seconds";
	put_family(out, name, "histogram",
		   "Time from the first byte of a request to the end of its response, by route.");
	struct mentry **v = mmap_sorted(hist);
	for (size_t i = 0; i < hist->n; i++) {
		const struct mentry *e = v[i];
		uint64_t cum = 0;
		for (int k = 0; k <= REQSTATS_BUCKETS; k++) {
			cum += e->v[k];
			buf_printf(out, "%s_bucket{route=\"", name);
			put_label_value(out, e->key, strlen(e->key));
			if (k < REQSTATS_BUCKETS)
				buf_printf(out, "\",le=\"%g\"} %" PRIu64 "\n", reqstats_bucket_le[k], cum);
			else
				buf_printf(out, "\",le=\"+Inf\"} %" PRIu64 "\n", cum);
		}
		buf_printf(out, "%s_sum{route=\"", name);
		put_label_value(out, e->key, strlen(e->key));
		buf_printf(out, "\"} %" PRIu64 ".%06" PRIu64 "\n", e->v[MV_SUM] / 1000000,
			   e->v[MV_SUM] % 1000000);
		buf_printf(out, "%s_count{route=\"", name);
		put_label_value(out, e->key, strlen(e->key));
		buf_printf(out, "\"} %" PRIu64 "\n", cum);
	}
	free(v);
}

static void put_backends(struct buf *out, const struct mmap *backends, const struct epset *eps)
{
	put_family(out, "gatewayd_backend_endpoints", "gauge",
		   "Endpoints of each backend of the current generation, by health state.");
	if (eps != NULL) {  /* live health: ops/backend_status.c */
		backend_status_endpoint_samples(out, eps);
		backend_status_metrics(out, eps);
		return;
	}
	struct mentry **v = mmap_sorted(backends);
	for (size_t i = 0; i < backends->n; i++) {
		/* No health checking yet: every endpoint counts as healthy. */
		for (int healthy = 1; healthy >= 0; healthy--) {
			buf_puts(out, "gatewayd_backend_endpoints{backend=\"");
			put_label_value(out, v[i]->key, strlen(v[i]->key));
			buf_printf(out, "\",state=\"%s\"} %" PRIu64 "\n", healthy ? "healthy" : "ejected",
				   healthy ? v[i]->v[0] : 0);
		}
	}
	free(v);
}

void metrics_absorb(struct metrics *m, struct reqstats *rs)
{
	struct scrape sc;
	memset(&sc, 0, sizeof sc);
	sc.m = m;
	struct reqstats_visitor v = {&sc, on_series, on_hist, on_backend};
	reqstats_collect_retired(rs, &v);
	scrape_fini(&sc);
}

void metrics_write(struct metrics *m, struct buf *out, struct reqstats *rs,
		   const struct metrics_facts *f)
{
	struct scrape sc;
	memset(&sc, 0, sizeof sc);
	sc.m = m;
	if (rs != NULL) {
		struct reqstats_visitor v = {&sc, on_series, on_hist, on_backend};
		reqstats_collect(rs, &v);
	}
	merge(&sc.series, &m->series_total);
	merge(&sc.hist, &m->hist_total);

	put_family(out, "gatewayd_build_info", "gauge", "Always 1; the version label names the build.");
	buf_printf(out, "gatewayd_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	put_family(out, "process_start_time_seconds", "gauge",
		   "Start time of the process since the Unix epoch, in seconds.");
	buf_printf(out, "process_start_time_seconds %lld\n", (long long)m->started);
	put_family(out, "gatewayd_config_generation", "gauge",
		   "The configuration generation being served (0 before the first).");
	buf_printf(out, "gatewayd_config_generation %" PRIu64 "\n", f->generation);
	put_family(out, "gatewayd_config_stale", "gauge",
		   "1 when serving a stored generation because config_dir did not compile at start.");
	buf_printf(out, "gatewayd_config_stale %d\n", f->stale ? 1 : 0);
	put_family(out, "gatewayd_config_reloads_total", "counter",
		   "Reloads (command or SIGHUP), by result.");
	buf_printf(out, "gatewayd_config_reloads_total{result=\"success\"} %" PRIu64 "\n"
		   "gatewayd_config_reloads_total{result=\"failure\"} %" PRIu64 "\n",
		   f->reloads_ok, f->reloads_failed);
	put_family(out, "gatewayd_connections_active", "gauge", "Client connections open.");
	buf_printf(out, "gatewayd_connections_active %zu\n", f->connections_active);
	put_family(out, "gatewayd_tls_handshake_failures_total", "counter",
		   "Client TLS handshakes that failed or timed out (HTTPS listeners).");
	buf_printf(out, "gatewayd_tls_handshake_failures_total %" PRIu64 "\n", f->tls_handshake_failures);
	put_requests(out, &sc.series);
	put_histograms(out, &sc.hist);
	put_backends(out, &sc.backends, f->eps);
	/* gatewayd_dns_resolutions_total{name,result} is reserved for DNS discovery,
	 * which this version does not do: no series yet. */
	put_family(out, "gatewayd_access_log_written_total", "counter", "Access log lines written.");
	buf_printf(out, "gatewayd_access_log_written_total %" PRIu64 "\n", f->access_log_written);
	put_family(out, "gatewayd_access_log_dropped_total", "counter",
		   "Access log lines lost: a worker's queue was full, or a write failed.");
	buf_printf(out, "gatewayd_access_log_dropped_total %" PRIu64 "\n", f->access_log_dropped);

	scrape_fini(&sc);
}
