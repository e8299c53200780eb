/* SPDX-License-Identifier: MIT */
/* accesslog: formats the workers' request records and writes them in batches from
 * the main thread. Request bytes are untrusted: JSON strings are kept valid UTF-8
 * (a byte that is not part of a valid sequence becomes \u00XX), and quoted combined
 * fields escape '"', '\\', controls and non-ASCII bytes as \xHH, as nginx does. */
#include "config.h"

#include "ops/accesslog.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

/* Drain period (seconds): a line reaches the file at most this late. */
#define ACCESSLOG_PERIOD 0.1
/* A batch is written once it holds this many bytes. */
#define ACCESSLOG_BATCH (64u * 1024u)
/* Write failures are logged at most once per this many seconds. */
#define ACCESSLOG_ERR_INTERVAL 10

struct accesslog {
	struct ev_loop *loop;
	struct reqlog *src;        /* borrowed from the runtime */
	enum access_format fmt;
	char *path;                /* owned; NULL for stdout */
	int fd;
	ev_timer timer;
	ev_async wake;
	struct buf out;            /* the batch being built */
	size_t batch_lines;
	uint64_t written, failed;
	time_t err_logged;
};

/* ---- formatting ---- */

static const char hex[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when p[0] does not start one
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

static void put_json_string(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	buf_reserve(out, len + 2);
	buf_putc(out, '"');
	size_t i = 0;
	while (i < len) {
		unsigned char c = p[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			size_t j = i + 1;
			while (j < len && p[j] >= 0x20 && p[j] < 0x7f && p[j] != '"' && p[j] != '\\')
				j++;
			buf_append(out, s + i, j - i);
			i = j;
			continue;
		}
		size_t u = c >= 0x80 ? utf8_len(p + i, len - i) : 0;
		if (u > 0) {
			buf_append(out, s + i, u);
			i += u;
			continue;
		}
		switch (c) {
		case '"': buf_append(out, "\\\"", 2); break;
		case '\\': buf_append(out, "\\\\", 2); break;
		case '\n': buf_append(out, "\\n", 2); break;
		case '\r': buf_append(out, "\\r", 2); break;
		case '\t': buf_append(out, "\\t", 2); break;
		default: {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_append(out, esc, sizeof esc);
		}
		}
		i++;
	}
	buf_putc(out, '"');
}

/* The main thread formats every line: plain appends, no printf on this path. */
#define PUTS(out, lit) buf_append((out), (lit), sizeof(lit) - 1)

/* key is the literal before the value, e.g. ",\"client\":"; the value is the field as
 * a JSON string, or null. */
#define JSON_FIELD(out, key, r, f) put_json_field((out), (key), sizeof(key) - 1, (r), (f))

static void put_json_field(struct buf *out, const char *key, size_t key_len,
			   const struct reqlog_rec *r, enum reqlog_field f)
{
	size_t len;
	const char *s = reqlog_field(r, f, &len);
	buf_append(out, key, key_len);
	if (s != NULL)
		put_json_string(out, s, len);
	else
		PUTS(out, "null");
}

static void put_u64(struct buf *out, uint64_t v)
{
	char d[20];
	int n = 0;
	do {
		d[sizeof d - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	buf_append(out, d + sizeof d - n, (size_t)n);
}

/* "1.1", "1.0" or "2.0" from reqlog_rec.version (major * 10 + minor). */
static void put_version(struct buf *out, uint8_t version)
{
	char v[3] = { (char)('0' + version / 10 % 10), '.', (char)('0' + version % 10) };
	buf_append(out, v, sizeof v);
}

/* seconds as milliseconds with three decimals ("1.598"). */
static void put_ms(struct buf *out, double seconds)
{
	uint64_t us = seconds > 0 ? (uint64_t)(seconds * 1e6 + 0.5) : 0;
	put_u64(out, us / 1000);
	char frac[4] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
			(char)('0' + us % 10)};
	buf_append(out, frac, sizeof frac);
}

static void put_2digits(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

static void split_time(double ts, time_t *sec, int *ms)
{
	/* Rounded to the millisecond: 0.091 is stored as 0.0909999... */
	long long total = ts > 0 ? (long long)(ts * 1000.0 + 0.5) : 0;
	*sec = (time_t)(total / 1000);
	*ms = (int)(total % 1000);
}

/* "2026-11-27T04:23:57.091Z": RFC 3339, UTC. One conversion per second. */
static void put_rfc3339(struct buf *out, double ts)
{
	static time_t cached_sec = (time_t)-1;
	static char cached[20];   /* "2026-11-27T04:23:57" */
	time_t sec;
	int ms;
	split_time(ts, &sec, &ms);
	if (sec != cached_sec) {
		struct tm tm;
		gmtime_r(&sec, &tm);
		int y = (tm.tm_year + 1900) % 10000;
		put_2digits(cached, y / 100);
		put_2digits(cached + 2, y % 100);
		cached[4] = '-';
		put_2digits(cached + 5, tm.tm_mon + 1);
		cached[7] = '-';
		put_2digits(cached + 8, tm.tm_mday);
		cached[10] = 'T';
		put_2digits(cached + 11, tm.tm_hour);
		cached[13] = ':';
		put_2digits(cached + 14, tm.tm_min);
		cached[16] = ':';
		put_2digits(cached + 17, tm.tm_sec);
		cached_sec = sec;
	}
	buf_append(out, cached, 19);
	char frac[5] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10),
			(char)('0' + ms % 10), 'Z'};
	buf_append(out, frac, sizeof frac);
}

void accesslog_format_json(struct buf *out, const struct reqlog_rec *r)
{
	buf_reserve(out, 512);
	PUTS(out, "{\"ts\":\"");
	put_rfc3339(out, r->ts);
	buf_putc(out, '"');
	JSON_FIELD(out, ",\"client\":", r, REQLOG_CLIENT);
	JSON_FIELD(out, ",\"method\":", r, REQLOG_METHOD);
	JSON_FIELD(out, ",\"host\":", r, REQLOG_HOST);
	JSON_FIELD(out, ",\"path\":", r, REQLOG_TARGET);
	if (r->present & 1u << REQLOG_METHOD) {
		PUTS(out, ",\"protocol\":\"HTTP/");
		put_version(out, r->version);
		buf_putc(out, '"');
	} else {
		PUTS(out, ",\"protocol\":null");
	}
	PUTS(out, ",\"status\":");
	put_u64(out, r->status);
	PUTS(out, ",\"bytes_in\":");
	put_u64(out, r->bytes_in);
	PUTS(out, ",\"bytes_out\":");
	put_u64(out, r->bytes_out);
	PUTS(out, ",\"duration_ms\":");
	put_ms(out, r->duration);
	PUTS(out, ",\"upstream_ms\":");
	if (r->upstream >= 0)
		put_ms(out, r->upstream);
	else
		PUTS(out, "null");
	JSON_FIELD(out, ",\"gateway\":", r, REQLOG_GATEWAY);
	JSON_FIELD(out, ",\"route\":", r, REQLOG_ROUTE);
	JSON_FIELD(out, ",\"backend\":", r, REQLOG_BACKEND);
	JSON_FIELD(out, ",\"upstream\":", r, REQLOG_UPSTREAM);
	if (r->present & 1u << REQLOG_RID) {
		JSON_FIELD(out, ",\"request_id\":", r, REQLOG_RID);
	} else {
		char id[16];
		reqlog_id_hex(r->request_id, id);
		PUTS(out, ",\"request_id\":\"");
		buf_append(out, id, sizeof id);
		buf_putc(out, '"');
	}
	/* Beyond DESIGN.md's list: which listener, and why gatewayd answered itself. */
	JSON_FIELD(out, ",\"listener\":", r, REQLOG_LISTENER);
	JSON_FIELD(out, ",\"error\":", r, REQLOG_ERROR);
	PUTS(out, "}\n");
}

/* A combined-format value: bytes nginx would escape become \xHH. */
static void put_clf_escaped(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && p[j] >= 0x20 && p[j] < 0x7f && p[j] != '"' && p[j] != '\\')
			j++;
		if (j > i)
			buf_append(out, s + i, j - i);
		if (j == len)
			break;
		unsigned char c = p[j];
		char esc[4] = {'\\', 'x', hex_upper[c >> 4], hex_upper[c & 15]};
		buf_append(out, esc, sizeof esc);
		i = j + 1;
	}
}

