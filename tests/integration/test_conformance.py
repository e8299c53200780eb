# SPDX-License-Identifier: MIT
# test_conformance: upstream Gateway API conformance tests (GATEWAY-API.md 5.6) re-expressed
# for gatewayd: the base manifests' namespaces, Gateways and selector-less Services with
# EndpointSlices in front of echo backends on 127.0.0.1 (and ::1), the status conditions
# each test checks (through `gatewayd status --json`) and the traffic through the real
# binary. Covered: HTTPRouteSimpleSameNamespace, HTTPRouteServiceTypes, HTTPRouteCrossNamespace,
# HTTPRouteMultipleGateways, HTTPRouteListenerHostnameMatching, HTTPRouteQueryParamMatching,
# HTTPRouteHeaderMatching and path matching with RegularExpression, HTTPRouteReferenceGrant,
# HTTPRoutePartiallyInvalidViaInvalidReferenceGrant, HTTPRouteInvalidCrossNamespaceBackendRef,
# HTTPRouteInvalidBackendRefUnknownKind, ListenerSetHTTPRouting, ListenerSetDefaultNotAllowed,
# and 503 for a Service without ready endpoints (GATEWAY-API.md 3.6).
import socket

import gwtest
from gwtest import check, eq

S = gwtest.Suite("conformance")
E = {}
INFRA, APP, WEB = "gateway-conformance-infra", "gateway-conformance-app-backend", "gateway-conformance-web-backend"
GROUP = "gateway.networking.k8s.io"


doc = gwtest.doc


def service(name, ns, echo, family="IPv4", address="127.0.0.1", ready=True):
    """A selector-less Service (port 8080 -> targetPort 3000, as in the base manifests)
    and its EndpointSlice, whose port 3000 is the echo backend's real port."""
    svc = doc("Service", name, ns, {"ports": [{"name": "http", "port": 8080, "targetPort": 3000}]}, api="v1")
    ep = {"addresses": [address]}
    if not ready:
        ep["conditions"] = {"ready": False}
    es = doc("EndpointSlice", name + "-1", ns, api="discovery.k8s.io/v1",
             labels={"kubernetes.io/service-name": name}, addressType=family,
             ports=[{"name": "http", "port": echo.port if echo else 1}], endpoints=[ep])
    return [svc, es]


def gateway(name, port, from_, selector=None, listeners=None, **spec_extra):
    ns_sel = {"from": from_}
    if selector:
        ns_sel["selector"] = {"matchLabels": selector}
    lst = listeners or [{"name": "http", "port": port, "protocol": "HTTP",
                         "allowedRoutes": {"namespaces": ns_sel}}]
    spec = {"gatewayClassName": "gatewayd", "addresses": [{"type": "IPAddress", "value": "127.0.0.1"}],
            "listeners": lst}
    spec.update(spec_extra)
    return doc("Gateway", name, INFRA, spec)


def route(name, ns, parents, rules, hostnames=None):
    spec = {"parentRefs": parents, "rules": rules}
    if hostnames:
        spec["hostnames"] = hostnames
    return doc("HTTPRoute", name, ns, spec)


def pref(name, ns=INFRA, **kw):
    p = {"name": name, "namespace": ns}
    p.update(kw)
    return p


def bref(name, ns=None, port=8080, **kw):
    b = {"name": name, "port": port}
    if ns:
        b["namespace"] = ns
    b.update(kw)
    return b


def pm(value, type="PathPrefix"):
    return {"path": {"type": type, "value": value}}


