/* SPDX-License-Identifier: MIT */
/* status_doc: status JSON documents and the human `gatewayd status` table. The
 * resources array is copied verbatim (it already is the Kubernetes status shape); it
 * is parsed only to check it and to lay out the table. */
#include "config.h"

#include "ops/status_doc.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <sys/socket.h>
#include <string.h>

#include "base/arena.h"
#include "base/json.h"
#include "ops/jtree.h"

static bool is_array(struct arena *a, const char *text, size_t len, const struct jval **out)
{
	if (!text || len == 0)
		return false;
	const struct jval *v = jtree_parse(a, text, len);
	if (out)
		*out = v;
	return v && v->type == J_ARRAY;
}

static void put_resources(struct buf *out, const char *resources, size_t len)
{
	struct arena a;
	arena_init(&a);
	json_key(out, "resources");
	if (is_array(&a, resources, len, NULL))
		buf_append(out, resources, len);
	else
		buf_puts(out, "[]");
	arena_fini(&a);
}

static void put_status(struct buf *out, uint64_t generation, bool stale, const char *resources,
		       size_t len, bool with_backends, const char *backends, size_t blen)
{
	buf_putc(out, '{');
	json_key(out, "generation");
	if (generation)
		buf_printf(out, "%" PRIu64, generation);
	else
		buf_puts(out, "null");
	buf_putc(out, ',');
	json_key(out, "stale");
	buf_puts(out, stale ? "true," : "false,");
	put_resources(out, resources, len);
	if (with_backends) {
		struct arena a;
		arena_init(&a);
		buf_putc(out, ',');
		json_key(out, "backends");
		if (is_array(&a, backends, blen, NULL))
			buf_append(out, backends, blen);
		else
			buf_puts(out, "[]");
		arena_fini(&a);
	}
	buf_putc(out, '}');
}

void status_doc_json(struct buf *out, uint64_t generation, bool stale,
		     const char *resources, size_t len)
{
	put_status(out, generation, stale, resources, len, false, NULL, 0);
}

void status_doc_json_full(struct buf *out, uint64_t generation, bool stale,
			  const char *resources, size_t len, const char *backends, size_t blen)
{
	put_status(out, generation, stale, resources, len, true, backends, blen);
}

void status_doc_check_json(struct buf *out, bool ok, const char *resources, size_t len,
			   const struct diag_list *dl)
{
	buf_putc(out, '{');
	json_key(out, "ok");
	buf_puts(out, ok ? "true," : "false,");
	json_key(out, "generation");
	buf_puts(out, "null,");
	json_key(out, "stale");
	buf_puts(out, "false,");
	put_resources(out, resources, len);
	buf_putc(out, ',');
	json_key(out, "diagnostics");
	buf_putc(out, '[');
	for (size_t i = 0; dl && i < dl->count; i++) {
		const struct diag *d = &dl->items[i];
		if (i)
			buf_putc(out, ',');
		buf_putc(out, '{');
		json_key(out, "file");
		json_str(out, d->file);
		buf_putc(out, ',');
		json_key(out, "line");
		if (d->line > 0)
			buf_printf(out, "%d,", d->line);
		else
			buf_puts(out, "null,");
		json_key(out, "column");
		if (d->col > 0)
			buf_printf(out, "%d,", d->col);
		else
			buf_puts(out, "null,");
		json_key(out, "severity");
		json_str(out, diag_severity_name(d->severity));
		buf_putc(out, ',');
		json_key(out, "message");
		json_str(out, d->message);
		buf_putc(out, '}');
	}
	buf_puts(out, "]}");
}

/* ---- the table ---- */

#define COL_KIND 16
#define COL_NAME 32

static void pad_to(struct buf *out, size_t start, size_t width)
{
	size_t used = out->len - start;
	do
		buf_putc(out, ' ');
	while (++used < width);
}

/* "Accepted=True ResolvedRefs=False(BackendNotFound)"; messages of the conditions
 * whose reason says more than their type follow on their own lines. */
