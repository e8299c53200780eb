/* SPDX-License-Identifier: MIT */
/* settings: gatewayd.conf through inih. One table (set_keys[]) names every key with
 * its type, default and range; defaults go through the same parsers as file values,
 * so a default can never be something the file could not say. */
#include "config.h"

#include "settings/settings.h"

#include <errno.h>
#include <inttypes.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"

#ifndef GW_SYSCONFDIR
#define GW_SYSCONFDIR "/etc"
#endif
#ifndef GW_LOCALSTATEDIR
#define GW_LOCALSTATEDIR "/var"
#endif
#ifndef GW_RUNSTATEDIR
#define GW_RUNSTATEDIR "/run"
#endif

#define MAX_WORKERS 256

enum set_type {
	SET_PATH,        /* char *, relative to the INI file's folder */
	SET_STRING,      /* char * */
	SET_WORKERS,     /* int, or "auto" */
	SET_INT,         /* int */
	SET_DURATION,    /* uint64_t milliseconds */
	SET_SIZE,        /* uint64_t bytes */
	SET_COUNT,       /* uint64_t */
	SET_LEVEL,       /* enum log_level */
	SET_ACCESS,      /* char *: "stdout", NULL for "off", or a path */
	SET_FORMAT,      /* enum access_format */
	SET_LISTEN,      /* char *: host:port, NULL for "off" */
	SET_NAMESERVERS, /* char *: comma-separated host[:port] list, may be empty */
};

struct set_key {
	const char *section;
	const char *name;
	enum set_type type;
	size_t offset;
	const char *def;
	uint64_t min, max;
};

#define OFF(field) offsetof(struct settings, field)
#define SEC_MS UINT64_C(1000)
#define MIN_MS (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

/* The one list of keys. DESIGN.md "gatewayd.conf" is the contract for names and
 * defaults; config_dir defaults to conf.d beside the INI file, which is
 * /etc/gatewayd/conf.d for the installed /etc/gatewayd/gatewayd.conf. */
static const struct set_key set_keys[] = {
	{"gatewayd", "config_dir", SET_PATH, OFF(config_dir), "conf.d", 0, 0},
	{"gatewayd", "state_dir", SET_PATH, OFF(state_dir), GW_LOCALSTATEDIR "/lib/gatewayd", 0, 0},
	{"gatewayd", "run_dir", SET_PATH, OFF(run_dir), GW_RUNSTATEDIR "/gatewayd", 0, 0},
	{"gatewayd", "workers", SET_WORKERS, OFF(workers), "auto", 1, MAX_WORKERS},
	{"gatewayd", "user", SET_STRING, OFF(user), "", 0, 0},
	{"gatewayd", "controller_name", SET_STRING, OFF(controller_name), "gatewayd.io/gateway-controller", 1, 0},
	{"gatewayd", "history", SET_INT, OFF(history), "20", 1, 1000},
	{"admin", "listen", SET_LISTEN, OFF(admin_listen), "127.0.0.1:9901", 0, 0},
	{"log", "level", SET_LEVEL, OFF(log_level), "info", 0, 0},
	{"log", "access", SET_ACCESS, OFF(access), "stdout", 0, 0},
	{"log", "access_format", SET_FORMAT, OFF(access_format), "json", 0, 0},
	{"limits", "header_timeout", SET_DURATION, OFF(header_timeout_ms), "10s", 1, HOUR_MS},
	{"limits", "idle_timeout", SET_DURATION, OFF(idle_timeout_ms), "60s", 1, DAY_MS},
	{"limits", "max_header_bytes", SET_SIZE, OFF(max_header_bytes), "32k", 1024, 1024 * 1024},
	{"limits", "max_headers", SET_COUNT, OFF(max_headers), "100", 1, 10000},
	{"limits", "max_body_bytes", SET_SIZE, OFF(max_body_bytes), "0", 0, UINT64_C(1) << 50},
	{"limits", "max_connections", SET_COUNT, OFF(max_connections), "16384", 1, 1048576},
	{"limits", "connect_timeout", SET_DURATION, OFF(connect_timeout_ms), "5s", 1, HOUR_MS},
	{"limits", "drain_timeout", SET_DURATION, OFF(drain_timeout_ms), "30s", 0, HOUR_MS},
	/* Additions to DESIGN.md's list: Envoy's request_timeout (off by default), Envoy's
	 * max_requests_per_connection (unlimited by default), and nginx's 8k request line
	 * (large_client_header_buffers, 414 beyond). */
	{"limits", "request_timeout", SET_DURATION, OFF(request_timeout_ms), "0", 0, DAY_MS},
	{"limits", "max_requests_per_connection", SET_COUNT, OFF(max_requests_per_connection), "0", 0, UINT32_MAX},
	{"limits", "max_request_line_bytes", SET_SIZE, OFF(max_request_line_bytes), "8k", 256, 1024 * 1024},
	{"dns", "nameservers", SET_NAMESERVERS, OFF(dns_nameservers), "", 0, 0},
	{"dns", "min_ttl", SET_DURATION, OFF(dns_min_ttl_ms), "5s", 0, DAY_MS},
	{"dns", "max_ttl", SET_DURATION, OFF(dns_max_ttl_ms), "300s", SEC_MS, 7 * DAY_MS},
};
#define NKEYS (sizeof set_keys / sizeof set_keys[0])

