# SPDX-License-Identifier: MIT
# test_admin: the admin listener (/healthz, /readyz, /status, /metrics) and the
# status model of DESIGN.md "Status": the upstream status stanza for every kind,
# conditions with reasons, attachedRoutes, sources and observedGeneration.
import json
import re

import gwtest
from gwtest import (backend_ref, check, condition, eq, gateway, httproute, listener, match,
                    resources, rule)

S = gwtest.Suite("admin")
E = {}


def write_config(env, web_value="/"):
    p1, p2 = E["p1"], E["p2"]
    docs = [
        gwtest.gatewayclass(),
        gwtest.gatewayclass("someone-else", controller="example.com/other-controller"),
        gateway("gw", [listener("http", p1), listener("named", p2, hostname="only.test")]),
        httproute("web", rules=[rule(["a"], [match(web_value)])]),
        httproute("api", rules=[rule(["a"], [match("/api")])]),
        httproute("broken-ref", rules=[rule([backend_ref("nosuch")], [match("/broken")])]),
        httproute("bad-section", [("gw", "nosuchlistener")], rules=[rule(["a"])]),
        httproute("wrong-host", [("gw", "named")], hostnames=["other.test"], rules=[rule(["a"])]),
        httproute("orphan", ["nosuchgateway"], rules=[rule(["a"])]),
    ]
    pinned = httproute("pinned", rules=[rule(["a"], [match("/pinned")])])
    pinned["metadata"]["generation"] = 7
    docs.append(pinned)
    docs.append(env.backend_doc("a"))
    return env.write_docs("gateway.yaml", *docs)


@S.setup
def setup():
    env = S.env("admin")
    env.echo("a")
    E.update(env=env, p1=gwtest.free_port(), p2=gwtest.free_port())
    path = write_config(env)
    with open(path) as f:
        E["text"] = f.read()
    env.start()
    E["status"] = env.status()


def res(kind, name):
    r = resources(E["status"], kind, name)
    eq(len(r), 1, "%s %s entries in status" % (kind, name))
    return r[0]


def cond(conds, ctype, status, reason=None, what=""):
    c = condition(conds, ctype)
    check(c is not None, "%s: no %s condition in %r" % (what, ctype, conds))
    eq(c.get("status"), status, "%s %s status" % (what, ctype))
    if reason:
        eq(c.get("reason"), reason, "%s %s reason" % (what, ctype))
    for k in ("type", "status", "reason", "message", "observedGeneration"):
        check(k in c, "%s %s lacks %r" % (what, ctype, k))
    return c


def route_parent(name):
    r = res("HTTPRoute", name)
    parents = r["status"].get("parents", [])
    eq(len(parents), 1, "HTTPRoute %s: parents" % name)
    p = parents[0]
    eq(p.get("controllerName"), gwtest.CONTROLLER, "controllerName")
    check(isinstance(p.get("parentRef"), dict) and p["parentRef"].get("name"),
          "parentRef missing: %r" % p)
    return p


@S.case("/healthz answers 200")
def _():
    code, _ = E["env"].admin_get("/healthz")
    eq(code, 200, "status")


@S.case("/readyz answers 200 (not stale) once serving")
def _():
    code, body = E["env"].admin_get("/readyz")
    eq(code, 200, "status")
    check("stale" not in body.lower(), "body says stale: %r" % body)


@S.case("an unknown admin path is 404")
def _():
    code, _ = E["env"].admin_get("/nope")
    eq(code, 404, "status")


@S.case("/status is the JSON of `status --json`")
def _():
    code, body = E["env"].admin_get("/status")
    eq(code, 200, "status")
    st = json.loads(body)
    eq(st.get("generation"), E["status"]["generation"], "generation")
    eq(st.get("stale"), False, "stale")
    key = lambda r: (r["kind"], r.get("namespace") or "", r["name"])
    eq(sorted(map(key, st["resources"])), sorted(map(key, E["status"]["resources"])), "resources")


@S.case("status --json: generation, stale, one entry per resource with its source")
def _():
    st = E["status"]
    check(isinstance(st.get("generation"), int) and st["generation"] >= 1, "generation %r"
          % st.get("generation"))
    eq(st.get("stale"), False, "stale")
    for r in st["resources"]:
        for k in ("apiVersion", "kind", "name", "source", "status"):
            check(k in r, "%s/%s lacks %r" % (r.get("kind"), r.get("name"), k))
        if r["kind"] != "GatewayClass":  # cluster-scoped
            check(r.get("namespace"), "%s/%s lacks a namespace" % (r["kind"], r["name"]))
    # The source is file:line of the document (its first key).
    web = res("HTTPRoute", "web")
    m = re.search(r"gateway\.yaml:(\d+)$", web["source"])
    check(m, "source %r" % web["source"])
    doc_start = E["text"].index("kind: HTTPRoute\nmetadata:\n  name: web\n")
    line = E["text"].count("\n", 0, doc_start)  # the apiVersion line just above
    eq(int(m.group(1)), line, "source line of HTTPRoute web")
    eq(web["namespace"], "default", "namespace of a document without one")


