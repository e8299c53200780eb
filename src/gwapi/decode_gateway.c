/* SPDX-License-Identifier: MIT */
/* decode_gateway: Gateway spec and its listeners (GATEWAY-API.md §2.4), with the
 * CRD's CEL rules: unique listener names, unique port+protocol+hostname, tls and
 * hostname only where the protocol allows them, unique addresses. */
#include <arpa/inet.h>
#include <string.h>

#include "gwapi/decode.h"
#include "gwapi/validate.h"

static const struct dfield gateway_fields[] = {
	{ "gatewayClassName", DT_STR, DF_REQUIRED, 1, 253 },
	{ "listeners", DT_SEQ, DF_REQUIRED, 1, 64 },
	{ "addresses", DT_SEQ, 0, 0, 16 },
	{ "infrastructure", DT_MAP, 0, 0, 0 },
	{ "allowedListeners", DT_MAP, 0, 0, 0 },
	{ "tls", DT_MAP, 0, 0, 0 },
	{ "defaultScope", DT_STR, 0, 0, 0 },
};

static const struct dfield listener_fields[] = {
	{ "name", DT_STR, DF_REQUIRED, 0, 0 },
	{ "hostname", DT_STR, 0, 0, 0 },
	{ "port", DT_INT, DF_REQUIRED, 1, 65535 },
	{ "protocol", DT_STR, DF_REQUIRED, 0, 0 },
	{ "tls", DT_MAP, 0, 0, 0 },
	{ "allowedRoutes", DT_MAP, 0, 0, 0 },
};

static const struct dfield listener_tls_fields[] = {
	{ "mode", DT_STR, 0, 0, 0 },
	{ "certificateRefs", DT_SEQ, 0, 0, 64 },
	{ "options", DT_MAP, 0, 0, 16 },
};

