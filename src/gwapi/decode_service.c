/* SPDX-License-Identifier: MIT */
/* decode_service: v1 Service, as far as a backendRef needs it (DESIGN.md "Resources"):
 * type, ports (name, port, targetPort by number or name, protocol, appProtocol) and
 * externalName, with the API server's validation of those fields. The other ServiceSpec
 * fields are accepted so that `kubectl get -o yaml` output loads, and carry nothing
 * here: there is no cluster IP, no node port and no kube-proxy. */
#include <string.h>

#include "gwapi/decode.h"
#include "gwapi/validate.h"

static const struct dfield service_fields[] = {
	{ "type", DT_STR, 0, 0, 0 },
	{ "ports", DT_SEQ, 0, 0, 0 },
	{ "externalName", DT_STR, 0, 0, 0 },
	{ "selector", DT_MAP, 0, 0, 0 },
	/* accepted, without effect here */
	{ "clusterIP", DT_ANY, 0, 0, 0 },
	{ "clusterIPs", DT_ANY, 0, 0, 0 },
	{ "externalIPs", DT_ANY, 0, 0, 0 },
	{ "sessionAffinity", DT_ANY, 0, 0, 0 },
	{ "sessionAffinityConfig", DT_ANY, 0, 0, 0 },
	{ "loadBalancerIP", DT_ANY, 0, 0, 0 },
	{ "loadBalancerSourceRanges", DT_ANY, 0, 0, 0 },
	{ "loadBalancerClass", DT_ANY, 0, 0, 0 },
	{ "allocateLoadBalancerNodePorts", DT_ANY, 0, 0, 0 },
	{ "externalTrafficPolicy", DT_ANY, 0, 0, 0 },
	{ "internalTrafficPolicy", DT_ANY, 0, 0, 0 },
	{ "healthCheckNodePort", DT_ANY, 0, 0, 0 },
	{ "publishNotReadyAddresses", DT_ANY, 0, 0, 0 },
	{ "ipFamilies", DT_ANY, 0, 0, 0 },
	{ "ipFamilyPolicy", DT_ANY, 0, 0, 0 },
	{ "trafficDistribution", DT_ANY, 0, 0, 0 },
};

static const struct dfield service_port_fields[] = {
	{ "name", DT_STR, 0, 0, 0 },
	{ "port", DT_INT, DF_REQUIRED, 1, 65535 },
	{ "targetPort", DT_ANY, 0, 0, 0 },
	{ "protocol", DT_STR, 0, 0, 0 },
	{ "appProtocol", DT_STR, 0, 0, 0 },
	{ "nodePort", DT_INT, 0, 0, 65535 },
};

static const char *const service_types[] = { "ClusterIP", "ExternalName", "NodePort", "LoadBalancer" };
static const enum gw_service_type service_type_values[] = {
	GW_SERVICE_CLUSTER_IP, GW_SERVICE_EXTERNAL_NAME, GW_SERVICE_NODE_PORT, GW_SERVICE_LOAD_BALANCER,
};
static const char *const port_protocols[] = { "TCP", "UDP", "SCTP" };

/* IANA_SVC_NAME (RFC 6335 §5.1), as Kubernetes checks port names and named targetPorts:
 * 1-15 lowercase letters, digits and '-', at least one letter, no leading, trailing or
 * double '-'. */
bool decode_svc_port_name(struct dctx *c, const struct ynode *n, const char *path)
{
	const char *s = n->scalar;
	size_t len = strlen(s);
	bool letter = false, ok = len >= 1 && len <= 15 && s[0] != '-' && s[len - 1] != '-' && !strstr(s, "--");
	for (size_t i = 0; ok && i < len; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		else if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			ok = false;
	}
	if (ok && letter)
		return true;
	decode_error(c, n, path, "must be an IANA service name (1-15 lowercase letters, digits or '-', "
		     "with at least one letter), got %s", decode_quote(c, s));
	return false;
}

