/* SPDX-License-Identifier: MIT */
/* backend_status: endpoint health from the current endpoint set, read through the
 * atomics the workers and the health checker write. A backend's endpoint shows the
 * worst state it has in the clusters of the backend's policies (an endpoint ejected
 * under one route's policy is still used by another route's): ejected, then unhealthy,
 * then healthy. Backends under no policy have no checks: always healthy. */
#include "config.h"

#include "ops/backend_status.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "compile/image_policy.h"
#include "runtime/epset.h"
#include "runtime/generation.h"

enum ep_health { EPH_HEALTHY = 0, EPH_UNHEALTHY = 1, EPH_EJECTED = 2 };
static const char *const health_name[] = {"healthy", "unhealthy", "ejected"};
static const char *const lb_name[] = {"RoundRobin", "LeastRequest", "Random", "ConsistentHash"};

static enum ep_health state_of(const struct ep_state *e)
{
	unsigned f = atomic_load_explicit(&((struct ep_state *)e)->flags, memory_order_relaxed);
	return (f & EP_EJECTED) ? EPH_EJECTED : (f & EP_UNHEALTHY) ? EPH_UNHEALTHY : EPH_HEALTHY;
}

/* The clusters of backend b: [*lo, *hi), the policy ones after the IMG_NONE one. */
static void clusters_of(const struct epset *s, uint32_t b, uint32_t *lo, uint32_t *hi)
{
	uint32_t i = 0;
	while (i < s->nclusters && s->clusters[i].backend < b)
		i++;
	*lo = i;
	while (i < s->nclusters && s->clusters[i].backend == b)
		i++;
	*hi = i;
}

/* The worst state of address e of backend b over its policy clusters. */
static enum ep_health worst_state(const struct epset *s, uint32_t lo, uint32_t hi,
				  const struct sockaddr_storage *addr, socklen_t len)
{
	enum ep_health w = EPH_HEALTHY;
	for (uint32_t c = lo; c < hi; c++) {
		const struct epcluster *cl = &s->clusters[c];
		if (cl->pol == NULL)
			continue;
		for (uint32_t k = 0; k < cl->count; k++) {
			const struct ep_state *e = s->eps[cl->first + k];
			if (e->addrlen == len && memcmp(&e->addr, addr, len) == 0) {
				enum ep_health h = state_of(e);
				w = h > w ? h : w;
			}
		}
	}
	return w;
}

static void put_image_address(struct buf *out, const struct img_header *img, const struct img_endpoint *ep)
{
	if (ep->kind == IMG_ENDPOINT_UNIX) {
		buf_puts(out, "unix:");
		buf_append(out, img_str_ptr(img, ep->path), ep->path.len);
	} else if (ep->kind == IMG_ENDPOINT_FQDN) {
		buf_puts(out, "dns:");
		buf_append(out, img_str_ptr(img, ep->path), ep->path.len);
		buf_printf(out, ":%u", (unsigned)ep->port);
	} else {
		char text[INET6_ADDRSTRLEN];
		int family = ep->family == AF_INET6 ? AF_INET6 : AF_INET;
		if (inet_ntop(family, ep->addr, text, sizeof text) == NULL)
			strcpy(text, "?");
		buf_printf(out, family == AF_INET6 ? "[%s]:%u" : "%s:%u", text, (unsigned)ep->port);
	}
}

/* The backend-level state of an image endpoint: static ones by their address; an fqdn
 * one by the worst of its resolved addresses. */
