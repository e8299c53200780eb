/* SPDX-License-Identifier: MIT */
/* dns_report: what the resolver knows, for people and scrapers. The hostnames an
 * image needs (its FQDN endpoints, with the backends that use each), the "dns" member
 * of the status object, the DNS section of the `gatewayd status` table, and the
 * gatewayd_dns_* metric families. Main thread. */
#ifndef GW_DNS_REPORT_H
#define GW_DNS_REPORT_H

#include <stddef.h>

#include "base/buf.h"
#include "compile/image.h"
#include "discover/resolver.h"

/* One hostname of an image and the backends ("Backend/ns/name") whose FQDN endpoints
 * name it, each once. */
struct dns_use {
	char *name;
	char **backends;
	size_t nbackends;
};

struct dns_uses {
	struct dns_use *items;    /* sorted by name */
	size_t n;
	const char **names;       /* items[i].name, for resolver_watch() */
};

/* Fills u (which it first empties) from an image that img_check() accepted. */
void dns_uses_from_image(struct dns_uses *u, const struct img_header *img);
void dns_uses_fini(struct dns_uses *u);

/* Appends the JSON array of the watched names:
 * [{"name", "backends": [...], "addresses": ["10.0.0.1", ...], "ttl": s,
 *   "lastResult": "success"|"empty"|"failure"|"pending", "lastError": str|null,
 *   "lastSuccess": RFC 3339|null, "nextRefresh": RFC 3339|null,
 *   "resolutions": {"success": n, "empty": n, "failure": n}}]. r may be NULL. */
void dns_report_json(struct buf *out, const struct resolver *r, const struct dns_uses *u);

/* doc holds one JSON object (the status document): adds a "dns" member (the array
 * above) before its closing brace. Left alone when doc does not end with '}'. */
void dns_report_add_to_status(struct buf *doc, const struct resolver *r, const struct dns_uses *u);

/* Appends the table section (nothing when no name is watched). */
void dns_report_table(struct buf *out, const struct resolver *r, const struct dns_uses *u);

/* Appends gatewayd_dns_resolutions_total{name,result} and
 * gatewayd_dns_addresses{name} (Prometheus text format 0.0.4). */
void dns_report_metrics(struct buf *out, const struct resolver *r);

#endif