static const char *const level_names = "error, warn, info, debug";

/* ---- value parsers ---- */

bool settings_parse_duration(const char *s, uint64_t *ms)
{
	if (!s || *s < '0' || *s > '9')
		return false;
	uint64_t n = 0;
	while (*s >= '0' && *s <= '9') {
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*s++ - '0');
	}
	uint64_t mult;
	if (strcmp(s, "ms") == 0)
		mult = 1;
	else if (strcmp(s, "s") == 0 || *s == '\0')
		mult = SEC_MS;
	else if (strcmp(s, "m") == 0)
		mult = MIN_MS;
	else if (strcmp(s, "h") == 0)
		mult = HOUR_MS;
	else
		return false;
	if (n > UINT64_MAX / mult)
		return false;
	*ms = n * mult;
	return true;
}

bool settings_parse_size(const char *s, uint64_t *bytes)
{
	if (!s || *s < '0' || *s > '9')
		return false;
	uint64_t n = 0;
	while (*s >= '0' && *s <= '9') {
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*s++ - '0');
	}
	int shift;
	switch (*s) {
	case '\0': shift = 0; break;
	case 'k': case 'K': shift = 10; s++; break;
	case 'm': case 'M': shift = 20; s++; break;
	case 'g': case 'G': shift = 30; s++; break;
	default: return false;
	}
	if (*s != '\0' || (shift && n > (UINT64_MAX >> shift)))
		return false;
	*bytes = n << shift;
	return true;
}

static bool parse_uint(const char *s, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return false;
	uint64_t n = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*out = n;
	return true;
}

/* "host:port", "[v6]:port"; with default_port != 0 the port may be left out. The host
 * is not resolved here: that happens where the socket is made. */
static bool parse_hostport(const char *s, size_t len, int default_port)
{
	const char *end = s + len;
	const char *colon = NULL;
	if (len == 0)
		return false;
	if (*s == '[') {
		const char *rb = memchr(s, ']', len);
		if (!rb || rb == s + 1)
			return false;
		if (rb + 1 == end)
			return default_port != 0;
		if (rb[1] != ':')
			return false;
		colon = rb + 1;
	} else {
		colon = memrchr(s, ':', len);
		if (colon && memchr(s, ':', (size_t)(colon - s)))
			return false; /* an IPv6 address needs brackets when a port follows */
		if (!colon)
			return default_port != 0;
		if (colon == s)
			return false;
	}
	size_t plen = (size_t)(end - colon - 1);
	if (plen == 0 || plen > 5)
		return false;
	unsigned port = 0;
	for (const char *p = colon + 1; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (unsigned)(*p - '0');
	}
	return port >= 1 && port <= 65535;
}

static void fmt_duration(char *out, size_t size, uint64_t ms)
{
	if (ms && ms % HOUR_MS == 0)
		snprintf(out, size, "%" PRIu64 "h", ms / HOUR_MS);
	else if (ms && ms % MIN_MS == 0)
		snprintf(out, size, "%" PRIu64 "m", ms / MIN_MS);
	else if (ms && ms % SEC_MS == 0)
		snprintf(out, size, "%" PRIu64 "s", ms / SEC_MS);
	else
		snprintf(out, size, "%" PRIu64 "ms", ms);
}

static void fmt_size(char *out, size_t size, uint64_t b)
{
	if (b && b % (1u << 30) == 0)
		snprintf(out, size, "%" PRIu64 "g", b >> 30);
	else if (b && b % (1u << 20) == 0)
		snprintf(out, size, "%" PRIu64 "m", b >> 20);
	else if (b && b % (1u << 10) == 0)
		snprintf(out, size, "%" PRIu64 "k", b >> 10);
	else
		snprintf(out, size, "%" PRIu64, b);
}