static enum ep_health image_ep_state(const struct epset *s, uint32_t lo, uint32_t hi,
				     const struct img_header *img, const struct img_endpoint *ep)
{
	enum ep_health w = EPH_HEALTHY;
	for (uint32_t c = lo; c < hi; c++) {
		const struct epcluster *cl = &s->clusters[c];
		if (cl->pol == NULL)
			continue;
		for (uint32_t k = 0; k < cl->count; k++) {
			const struct ep_state *e = s->eps[cl->first + k];
			struct buf a = BUF_INIT;
			put_image_address(&a, img, ep);
			bool same = ep->kind == IMG_ENDPOINT_FQDN
					    ? strncmp(e->host, img_str_ptr(img, ep->path), ep->path.len) == 0 &&
						      e->host[ep->path.len] == '\0'
					    : a.len == strlen(e->name) && memcmp(a.data, e->name, a.len) == 0;
			buf_free(&a);
			if (same) {
				enum ep_health h = state_of(e);
				w = h > w ? h : w;
			}
		}
	}
	return w;
}

static void put_policies(struct buf *out, const struct epset *s, uint32_t lo, uint32_t hi)
{
	const struct img_header *img = s->gen->img;
	bool any = false;
	for (uint32_t c = lo; c < hi; c++) {
		const struct epcluster *cl = &s->clusters[c];
		if (cl->pol == NULL)
			continue;
		buf_puts(out, any ? ",{" : ",\"policies\":[{");
		any = true;
		json_key(out, "policy");
		json_strn(out, img_str_ptr(img, cl->pol->name), cl->pol->name.len);
		buf_putc(out, ',');
		json_key(out, "lb");
		json_str(out, lb_name[cl->pol->lb <= IMG_LB_CONSISTENT_HASH ? cl->pol->lb : 0]);
		buf_printf(out, ",\"requestsActive\":%u,\"circuitBreakerOverflows\":%" PRIu64 ",",
			   atomic_load(&cl->st->active), (uint64_t)atomic_load(&cl->st->overflow));
		json_key(out, "endpoints");
		buf_putc(out, '[');
		for (uint32_t k = 0; k < cl->count; k++) {
			struct ep_state *e = s->eps[cl->first + k];
			buf_puts(out, k ? ",{" : "{");
			json_key(out, "address");
			json_str(out, e->name);
			buf_putc(out, ',');
			json_key(out, "health");
			json_str(out, health_name[state_of(e)]);
			buf_printf(out, ",\"active\":%u,\"ejections\":%" PRIu64 ",\"checksOk\":%" PRIu64
				   ",\"checksFailed\":%" PRIu64 "}",
				   atomic_load(&e->active), (uint64_t)atomic_load(&e->ejected_total),
				   (uint64_t)atomic_load(&e->hc_ok), (uint64_t)atomic_load(&e->hc_fail));
		}
		buf_puts(out, "]}");
	}
	if (any)
		buf_putc(out, ']');
}

void backend_status_json(struct buf *out, const struct epset *s)
{
	const struct img_header *img = s->gen->img;
	const struct img_backend *bs = IMG_ARRAY(img, img->backends, struct img_backend);
	const struct img_endpoint *eps = IMG_ARRAY(img, img->endpoints, struct img_endpoint);
	buf_putc(out, '[');
	for (uint32_t i = 0; i < img->backends.count; i++) {
		const struct img_backend *b = &bs[i];
		uint32_t lo, hi;
		clusters_of(s, i, &lo, &hi);
		buf_puts(out, i ? ",{" : "{");
		json_key(out, "name");
		json_strn(out, img_str_ptr(img, b->name), b->name.len);
		buf_putc(out, ',');
		json_key(out, "endpoints");
		buf_putc(out, '[');
		uint32_t first = (b->endpoints.off - img->endpoints.off) / (uint32_t)sizeof(struct img_endpoint);
		for (uint32_t k = 0; k < b->endpoints.count && first + k < img->endpoints.count; k++) {
			buf_puts(out, k ? ",{" : "{");
			json_key(out, "address");
			struct buf a = BUF_INIT;
			put_image_address(&a, img, &eps[first + k]);
			json_strn(out, a.data, a.len);
			buf_free(&a);
			buf_putc(out, ',');
			json_key(out, "health");
			json_str(out, health_name[image_ep_state(s, lo, hi, img, &eps[first + k])]);
			buf_putc(out, '}');
		}
		buf_putc(out, ']');
		put_policies(out, s, lo, hi);
		buf_putc(out, '}');
	}
	buf_putc(out, ']');
}

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