/* " \"value\"" or " \"-\"". */
static void put_clf_quoted(struct buf *out, const struct reqlog_rec *r, enum reqlog_field f)
{
	size_t len;
	const char *s = reqlog_field(r, f, &len);
	buf_puts(out, " \"");
	if (s != NULL && len > 0)
		put_clf_escaped(out, s, len);
	else
		buf_putc(out, '-');
	buf_putc(out, '"');
}

/* [10/Oct/2000:13:55:36 -0700]: Apache's %t, local time. One conversion per second. */
static void put_clf_time(struct buf *out, double ts)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static time_t cached_sec = (time_t)-1;
	static char cached[40];
	time_t sec;
	int ms;
	split_time(ts, &sec, &ms);
	if (sec != cached_sec) {
		struct tm tm;
		localtime_r(&sec, &tm);
		long off = tm.tm_gmtoff;
		char sign = off < 0 ? '-' : '+';
		if (off < 0)
			off = -off;
		int oh = (int)(off / 3600 % 100), om = (int)(off % 3600 / 60);
		snprintf(cached, sizeof cached, "[%02d/%s/%04d:%02d:%02d:%02d %c%02d%02d]",
			 tm.tm_mday % 100, mon[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000,
			 tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, sign, oh, om);
		cached_sec = sec;
	}
	buf_puts(out, cached);
}