/* ---- the reader context ---- */

struct set_ctx {
	struct settings *s;
	struct diag_list *dl;  /* NULL while applying defaults (they cannot fail) */
	const char *diag_file; /* the INI path as the user gave it */
	const char *base_dir;  /* relative paths resolve against this */
	/* the file, split into lines by set_read_line */
	const char *pos, *end;
	int line;
	enum { SEC_NONE, SEC_KNOWN, SEC_BAD } section; /* the last [section] line seen */
	int key_line[NKEYS];   /* where each key was set, 0 = default */
	bool ok;
};

static void set_error(struct set_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct set_ctx *c, const char *fmt, ...)
{
	c->ok = false;
	if (!c->dl)
		return;
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(c->dl, DIAG_ERROR, c->diag_file, c->line, 0, fmt, ap);
	va_end(ap);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		fatalx("out of memory");
	return d;
}

/* base + "/" + rel, dropping "./" prefixes of rel; absolute paths stay as they are. */
static char *resolve_path(const char *base, const char *rel)
{
	if (rel[0] == '/')
		return xstrdup(rel);
	while (rel[0] == '.' && rel[1] == '/')
		rel += 2;
	if (strcmp(rel, ".") == 0 || rel[0] == '\0')
		return xstrdup(base);
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", rel);
	return buf_steal(&b);
}

static void set_str(struct settings *s, size_t off, char *v)
{
	char **slot = (char **)((char *)s + off);
	free(*slot);
	*slot = v;
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

static void set_value(struct set_ctx *c, const struct set_key *k, const char *v)
{
	struct settings *s = c->s;
	char *field = (char *)s + k->offset;
	char lo[32], hi[32];
	uint64_t n;

	switch (k->type) {
	case SET_PATH:
		if (v[0] == '\0') {
			set_error(c, "[%s] %s: a path is required", k->section, k->name);
			return;
		}
		set_str(s, k->offset, resolve_path(c->base_dir, v));
		return;
	case SET_STRING:
		if (k->min && v[0] == '\0') {
			set_error(c, "[%s] %s: a value is required", k->section, k->name);
			return;
		}
		set_str(s, k->offset, xstrdup(v));
		return;
	case SET_WORKERS:
		if (strcmp(v, "auto") == 0) {
			*(int *)field = online_cpus();
			return;
		}
		if (!parse_uint(v, &n) || n < k->min || n > k->max) {
			set_error(c, "[%s] %s: \"%s\" is out of range (%" PRIu64 "..%" PRIu64 ", or auto)",
				  k->section, k->name, v, k->min, k->max);
			return;
		}
		*(int *)field = (int)n;
		return;
	case SET_INT:
	case SET_COUNT:
		if (!parse_uint(v, &n)) {
			set_error(c, "[%s] %s: \"%s\" is not a number", k->section, k->name, v);
			return;
		}
		if (n < k->min || n > k->max) {
			set_error(c, "[%s] %s: \"%s\" is out of range (%" PRIu64 "..%" PRIu64 ")",
				  k->section, k->name, v, k->min, k->max);
			return;
		}
		if (k->type == SET_INT)
			*(int *)field = (int)n;
		else
			*(uint64_t *)field = n;
		return;
	case SET_DURATION:
		if (!settings_parse_duration(v, &n)) {
			set_error(c, "[%s] %s: \"%s\" is not a duration (e.g. 500ms, 10s, 2m, 1h)",
				  k->section, k->name, v);
			return;
		}
		if (n < k->min || n > k->max) {
			fmt_duration(lo, sizeof lo, k->min);
			fmt_duration(hi, sizeof hi, k->max);
			set_error(c, "[%s] %s: \"%s\" is out of range (%s..%s)", k->section, k->name, v, lo, hi);
			return;
		}
		*(uint64_t *)field = n;
		return;
	case SET_SIZE:
		if (!settings_parse_size(v, &n)) {
			set_error(c, "[%s] %s: \"%s\" is not a size (e.g. 512, 16k, 1m)", k->section, k->name, v);
			return;
		}
		if (n < k->min || n > k->max) {
			fmt_size(lo, sizeof lo, k->min);
			fmt_size(hi, sizeof hi, k->max);
			set_error(c, "[%s] %s: \"%s\" is out of range (%s..%s)", k->section, k->name, v, lo, hi);
			return;
		}
		*(uint64_t *)field = n;
		return;
	case SET_LEVEL: {
		enum log_level lvl;
		if (log_level_parse(v, &lvl) != 0) {
			set_error(c, "[%s] %s: \"%s\" is not one of %s", k->section, k->name, v, level_names);
			return;
		}
		*(enum log_level *)field = lvl;
		return;
	}
	case SET_ACCESS:
		if (v[0] == '\0') {
			set_error(c, "[%s] %s: a value is required (stdout, off or a file path)", k->section, k->name);
			return;
		}
		if (strcmp(v, "off") == 0)
			set_str(s, k->offset, NULL);
		else if (strcmp(v, "stdout") == 0)
			set_str(s, k->offset, xstrdup(v));
		else
			set_str(s, k->offset, resolve_path(c->base_dir, v));
		return;
	case SET_FORMAT:
		if (strcmp(v, "json") == 0)
			*(enum access_format *)field = ACCESS_FORMAT_JSON;
		else if (strcmp(v, "combined") == 0)
			*(enum access_format *)field = ACCESS_FORMAT_COMBINED;
		else
			set_error(c, "[%s] %s: \"%s\" is not one of json, combined", k->section, k->name, v);
		return;
	case SET_LISTEN:
		if (strcmp(v, "off") == 0) {
			set_str(s, k->offset, NULL);
			return;
		}
		if (!parse_hostport(v, strlen(v), 0)) {
			set_error(c, "[%s] %s: \"%s\" is not host:port or off", k->section, k->name, v);
			return;
		}
		set_str(s, k->offset, xstrdup(v));
		return;
	case SET_NAMESERVERS: {
		/* "127.0.0.1:5353, [::1]:53": each item is an address with an optional port. */
		const char *p = v;
		while (*p) {
			while (*p == ' ' || *p == '\t')
				p++;
			const char *e = strchr(p, ',');
			size_t len = e ? (size_t)(e - p) : strlen(p);
			size_t tl = len;
			while (tl && (p[tl - 1] == ' ' || p[tl - 1] == '\t'))
				tl--;
			if (!parse_hostport(p, tl, 53)) {
				set_error(c, "[%s] %s: \"%.*s\" is not an address with an optional port",
					  k->section, k->name, (int)tl, p);
				return;
			}
			p += len;
			if (*p == ',')
				p++;
		}
		set_str(s, k->offset, v[0] ? xstrdup(v) : NULL);
		return;
	}
	}
}

static const struct set_key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(set_keys[i].section, section) == 0 && strcmp(set_keys[i].name, name) == 0)
			return &set_keys[i];
	return NULL;
}