static void put_conditions(struct buf *out, const struct jval *conds, const char *indent)
{
	size_t n = jtree_len(conds);
	if (n == 0) {
		buf_puts(out, "-\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct jval *c = jtree_at(conds, i);
		const char *type = jtree_get_str(c, "type");
		const char *st = jtree_get_str(c, "status");
		const char *reason = jtree_get_str(c, "reason");
		buf_printf(out, "%s%s=%s", i ? " " : "", type ? type : "?", st ? st : "?");
		if (reason && type && strcmp(reason, type) != 0)
			buf_printf(out, "(%s)", reason);
	}
	buf_putc(out, '\n');
	for (size_t i = 0; i < n; i++) {
		const struct jval *c = jtree_at(conds, i);
		const char *type = jtree_get_str(c, "type");
		const char *reason = jtree_get_str(c, "reason");
		const char *msg = jtree_get_str(c, "message");
		if (reason && type && strcmp(reason, type) != 0 && msg && msg[0])
			buf_printf(out, "%s    %s: %s\n", indent, type, msg);
	}
}

static const char *ref_name(struct arena *a, const struct jval *ref, const char *dflt_ns)
{
	const char *ns = jtree_get_str(ref, "namespace");
	const char *name = jtree_get_str(ref, "name");
	const char *section = jtree_get_str(ref, "sectionName");
	const struct jval *port = jtree_get(ref, "port");
	return arena_printf(a, "%s/%s%s%s%s%s", ns ? ns : dflt_ns, name ? name : "?",
			    section ? " section " : "", section ? section : "",
			    port && port->type == J_NUMBER ? " port " : "",
			    port && port->type == J_NUMBER ? port->str : "");
}

static void put_row(struct buf *out, const char *kind, const char *name)
{
	size_t start = out->len;
	buf_puts(out, kind);
	pad_to(out, start, COL_KIND);
	buf_puts(out, name);
	pad_to(out, start, COL_KIND + COL_NAME);
}

static void put_resource(struct buf *out, struct arena *a, const struct jval *r)
{
	const char *kind = jtree_get_str(r, "kind");
	const char *ns = jtree_get_str(r, "namespace");
	const char *name = jtree_get_str(r, "name");
	const struct jval *st = jtree_get(r, "status");
	const char *full = ns && ns[0] ? arena_printf(a, "%s/%s", ns, name ? name : "?")
				       : (name ? name : "?");
	put_row(out, kind ? kind : "?", full);
	const struct jval *conds = jtree_get(st, "conditions");
	const struct jval *listeners = jtree_get(st, "listeners");
	const struct jval *parents = jtree_get(st, "parents");
	const struct jval *ancestors = jtree_get(st, "ancestors");
	if (conds || !(listeners || parents || ancestors)) {
		put_conditions(out, conds, "");
	} else {
		while (out->len && out->data[out->len - 1] == ' ')
			out->len--;
		buf_putc(out, '\n');
	}

	for (size_t i = 0; i < jtree_len(listeners); i++) {
		const struct jval *l = jtree_at(listeners, i);
		const char *lname = jtree_get_str(l, "name");
		const struct jval *att = jtree_get(l, "attachedRoutes");
		put_row(out, "  listener", lname ? lname : "?");
		buf_printf(out, "attachedRoutes=%s ", att && att->type == J_NUMBER ? att->str : "?");
		put_conditions(out, jtree_get(l, "conditions"), "  ");
	}
	for (size_t i = 0; i < jtree_len(parents); i++) {
		const struct jval *p = jtree_at(parents, i);
		put_row(out, "  parent", ref_name(a, jtree_get(p, "parentRef"), ns ? ns : "default"));
		put_conditions(out, jtree_get(p, "conditions"), "  ");
	}
	for (size_t i = 0; i < jtree_len(ancestors); i++) {
		const struct jval *p = jtree_at(ancestors, i);
		put_row(out, "  ancestor", ref_name(a, jtree_get(p, "ancestorRef"), ns ? ns : "default"));
		put_conditions(out, jtree_get(p, "conditions"), "  ");
	}
}

void status_doc_table(struct buf *out, uint64_t generation, bool stale,
		      const char *resources, size_t len)
{
	status_doc_table_full(out, generation, stale, resources, len, NULL, 0);
}

/* "BACKEND  ENDPOINT  HEALTH", one line per endpoint, the name on the first. */
static void put_backends_table(struct buf *out, struct arena *a, const char *backends,
			       size_t blen)
{
	const struct jval *list = NULL;
	if (!is_array(a, backends, blen, &list) || jtree_len(list) == 0)
		return;
	buf_putc(out, '\n');
	put_row(out, "BACKEND", "");
	buf_puts(out, "ENDPOINT                    HEALTH\n");
	for (size_t i = 0; i < jtree_len(list); i++) {
		const struct jval *b = jtree_at(list, i);
		const char *name = jtree_get_str(b, "name");
		const struct jval *eps = jtree_get(b, "endpoints");
		size_t n = jtree_len(eps);
		if (n == 0) {
			put_row(out, name ? name : "?", "");
			buf_puts(out, "-                           (no endpoints)\n");
		}
		for (size_t k = 0; k < n; k++) {
			const struct jval *e = jtree_at(eps, k);
			const char *addr = jtree_get_str(e, "address");
			const char *health = jtree_get_str(e, "health");
			size_t start = out->len;
			put_row(out, k == 0 && name ? name : "", "");
			buf_puts(out, addr ? addr : "?");
			pad_to(out, start, COL_KIND + COL_NAME + 28);
			buf_printf(out, "%s\n", health ? health : "?");
		}
	}
}

void status_doc_table_full(struct buf *out, uint64_t generation, bool stale,
			   const char *resources, size_t len, const char *backends, size_t blen)
{
	struct arena a;
	arena_init(&a);
	const struct jval *list = NULL;
	if (generation)
		buf_printf(out, "generation %" PRIu64 "%s\n", generation,
			   stale ? " (stale: config_dir did not compile at start; serving the last good generation)" : "");
	else
		buf_puts(out, "no generation active\n");
	if (!is_array(&a, resources, len, &list) || jtree_len(list) == 0) {
		buf_puts(out, "no resources\n");
	} else {
		put_row(out, "KIND", "NAME");
		buf_puts(out, "STATUS\n");
		for (size_t i = 0; i < jtree_len(list); i++)
			put_resource(out, &a, jtree_at(list, i));
	}
	put_backends_table(out, &a, backends, blen);
	arena_fini(&a);
}

/* "10.0.0.1:8080", "[::1]:8080" or "unix:/path". */
static void put_endpoint_address(struct buf *out, const struct img_header *img,
				 const struct img_endpoint *ep)
{
	if (ep->kind == IMG_ENDPOINT_UNIX) {
		buf_puts(out, "unix:");
		buf_append(out, img_str_ptr(img, ep->path), ep->path.len);
		return;
	}
	if (ep->kind == IMG_ENDPOINT_FQDN) {
		/* its addresses are in the "dns" member (discover/dns_report.h) */
		buf_puts(out, "dns:");
		buf_append(out, img_str_ptr(img, ep->path), ep->path.len);
		buf_printf(out, ":%u", (unsigned)ep->port);
		return;
	}
	char text[INET6_ADDRSTRLEN];
	int family = ep->family == AF_INET6 ? AF_INET6 : AF_INET;
	if (inet_ntop(family, ep->addr, text, sizeof text) == NULL)
		strcpy(text, "?");
	buf_printf(out, family == AF_INET6 ? "[%s]:%u" : "%s:%u", text, (unsigned)ep->port);
}

void status_doc_backends(struct buf *out, const struct img_header *img)
{
	const struct img_backend *bs = IMG_ARRAY(img, img->backends, struct img_backend);
	const struct img_endpoint *eps = IMG_ARRAY(img, img->endpoints, struct img_endpoint);
	struct buf addr = BUF_INIT;
	buf_putc(out, '[');
	for (uint32_t i = 0; i < img->backends.count; i++) {
		const struct img_backend *b = &bs[i];
		buf_puts(out, i ? ",{" : "{");
		json_key(out, "name");
		json_strn(out, img_str_ptr(img, b->name), b->name.len);
		buf_putc(out, ',');
		json_key(out, "endpoints");
		buf_putc(out, '[');
		uint32_t first = (b->endpoints.off - img->endpoints.off) / (uint32_t)sizeof(struct img_endpoint);
		for (uint32_t k = 0; k < b->endpoints.count && first + k < img->endpoints.count; k++) {
			addr.len = 0;
			put_endpoint_address(&addr, img, &eps[first + k]);
			buf_puts(out, k ? ",{" : "{");
			json_key(out, "address");
			json_strn(out, addr.data, addr.len);
			buf_putc(out, ',');
			json_key(out, "health");
			json_str(out, "healthy");
			buf_putc(out, '}');
		}
		buf_puts(out, "]}");
	}
	buf_putc(out, ']');
	buf_free(&addr);
}