void accesslog_format_combined(struct buf *out, const struct reqlog_rec *r)
{
	size_t len;
	const char *client = reqlog_field(r, REQLOG_CLIENT, &len);
	if (client != NULL && len > 0)
		put_clf_escaped(out, client, len);
	else
		buf_putc(out, '-');
	buf_puts(out, " - - ");
	put_clf_time(out, r->ts);
	/* "%r": the request line as received, or "-" when none was parsed. */
	buf_puts(out, " \"");
	const char *method = reqlog_field(r, REQLOG_METHOD, &len);
	if (method != NULL) {
		put_clf_escaped(out, method, len);
		buf_putc(out, ' ');
		const char *target = reqlog_field(r, REQLOG_TARGET, &len);
		if (target != NULL)
			put_clf_escaped(out, target, len);
		PUTS(out, " HTTP/");
		put_version(out, r->version);
	} else {
		buf_putc(out, '-');
	}
	PUTS(out, "\" ");
	put_u64(out, r->status);
	buf_putc(out, ' ');
	if (r->body_out > 0)  /* %b: body bytes, "-" for none */
		put_u64(out, r->body_out);
	else
		buf_putc(out, '-');
	put_clf_quoted(out, r, REQLOG_REFERER);
	put_clf_quoted(out, r, REQLOG_USER_AGENT);

	/* Extra fields, after the combined ones: Apache's combinedio %I %O, then ours. */
	buf_putc(out, ' ');
	put_u64(out, r->bytes_in);
	buf_putc(out, ' ');
	put_u64(out, r->bytes_out);
	put_clf_quoted(out, r, REQLOG_HOST);
	if (r->present & 1u << REQLOG_RID) {
		const char *rid = reqlog_field(r, REQLOG_RID, &len);
		buf_putc(out, ' ');
		if (len > 0)
			put_clf_escaped(out, rid, len);
		else
			buf_putc(out, '-');
	} else {
		char id[16];
		reqlog_id_hex(r->request_id, id);
		buf_putc(out, ' ');
		buf_append(out, id, sizeof id);
	}
	buf_putc(out, ' ');
	put_ms(out, r->duration);
	if (r->upstream >= 0) {
		buf_putc(out, ' ');
		put_ms(out, r->upstream);
	} else {
		PUTS(out, " -");
	}
	put_clf_quoted(out, r, REQLOG_GATEWAY);
	put_clf_quoted(out, r, REQLOG_LISTENER);
	put_clf_quoted(out, r, REQLOG_ROUTE);
	put_clf_quoted(out, r, REQLOG_BACKEND);
	put_clf_quoted(out, r, REQLOG_UPSTREAM);
	buf_putc(out, '\n');
}