/* Addresses of backend b (its IMG_NONE cluster holds each once) by worst state. */
static void count_states(const struct epset *s, uint32_t lo, uint32_t hi, uint64_t n[3])
{
	n[0] = n[1] = n[2] = 0;
	for (uint32_t c = lo; c < hi; c++) {
		const struct epcluster *cl = &s->clusters[c];
		if (cl->pol != NULL)
			continue;
		for (uint32_t k = 0; k < cl->count; k++) {
			const struct ep_state *e = s->eps[cl->first + k];
			n[worst_state(s, lo, hi, &e->addr, e->addrlen)]++;
		}
	}
}

void backend_status_endpoint_samples(struct buf *out, const struct epset *s)
{
	const struct img_header *img = s->gen->img;
	for (uint32_t b = 0; b < img->backends.count; b++) {
		uint32_t lo, hi;
		uint64_t n[3];
		clusters_of(s, b, &lo, &hi);
		count_states(s, lo, hi, n);
		for (int st = 0; st < 3; st++) {
			buf_puts(out, "gatewayd_backend_endpoints{backend=\"");
			put_label(out, img_str_ptr(img, s->gen->backends[b].name));
			buf_printf(out, "\",state=\"%s\"} %" PRIu64 "\n", health_name[st], n[st]);
		}
	}
}

struct bsums {
	uint64_t ok, fail, ejections, overflow, active;
	bool policy;
};

static struct bsums sums_of(const struct epset *s, uint32_t lo, uint32_t hi)
{
	struct bsums x;
	memset(&x, 0, sizeof x);
	for (uint32_t c = lo; c < hi; c++) {
		const struct epcluster *cl = &s->clusters[c];
		x.active += atomic_load(&cl->st->active);
		if (cl->pol == NULL)
			continue;
		x.policy = true;
		x.overflow += atomic_load(&cl->st->overflow);
		for (uint32_t k = 0; k < cl->count; k++) {
			struct ep_state *e = s->eps[cl->first + k];
			x.ok += atomic_load(&e->hc_ok);
			x.fail += atomic_load(&e->hc_fail);
			x.ejections += atomic_load(&e->ejected_total);
		}
	}
	return x;
}

void backend_status_metrics(struct buf *out, const struct epset *s)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{"gatewayd_health_checks_total", "counter",
		 "Active health checks of the endpoints of backends under a BackendTrafficPolicy, by result."},
		{"gatewayd_outlier_ejections_total", "counter",
		 "Endpoints ejected by outlier detection (healthCheck.passive)."},
		{"gatewayd_circuit_breaker_overflows_total", "counter",
		 "Requests answered 503 by a BackendTrafficPolicy circuit breaker."},
		{"gatewayd_backend_requests_active", "gauge", "Requests in flight to each backend."},
	};
	const struct img_header *img = s->gen->img;
	for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
		buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help, fam[f].name, fam[f].type);
		for (uint32_t b = 0; b < img->backends.count; b++) {
			uint32_t lo, hi;
			clusters_of(s, b, &lo, &hi);
			struct bsums x = sums_of(s, lo, hi);
			if (f < 3 && !x.policy)
				continue;
			for (int r = 0; r < (f == 0 ? 2 : 1); r++) {
				buf_printf(out, "%s{backend=\"", fam[f].name);
				put_label(out, img_str_ptr(img, s->gen->backends[b].name));
				uint64_t v = f == 0 ? (r == 0 ? x.ok : x.fail) : f == 1 ? x.ejections
					   : f == 2 ? x.overflow : x.active;
				if (f == 0)
					buf_printf(out, "\",result=\"%s\"} %" PRIu64 "\n", r == 0 ? "success" : "failure", v);
				else
					buf_printf(out, "\"} %" PRIu64 "\n", v);
			}
		}
	}
}