def grant(name, ns, to_name=None):
    to = {"group": "", "kind": "Service"}
    if to_name:
        to["name"] = to_name
    return doc("ReferenceGrant", name, ns, {"from": [{"group": GROUP, "kind": "HTTPRoute", "namespace": INFRA}],
                                             "to": [to]}, api="gateway.networking.k8s.io/v1beta1")


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def documents_all():
    env = E["env"]
    ec = env.echos
    p = E["ports"]
    docs = [gwtest.gatewayclass(),
            doc("Namespace", INFRA, api="v1", labels={"gateway-conformance": "infra"}),
            doc("Namespace", APP, api="v1", labels={"gateway-conformance": "backend"}),
            doc("Namespace", WEB, api="v1", labels={"gateway-conformance": "backend"}),
            gateway("same-namespace", p["same"], "Same"),
            gateway("all-namespaces", p["all"], "All"),
            gateway("backend-namespaces", p["backend"], "Selector", {"gateway-conformance": "backend"}),
            gateway("hostnames", None, None, listeners=[
                {"name": n, "port": p["hosts"], "protocol": "HTTP", "hostname": h}
                for n, h in (("listener-1", "bar.com"), ("listener-2", "foo.bar.com"),
                             ("listener-3", "*.bar.com"), ("listener-4", "*.foo.com"))]),
            gateway("with-sets", p["sets"], "Same", allowedListeners={"namespaces": {"from": "Same"}}),
            # GatewayInvalidParametersRef
            gateway("invalid-parameters", p["params"], "Same", infrastructure={
                "parametersRef": {"group": "example.com", "kind": "Config", "name": "does-not-exist"}}),
            ]
    for n in ("infra-backend-v1", "infra-backend-v2", "infra-backend-v3"):
        docs += service(n, INFRA, ec[n])
    docs += service("app-backend-v1", APP, ec["app-backend-v1"])
    docs += service("app-backend-v2", APP, ec["app-backend-v2"])
    docs += service("web-backend", WEB, ec["web-backend"])
    docs += service("not-ready", INFRA, ec["infra-backend-v1"], ready=False)
    if E["v6"]:
        docs += service("manual-endpointslices-ip6", INFRA, ec["infra-backend-v1-ip6"],
                        family="IPv6", address="::1")
    docs += [
        # HTTPRouteSimpleSameNamespace + HTTPRouteServiceTypes (+ 503 without endpoints)
        route("gateway-conformance-infra-test", INFRA, [pref("same-namespace")], [
            {"backendRefs": [bref("infra-backend-v1")]},
            {"matches": [pm("/ip6", "Exact")], "backendRefs": [bref("manual-endpointslices-ip6")]},
            {"matches": [pm("/not-ready", "Exact")], "backendRefs": [bref("not-ready")]},
        ]),
        # HTTPRouteCrossNamespace
        route("cross-namespace", WEB, [pref("backend-namespaces")], [{"backendRefs": [bref("web-backend")]}]),
        # HTTPRouteMultipleGateways
        route("shared", INFRA, [pref("same-namespace"), pref("all-namespaces")],
              [{"matches": [pm("/shared")], "backendRefs": [bref("infra-backend-v1")]}]),
        route("all-only", INFRA, [pref("all-namespaces")], [{"backendRefs": [bref("infra-backend-v3")]}]),
        # HTTPRouteListenerHostnameMatching
        route("backend-v1", INFRA, [pref("hostnames", sectionName="listener-1")], [{"backendRefs": [bref("infra-backend-v1")]}]),
        route("backend-v2", INFRA, [pref("hostnames", sectionName="listener-2")], [{"backendRefs": [bref("infra-backend-v2")]}]),
        route("backend-v3", INFRA, [pref("hostnames", sectionName="listener-3"),
                                    pref("hostnames", sectionName="listener-4")],
              [{"backendRefs": [bref("infra-backend-v3")]}]),
        # HTTPRouteQueryParamMatching, header and path regular expressions (on all-namespaces)
        route("query-param-matching", INFRA, [pref("all-namespaces")], [
            {"matches": [{"path": {"value": "/q"}, "queryParams": [{"name": "animal", "value": "whale"}]}],
             "backendRefs": [bref("infra-backend-v1")]},
            {"matches": [{"path": {"value": "/q"}, "queryParams": [{"name": "animal", "value": "dolphin"}]}],
             "backendRefs": [bref("infra-backend-v2")]},
            {"matches": [{"path": {"value": "/q"}, "queryParams": [{"name": "animal", "value": "dolphin"},
                                                                    {"name": "color", "value": "blue"}]},
                         {"path": {"value": "/q"}, "queryParams": [{"name": "ANIMAL", "value": "Whale"}]}],
             "backendRefs": [bref("infra-backend-v3")]},
        ]),
        # RegularExpression matches: under their own hostname, since any PathPrefix of the
        # same hostname tier (all-only's "/") outranks a regular expression
        route("regex-matching", INFRA, [pref("all-namespaces")], hostnames=["regex.example"], rules=[
            {"matches": [{"path": {"type": "RegularExpression", "value": "/re/[0-9]{2,3}"}}],
             "backendRefs": [bref("infra-backend-v2")]},
            {"matches": [{"path": {"value": "/rh"}, "headers": [{"type": "RegularExpression", "name": "Version",
                                                                   "value": "v[0-9]+\\.[0-9]+"}]},
                         {"path": {"value": "/rh"}, "queryParams": [{"type": "RegularExpression", "name": "id",
                                                                      "value": "[a-f]+"}]}],
             "backendRefs": [bref("infra-backend-v1")]},
        ]),
        # the ReferenceGrant family: routes in infra, backends in app-backend and web-backend
        route("reference-grant", INFRA, [pref("all-namespaces", sectionName="http")],
              [{"matches": [pm("/grant")], "backendRefs": [bref("web-backend", WEB)]}]),
        route("invalid-reference-grant", INFRA, [pref("all-namespaces")], [
            {"matches": [pm("/partial")], "backendRefs": [bref("app-backend-v1", APP)]},
            {"matches": [pm("/partial/v2")], "backendRefs": [bref("app-backend-v2", APP)]},
        ]),
        route("invalid-backend-kind", INFRA, [pref("all-namespaces")], [
            {"matches": [pm("/kind/v2")], "backendRefs": [{"group": "unknownkind.example.com",
                                                            "kind": "NonExistent", "name": "infra-backend-v2"}]},
        ]),
        grant("reference-grant", WEB, "web-backend"),
        grant("reference-grant-app", APP, "app-backend-v1"),
        # ListenerSet: one allowed (same namespace), one not (default None on same-namespace)
        doc("ListenerSet", "extra", INFRA, {"parentRef": {"name": "with-sets"},
                                            "listeners": [{"name": "extra", "port": p["set_listener"],
                                                           "protocol": "HTTP"}]}),
        doc("ListenerSet", "not-allowed", INFRA, {"parentRef": {"name": "same-namespace"},
                                                  "listeners": [{"name": "extra", "port": p["denied_listener"],
                                                                 "protocol": "HTTP"}]}),
        route("via-listenerset", INFRA, [{"kind": "ListenerSet", "name": "extra", "sectionName": "extra"}],
              [{"backendRefs": [bref("infra-backend-v2")]}]),
    ]
    return docs