/* ---- writing ---- */

/* Writes all of data, waiting (bounded) when fd is non-blocking and full. */
static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			if (poll(&p, 1, 1000) > 0)
				continue;
			errno = EAGAIN;
		}
		return -1;
	}
	return 0;
}

static void batch_write(struct accesslog *a)
{
	if (a->out.len == 0)
		return;
	if (write_all(a->fd, a->out.data, a->out.len) == 0) {
		a->written += a->batch_lines;
	} else {
		a->failed += a->batch_lines;
		time_t now = time(NULL);
		if (now - a->err_logged >= ACCESSLOG_ERR_INTERVAL) {
			log_warn("access log %s: write failed, %zu line(s) lost",
				 a->path ? a->path : "stdout", a->batch_lines);
			a->err_logged = now;
		}
	}
	a->out.len = 0;
	a->batch_lines = 0;
}

static void on_record(void *ctx, const struct reqlog_rec *r)
{
	struct accesslog *a = ctx;
	if (a->fmt == ACCESS_FORMAT_COMBINED)
		accesslog_format_combined(&a->out, r);
	else
		accesslog_format_json(&a->out, r);
	a->batch_lines++;
	if (a->out.len >= ACCESSLOG_BATCH)
		batch_write(a);
}

void accesslog_flush(struct accesslog *a)
{
	if (a == NULL)
		return;
	reqlog_drain(a->src, on_record, a);
	batch_write(a);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	accesslog_flush(t->data);
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)revents;
	accesslog_flush(w->data);
}

static int open_log(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

struct accesslog *accesslog_start(struct ev_loop *loop, struct reqlog *src, const char *access,
				  enum access_format fmt, char *err, size_t errlen)
{
	struct accesslog *a = calloc(1, sizeof *a);
	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->loop = loop;
	a->src = src;
	a->fmt = fmt;
	a->fd = STDOUT_FILENO;
	if (strcmp(access, "stdout") != 0) {
		a->path = strdup(access);
		a->fd = a->path != NULL ? open_log(a->path) : -1;
		if (a->fd < 0) {
			snprintf(err, errlen, "[log] access: %s: %s", access, strerror(errno ? errno : ENOMEM));
			free(a->path);
			free(a);
			return NULL;
		}
	}
	ev_timer_init(&a->timer, on_timer, ACCESSLOG_PERIOD, ACCESSLOG_PERIOD);
	a->timer.data = a;
	ev_timer_start(loop, &a->timer);
	ev_async_init(&a->wake, on_wake);
	a->wake.data = a;
	ev_async_start(loop, &a->wake);
	reqlog_set_wakeup(src, loop, &a->wake);
	return a;
}

int accesslog_reopen(struct accesslog *a)
{
	if (a == NULL)
		return 0;
	accesslog_flush(a);
	if (a->path == NULL)
		return 0;
	int fd = open_log(a->path);
	if (fd < 0) {
		log_warn("access log: cannot reopen %s (still writing to the old file)", a->path);
		return -1;
	}
	close(a->fd);
	a->fd = fd;
	return 0;
}

void accesslog_stop(struct accesslog *a)
{
	if (a == NULL)
		return;
	accesslog_flush(a);
	reqlog_set_wakeup(a->src, NULL, NULL);
	ev_timer_stop(a->loop, &a->timer);
	ev_async_stop(a->loop, &a->wake);
	if (a->path != NULL)
		close(a->fd);
	free(a->path);
	buf_free(&a->out);
	free(a);
}

uint64_t accesslog_written(const struct accesslog *a)
{
	return a != NULL ? a->written : 0;
}

uint64_t accesslog_lost(const struct accesslog *a)
{
	return a != NULL ? a->failed + reqlog_dropped(a->src) : 0;
}