/* SecretObjectReference (GATEWAY-API.md §2.2) */
static const struct dfield secret_ref_fields[] = {
	{ "group", DT_STR, 0, 0, 0 },
	{ "kind", DT_STR, 0, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
	{ "namespace", DT_STR, 0, 0, 0 },
};

static const struct dfield allowed_routes_fields[] = {
	{ "namespaces", DT_MAP, 0, 0, 0 },
	{ "kinds", DT_SEQ, 0, 0, 8 },
};

static const struct dfield route_namespaces_fields[] = {
	{ "from", DT_STR, 0, 0, 0 },
	{ "selector", DT_MAP, 0, 0, 0 },
};

static const struct dfield route_kind_fields[] = {
	{ "group", DT_STR, 0, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
};

static const struct dfield address_fields[] = {
	{ "type", DT_STR, 0, 1, 253 },
	{ "value", DT_STR, 0, 0, 253 },
};

static const struct dfield infrastructure_fields[] = {
	{ "labels", DT_MAP, 0, 0, 8 },
	{ "annotations", DT_MAP, 0, 0, 16 },
	{ "parametersRef", DT_MAP, 0, 0, 0 },
};

static const struct dfield local_params_fields[] = {
	{ "group", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "name", DT_STR, DF_REQUIRED, 1, 253 },
};

static const struct dfield allowed_listeners_fields[] = {
	{ "namespaces", DT_MAP, 0, 0, 0 },
};

static const char *const tls_modes[] = { "Terminate", "Passthrough" };
static const char *const route_froms[] = { "All", "Selector", "Same" };
static const enum gw_from route_from_values[] = { GW_FROM_ALL, GW_FROM_SELECTOR, GW_FROM_SAME };
static const char *const listener_froms[] = { "All", "Selector", "Same", "None" };
static const enum gw_from listener_from_values[] = { GW_FROM_ALL, GW_FROM_SELECTOR, GW_FROM_SAME, GW_FROM_NONE };
static const char *const default_scopes[] = { "All", "None" };

static const struct {
	const char *name;
	enum gw_protocol proto;
} core_protocols[] = {
	{ "HTTP", GW_PROTO_HTTP }, { "HTTPS", GW_PROTO_HTTPS }, { "TLS", GW_PROTO_TLS },
	{ "TCP", GW_PROTO_TCP }, { "UDP", GW_PROTO_UDP },
};

static void decode_listener_tls(struct dctx *c, const struct ynode *n, const char *path,
				struct gw_listener *l)
{
	struct dval v[3];
	DECODE_FIELDS(c, n, path, listener_tls_fields, v);
	l->has_tls = true;
	int mode = 0; /* Terminate is the default */
	if (v[0].val)
		mode = decode_enum(c, v[0].val, decode_path(c, path, "mode"), tls_modes, 2);
	l->tls_passthrough = mode == 1;
	if (v[1].val) {
		const struct ynode *seq = v[1].val;
		const char *rpath = decode_path(c, path, "certificateRefs");
		for (size_t i = 0; i < seq->count; i++) {
			const char *ip = decode_path_index(c, rpath, i);
			struct dval r[4];
			DECODE_FIELDS(c, seq->items[i], ip, secret_ref_fields, r);
			if (r[0].val)
				decode_group_name(c, r[0].val, decode_path(c, ip, "group"));
			if (r[1].val)
				decode_kind_name(c, r[1].val, decode_path(c, ip, "kind"));
			if (r[3].val)
				decode_dns_label(c, r[3].val, decode_path(c, ip, "namespace"));
		}
	}
	if (v[2].val) {
		const struct ynode *opts = v[2].val;
		const char *opath = decode_path(c, path, "options");
		for (size_t i = 0; i < opts->count; i++) {
			const struct ynode *k = opts->pairs[i].key, *val = opts->pairs[i].value;
			if (!validate_label_key(k->scalar) || strlen(k->scalar) > 253)
				decode_error(c, k, opath, "invalid option name %s", decode_quote(c, k->scalar));
			decode_check(c, val, decode_path(c, opath, k->scalar), DT_STR, 0, 4096);
		}
	}
	/* GatewayTLSConfig CEL: Terminate needs a certificate or an option */
	if (mode == 0 && (!v[1].val || v[1].val->count == 0) && (!v[2].val || v[2].val->count == 0))
		decode_error(c, n, path, "certificateRefs or options must be specified when mode is Terminate");
	/* Listener CEL: HTTPS terminates; TLS says which mode it wants */
	if (mode == 1 && l->protocol == GW_PROTO_HTTPS)
		decode_error(c, v[0].val, decode_path(c, path, "mode"),
			     "must be Terminate for protocol HTTPS, got \"Passthrough\"");
	if (!v[0].val && l->protocol == GW_PROTO_TLS)
		decode_error(c, n, path, "mode must be set for protocol TLS");
	decode_listener_tls_model(c, n, path, l); /* refs and options into l->tls (decode_tls.c) */
}

static void decode_allowed_routes(struct dctx *c, const struct ynode *n, const char *path,
				  struct gw_listener *l)
{
	struct dval v[2];
	DECODE_FIELDS(c, n, path, allowed_routes_fields, v);
	if (v[0].val) {
		const char *npath = decode_path(c, path, "namespaces");
		struct dval ns[2];
		DECODE_FIELDS(c, v[0].val, npath, route_namespaces_fields, ns);
		if (ns[0].val) {
			int from = decode_enum(c, ns[0].val, decode_path(c, npath, "from"), route_froms, 3);
			if (from >= 0)
				l->from = route_from_values[from];
		}
		if (ns[1].val)
			decode_label_selector(c, ns[1].val, decode_path(c, npath, "selector"), &l->selector);
		/* A nil selector selects nothing and an empty one everything; the model
		 * cannot tell them apart, so "Selector" without one is refused. */
		if (l->from == GW_FROM_SELECTOR && !ns[1].val)
			decode_error(c, v[0].val, npath, "selector must be specified when from is \"Selector\"");
	}
	if (v[1].val) {
		const struct ynode *seq = v[1].val;
		const char *kpath = decode_path(c, path, "kinds");
		l->kinds = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *l->kinds);
		for (size_t i = 0; i < seq->count; i++) {
			const char *ip = decode_path_index(c, kpath, i);
			struct dval k[2];
			DECODE_FIELDS(c, seq->items[i], ip, route_kind_fields, k);
			bool ok = !k[0].val || decode_group_name(c, k[0].val, decode_path(c, ip, "group"));
			if (!k[1].val || !decode_kind_name(c, k[1].val, decode_path(c, ip, "kind")) || !ok)
				continue;
			struct gw_route_group_kind *gk = &l->kinds[l->nkinds++];
			gk->group = k[0].val ? k[0].val->scalar : GW_GROUP;
			gk->kind = k[1].val->scalar;
			gk->pos = decode_pos(seq->items[i]);
		}
	}
}

static void decode_listener(struct dctx *c, const struct ynode *n, const char *path,
			    struct gw_listener *l)
{
	struct dval v[6];
	l->from = GW_FROM_SAME;
	l->pos = decode_pos(n);
	DECODE_FIELDS(c, n, path, listener_fields, v);
	if (v[0].val && decode_section_name(c, v[0].val, decode_path(c, path, "name")))
		l->name = v[0].val->scalar;
	if (v[2].val)
		l->port = (uint16_t)decode_int_value(v[2].val);
	if (v[3].val) {
		const char *proto = v[3].val->scalar;
		if (validate_protocol(proto)) {
			l->protocol_name = proto;
			l->protocol = GW_PROTO_OTHER;
			for (size_t i = 0; i < sizeof core_protocols / sizeof core_protocols[0]; i++)
				if (!strcmp(proto, core_protocols[i].name))
					l->protocol = core_protocols[i].proto;
		} else {
			decode_error(c, v[3].val, decode_path(c, path, "protocol"),
				     "must be HTTP, HTTPS, TLS, TCP, UDP or a domain-prefixed protocol name, got %s",
				     decode_quote(c, proto));
		}
	}
	bool l4 = l->protocol_name && (l->protocol == GW_PROTO_TCP || l->protocol == GW_PROTO_UDP);
	if (v[1].val) {
		if (l4)
			decode_error(c, v[1].val, decode_path(c, path, "hostname"),
				     "must not be specified for protocol %s", decode_quote(c, l->protocol_name));
		else if (decode_hostname(c, v[1].val, decode_path(c, path, "hostname"), true))
			l->hostname = v[1].val->scalar;
	}
	if (v[4].val) {
		if (l->protocol_name && (l4 || l->protocol == GW_PROTO_HTTP))
			decode_error(c, v[4].key, decode_path(c, path, "tls"), "must not be specified for protocol %s",
				     decode_quote(c, l->protocol_name));
		else
			decode_listener_tls(c, v[4].val, decode_path(c, path, "tls"), l);
	} else if (l->protocol_name && l->protocol == GW_PROTO_TLS) {
		decode_error(c, n, path, "tls.mode must be set for protocol TLS");
	}
	if (v[5].val)
		decode_allowed_routes(c, v[5].val, decode_path(c, path, "allowedRoutes"), l);
}

/* The listener CEL rules that look across listeners; the later one is reported. */
static void check_listeners(struct dctx *c, const struct ynode *seq, const struct gw_listener *ls, size_t n)
{
	for (size_t j = 1; j < n; j++) {
		const struct gw_listener *b = &ls[j];
		const struct ynode *bn = seq->items[j];
		for (size_t i = 0; i < j; i++) {
			const struct gw_listener *a = &ls[i];
			if (a->name && b->name && !strcmp(a->name, b->name)) {
				decode_error(c, ynode_get(bn, "name"), decode_path(c, decode_path_index(c, "spec.listeners", j), "name"),
					     "listener name %s is already used by spec.listeners[%zu]",
					     decode_quote(c, b->name), i);
				break;
			}
		}
		for (size_t i = 0; i < j; i++) {
			const struct gw_listener *a = &ls[i];
			if (!a->port || !b->port || !a->protocol_name || !b->protocol_name)
				continue;
			bool same_host = (!a->hostname && !b->hostname) ||
					 (a->hostname && b->hostname && !strcmp(a->hostname, b->hostname));
			if (a->port == b->port && !strcmp(a->protocol_name, b->protocol_name) && same_host) {
				decode_error(c, bn, decode_path_index(c, "spec.listeners", j),
					     "port %u, protocol %s and hostname %s are already used by spec.listeners[%zu]",
					     b->port, decode_quote(c, b->protocol_name),
					     b->hostname ? decode_quote(c, b->hostname) : "(none)", i);
				break;
			}
		}
	}
}

static void decode_addresses(struct dctx *c, const struct ynode *seq, struct gw_gateway *gw)
{
	size_t n = seq->count ? seq->count : 1;
	gw->addresses = arena_alloc(c->a, n * sizeof *gw->addresses);
	/* the parsed IPs, family first: "::1" and "0::1" are the same address */
	unsigned char (*bin)[sizeof(struct in6_addr) + 1] = arena_alloc(c->a, n * sizeof *bin);
	for (size_t i = 0; i < seq->count; i++) {
		const char *path = decode_path_index(c, "spec.addresses", i);
		struct dval v[2];
		if (!DECODE_FIELDS(c, seq->items[i], path, address_fields, v))
			continue; /* nothing to check a bad type or value against */
		const char *type = v[0].val ? v[0].val->scalar : "IPAddress";
		const char *value = v[1].val ? v[1].val->scalar : NULL;
		if (v[0].val && !validate_address_type(type)) {
			decode_error(c, v[0].val, decode_path(c, path, "type"),
				     "must be IPAddress, Hostname or a domain-prefixed type, got %s", decode_quote(c, type));
			continue;
		}
		struct gw_address *ad = &gw->addresses[gw->naddresses];
		ad->type = type;
		ad->value = value;
		ad->pos = decode_pos(seq->items[i]);
		const char *vpath = decode_path(c, path, "value");
		/* CEL: IPAddress values are IPs, Hostname values hostnames, each unique */
		if (value && value[0] && !strcmp(type, "IPAddress")) {
			unsigned char *b = bin[gw->naddresses];
			if (inet_pton(AF_INET, value, b + 1) == 1) {
				b[0] = 4;
			} else if (inet_pton(AF_INET6, value, b + 1) == 1) {
				b[0] = 6;
			} else {
				decode_error(c, v[1].val, vpath, "must be an IPv4 or IPv6 address, got %s",
					     decode_quote(c, value));
				continue;
			}
		} else if (value && value[0] && !strcmp(type, "Hostname")) {
			if (!decode_hostname(c, v[1].val, vpath, true))
				continue;
		}
		bool dup = false;
		for (size_t k = 0; k < gw->naddresses && value && value[0]; k++) {
			const struct gw_address *o = &gw->addresses[k];
			if (!o->value || strcmp(o->type, type))
				continue;
			if (!strcmp(type, "IPAddress") ? !memcmp(bin[k], bin[gw->naddresses], sizeof bin[k])
						       : !strcmp(o->value, value)) {
				decode_error(c, v[1].val, vpath, "duplicate %s value %s", type, decode_quote(c, value));
				dup = true;
				break;
			}
		}
		if (!dup)
			gw->naddresses++;
	}
}

static void decode_infrastructure(struct dctx *c, const struct dval *iv, struct gw_gateway *gw)
{
	const char *path = "spec.infrastructure";
	struct dval v[3];
	DECODE_FIELDS(c, iv->val, path, infrastructure_fields, v);
	/* labels and annotations are for resources an implementation generates: none here */
	if (v[0].val) {
		struct gw_label *labels;
		size_t n;
		decode_labels(c, v[0].val, decode_path(c, path, "labels"), &labels, &n);
	}
	if (v[1].val) {
		const struct ynode *m = v[1].val;
		for (size_t i = 0; i < m->count; i++) {
			const struct ynode *k = m->pairs[i].key;
			if (!validate_label_key(k->scalar) || strlen(k->scalar) > 253)
				decode_error(c, k, decode_path(c, path, "annotations"), "invalid annotation key %s",
					     decode_quote(c, k->scalar));
			decode_check(c, m->pairs[i].value, decode_path(c, decode_path(c, path, "annotations"), k->scalar),
				     DT_STR, 0, 4096);
		}
	}
	if (v[2].val) {
		struct dval p[3];
		const char *ppath = decode_path(c, path, "parametersRef");
		DECODE_FIELDS(c, v[2].val, ppath, local_params_fields, p);
		if (p[0].val)
			decode_group_name(c, p[0].val, decode_path(c, ppath, "group"));
		if (p[1].val)
			decode_kind_name(c, p[1].val, decode_path(c, ppath, "kind"));
		gw->has_parameters_ref = true;  /* resolve.c: Accepted=False/InvalidParameters */
	}
}

/* Which ListenerSets may attach (§2.5): None unless said otherwise. */
static void decode_allowed_listeners(struct dctx *c, const struct ynode *n, struct gw_gateway *gw)
{
	const char *path = "spec.allowedListeners";
	struct dval v[1];
	DECODE_FIELDS(c, n, path, allowed_listeners_fields, v);
	if (!v[0].val)
		return;
	const char *npath = decode_path(c, path, "namespaces");
	struct dval ns[2];
	DECODE_FIELDS(c, v[0].val, npath, route_namespaces_fields, ns);
	/* The CRD defaults from to None, also when namespaces is given without it. */
	if (ns[0].val) {
		int from = decode_enum(c, ns[0].val, decode_path(c, npath, "from"), listener_froms, 4);
		if (from >= 0)
			gw->allowed_listeners_from = listener_from_values[from];
	}
	if (ns[1].val)
		decode_label_selector(c, ns[1].val, decode_path(c, npath, "selector"), &gw->allowed_listeners_selector);
	if (gw->allowed_listeners_from == GW_FROM_SELECTOR && !ns[1].val)
		decode_error(c, v[0].val, npath, "selector must be specified when from is \"Selector\"");
}

void decode_listeners(struct dctx *c, const struct ynode *seq, struct gw_listener **out, size_t *n)
{
	*out = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof **out);
	*n = seq->count;
	for (size_t i = 0; i < seq->count; i++)
		decode_listener(c, seq->items[i], decode_path_index(c, "spec.listeners", i), &(*out)[i]);
	check_listeners(c, seq, *out, *n);
}

void decode_gateway(struct dctx *c, const struct ynode *spec, struct gw_gateway *gw)
{
	struct dval v[7];
	DECODE_FIELDS(c, spec, "spec", gateway_fields, v);
	if (v[0].val)
		gw->gateway_class_name = v[0].val->scalar;
	gw->allowed_listeners_from = GW_FROM_NONE;
	if (v[1].val)
		decode_listeners(c, v[1].val, &gw->listeners, &gw->nlisteners);
	if (v[2].val)
		decode_addresses(c, v[2].val, gw);
	if (v[3].val)
		decode_infrastructure(c, &v[3], gw);
	if (v[4].val)
		decode_allowed_listeners(c, v[4].val, gw);
	if (v[5].val) /* frontend client-certificate validation (decode_tls.c) */
		decode_gateway_tls(c, &v[5], gw);
	if (v[6].val) {
		int scope = decode_enum(c, v[6].val, "spec.defaultScope", default_scopes, 2);
		if (scope == 0)
			decode_error(c, v[6].val, "spec.defaultScope", "\"All\" is not supported yet");
	}
}
