/* SPDX-License-Identifier: MIT */
/* decode_backend: Envoy Gateway's Backend (gateway.envoyproxy.io/v1alpha1), in the
 * same shape and with the same CRD rules as Envoy Gateway's, so its standalone
 * configurations port over. Only static endpoints are supported so far. */
#include <string.h>

#include "gwapi/decode.h"
#include "gwapi/validate.h"

#define BACKEND_MAX_ENDPOINTS 64
/* Envoy Gateway's UnixSocket CEL rule */
#define BACKEND_MAX_UNIX_PATH 108

static const struct dfield backend_fields[] = {
	{ "endpoints", DT_SEQ, DF_REQUIRED, 1, BACKEND_MAX_ENDPOINTS },
	{ "type", DT_STR, 0, 0, 0 },
	{ "appProtocols", DT_SEQ, 0, 0, 0 },
	{ "fallback", DT_BOOL, 0, 0, 0 },
	{ "tls", DT_MAP, 0, 0, 0 },
};

static const struct dfield endpoint_fields[] = {
	{ "ip", DT_MAP, 0, 0, 0 },
	{ "fqdn", DT_MAP, 0, 0, 0 },
	{ "unix", DT_MAP, 0, 0, 0 },
	{ "hostname", DT_STR, 0, 1, 253 },
	{ "zone", DT_STR, 0, 0, 0 },
};

static const struct dfield ip_fields[] = {
	{ "address", DT_STR, DF_REQUIRED, 0, 0 },
	{ "port", DT_INT, DF_REQUIRED, 1, 65535 },
};

static const struct dfield fqdn_fields[] = {
	{ "hostname", DT_STR, DF_REQUIRED, 0, 0 },
	{ "port", DT_INT, DF_REQUIRED, 1, 65535 },
};

static const struct dfield unix_fields[] = {
	{ "path", DT_STR, DF_REQUIRED, 0, 0 },
};

static const char *const backend_types[] = { "Endpoints", "DynamicResolver" };
static const char *const app_protocols[] = {
	"gateway.envoyproxy.io/h2c", "gateway.envoyproxy.io/ws", "gateway.envoyproxy.io/wss",
};

/* Decodes one endpoint into ep; returns false when it is unusable. */
static bool decode_endpoint(struct dctx *c, const struct ynode *n, const char *path,
			    struct gw_endpoint *ep)
{
	struct dval v[5];
	if (!DECODE_FIELDS(c, n, path, endpoint_fields, v) && n->kind != YNODE_MAP)
		return false;
	int kinds = !!v[0].val + !!v[1].val + !!v[2].val;
	if (kinds == 0) {
		decode_error(c, n, path, "one of fqdn, ip or unix must be specified");
		return false;
	}
	if (kinds > 1) {
		decode_error(c, n, path, "only one of fqdn, ip or unix can be specified");
		return false;
	}
	if (v[3].val) {
		decode_unsupported(c, &v[3], path, "hostname");
		return false;
	}
	ep->pos = decode_pos(n);
	if (v[0].val) {
		const char *p = decode_path(c, path, "ip");
		struct dval f[2];
		DECODE_FIELDS(c, v[0].val, p, ip_fields, f);
		if (f[0].val && !decode_ip_address(c, f[0].val, decode_path(c, p, "address")))
			return false;
		if (!f[0].val || !f[1].val)
			return false;
		ep->kind = GW_ENDPOINT_IP;
		ep->address = f[0].val->scalar;
		ep->port = (uint16_t)decode_int_value(f[1].val);
		return true;
	}
	if (v[1].val) {
		const char *p = decode_path(c, path, "fqdn");
		struct dval f[2];
		DECODE_FIELDS(c, v[1].val, p, fqdn_fields, f);
		if (!f[0].val)
			return false;
		/* Envoy Gateway's pattern: lowercase RFC 1123 labels, no wildcard (an IP
		 * literal passes it, and DNS resolution returns it as is) */
		if (!validate_hostname(f[0].val->scalar, false)) {
			decode_error(c, f[0].val, decode_path(c, p, "hostname"),
				     "must be a valid hostname (lowercase RFC 1123 labels, no wildcard), got %s",
				     decode_quote(c, f[0].val->scalar));
			return false;
		}
		if (!f[1].val)
			return false;
		ep->kind = GW_ENDPOINT_FQDN;
		ep->address = f[0].val->scalar;
		ep->port = (uint16_t)decode_int_value(f[1].val);
		return true;
	}
	const char *p = decode_path(c, path, "unix");
	struct dval f[1];
	if (!DECODE_FIELDS(c, v[2].val, p, unix_fields, f))
		return false;
	const char *sock = f[0].val->scalar;
	if (sock[0] != '/') {
		decode_error(c, f[0].val, decode_path(c, p, "path"), "must be an absolute path, got %s",
			     decode_quote(c, sock));
		return false;
	}
	if (strlen(sock) > BACKEND_MAX_UNIX_PATH) {
		decode_error(c, f[0].val, decode_path(c, p, "path"),
			     "unix domain socket path must not exceed %d characters", BACKEND_MAX_UNIX_PATH);
		return false;
	}
	ep->kind = GW_ENDPOINT_UNIX;
	ep->address = sock;
	ep->port = 0;
	return true;
}

void decode_backend(struct dctx *c, const struct ynode *spec, struct gw_backend *b)
{
	struct dval v[5];
	DECODE_FIELDS(c, spec, "spec", backend_fields, v);
	if (v[1].val) {
		int t = decode_enum(c, v[1].val, "spec.type", backend_types, 2);
		if (t == 1)
			decode_error(c, v[1].val, "spec.type", "\"DynamicResolver\" is not supported yet");
	}
	if (v[2].val) {
		const struct ynode *seq = v[2].val;
		for (size_t i = 0; i < seq->count; i++) {
			const char *ip = decode_path_index(c, "spec.appProtocols", i);
			if (!decode_check(c, seq->items[i], ip, DT_STR, 0, 0))
				continue;
			/* ws is an Upgrade over HTTP/1.1, which every backend gets; wss would
			 * need TLS to the Backend, which is not supported (spec.tls) */
			int t = decode_enum(c, seq->items[i], ip, app_protocols, 3);
			if (t == 0)
				b->app_protocol = GW_APP_H2C;
			else if (t == 2)
				decode_error(c, seq->items[i], ip, "\"%s\" is not supported (no TLS to Backends)",
					     app_protocols[2]);
		}
	}
	/* fallback: false is the default and changes nothing */
	if (v[3].val && dval_bool(&v[3], false))
		decode_unsupported(c, &v[3], "spec", "fallback");
	if (v[4].val)
		decode_unsupported(c, &v[4], "spec", "tls");
	if (!v[0].val)
		return;

	const struct ynode *seq = v[0].val;
	b->endpoints = arena_alloc(c->a, seq->count * sizeof *b->endpoints);
	size_t nfqdn = 0;
	for (size_t i = 0; i < seq->count; i++) {
		const char *path = decode_path_index(c, "spec.endpoints", i);
		const struct ynode *fq = ynode_get(seq->items[i], "fqdn");
		nfqdn += fq && !ynode_is_null(fq);
		if (decode_endpoint(c, seq->items[i], path, &b->endpoints[b->nendpoints]))
			b->nendpoints++;
	}
	/* Envoy Gateway CEL, on the endpoints as written:
	 * self.all(f, has(f.fqdn)) || !self.exists(f, has(f.fqdn)) */
	if (nfqdn && nfqdn != seq->count)
		decode_error(c, seq, "spec.endpoints", "fqdn addresses cannot be mixed with other address types");
}