static bool is_plain_int(const struct ynode *n)
{
	if (n->kind != YNODE_SCALAR || n->style != YSCALAR_PLAIN || !n->scalar[0])
		return false;
	for (const char *p = n->scalar; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* targetPort is an IntOrString: a port number, or the name of a container port. */
static void decode_target_port(struct dctx *c, const struct ynode *n, const char *path,
			       struct gw_service_port *sp)
{
	if (is_plain_int(n)) {
		if (decode_check(c, n, path, DT_INT, 1, 65535))
			sp->target_port = (uint16_t)decode_int_value(n);
		return;
	}
	if (decode_check(c, n, path, DT_STR, 0, 0) && decode_svc_port_name(c, n, path))
		sp->target_port_name = n->scalar;
}

static void decode_ports(struct dctx *c, const struct ynode *seq, struct gw_service *s)
{
	s->ports = arena_alloc(c->a, (seq->count ? seq->count : 1) * sizeof *s->ports);
	for (size_t i = 0; i < seq->count; i++) {
		const char *path = decode_path_index(c, "spec.ports", i);
		struct dval v[6];
		if (!DECODE_FIELDS(c, seq->items[i], path, service_port_fields, v) && !v[1].val)
			continue;
		struct gw_service_port *sp = &s->ports[s->nports];
		sp->name = "";
		sp->protocol = "TCP";
		sp->pos = decode_pos(seq->items[i]);
		if (v[0].val && (!v[0].val->scalar[0] || decode_svc_port_name(c, v[0].val, decode_path(c, path, "name"))))
			sp->name = v[0].val->scalar;
		if (seq->count > 1 && (!v[0].val || !v[0].val->scalar[0]))
			decode_error(c, seq->items[i], decode_path(c, path, "name"),
				     "required when the Service has more than one port");
		if (!v[1].val)
			continue;
		sp->port = (uint16_t)decode_int_value(v[1].val);
		if (v[2].val)
			decode_target_port(c, v[2].val, decode_path(c, path, "targetPort"), sp);
		else
			sp->target_port = sp->port; /* Kubernetes defaults targetPort to port */
		if (v[3].val) {
			int p = decode_enum(c, v[3].val, decode_path(c, path, "protocol"), port_protocols, 3);
			if (p >= 0)
				sp->protocol = port_protocols[p];
		}
		if (v[4].val)
			sp->app_protocol = v[4].val->scalar;
		/* API server: names are required with several ports, and unique; so is
		 * each port+protocol pair */
		for (size_t k = 0; k < s->nports; k++) {
			const struct gw_service_port *o = &s->ports[k];
			if (sp->name[0] && !strcmp(o->name, sp->name))
				decode_error(c, v[0].val, decode_path(c, path, "name"), "duplicate port name %s (see spec.ports[%zu])",
					     decode_quote(c, sp->name), k);
			if (o->port == sp->port && !strcmp(o->protocol, sp->protocol))
				decode_error(c, v[1].val, decode_path(c, path, "port"), "duplicate port %u/%s (see spec.ports[%zu])",
					     (unsigned)sp->port, sp->protocol, k);
		}
		s->nports++;
	}
}

void decode_service(struct dctx *c, const struct ynode *spec, struct gw_service *s)
{
	struct dval v[sizeof service_fields / sizeof service_fields[0]];
	DECODE_FIELDS(c, spec, "spec", service_fields, v);
	if (v[0].val) {
		int t = decode_enum(c, v[0].val, "spec.type", service_types, 4);
		if (t >= 0)
			s->type = service_type_values[t];
	}
	if (v[1].val)
		decode_ports(c, v[1].val, s);
	if (v[2].val && decode_dns_subdomain(c, v[2].val, "spec.externalName"))
		s->external_name = v[2].val->scalar;
	if (s->type == GW_SERVICE_EXTERNAL_NAME && !s->external_name)
		decode_error(c, spec, "spec", "externalName is required for type ExternalName");
	if (v[3].val) {
		struct gw_label *sel;
		size_t n;
		decode_labels(c, v[3].val, "spec.selector", &sel, &n);
		s->has_selector = n > 0;
	}
}