@S.setup
def setup():
    env = S.env("conformance", workers=2)
    for n in ("infra-backend-v1", "infra-backend-v2", "infra-backend-v3", "app-backend-v1",
              "app-backend-v2", "web-backend"):
        env.echo(n)
    E["v6"] = have_ipv6()
    if E["v6"]:
        env.echo("infra-backend-v1-ip6", host="::1")
    E["env"] = env
    E["ports"] = {k: gwtest.free_port() for k in ("same", "all", "backend", "hosts", "sets",
                                                   "set_listener", "denied_listener", "params")}
    env.write_docs("conformance.yaml", *documents_all())
    env.start()
    E["status"] = env.status()


def get(port, path="/", host=None, **kw):
    r = E["env"].curl(port, path, host=host, **kw)
    return r.backend() if r.status == 200 else r.status


def expect(port, cases):
    bad = []
    for c in cases:
        host, path, want = c[:3]
        kw = c[3] if len(c) > 3 else {}
        got = get(port, path, host, **kw)
        if got != want:
            bad.append("%s%s %s: got %r, want %r" % (host or "", path, kw, got, want))
    check(not bad, "; ".join(bad))


def parent_cond(kind, name, ctype, parent=None, ns=INFRA):
    rs = [r for r in gwtest.resources(E["status"], kind, name) if r.get("namespace") == ns]
    check(len(rs) == 1, "%s %s/%s in status" % (kind, ns, name))
    parents = rs[0]["status"]["parents"]
    if parent:
        parents = [p for p in parents if p["parentRef"]["name"] == parent]
    check(parents, "route %s has parents" % name)
    c = gwtest.condition(parents[0]["conditions"], ctype)
    check(c is not None, "route %s has condition %s" % (name, ctype))
    return c["status"], c["reason"]


