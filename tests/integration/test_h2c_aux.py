#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test_h2c_aux: the side paths that open their own connections to an h2c backend
# (appProtocols [gateway.envoyproxy.io/h2c]; tests/tools/h2_echo answers HTTP/1.1 with
# 400 and closes) speak HTTP/2 with prior knowledge too: active HTTP health checks of a
# BackendTrafficPolicy (the backend stays healthy; a dead endpoint turns unhealthy and
# comes back) and RequestMirror copies (they arrive, with their body).
import collections
import hashlib
import json

import gwtest
from gwtest import check, eq, gateway, httproute, listener, match, metric, rule

S = gwtest.Suite("h2c_aux")
E = {}
H2C = ["%s/h2c" % gwtest.ENVOY_GROUP]
HC = "Backend/default/hc2"


def btp(name, target, spec):
    spec = dict(spec)
    spec["targetRefs"] = [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": target}]
    return {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "BackendTrafficPolicy",
            "metadata": {"name": name}, "spec": spec}


def h2_backend(name, ports):
    b = gwtest.backend(name, endpoints=[{"ip": {"address": "127.0.0.1", "port": p}} for p in ports])
    b["spec"]["appProtocols"] = H2C
    return b


def mirror(name):
    return {"type": "RequestMirror", "requestMirror": {
        "backendRef": {"group": gwtest.ENVOY_GROUP, "kind": "Backend", "name": name}}}


@S.setup
def setup():
    env = S.env("h2c_aux", workers=2)
    for n in ("ha", "hb", "hm"):
        gwtest.env_h2echo(env, n)
    env.echo("main")
    p = gwtest.free_port()
    E.update(env=env, p=p)
    port = lambda n: env.echos[n].port
    mr = rule(["main"], [match("/mirror")])
    mr["filters"] = [mirror("hm")]
    docs = [gwtest.gatewayclass(), gateway("gw", [listener("http", p)]),
            httproute("hc2", rules=[rule(["hc2"], [match("/hc")])]),
            httproute("mirror", rules=[mr]),
            btp("p-hc2", "hc2", {"healthCheck": {"active": {
                "type": "HTTP", "interval": "200ms", "timeout": "300ms", "unhealthyThreshold": 2,
                "healthyThreshold": 2, "http": {"path": "/status/204", "expectedStatuses": [204]}}}}),
            h2_backend("hc2", [port("ha"), port("hb")]),
            h2_backend("hm", [port("hm")]),
            env.backend_doc("main")]
    env.write_docs("gateway.yaml", *docs)
    env.start()


def h2_log(name, clear=False):
    """h2_echo's request log (GET /_requests over HTTP/2)."""
    env = E["env"]
    r = gwtest.curl_h2("http://127.0.0.1:%d/_requests%s" % (env.echos[name].port, "?clear=1" if clear else ""),
                       timeout=5, workdir=env.dir)
    eq(r.status, 200, "h2_echo %s /_requests (%s)" % (name, r.err))
    return json.loads(r.body)


def get(path, **kw):
    return E["env"].curl(E["p"], path, timeout=10, **kw)


def endpoint_health():
    for b in E["env"].status()["backends"]:
        if b["name"] == HC:
            return {e["address"]: e["health"] for e in b["endpoints"]}
    return {}


def addr(name):
    return "127.0.0.1:%d" % E["env"].echos[name].port


def served_by(n, path="/hc"):
    got = collections.Counter()
    for _ in range(n):
        r = get(path)
        got[(r.status, r.json()["name"] if r.status == 200 else None)] += 1
    return got


@S.case("active HTTP check of an h2c backend: sent as HTTP/2 (:path, :authority), endpoints stay healthy, 200s")
def _():
    env = E["env"]
    gwtest.wait_for(lambda: all(e["checksOk"] >= 2 for b in env.status()["backends"] if b["name"] == HC
                                for p in b["policies"] for e in p["endpoints"]), 5, "two passed checks each")
    eq(endpoint_health(), {addr("ha"): "healthy", addr("hb"): "healthy"}, "endpoint health")
    s = env.metrics()
    eq(metric(s, "gatewayd_health_checks_total", backend=HC, result="failure"), 0.0, "failed checks")
    eq(metric(s, "gatewayd_backend_endpoints", backend=HC, state="healthy"), 2.0, "healthy endpoints")
    checks = [r for r in h2_log("ha") if r["path"] == "/status/204"]
    check(len(checks) >= 2, "checks seen by the h2c echo: %d" % len(checks))
    c = checks[-1]
    eq((c["method"], c["proto"], c["host"]), ("GET", "HTTP/2.0", "127.0.0.1"), "check method, protocol, :authority")
    eq(c["headers"].get("user-agent"), ["gatewayd-health-check"], "check user-agent")
    got = served_by(20)
    eq(sum(v for (st, _), v in got.items() if st == 200), 20, "all 200: %r" % got)
    check(got[(200, "ha")] > 0 and got[(200, "hb")] > 0, "both endpoints serve: %r" % got)


@S.case("active HTTP check of an h2c backend: a dead endpoint turns unhealthy, the other serves all; then back")
def _():
    env = E["env"]
    port = env.echos["hb"].port
    env.echos["hb"].stop()
    gwtest.wait_for(lambda: endpoint_health().get(addr("hb")) == "unhealthy", 3, "hb unhealthy")
    eq(endpoint_health().get(addr("ha")), "healthy", "ha still healthy")
    eq(served_by(20), collections.Counter({(200, "ha"): 20}), "every request on the healthy endpoint")
    env.echos["hb"] = gwtest.H2Echo("hb", env.dir, port=port)
    gwtest.wait_for(lambda: endpoint_health().get(addr("hb")) == "healthy", 3, "hb healthy again")
    got = served_by(20)
    check(got[(200, "hb")] > 0 and sum(got.values()) == got[(200, "ha")] + got[(200, "hb")],
          "both serve again: %r" % got)


@S.case("RequestMirror to an h2c backend: the copy arrives over HTTP/2 (method, :path, :authority, headers)")
def _():
    h2_log("hm", clear=True)
    r = get("/mirror?x=1", host="mirror.test", headers=[("X-Copy-Me", "yes")])
    eq(r.status, 200, "status")
    eq(r.json()["name"], "main", "answered by")
    got = gwtest.wait_for(lambda: [q for q in h2_log("hm") if q["path"].startswith("/mirror")], 5,
                          "the mirrored request")
    eq(len(got), 1, "copies")
    q = got[0]
    eq((q["method"], q["path"], q["host"], q["proto"]), ("GET", "/mirror?x=1", "mirror.test", "HTTP/2.0"),
       "mirrored method, path, authority, protocol")
    eq(q["headers"].get("x-copy-me"), ["yes"], "mirrored header")
    check("connection" not in q["headers"] and "host" not in q["headers"], "no connection-specific fields: %r"
          % sorted(q["headers"]))


@S.case("RequestMirror to an h2c backend: a POST body (Content-Length) arrives whole; 10 copies in a row")
def _():
    h2_log("hm", clear=True)
    body = bytes(range(256)) * 40
    r = get("/mirror/post", host="mirror.test", method="POST", data=body)
    eq(r.status, 200, "status")
    got = gwtest.wait_for(lambda: [q for q in h2_log("hm") if q["path"] == "/mirror/post"], 5, "the copy")
    eq((got[0]["method"], got[0]["body_bytes"], got[0]["body_sha256"]),
       ("POST", len(body), hashlib.sha256(body).hexdigest()), "mirrored method and body")
    for i in range(10):
        eq(get("/mirror/n%d" % i, host="mirror.test").status, 200, "request %d" % i)
    gwtest.wait_for(lambda: len([q for q in h2_log("hm") if q["path"].startswith("/mirror/n")]) == 10, 5,
                    "10 copies")


S.run()