static bool section_exists(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(set_keys[i].section, section) == 0)
			return true;
	return false;
}

/* inih calls this for every name = value; c->line is the line the reader gave it. */
static int set_on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct set_ctx *c = user;
	if (c->section == SEC_BAD)
		return 1; /* reported once, at the [section] line */
	if (c->section == SEC_NONE || section[0] == '\0') {
		set_error(c, "%s: key outside of any [section]", name);
		return 1;
	}
	const struct set_key *k = find_key(section, name);
	if (!k) {
		set_error(c, "[%s] %s: unknown key", section, name);
		return 1;
	}
	size_t i = (size_t)(k - set_keys);
	if (c->key_line[i]) {
		set_error(c, "[%s] %s: set twice (first on line %d)", section, name, c->key_line[i]);
		return 1;
	}
	c->key_line[i] = c->line;
	set_value(c, k, value);
	return 1; /* errors are collected in c, never stop inih */
}

/* inih's fgets-like reader: hands over one line at a time so that c->line is always
 * the line of the pair being handled. Leading blanks are dropped, so an indented key
 * is a key (not, as in inih's multi-line mode, a continuation of the previous value).
 * [section] lines and lines that are no pair are checked here too, so that every
 * problem is reported with its line, not only the first one inih finds. */
static char *set_read_line(char *str, int num, void *stream)
{
	struct set_ctx *c = stream;
	if (c->pos >= c->end)
		return NULL;
	const char *nl = memchr(c->pos, '\n', (size_t)(c->end - c->pos));
	const char *eol = nl ? nl : c->end;
	const char *p = c->pos;
	c->pos = nl ? nl + 1 : c->end;
	c->line++;

	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	size_t len = (size_t)(eol - p);
	if (len && p[len - 1] == '\r')
		len--;
	size_t nul = strnlen(p, len);
	if (nul < len) {
		set_error(c, "NUL byte in line");
		len = 0;
	}
	if (len > (size_t)num - 1) {
		set_error(c, "line too long (at most %d bytes)", num - 1);
		len = 0;
	}
	memcpy(str, p, len);
	str[len] = '\0';

	/* Skip a UTF-8 byte order mark on the first line, as inih does. */
	const char *t = str;
	if (c->line == 1 && (unsigned char)t[0] == 0xEF && (unsigned char)t[1] == 0xBB &&
	    (unsigned char)t[2] == 0xBF)
		t += 3;
	if (*t == '\0' || *t == ';' || *t == '#')
		return str;
	if (*t == '[') {
		const char *rb = strchr(t, ']');
		if (!rb) {
			set_error(c, "syntax error: \"]\" expected");
			c->section = SEC_BAD;
			return str;
		}
		char name[64];
		size_t nlen = (size_t)(rb - t - 1);
		if (nlen >= sizeof name)
			nlen = sizeof name - 1;
		memcpy(name, t + 1, nlen);
		name[nlen] = '\0';
		c->section = section_exists(name) ? SEC_KNOWN : SEC_BAD;
		if (c->section == SEC_BAD)
			set_error(c, "[%s]: unknown section", name);
		return str;
	}
	if (!strpbrk(t, "=:"))
		set_error(c, "syntax error: expected \"key = value\" or \"[section]\"");
	return str;
}