@S.case("HTTPRouteSimpleSameNamespace: GET / reaches infra-backend-v1 through a Service + EndpointSlice")
def _():
    eq(parent_cond("HTTPRoute", "gateway-conformance-infra-test", "Accepted"), ("True", "Accepted"), "Accepted")
    expect(E["ports"]["same"], [(None, "/", "infra-backend-v1")])


@S.case("HTTPRouteServiceTypes: a manual IPv6 EndpointSlice on ::1")
def _():
    if not E["v6"]:
        raise gwtest.Skip("no IPv6 loopback")
    expect(E["ports"]["same"], [(None, "/ip6", "infra-backend-v1-ip6")])


@S.case("a Service whose endpoints are all not ready answers 503")
def _():
    eq(get(E["ports"]["same"], "/not-ready"), 503, "status")


@S.case("HTTPRouteCrossNamespace: a route in web-backend attaches through the namespace selector")
def _():
    eq(parent_cond("HTTPRoute", "cross-namespace", "Accepted", ns=WEB), ("True", "Accepted"), "Accepted")
    eq(parent_cond("HTTPRoute", "cross-namespace", "ResolvedRefs", ns=WEB), ("True", "ResolvedRefs"), "ResolvedRefs")
    expect(E["ports"]["backend"], [(None, "/", "web-backend")])


@S.case("HTTPRouteMultipleGateways: /shared through both Gateways, / to each Gateway's own route")
def _():
    eq(parent_cond("HTTPRoute", "shared", "Accepted", parent="same-namespace"), ("True", "Accepted"), "same")
    eq(parent_cond("HTTPRoute", "shared", "Accepted", parent="all-namespaces"), ("True", "Accepted"), "all")
    expect(E["ports"]["same"], [(None, "/shared", "infra-backend-v1"), (None, "/", "infra-backend-v1")])
    expect(E["ports"]["all"], [(None, "/shared", "infra-backend-v1"), (None, "/", "infra-backend-v3")])


@S.case("HTTPRouteListenerHostnameMatching: the most specific listener hostname wins")
def _():
    expect(E["ports"]["hosts"], [
        ("bar.com", "/", "infra-backend-v1"), ("foo.bar.com", "/", "infra-backend-v2"),
        ("baz.bar.com", "/", "infra-backend-v3"), ("boo.bar.com", "/", "infra-backend-v3"),
        ("multiple.prefixes.bar.com", "/", "infra-backend-v3"),
        ("multiple.prefixes.foo.com", "/", "infra-backend-v3"),
        ("foo.com", "/", 404), ("no.matching.host", "/", 404),
    ])


@S.case("HTTPRouteQueryParamMatching: exact, case-sensitive names, extra params ignored")
def _():
    expect(E["ports"]["all"], [
        (None, "/q?animal=whale", "infra-backend-v1"),
        (None, "/q?animal=whale&otherparam=irrelevant", "infra-backend-v1"),
        (None, "/q?animal=dolphin", "infra-backend-v2"),
        (None, "/q?animal=dolphin&color=blue", "infra-backend-v3"),
        (None, "/q?ANIMAL=Whale", "infra-backend-v3"),
        (None, "/q?animal=Whale", "infra-backend-v3"),
    ])
    # upstream answers 404 here; on this Gateway the route all-only catches "/" (v3),
    # so a non-match shows as v3 rather than v1 or v2
    expect(E["ports"]["all"], [(None, "/q?animal=whaledolphin", "infra-backend-v3"),
                               (None, "/q?color=blue", "infra-backend-v3")])


@S.case("RegularExpression path, header and query matches (PCRE2, whole value)")
def _():
    h = "regex.example"
    expect(E["ports"]["all"], [
        (h, "/re/42", "infra-backend-v2"), (h, "/re/123", "infra-backend-v2"),
        (h, "/rh", "infra-backend-v1", {"headers": ["Version: v1.20"]}),
        (h, "/rh/x?id=beef", "infra-backend-v1"),
        # no regex matches: all-only (any hostname, "/") answers with v3
        (h, "/re/4", "infra-backend-v3"), (h, "/re/1234", "infra-backend-v3"),
        (h, "/re/42/x", "infra-backend-v3"),
        (h, "/rh", "infra-backend-v3", {"headers": ["Version: v1"]}),
        (h, "/rh?id=beefy1", "infra-backend-v3"),
    ])
    eq(parent_cond("HTTPRoute", "regex-matching", "Accepted"), ("True", "Accepted"), "Accepted")


