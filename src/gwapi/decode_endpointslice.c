/* SPDX-License-Identifier: MIT */
/* decode_endpointslice: discovery.k8s.io/v1 EndpointSlice, the static endpoints of a
 * selector-less Service (linked by the label kubernetes.io/service-name). Its fields sit
 * at the top level of the document, beside metadata, as in Kubernetes. */
#include <arpa/inet.h>
#include <string.h>

#include "gwapi/decode.h"
#include "gwapi/validate.h"

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"

static const struct dfield slice_fields[] = {
	{ "apiVersion", DT_STR, DF_REQUIRED, 0, 0 },
	{ "kind", DT_STR, DF_REQUIRED, 0, 0 },
	{ "metadata", DT_MAP, DF_REQUIRED, 0, 0 },
	{ "addressType", DT_STR, DF_REQUIRED, 0, 0 },
	{ "endpoints", DT_SEQ, 0, 0, 1000 },
	{ "ports", DT_SEQ, 0, 0, 100 },
};

static const struct dfield endpoint_fields[] = {
	{ "addresses", DT_SEQ, DF_REQUIRED, 1, 100 },
	{ "conditions", DT_MAP, 0, 0, 0 },
	/* accepted, without effect here */
	{ "hostname", DT_ANY, 0, 0, 0 },
	{ "nodeName", DT_ANY, 0, 0, 0 },
	{ "zone", DT_ANY, 0, 0, 0 },
	{ "hints", DT_ANY, 0, 0, 0 },
	{ "targetRef", DT_ANY, 0, 0, 0 },
	{ "deprecatedTopology", DT_ANY, 0, 0, 0 },
};

static const struct dfield conditions_fields[] = {
	{ "ready", DT_BOOL, 0, 0, 0 },
	{ "serving", DT_BOOL, 0, 0, 0 },
	{ "terminating", DT_BOOL, 0, 0, 0 },
};

static const struct dfield slice_port_fields[] = {
	{ "name", DT_STR, 0, 0, 0 },
	{ "port", DT_INT, 0, 0, 65535 },
	{ "protocol", DT_STR, 0, 0, 0 },
	{ "appProtocol", DT_STR, 0, 0, 0 },
};

static const char *const address_types[] = { "IPv4", "IPv6", "FQDN" };
static const char *const port_protocols[] = { "TCP", "UDP", "SCTP" };

static bool address_ok(struct dctx *c, const struct ynode *n, const char *path, enum gw_address_type t)
{
	unsigned char bin[16];
	if (!decode_check(c, n, path, DT_STR, 1, 0))
		return false;
	bool ok = t == GW_ADDRESS_IPV4 ? inet_pton(AF_INET, n->scalar, bin) == 1
		: t == GW_ADDRESS_IPV6 ? inet_pton(AF_INET6, n->scalar, bin) == 1
		: validate_dns1123_subdomain(n->scalar);
	if (!ok)
		decode_error(c, n, path, "must be an %s address, got %s", address_types[t], decode_quote(c, n->scalar));
	return ok;
}

static void decode_endpoints(struct dctx *c, const struct ynode *seq, struct gw_endpointslice *es)
{
	es->endpoints = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *es->endpoints);
	for (size_t i = 0; i < seq->count; i++) {
		const char *path = decode_path_index(c, "endpoints", i);
		struct dval v[8];
		DECODE_FIELDS(c, seq->items[i], path, endpoint_fields, v);
		if (!v[0].val)
			continue;
		struct gw_slice_endpoint *ep = &es->endpoints[es->nendpoints++];
		ep->ready = true; /* "unknown" is to be read as ready */
		ep->pos = decode_pos(seq->items[i]);
		const struct ynode *as = v[0].val;
		ep->addresses = arena_alloc(c->a, as->count * sizeof *ep->addresses);
		for (size_t k = 0; k < as->count; k++)
			if (address_ok(c, as->items[k], decode_path_index(c, decode_path(c, path, "addresses"), k),
				       es->address_type))
				ep->addresses[ep->naddresses++] = as->items[k]->scalar;
		if (v[1].val) {
			struct dval cv[3];
			DECODE_FIELDS(c, v[1].val, decode_path(c, path, "conditions"), conditions_fields, cv);
			ep->ready = dval_bool(&cv[0], true);
		}
	}
}

static void decode_slice_ports(struct dctx *c, const struct ynode *seq, struct gw_endpointslice *es)
{
	es->ports = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *es->ports);
	for (size_t i = 0; i < seq->count; i++) {
		const char *path = decode_path_index(c, "ports", i);
		struct dval v[4];
		DECODE_FIELDS(c, seq->items[i], path, slice_port_fields, v);
		struct gw_slice_port *sp = &es->ports[es->nports];
		sp->name = "";
		sp->protocol = "TCP";
		if (v[0].val && v[0].val->scalar[0] && !decode_svc_port_name(c, v[0].val, decode_path(c, path, "name")))
			continue;
		if (v[0].val)
			sp->name = v[0].val->scalar;
		if (v[1].val)
			sp->port = (uint16_t)decode_int_value(v[1].val);
		if (v[2].val) {
			int p = decode_enum(c, v[2].val, decode_path(c, path, "protocol"), port_protocols, 3);
			if (p >= 0)
				sp->protocol = port_protocols[p];
		}
		if (v[3].val)
			sp->app_protocol = v[3].val->scalar;
		for (size_t k = 0; k < es->nports; k++)
			if (!strcmp(es->ports[k].name, sp->name))
				decode_error(c, seq->items[i], path, "duplicate port name %s (see ports[%zu])",
					     decode_quote(c, sp->name), k);
		es->nports++;
	}
}

void decode_endpointslice(struct dctx *c, const struct ynode *root, struct gw_endpointslice *es)
{
	struct dval v[6];
	DECODE_FIELDS(c, root, NULL, slice_fields, v);
	if (v[3].val) {
		int t = decode_enum(c, v[3].val, "addressType", address_types, 3);
		if (t < 0)
			return;
		es->address_type = (enum gw_address_type)t;
	}
	if (v[4].val)
		decode_endpoints(c, v[4].val, es);
	if (v[5].val)
		decode_slice_ports(c, v[5].val, es);
	for (size_t i = 0; i < es->meta.nlabels; i++)
		if (!strcmp(es->meta.labels[i].key, SERVICE_NAME_LABEL))
			es->service_name = es->meta.labels[i].value;
	if (!es->service_name)
		decode_warning(c, ynode_get(root, "metadata"), "metadata.labels",
			       "no label \"" SERVICE_NAME_LABEL "\": the slice belongs to no Service");
}