/* ---- public ---- */

static void apply_defaults(struct settings *s, const char *base_dir)
{
	struct set_ctx c = {.s = s, .base_dir = base_dir, .ok = true};
	for (size_t i = 0; i < NKEYS; i++)
		set_value(&c, &set_keys[i], set_keys[i].def);
}

void settings_defaults(struct settings *s)
{
	memset(s, 0, sizeof *s);
	apply_defaults(s, GW_SYSCONFDIR "/gatewayd");
}

void settings_fini(struct settings *s)
{
	free(s->file);
	for (size_t i = 0; i < NKEYS; i++) {
		switch (set_keys[i].type) {
		case SET_PATH: case SET_STRING: case SET_ACCESS: case SET_LISTEN: case SET_NAMESERVERS:
			set_str(s, set_keys[i].offset, NULL);
			break;
		default:
			break;
		}
	}
	memset(s, 0, sizeof *s);
}

const char *settings_default_file(void)
{
	const char *env = getenv("GATEWAYD_CONF");
	if (env && env[0])
		return env;
	return GW_SYSCONFDIR "/gatewayd/gatewayd.conf";
}

static char *read_file(const char *path, size_t *len, int *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		*err = errno;
		return NULL;
	}
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&b, chunk, n);
	int rerr = ferror(f) ? errno : 0;
	fclose(f);
	if (rerr) {
		buf_free(&b);
		*err = rerr ? rerr : EIO;
		return NULL;
	}
	*len = b.len;
	buf_putc(&b, '\0');
	return buf_steal(&b);
}

static char *absolute_path(const char *file)
{
	if (file[0] == '/')
		return xstrdup(file);
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		return xstrdup(file);
	while (file[0] == '.' && file[1] == '/')
		file += 2;
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, file);
	return buf_steal(&b);
}

bool settings_load(struct settings *s, const char *file, struct diag_list *dl)
{
	memset(s, 0, sizeof *s);
	s->file = absolute_path(file);
	char *dir = xstrdup(s->file);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	apply_defaults(s, dir);

	size_t len = 0;
	int err = 0;
	char *text = read_file(file, &len, &err);
	if (!text) {
		diag_add(dl, DIAG_ERROR, file, 0, 0, "cannot read: %s", strerror(err));
		free(dir);
		return false;
	}
	struct set_ctx c = {
		.s = s, .dl = dl, .diag_file = file, .base_dir = dir,
		.pos = text, .end = text + len, .ok = true,
	};
	int rc = ini_parse_stream(set_read_line, &c, set_on_pair, &c);
	if (rc < 0) {
		c.line = 0;
		set_error(&c, "cannot parse: out of memory");
	}
	/* rc > 0 is a syntax error that set_read_line has already reported. */

	size_t min_i = (size_t)(find_key("dns", "min_ttl") - set_keys);
	size_t max_i = (size_t)(find_key("dns", "max_ttl") - set_keys);
	if (s->dns_min_ttl_ms > s->dns_max_ttl_ms) {
		c.line = c.key_line[max_i] ? c.key_line[max_i] : c.key_line[min_i];
		set_error(&c, "[dns] min_ttl: must not be above max_ttl");
	}
	free(text);
	free(dir);
	return c.ok;
}