@S.case("GatewayClass: ours Accepted=True")
def _():
    cond(res("GatewayClass", "gatewayd")["status"].get("conditions"), "Accepted", "True",
         "Accepted", "GatewayClass gatewayd")


@S.case("Gateway: Accepted and Programmed, listeners with kinds, attachedRoutes, conditions")
def _():
    g = res("Gateway", "gw")["status"]
    cond(g.get("conditions"), "Accepted", "True", "Accepted", "Gateway")
    cond(g.get("conditions"), "Programmed", "True", "Programmed", "Gateway")
    ls = {l["name"]: l for l in g.get("listeners", [])}
    eq(sorted(ls), ["http", "named"], "listeners")
    http = ls["http"]
    kinds = [(k.get("group"), k.get("kind")) for k in http.get("supportedKinds", [])]
    check(("gateway.networking.k8s.io", "HTTPRoute") in kinds, "supportedKinds %r" % kinds)
    # web, api, broken-ref and pinned name the whole Gateway, so they attach to both
    # listeners; bad-section and orphan attach nowhere; wrong-host names "named" but
    # its hostname does not intersect it.
    eq(http.get("attachedRoutes"), 4, "attachedRoutes of http")
    eq(ls["named"].get("attachedRoutes"), 4, "attachedRoutes of named")
    for c in ("Accepted", "Programmed", "ResolvedRefs"):
        cond(http.get("conditions"), c, "True", c, "listener http")


@S.case("HTTPRoute: Accepted and ResolvedRefs True")
def _():
    p = route_parent("web")
    eq(p["parentRef"].get("name"), "gw", "parentRef name")
    cond(p.get("conditions"), "Accepted", "True", "Accepted", "HTTPRoute web")
    cond(p.get("conditions"), "ResolvedRefs", "True", "ResolvedRefs", "HTTPRoute web")


@S.case("HTTPRoute with a missing backend: Accepted True, ResolvedRefs False/BackendNotFound")
def _():
    p = route_parent("broken-ref")
    cond(p.get("conditions"), "Accepted", "True", "Accepted", "HTTPRoute broken-ref")
    cond(p.get("conditions"), "ResolvedRefs", "False", "BackendNotFound", "HTTPRoute broken-ref")
    eq(E["env"].curl(E["p1"], "/broken").status, 500, "its traffic")


@S.case("HTTPRoute naming a missing listener: Accepted False/NoMatchingParent")
def _():
    p = route_parent("bad-section")
    cond(p.get("conditions"), "Accepted", "False", "NoMatchingParent", "HTTPRoute bad-section")


@S.case("HTTPRoute without intersecting hostnames: Accepted False/NoMatchingListenerHostname")
def _():
    p = route_parent("wrong-host")
    cond(p.get("conditions"), "Accepted", "False", "NoMatchingListenerHostname",
         "HTTPRoute wrong-host")


@S.case("observedGeneration: 1 for new objects, metadata.generation when given")
def _():
    p = route_parent("web")
    eq(condition(p["conditions"], "Accepted")["observedGeneration"], 1, "web")
    p = route_parent("pinned")
    eq(condition(p["conditions"], "Accepted")["observedGeneration"], 7, "pinned")


@S.case("observedGeneration goes up by one when an object's content changes")
def _():
    env = E["env"]
    write_config(env, web_value="/web")
    env.reload()
    E["status"] = st = env.status()
    p = route_parent("web")
    eq(condition(p["conditions"], "Accepted")["observedGeneration"], 2, "changed route web")
    p = route_parent("api")
    eq(condition(p["conditions"], "Accepted")["observedGeneration"], 1, "unchanged route api")
    code, body = env.admin_get("/status")
    eq(json.loads(body)["generation"], st["generation"], "/status follows the reload")


@S.case("`status` without --json names the generation and the resources")
def _():
    env = E["env"]
    r = env.cmd("status")
    eq(r.returncode, 0, "exit status")
    g = E["status"]["generation"]
    check(re.search(r"\b%d\b" % g, r.stdout), "generation %d not in %r" % (g, r.stdout[:300]))
    for name in ("web", "broken-ref", "gw"):
        check(name in r.stdout, "%s not in the output" % name)
    check("BackendNotFound" in r.stdout, "the BackendNotFound reason is not shown")


@S.case("/metrics (when served) reports the config generation")
def _():
    env = E["env"]
    code, body = env.admin_get("/metrics")
    if code == 404:
        raise gwtest.Skip("/metrics not served by this build")
    eq(code, 200, "status")
    m = re.search(r"^gatewayd_config_generation(?:\{[^}]*\})? (\d+)", body, re.M)
    check(m, "no gatewayd_config_generation sample")
    eq(int(m.group(1)), E["status"]["generation"], "gatewayd_config_generation")


S.run()
