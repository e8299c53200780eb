/* SPDX-License-Identifier: MIT */
/* precedence: the total order behind each listener's match list. Gateway API §3.4:
 * hostname (longest non-wildcard, then longest), Exact path before PathPrefix, longer
 * prefix first, method present, more headers, more query params, then the older route,
 * then "namespace/name", then rule order and match order. RegularExpression paths are
 * implementation-specific: ours come after every Exact and PathPrefix match of the same
 * hostname tier, longer patterns first (the README documents it). */
#include "compile/precedence.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool parse_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 0001-01-01 (proleptic Gregorian): only differences matter. */
static int64_t day_number(int y, int mo, int d)
{
	static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	int64_t py = y - 1;
	int64_t days = py * 365 + py / 4 - py / 100 + py / 400;
	days += before[mo - 1] + d - 1;
	if (mo > 2 && is_leap(y))
		days++;
	return days;
}

bool prec_parse_timestamp(const char *s, int64_t *sec, int32_t *nsec)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, se, oh = 0, om = 0;
	const char *p = s;
	if (!s || !parse_digits(&p, 4, &y) || *p++ != '-' || !parse_digits(&p, 2, &mo) ||
	    *p++ != '-' || !parse_digits(&p, 2, &d))
		return false;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return false;
	p++;
	if (!parse_digits(&p, 2, &h) || *p++ != ':' || !parse_digits(&p, 2, &mi) ||
	    *p++ != ':' || !parse_digits(&p, 2, &se))
		return false;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !is_leap(y)) || h > 23 || mi > 59 || se > 60)
		return false;
	int32_t frac = 0;
	if (*p == '.') {
		int digits = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (digits < 9) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		if (digits == 0)
			return false;
		while (digits++ < 9)
			frac *= 10;
	}
	int sign = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (!parse_digits(&p, 2, &oh) || *p++ != ':' || !parse_digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return false;
	} else {
		return false;
	}
	if (*p)
		return false;
	*sec = day_number(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
	       sign * (oh * 3600 + om * 60);
	*nsec = frac;
	return true;
}

void prec_route_init(struct prec_route *r, const struct gw_httproute *route, const char *ns_name)
{
	memset(r, 0, sizeof *r);
	r->route = route;
	r->ns_name = ns_name;
	r->load_order = route->meta.load_order;
	r->has_ts = prec_parse_timestamp(route->meta.creation_timestamp, &r->ts_sec, &r->ts_nsec);
}

#define CMP_DESC(x, y) do { if ((x) != (y)) return (x) > (y) ? -1 : 1; } while (0)
#define CMP_ASC(x, y) do { if ((x) != (y)) return (x) < (y) ? -1 : 1; } while (0)

/* Route age as a total order. Upstream compares creationTimestamps; files may lack
 * them, so load order stands in (DESIGN.md). Comparing "timestamp when both have one,
 * else load order" pairwise would not be transitive when only some routes carry a
 * timestamp, so routes with a timestamp count as older than routes without one. */
static int age_cmp(const struct prec_route *a, const struct prec_route *b)
{
	if (a == b)
		return 0;
	CMP_DESC(a->has_ts, b->has_ts);
	if (a->has_ts) {
		CMP_ASC(a->ts_sec, b->ts_sec);
		CMP_ASC(a->ts_nsec, b->ts_nsec);
		return 0; /* same instant: namespace/name decides */
	}
	CMP_ASC(a->load_order, b->load_order);
	return 0;
}

static int entry_cmp(const void *x, const void *y)
{
	const struct prec_entry *a = x, *b = y;
	int c;
	/* 1. hostname, across routes */
	CMP_DESC(a->exact_host_len, b->exact_host_len);
	CMP_DESC(a->host_len, b->host_len);
	/* Two hostnames of the same rank and length never fit one request (an exact name
	 * is itself; a wildcard of one length is one suffix), so ordering them by name
	 * changes no outcome, and keeps each hostname's matches together for the
	 * router's index (img_host_group). */
	if (a->host && b->host && (c = strcasecmp(a->host, b->host)) != 0)
		return c;
	/* 2. path: Exact, then PathPrefix, then RegularExpression; then the longest value */
	CMP_DESC(a->path_rank, b->path_rank);
	CMP_DESC(a->path_len, b->path_len);
	/* 3. method, headers, query params */
	CMP_DESC(a->match->method != GW_METHOD_ANY, b->match->method != GW_METHOD_ANY);
	CMP_DESC(a->nheaders, b->nheaders);
	CMP_DESC(a->nquery, b->nquery);
	/* 4. route ties: age, then namespace/name */
	if ((c = age_cmp(a->route, b->route)) != 0)
		return c;
	if ((c = strcmp(a->route->ns_name, b->route->ns_name)) != 0)
		return c;
	/* 5. inside one route: rule order, then match order */
	CMP_ASC(a->rule_idx, b->rule_idx);
	CMP_ASC(a->match_idx, b->match_idx);
	/* Different hostnames of one match never both fit a request; any fixed order. */
	if (!a->host || !b->host)
		return a->host ? -1 : b->host ? 1 : 0;
	if ((c = strcmp(a->host, b->host)) != 0)
		return c;
	/* Equal paths of different lengths cannot happen; keep the order total anyway. */
	return strcmp(a->path, b->path);
}

void prec_sort(struct prec_entry *e, size_t n)
{
	if (n > 1)
		qsort(e, n, sizeof *e, entry_cmp);
}
