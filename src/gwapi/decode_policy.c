/* SPDX-License-Identifier: MIT */
/* decode_policy: Envoy Gateway's BackendTrafficPolicy (gateway.envoyproxy.io/v1alpha1),
 * field for field as Envoy Gateway's CRD with its CEL rules, so its users' YAML ports
 * over. Fields of the real API that gatewayd does not implement are errors naming the
 * field, never silently ignored. */
#include <stdint.h>
#include <string.h>

#include "gwapi/decode.h"
#include "gwapi/validate.h"

#define U32_MAX_FIELD 4294967295LL
/* consistentHash.cookie.attributes: bounds of what goes into one Set-Cookie field */
#define COOKIE_ATTRS_MAX 16
#define COOKIE_ATTR_VALUE_MAX 1024

static const struct dfield spec_fields[] = {
	{ "targetRef", DT_MAP, 0, 0, 0 },
	{ "targetRefs", DT_SEQ, 0, 1, 16 },
	{ "targetSelectors", DT_SEQ, 0, 0, 0 },
	{ "loadBalancer", DT_MAP, 0, 0, 0 },
	{ "healthCheck", DT_MAP, 0, 0, 0 },
	{ "circuitBreaker", DT_MAP, 0, 0, 0 },
	{ "timeout", DT_MAP, 0, 0, 0 },
	/* The rest of Envoy Gateway's BackendTrafficPolicySpec and ClusterSettings. */
	{ "mergeType", DT_STR, 0, 0, 0 },
	{ "rateLimit", DT_MAP, 0, 0, 0 },
	{ "faultInjection", DT_MAP, 0, 0, 0 },
	{ "useClientProtocol", DT_BOOL, 0, 0, 0 },  /* false (the default) is fine */
	{ "compression", DT_SEQ, 0, 0, 0 },
	{ "responseOverride", DT_SEQ, 0, 0, 0 },
	{ "httpUpgrade", DT_SEQ, 0, 0, 0 },
	{ "requestBuffer", DT_MAP, 0, 0, 0 },
	{ "telemetry", DT_MAP, 0, 0, 0 },
	{ "retry", DT_MAP, 0, 0, 0 },
	{ "proxyProtocol", DT_MAP, 0, 0, 0 },
	{ "tcpKeepalive", DT_MAP, 0, 0, 0 },
	{ "connection", DT_MAP, 0, 0, 0 },
	{ "dns", DT_MAP, 0, 0, 0 },
	{ "http2", DT_MAP, 0, 0, 0 },
};
#define SPEC_FIRST_UNSUPPORTED 7

