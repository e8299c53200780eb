#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test_health: BackendTrafficPolicy healthCheck, circuitBreaker and timeout through the
# real gatewayd with backends the test starts and kills: active HTTP checks mark a dead
# endpoint unhealthy within interval x threshold and bring it back, outlier detection
# ejects after consecutive 5xx (and every endpoint ejected is a 503), the circuit
# breaker answers 503 over maxParallelRequests, connectTimeout overrides [limits], and
# status and /metrics show all of it. Also: unsupported fields are errors naming them.
import collections
import http.client
import json
import os
import socket
import threading
import time

import gwtest
import rawbackend
from gwtest import backend, check, eq, gateway, httproute, listener, match, metric, rule

S = gwtest.Suite("health")
E = {}

R500 = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nbad\n"


def btp(name, target, spec):
    spec = dict(spec)
    spec["targetRefs"] = [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": target}]
    return {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "BackendTrafficPolicy",
            "metadata": {"name": name}, "spec": spec}


def ep(port):
    return {"ip": {"address": "127.0.0.1", "port": port}}


def rewrite(rl, prefix):
    rl["filters"] = [{"type": "URLRewrite", "urlRewrite": {"path": {
        "type": "ReplacePrefixMatch", "replacePrefixMatch": prefix}}}]
    return rl


@S.setup
def setup():
    env = S.env("health", workers=2)
    for n in ("x", "y", "g1", "ae1", "ae2", "c1"):
        env.echo(n)
    bad = rawbackend.RawBackend(reply=R500)
    # A listener that never accepts, its backlog full: connects to it hang (no RST).
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(0)
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(hang.getsockname())
        except (BlockingIOError, OSError):
            pass
        fillers.append(s)
    p = gwtest.free_port()
    E.update(env=env, p=p, bad=bad, hang=hang, fillers=fillers)
    port = lambda n: env.echos[n].port
    routes = [
        httproute("hc", rules=[rule(["hc"], [match("/hc")])]),
        httproute("pv", rules=[rule(["pv"], [match("/pv")])]),
        httproute("ae", rules=[rewrite(rule(["ae"], [match("/all")]), "/status")]),
        httproute("cb", rules=[rewrite(rule(["cb"], [match("/cb")]), "/delay")]),
        httproute("ct", rules=[rule(["ct"], [match("/ct")])]),
    ]
    policies = [
        btp("p-hc", "hc", {"healthCheck": {"active": {
            "type": "HTTP", "interval": "200ms", "timeout": "300ms", "unhealthyThreshold": 2,
            "healthyThreshold": 2, "http": {"path": "/status/204", "expectedStatuses": [204]}}}}),
        btp("p-pv", "pv", {"loadBalancer": {"type": "RoundRobin"}, "healthCheck": {"passive": {
            "consecutive5XxErrors": 3, "baseEjectionTime": "2s", "maxEjectionPercent": 50,
            "interval": "100ms"}}}),
        btp("p-ae", "ae", {"healthCheck": {"passive": {
            "consecutive5XxErrors": 2, "baseEjectionTime": "30s", "maxEjectionPercent": 100}}}),
        btp("p-cb", "cb", {"circuitBreaker": {"maxParallelRequests": 1}}),
        btp("p-ct", "ct", {"timeout": {"tcp": {"connectTimeout": "300ms"}}}),
    ]
    backends = [
        backend("hc", endpoints=[ep(port("x")), ep(port("y"))]),
        backend("pv", endpoints=[ep(port("g1")), ep(bad.port)]),
        backend("ae", endpoints=[ep(port("ae1")), ep(port("ae2"))]),
        backend("cb", endpoints=[ep(port("c1"))]),
        backend("ct", endpoints=[ep(hang.getsockname()[1])]),
    ]
    docs = [gwtest.gatewayclass(), gateway("gw", [listener("http", p)])] + routes + policies + backends
    env.write_docs("gateway.yaml", *docs)
    env.start()


@S.teardown
def teardown():
    E["bad"].close()
    for s in E["fillers"]:
        s.close()
    E["hang"].close()


def get(path, headers=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", E["p"], timeout=timeout)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        name = json.loads(body).get("name") if r.status == 200 and body.startswith(b"{") else None
        return r.status, name, body
    finally:
        c.close()


def endpoint_health(backend_name):
    for b in E["env"].status()["backends"]:
        if b["name"] == backend_name:
            return {e["address"]: e["health"] for e in b["endpoints"]}
    return {}


def addr(name):
    return "127.0.0.1:%d" % E["env"].echos[name].port


@S.case("active check: a dead endpoint is unhealthy within interval x threshold, then back")
def _():
    env = E["env"]
    gwtest.wait_for(lambda: endpoint_health("Backend/default/hc") ==
                    {addr("x"): "healthy", addr("y"): "healthy"}, 3, "both healthy at first")
    # The first result decides at once: let both pass a check before y dies.
    gwtest.wait_for(lambda: all(e["checksOk"] >= 1 for b in env.status()["backends"]
                                if b["name"] == "Backend/default/hc"
                                for p in b["policies"] for e in p["endpoints"]), 3, "first checks")
    port = env.echos["y"].port
    env.echos["y"].stop()
    t0 = time.time()
    gwtest.wait_for(lambda: endpoint_health("Backend/default/hc").get(addr("y")) == "unhealthy",
                    3, "y unhealthy")
    # 2 failures 200 ms apart, plus a timeout and the polling: well under 1.5 s.
    check(time.time() - t0 < 1.5, "took %.2fs" % (time.time() - t0))
    s = env.metrics()
    eq(metric(s, "gatewayd_backend_endpoints", backend="Backend/default/hc", state="unhealthy"), 1.0,
       "unhealthy endpoints")
    eq(metric(s, "gatewayd_backend_endpoints", backend="Backend/default/hc", state="healthy"), 1.0,
       "healthy endpoints")
    fails = metric(s, "gatewayd_health_checks_total", backend="Backend/default/hc", result="failure")
    check(fails >= 2, "failed checks counted: %r" % fails)
    got = collections.Counter(get("/hc")[1] for _ in range(20))
    eq(got, collections.Counter({"x": 20}), "every request on the healthy endpoint")
    env.echos["y"] = gwtest.Echo("y", env.dir, port=port)
    gwtest.wait_for(lambda: endpoint_health("Backend/default/hc").get(addr("y")) == "healthy",
                    3, "y healthy again")
    got = collections.Counter(get("/hc")[1] for _ in range(20))
    check(got["y"] > 0, "y gets requests again: %r" % got)


@S.case("passive: 3 consecutive 5xx eject the endpoint, the rest goes to the good one")
def _():
    env = E["env"]
    statuses = [get("/pv")[0] for _ in range(30)]
    eq(statuses.count(500), 3, "5xx before the ejection: %r" % statuses)
    third = [i for i, s in enumerate(statuses) if s == 500][-1]
    check(all(s == 200 for s in statuses[third + 1:]), "after the third: %r" % statuses)
    bad = "127.0.0.1:%d" % E["bad"].port
    eq(endpoint_health("Backend/default/pv").get(bad), "ejected", "status health")
    s = env.metrics()
    eq(metric(s, "gatewayd_backend_endpoints", backend="Backend/default/pv", state="ejected"), 1.0,
       "ejected endpoints")
    eq(metric(s, "gatewayd_outlier_ejections_total", backend="Backend/default/pv"), 1.0, "ejections")
    # baseEjectionTime 2s: afterwards the endpoint is tried again.
    gwtest.wait_for(lambda: get("/pv")[0] == 500, 5, "the ejected endpoint back in rotation")


@S.case("passive: every endpoint ejected (maxEjectionPercent 100) -> 503")
def _():
    statuses = [get("/all/500")[0] for _ in range(4)]
    eq(statuses, [500] * 4, "the backends' own 500s")
    st, _, body = get("/all/200")
    eq((st, body), (503, b"no healthy upstream\n"), "all endpoints ejected")
    eq(set(endpoint_health("Backend/default/ae").values()), {"ejected"}, "status")


@S.case("circuit breaker: maxParallelRequests 1 -> the second concurrent request gets 503 at once")
def _():
    res = {}

    def slow(i):
        t = time.time()
        res[i] = (get("/cb?ms=1500")[0], time.time() - t)
    t1 = threading.Thread(target=slow, args=(1,))
    t1.start()
    time.sleep(0.4)
    slow(2)
    t1.join(10)
    eq((res[1][0], res[2][0]), (200, 503), "statuses")
    check(res[2][1] < 0.5, "the overflow took %.2fs" % res[2][1])
    eq(get("/cb?ms=1")[0], 200, "one at a time is fine")
    eq(metric(E["env"].metrics(), "gatewayd_circuit_breaker_overflows_total", backend="Backend/default/cb"),
       1.0, "overflows counted")


@S.case("timeout.tcp.connectTimeout 300ms overrides [limits] connect_timeout (5s)")
def _():
    t = time.time()
    st = get("/ct")[0]
    took = time.time() - t
    eq(st, 502, "status")
    check(0.25 <= took < 2.0, "took %.2fs" % took)


@S.case("check: fields gatewayd does not implement are errors naming them")
def _():
    env = E["env"]
    d = os.path.join(env.dir, "bad-policy")
    os.mkdir(d)
    pol = btp("p", "hc", {"loadBalancer": {"type": "RoundRobin", "slowStart": {"window": "5s"}},
                          "retry": {"numRetries": 2}})
    with open(os.path.join(d, "p.yaml"), "w") as f:
        f.write(gwtest.documents(pol, btp("q", "hc", {"loadBalancer": {"type": "Magic"}})))
    r = env.cmd("check", d)
    eq(r.returncode, 1, "check exit")
    out = r.stdout + r.stderr
    for want in ('spec.loadBalancer: field "slowStart" is not supported by gatewayd',
                 'spec: field "retry" is not supported by gatewayd',
                 'spec.loadBalancer.type: unsupported value "Magic"'):
        check(want in out, "no %r in %r" % (want, out[-600:]))


S.run()