@S.case("HTTPRouteReferenceGrant: a grant for the Service lets the route through")
def _():
    eq(parent_cond("HTTPRoute", "reference-grant", "ResolvedRefs"), ("True", "ResolvedRefs"), "ResolvedRefs")
    expect(E["ports"]["all"], [(None, "/grant", "web-backend")])


@S.case("HTTPRoutePartiallyInvalidViaInvalidReferenceGrant: /partial/v2 500, /partial 200")
def _():
    eq(parent_cond("HTTPRoute", "invalid-reference-grant", "Accepted"), ("True", "Accepted"), "Accepted")
    eq(parent_cond("HTTPRoute", "invalid-reference-grant", "ResolvedRefs"), ("False", "RefNotPermitted"),
       "ResolvedRefs")
    expect(E["ports"]["all"], [(None, "/partial", "app-backend-v1"), (None, "/partial/v2", 500)])


@S.case("HTTPRouteInvalidBackendRefUnknownKind: InvalidKind, and 500")
def _():
    eq(parent_cond("HTTPRoute", "invalid-backend-kind", "ResolvedRefs"), ("False", "InvalidKind"), "ResolvedRefs")
    eq(parent_cond("HTTPRoute", "invalid-backend-kind", "Accepted"), ("True", "Accepted"), "Accepted")
    expect(E["ports"]["all"], [(None, "/kind/v2", 500)])


@S.case("ListenerSetHTTPRouting and ListenerSetDefaultNotAllowed")
def _():
    sets = {r["name"]: r for r in gwtest.resources(E["status"], "ListenerSet")}
    acc = gwtest.condition(sets["extra"]["status"]["conditions"], "Accepted")
    eq((acc["status"], acc["reason"]), ("True", "Accepted"), "extra Accepted")
    acc = gwtest.condition(sets["not-allowed"]["status"]["conditions"], "Accepted")
    eq((acc["status"], acc["reason"]), ("False", "NotAllowed"), "not-allowed Accepted")
    gw = gwtest.resources(E["status"], "Gateway", "with-sets")[0]
    eq(gw["status"]["attachedListenerSets"], 1, "attachedListenerSets")
    eq(sets["extra"]["status"]["listeners"][0]["attachedRoutes"], 1, "attachedRoutes")
    expect(E["ports"]["set_listener"], [(None, "/", "infra-backend-v2")])
    r = E["env"].curl(E["ports"]["denied_listener"], "/")
    check(r.status == 0, "the ListenerSet that is not allowed binds nothing (got %d)" % r.status)


@S.case("GatewayInvalidParametersRef: Accepted=False/InvalidParameters, and its port is not served")
def _():
    gws = [r for r in gwtest.resources(E["status"], "Gateway", "invalid-parameters") if r.get("namespace") == INFRA]
    check(len(gws) == 1, "Gateway invalid-parameters in status")
    c = gwtest.condition(gws[0]["status"]["conditions"], "Accepted")
    eq((c["status"], c["reason"]), ("False", "InvalidParameters"), "Accepted")
    c = gwtest.condition(gws[0]["status"]["conditions"], "Programmed")
    eq(c["status"], "False", "Programmed")
    r = E["env"].curl(E["ports"]["params"], "/")
    check(r.status == 0, "nothing listens on the port of a Gateway that is not accepted (got %r)" % r.status)
    # the other Gateways still serve
    expect(E["ports"]["same"], [(None, "/", "infra-backend-v1")])


@S.case("HTTPRouteInvalidCrossNamespaceBackendRef and grant deletion: RefNotPermitted, 500 (after a reload)")
def _():
    env = E["env"]
    docs = [d for d in documents_all() if not (d["kind"] == "ReferenceGrant" and d["metadata"]["name"] == "reference-grant")]
    env.write_docs("conformance.yaml", *docs)
    env.reload()
    E["status"] = env.status()
    eq(parent_cond("HTTPRoute", "reference-grant", "ResolvedRefs"), ("False", "RefNotPermitted"), "ResolvedRefs")
    eq(parent_cond("HTTPRoute", "reference-grant", "Accepted"), ("True", "Accepted"), "Accepted")
    expect(E["ports"]["all"], [(None, "/grant", 500)])


S.run()