static const struct dfield target_fields[] = {
	{ "group", DT_STR, DF_REQUIRED, 0, 253 },
	{ "kind", DT_STR, DF_REQUIRED, 1, 63 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
	{ "sectionName", DT_STR, 0, 1, 253 },
};

static const struct dfield lb_fields[] = {
	{ "type", DT_STR, DF_REQUIRED, 0, 0 },
	{ "consistentHash", DT_MAP, 0, 0, 0 },
	{ "endpointOverride", DT_MAP, 0, 0, 0 },
	{ "slowStart", DT_MAP, 0, 0, 0 },
	{ "zoneAware", DT_MAP, 0, 0, 0 },
};

static const struct dfield hash_fields[] = {
	{ "type", DT_STR, DF_REQUIRED, 0, 0 },
	{ "header", DT_MAP, 0, 0, 0 },
	{ "cookie", DT_MAP, 0, 0, 0 },
	{ "tableSize", DT_INT, 0, 2, 5000011 },
};

static const struct dfield name_fields[] = {
	{ "name", DT_STR, DF_REQUIRED, 1, 256 },
};

static const struct dfield cookie_fields[] = {
	{ "name", DT_STR, DF_REQUIRED, 1, 256 },
	{ "ttl", DT_STR, 0, 0, 0 },
	{ "attributes", DT_MAP, 0, 0, 0 },
};

static const struct dfield hc_fields[] = {
	{ "active", DT_MAP, 0, 0, 0 },
	{ "passive", DT_MAP, 0, 0, 0 },
	{ "panicThreshold", DT_INT, 0, 0, 100 },
};

static const struct dfield active_fields[] = {
	{ "timeout", DT_STR, 0, 0, 0 },
	{ "interval", DT_STR, 0, 0, 0 },
	{ "unhealthyThreshold", DT_INT, 0, 1, U32_MAX_FIELD },
	{ "healthyThreshold", DT_INT, 0, 1, U32_MAX_FIELD },
	{ "type", DT_STR, DF_REQUIRED, 0, 0 },
	{ "http", DT_MAP, 0, 0, 0 },
	{ "tcp", DT_MAP, 0, 0, 0 },
	{ "grpc", DT_MAP, 0, 0, 0 },
	{ "initialJitter", DT_STR, 0, 0, 0 },
};

static const struct dfield http_hc_fields[] = {
	{ "path", DT_STR, DF_REQUIRED, 1, 1024 },
	{ "method", DT_STR, 0, 0, 0 },
	{ "expectedStatuses", DT_SEQ, 0, 0, 0 },
	{ "expectedResponse", DT_MAP, 0, 0, 0 },
	{ "hostname", DT_STR, 0, 0, 0 },
};

static const struct dfield passive_fields[] = {
	{ "splitExternalLocalOriginErrors", DT_BOOL, 0, 0, 0 },
	{ "interval", DT_STR, 0, 0, 0 },
	{ "consecutiveLocalOriginFailures", DT_INT, 0, 0, U32_MAX_FIELD },
	{ "consecutiveGatewayErrors", DT_INT, 0, 0, U32_MAX_FIELD },
	{ "consecutive5XxErrors", DT_INT, 0, 0, U32_MAX_FIELD },
	{ "baseEjectionTime", DT_STR, 0, 0, 0 },
	{ "maxEjectionPercent", DT_INT, 0, 0, 100 },
	{ "failurePercentageThreshold", DT_INT, 0, 0, 100 },
};

static const struct dfield cb_fields[] = {
	{ "maxConnections", DT_INT, 0, 0, U32_MAX_FIELD },
	{ "maxPendingRequests", DT_INT, 0, 0, U32_MAX_FIELD },
	{ "maxParallelRequests", DT_INT, 0, 0, U32_MAX_FIELD },
	{ "maxParallelRetries", DT_INT, 0, 0, U32_MAX_FIELD },
	{ "maxRequestsPerConnection", DT_INT, 0, 0, U32_MAX_FIELD },
	{ "perEndpoint", DT_MAP, 0, 0, 0 },
};

static const struct dfield timeout_fields[] = {
	{ "tcp", DT_MAP, 0, 0, 0 },
	{ "http", DT_MAP, 0, 0, 0 },
};

static const struct dfield tcp_timeout_fields[] = {
	{ "connectTimeout", DT_STR, 0, 0, 0 },
};

static const struct dfield http_timeout_fields[] = {
	{ "connectionIdleTimeout", DT_STR, 0, 0, 0 },
	{ "maxConnectionDuration", DT_STR, 0, 0, 0 },
	{ "requestTimeout", DT_STR, 0, 0, 0 },
};

static const char *const lb_types[] = { "RoundRobin", "LeastRequest", "Random", "ConsistentHash" };
static const char *const hash_types[] = { "SourceIP", "Header", "Cookie" };
static const char *const hc_types[] = { "HTTP", "TCP", "GRPC" };
static const char *const target_kinds[] = {
	"Gateway", "HTTPRoute", "GRPCRoute", "UDPRoute", "TCPRoute", "TLSRoute",
};

/* "... is not supported by gatewayd": a real field of Envoy Gateway's API whose behaviour
 * we do not implement. */
static void not_supported(struct dctx *c, const struct dval *v, const char *path, const char *field)
{
	decode_error(c, v->key ? v->key : v->val, path, "field \"%s\" is not supported by gatewayd", field);
}

/* A validated GEP-2257 duration ("1h30m", "500ms") in milliseconds, capped to 32 bits. */
static uint32_t duration_ms(const char *s)
{
	uint64_t total = 0;
	while (*s) {
		uint64_t n = 0;
		while (*s >= '0' && *s <= '9')
			n = n * 10 + (uint64_t)(*s++ - '0');
		if (s[0] == 'm' && s[1] == 's') {
			s += 2;
		} else if (*s == 'h') {
			n *= 3600000u;
			s++;
		} else if (*s == 'm') {
			n *= 60000u;
			s++;
		} else {
			n *= 1000u;
			s++;
		}
		total += n;
	}
	return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

/* An optional duration field: dflt when absent; false after reporting a bad one. */
static bool get_duration(struct dctx *c, const struct dval *v, const char *path, const char *field,
			 uint32_t dflt, uint32_t *out)
{
	*out = dflt;
	if (!v->val)
		return true;
	if (!decode_duration(c, v->val, decode_path(c, path, field)))
		return false;
	*out = duration_ms(v->val->scalar);
	return true;
}

static uint32_t get_u32(const struct dval *v, uint32_t dflt)
{
	return v->val ? (uint32_t)decode_int_value(v->val) : dflt;
}

static void decode_target(struct dctx *c, const struct ynode *n, const char *path,
			  struct gw_policy_target *t, bool *ok)
{
	struct dval v[4];
	if (!DECODE_FIELDS(c, n, path, target_fields, v)) {
		*ok = false;
		return;
	}
	/* CEL: group gateway.networking.k8s.io, kind of the list, no sectionName. */
	if (strcmp(v[0].val->scalar, GW_GROUP) != 0) {
		decode_error(c, v[0].val, decode_path(c, path, "group"),
			     "this policy can only have a targetRefs[*].group of %s", GW_GROUP);
		*ok = false;
	}
	bool known = false;
	for (size_t i = 0; i < sizeof target_kinds / sizeof target_kinds[0]; i++)
		known |= strcmp(v[1].val->scalar, target_kinds[i]) == 0;
	if (!known) {
		decode_error(c, v[1].val, decode_path(c, path, "kind"),
			     "this policy can only have a targetRefs[*].kind of Gateway/HTTPRoute/GRPCRoute/TCPRoute/UDPRoute/TLSRoute");
		*ok = false;
	} else if (strcmp(v[1].val->scalar, "Gateway") != 0 && strcmp(v[1].val->scalar, "HTTPRoute") != 0) {
		decode_error(c, v[1].val, decode_path(c, path, "kind"),
			     "%s: a target of kind %s is not supported by gatewayd (Gateway or HTTPRoute)",
			     decode_quote(c, v[1].val->scalar), v[1].val->scalar);
		*ok = false;
	}
	if (v[3].val) {
		decode_error(c, v[3].key, decode_path(c, path, "sectionName"),
			     "this policy does not yet support the sectionName field");
		*ok = false;
	}
	t->group = v[0].val->scalar;
	t->kind = v[1].val->scalar;
	t->name = v[2].val->scalar;
	t->pos = decode_pos(n);
}

static void decode_targets(struct dctx *c, const struct dval *one, const struct dval *many,
			   const struct dval *selectors, struct gw_btpolicy *p)
{
	if (selectors->val)
		not_supported(c, selectors, "spec", "targetSelectors");
	if ((one->val != NULL) == (many->val != NULL)) {
		if (!selectors->val)
			decode_error(c, NULL, "spec", "either targetRef or targetRefs must be used");
		return;
	}
	bool ok = true;
	if (one->val) {
		p->targets = arena_alloc(c->a, sizeof *p->targets);
		decode_target(c, one->val, "spec.targetRef", &p->targets[0], &ok);
		p->ntargets = ok;
		return;
	}
	const struct ynode *seq = many->val;
	p->targets = arena_alloc(c->a, seq->count * sizeof *p->targets);
	for (size_t i = 0; i < seq->count; i++) {
		bool one_ok = true;
		decode_target(c, seq->items[i], decode_path_index(c, "spec.targetRefs", i),
			      &p->targets[p->ntargets], &one_ok);
		if (one_ok)
			p->ntargets++;
	}
}

static bool is_prime(uint64_t n)
{
	if (n < 2)
		return false;
	for (uint64_t d = 2; d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

/* consistentHash.cookie.attributes: a map of cookie attributes (RFC 6265 §4.1.1
 * cookie-av) added to the generated Set-Cookie as "; name=value" ("; name" when the
 * value is empty), in document order. */
static void decode_cookie_attrs(struct dctx *c, const struct ynode *n, const char *path,
				struct gw_btpolicy *p)
{
	if (!decode_check(c, n, path, DT_MAP, 0, COOKIE_ATTRS_MAX))
		return;
	p->cookie_attrs = arena_alloc(c->a, 2 * n->count * sizeof *p->cookie_attrs);
	for (size_t i = 0; i < n->count; i++) {
		const struct ynode *k = n->pairs[i].key, *v = n->pairs[i].value;
		const char *ap = decode_path(c, path, k->scalar);
		if (!validate_header_name(k->scalar)) {
			decode_error(c, k, ap, "must be a cookie attribute name (RFC 9110 token characters)");
			continue;
		}
		if (!decode_check(c, v, ap, DT_STR, 0, COOKIE_ATTR_VALUE_MAX))
			continue;
		bool ok = true;
		for (const char *s = v->scalar; *s && ok; s++)
			ok = (unsigned char)*s >= 0x20 && *s != 0x7f && *s != ';';
		if (!ok || strlen(v->scalar) != v->scalar_len) {
			decode_error(c, v, ap, "must not contain \";\" or control characters");
			continue;
		}
		p->cookie_attrs[2 * p->ncookie_attrs] = k->scalar;
		p->cookie_attrs[2 * p->ncookie_attrs + 1] = v->scalar;
		p->ncookie_attrs++;
	}
}

static void decode_hash(struct dctx *c, const struct ynode *n, const char *path, struct gw_btpolicy *p)
{
	struct dval v[4];
	if (!DECODE_FIELDS(c, n, path, hash_fields, v) || !v[0].val)
		return;
	int t = decode_enum(c, v[0].val, decode_path(c, path, "type"), hash_types, 3);
	if (t < 0)
		return;
	p->hash = (enum gw_hash)t;
	/* CEL: header set exactly for type Header, cookie exactly for type Cookie. */
	if ((t == GW_HASH_HEADER) != (v[1].val != NULL))
		decode_error(c, n, path, "If consistent hash type is header, the header field must be set.");
	if ((t == GW_HASH_COOKIE) != (v[2].val != NULL))
		decode_error(c, n, path, "If consistent hash type is cookie, the cookie field must be set.");
	if (v[3].val) {
		uint64_t size = (uint64_t)decode_int_value(v[3].val);
		if (!is_prime(size))
			decode_error(c, v[3].val, decode_path(c, path, "tableSize"),
				     "must be a prime number, got %llu", (unsigned long long)size);
		p->table_size = (uint32_t)size;
	}
	if (v[1].val && t == GW_HASH_HEADER) {
		const char *hp = decode_path(c, path, "header");
		struct dval h[1];
		if (DECODE_FIELDS(c, v[1].val, hp, name_fields, h) &&
		    decode_header_name(c, h[0].val, decode_path(c, hp, "name")))
			p->hash_name = h[0].val->scalar;
	}
	if (v[2].val && t == GW_HASH_COOKIE) {
		const char *cp = decode_path(c, path, "cookie");
		struct dval k[3];
		if (!DECODE_FIELDS(c, v[2].val, cp, cookie_fields, k))
			return;
		p->hash_name = k[0].val->scalar;
		/* Envoy generates the cookie when the request has none and a ttl is given
		 * ("0s": a session cookie); the attributes only go on a generated one. */
		if (k[1].val && get_duration(c, &k[1], cp, "ttl", 0, &p->cookie_ttl_ms)) {
			p->cookie_generate = true;
			if (!validate_header_name(p->hash_name))
				decode_error(c, k[0].val, decode_path(c, cp, "name"),
					     "must be a cookie name (RFC 6265 token) when ttl is set, got %s",
					     decode_quote(c, p->hash_name));
		}
		if (k[2].val)
			decode_cookie_attrs(c, k[2].val, decode_path(c, cp, "attributes"), p);
	}
}

static void decode_lb(struct dctx *c, const struct ynode *n, struct gw_btpolicy *p)
{
	const char *path = "spec.loadBalancer";
	struct dval v[5];
	if (!DECODE_FIELDS(c, n, path, lb_fields, v) || !v[0].val)
		return;
	int t = decode_enum(c, v[0].val, decode_path(c, path, "type"), lb_types, 4);
	if (t < 0)
		return;
	p->lb = (enum gw_lb)t;
	if ((t == GW_LB_CONSISTENT_HASH) != (v[1].val != NULL))
		decode_error(c, n, path, "If LoadBalancer type is consistentHash, consistentHash field needs to be set.");
	else if (v[1].val)
		decode_hash(c, v[1].val, decode_path(c, path, "consistentHash"), p);
	if (v[2].val)
		not_supported(c, &v[2], path, "endpointOverride");
	if (v[3].val)
		not_supported(c, &v[3], path, "slowStart");
	if (v[4].val)
		not_supported(c, &v[4], path, "zoneAware");
}

static void decode_active(struct dctx *c, const struct ynode *n, const char *path, struct gw_btpolicy *p)
{
	struct dval v[9];
	if (!DECODE_FIELDS(c, n, path, active_fields, v) || !v[4].val)
		return;
	bool ok = get_duration(c, &v[0], path, "timeout", 1000, &p->hc_timeout_ms);
	ok &= get_duration(c, &v[1], path, "interval", 3000, &p->hc_interval_ms);
	p->hc_unhealthy = get_u32(&v[2], 3);
	p->hc_healthy = get_u32(&v[3], 1);
	int t = decode_enum(c, v[4].val, decode_path(c, path, "type"), hc_types, 3);
	if (t < 0)
		return;
	/* CEL: http exactly for HTTP, tcp exactly for TCP, grpc only for GRPC. */
	if ((t == 0) != (v[5].val != NULL))
		decode_error(c, n, path, "If Health Checker type is HTTP, http field needs to be set.");
	if ((t == 1) != (v[6].val != NULL))
		decode_error(c, n, path, "If Health Checker type is TCP, tcp field needs to be set.");
	if (v[7].val && t != 2)
		decode_error(c, n, path, "The grpc field can only be set if the Health Checker type is GRPC.");
	if (v[8].val)
		not_supported(c, &v[8], path, "initialJitter");
	if (t != 0) {
		decode_error(c, v[4].val, decode_path(c, path, "type"),
			     "%s health checks are not supported by gatewayd (HTTP only)", hc_types[t]);
		return;
	}
	if (!v[5].val)
		return;
	const char *hp = decode_path(c, path, "http");
	struct dval h[5];
	if (!DECODE_FIELDS(c, v[5].val, hp, http_hc_fields, h))
		return;
	if (h[0].val->scalar[0] != '/') {
		decode_error(c, h[0].val, decode_path(c, hp, "path"), "must start with \"/\", got %s",
			     decode_quote(c, h[0].val->scalar));
		ok = false;
	}
	for (const char *s = h[0].val->scalar; *s; s++) {
		if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
			decode_error(c, h[0].val, decode_path(c, hp, "path"),
				     "must not contain spaces or control characters");
			ok = false;
			break;
		}
	}
	p->hc_path = h[0].val->scalar;
	p->hc_method = "GET";
	if (h[1].val) {
		static const char *const methods[] = {
			"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH",
		};
		int m = decode_enum(c, h[1].val, decode_path(c, hp, "method"), methods, 8);
		if (m < 0)
			ok = false;
		else
			p->hc_method = methods[m];
	}
	if (h[2].val) {
		const struct ynode *seq = h[2].val;
		p->hc_statuses = arena_alloc(c->a, (seq->count + 1) * sizeof *p->hc_statuses);
		for (size_t i = 0; i < seq->count; i++) {
			const char *ip = decode_path_index(c, decode_path(c, hp, "expectedStatuses"), i);
			if (!decode_check(c, seq->items[i], ip, DT_INT, 100, 599)) {
				ok = false;
				continue;
			}
			p->hc_statuses[p->nhc_statuses++] = (uint16_t)decode_int_value(seq->items[i]);
		}
	}
	if (h[3].val)
		not_supported(c, &h[3], hp, "expectedResponse");
	if (h[4].val)
		not_supported(c, &h[4], hp, "hostname");
	p->active = ok && !h[3].val && !h[4].val;
}

static void decode_passive(struct dctx *c, const struct ynode *n, const char *path, struct gw_btpolicy *p)
{
	struct dval v[8];
	if (!DECODE_FIELDS(c, n, path, passive_fields, v))
		return;
	p->split_local = dval_bool(&v[0], false);
	bool ok = get_duration(c, &v[1], path, "interval", 3000, &p->od_interval_ms);
	p->od_local = get_u32(&v[2], 5);
	p->od_gateway = get_u32(&v[3], 0);
	p->od_5xx = get_u32(&v[4], 5);
	ok &= get_duration(c, &v[5], path, "baseEjectionTime", 30000, &p->od_base_ejection_ms);
	p->od_max_percent = get_u32(&v[6], 10);
	if (v[7].val) {
		not_supported(c, &v[7], path, "failurePercentageThreshold");
		ok = false;
	}
	p->passive = ok;
}

static void decode_healthcheck(struct dctx *c, const struct ynode *n, struct gw_btpolicy *p)
{
	const char *path = "spec.healthCheck";
	struct dval v[3];
	if (!DECODE_FIELDS(c, n, path, hc_fields, v))
		return;
	if (v[0].val)
		decode_active(c, v[0].val, decode_path(c, path, "active"), p);
	if (v[1].val)
		decode_passive(c, v[1].val, decode_path(c, path, "passive"), p);
	if (v[2].val)
		not_supported(c, &v[2], path, "panicThreshold");
}

static void decode_cb(struct dctx *c, const struct ynode *n, struct gw_btpolicy *p)
{
	const char *path = "spec.circuitBreaker";
	struct dval v[6];
	if (!DECODE_FIELDS(c, n, path, cb_fields, v))
		return;
	/* Envoy's defaults once a circuitBreaker is given: 1024 each. */
	p->cb_connections = get_u32(&v[0], 1024);
	p->cb_pending = get_u32(&v[1], 1024);
	p->cb_requests = get_u32(&v[2], 1024);
	p->cb_retries = get_u32(&v[3], 1024);
	if (v[4].val)
		not_supported(c, &v[4], path, "maxRequestsPerConnection");
	if (v[5].val)
		not_supported(c, &v[5], path, "perEndpoint");
}

static void decode_timeout(struct dctx *c, const struct ynode *n, struct gw_btpolicy *p)
{
	const char *path = "spec.timeout";
	struct dval v[2];
	if (!DECODE_FIELDS(c, n, path, timeout_fields, v))
		return;
	if (v[0].val) {
		const char *tp = decode_path(c, path, "tcp");
		struct dval t[1];
		if (DECODE_FIELDS(c, v[0].val, tp, tcp_timeout_fields, t))
			get_duration(c, &t[0], tp, "connectTimeout", 0, &p->connect_timeout_ms);
	}
	if (v[1].val) {
		const char *hp = decode_path(c, path, "http");
		struct dval h[3];
		if (!DECODE_FIELDS(c, v[1].val, hp, http_timeout_fields, h))
			return;
		/* Envoy's cluster idle_timeout and max_connection_duration: "0s" turns
		 * either off (an idle connection then stays until the backend closes it). */
		if (get_duration(c, &h[0], hp, "connectionIdleTimeout", 0, &p->idle_timeout_ms) &&
		    h[0].val && p->idle_timeout_ms == 0)
			p->idle_timeout_ms = UINT32_MAX;
		get_duration(c, &h[1], hp, "maxConnectionDuration", 0, &p->max_conn_ms);
		get_duration(c, &h[2], hp, "requestTimeout", 0, &p->request_timeout_ms);
	}
}

void decode_btpolicy(struct dctx *c, const struct ynode *spec, struct gw_btpolicy *p)
{
	p->lb = GW_LB_ROUND_ROBIN;
	p->table_size = 65537;
	p->cb_connections = p->cb_pending = p->cb_requests = p->cb_retries = UINT32_MAX;
	if (!spec) {
		decode_error(c, c->root, NULL, "missing required field \"spec\"");
		return;
	}
	struct dval v[sizeof spec_fields / sizeof spec_fields[0]];
	DECODE_FIELDS(c, spec, "spec", spec_fields, v);
	decode_targets(c, &v[0], &v[1], &v[2], p);
	if (v[3].val)
		decode_lb(c, v[3].val, p);
	if (v[4].val)
		decode_healthcheck(c, v[4].val, p);
	if (v[5].val)
		decode_cb(c, v[5].val, p);
	if (v[6].val)
		decode_timeout(c, v[6].val, p);
	for (size_t i = SPEC_FIRST_UNSUPPORTED; i < sizeof spec_fields / sizeof spec_fields[0]; i++)
		if (v[i].val && !(strcmp(spec_fields[i].name, "useClientProtocol") == 0 && !dval_bool(&v[i], false)))
			not_supported(c, &v[i], "spec", spec_fields[i].name);
}
