#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test_mirror: RequestMirror through the real gatewayd, re-expressing the conformance
# tests HTTPRouteRequestMirror, HTTPRouteRequestMultipleMirrors and
# HTTPRouteRequestPercentageMirror (GATEWAY-API.md 5.6): the copies reach the mirror
# backends (read back from the echo backend's /_requests log), the main response is
# unaffected, shares hold within 3 binomial sigmas, a dead mirror changes nothing.
import json
import math
import socket
import time
import urllib.request

import gwtest
from gwtest import check, eq, gateway, httproute, listener, match, rule

S = gwtest.Suite("mirror")
E = {}


def mirror(name, **share):
    body = {"backendRef": {"group": gwtest.ENVOY_GROUP, "kind": "Backend", "name": name}}
    body.update(share)
    return {"type": "RequestMirror", "requestMirror": body}


def frule(backends, path, filters):
    r = rule(backends, [match(path)])
    r["filters"] = filters
    return r


@S.setup
def setup():
    env = S.env("mirror", workers=2)
    for b in ("main", "m2", "m3"):
        env.echo(b)
    p = gwtest.free_port()
    E.update(env=env, p=p)
    hm = {"type": "RequestHeaderModifier",
          "requestHeaderModifier": {"set": [{"name": "X-Header-Set", "value": "mirrored"}]}}
    routes = [httproute("mirror", [("gw", "http")], hostnames=["mirror.test"], rules=[
        frule(["main"], "/mirror", [mirror("m2")]),
        frule(["main"], "/modified", [hm, mirror("m2")]),
        frule(["main"], "/multi", [mirror("m2"), mirror("m3")]),
        frule(["main"], "/percent-20", [mirror("m2", percent=20)]),
        frule(["main"], "/fraction-25-50", [mirror("m2", fraction={"numerator": 25, "denominator": 50})]),
        frule(["main"], "/percent-35", [mirror("m3", percent=35)]),
        frule(["main"], "/percent-0", [mirror("m2", percent=0)]),
        frule(["main"], "/dead", [mirror("dead")]),
        frule(["main"], "/body", [mirror("m2")]),
        frule(["main"], "/hole", [mirror("hole")]),
    ])]
    dead = gwtest.backend("dead", port=gwtest.free_port())
    # A mirror that accepts and never answers: its copies stay in flight.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    E["hole"] = hole
    hole_doc = gwtest.backend("hole", port=hole.getsockname()[1])
    docs = [gwtest.gatewayclass(), gateway("gw", [listener("http", p)])] + routes + \
        [env.backend_doc(b) for b in ("main", "m2", "m3")] + [dead, hole_doc]
    env.write_docs("gateway.yaml", *docs)
    env.start()


def log(name, clear=False):
    url = E["env"].echos[name].url("/_requests" + ("?clear=1" if clear else ""))
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def clear():
    for b in ("main", "m2", "m3"):
        log(b, clear=True)


def paths(name, prefix):
    return [r for r in log(name) if r["path"].startswith(prefix)]


def get(path, **kw):
    return E["env"].curl(E["p"], path, host="mirror.test", **kw)


@S.case("HTTPRouteRequestMirror: the copy reaches the mirror, the main answer is the backend's")
def _():
    clear()
    r = get("/mirror?x=1")
    eq(r.status, 200, "status")
    eq(r.json()["name"], "main", "answered by")
    got = gwtest.wait_for(lambda: paths("m2", "/mirror"), 5, "the mirrored request")
    eq(len(got), 1, "copies")
    eq(got[0]["path"], "/mirror?x=1", "mirrored target")
    eq(got[0]["host"], "mirror.test", "mirrored Host")
    eq(got[0]["method"], "GET", "mirrored method")
    eq(len(paths("main", "/mirror")), 1, "main backend requests")


@S.case("HTTPRouteRequestMirror: the copy carries the headers of the earlier filters")
def _():
    clear()
    eq(get("/modified").status, 200, "status")
    got = gwtest.wait_for(lambda: paths("m2", "/modified"), 5, "the mirrored request")
    eq(got[0]["headers"].get("x-header-set"), ["mirrored"], "modified header")


@S.case("HTTPRouteRequestMultipleMirrors: every mirror gets one copy")
def _():
    clear()
    eq(get("/multi").status, 200, "status")
    gwtest.wait_for(lambda: paths("m2", "/multi") and paths("m3", "/multi"), 5, "both copies")
    time.sleep(0.2)
    eq(len(paths("m2", "/multi")), 1, "copies on m2")
    eq(len(paths("m3", "/multi")), 1, "copies on m3")


@S.case("HTTPRouteRequestPercentageMirror: shares within 3 sigma over 200 requests; 0% never")
def _():
    clear()
    n = 200
    cases = [("/percent-20", "m2", 0.20), ("/fraction-25-50", "m2", 0.5), ("/percent-35", "m3", 0.35),
             ("/percent-0", "m2", 0.0)]
    for path, _b, _share in cases:
        res = gwtest.curl_many([E["env"].url(E["p"], path)] * n, host="mirror.test")
        eq(sum(1 for r in res if r.status == 200), n, path + ": main answers")
    time.sleep(0.5)
    for path, b, share in cases:
        want = n * share
        sigma = math.sqrt(n * share * (1 - share))
        lo, hi = want - 3 * sigma, want + 3 * sigma
        if share:  # the copies may still be on their way
            gwtest.wait_for(lambda: len(paths(b, path)) >= lo, 5, path + " copies")
        got = len(paths(b, path))
        gwtest.within(got, lo, hi, path + " mirrored")


@S.case("A dead mirror backend changes nothing for the main request")
def _():
    clear()
    t0 = time.monotonic()
    for _i in range(5):
        r = get("/dead")
        eq(r.status, 200, "status")
        eq(r.json()["name"], "main", "answered by")
    check(time.monotonic() - t0 < 5, "main requests were not delayed")
    eq(len(paths("main", "/dead")), 5, "main requests")


@S.case("Bodies: a small body is mirrored whole, a large one is not mirrored")
def _():
    clear()
    body = b"0123456789" * 10
    req = (b"POST /body/small HTTP/1.1\r\nHost: mirror.test\r\nContent-Length: %d\r\n"
           b"Connection: close\r\n\r\n" % len(body)) + body
    data, _ = gwtest.raw(E["p"], req)
    eq(gwtest.status_line(data), 200, "small: status")
    got = gwtest.wait_for(lambda: paths("m2", "/body/small"), 5, "the mirrored POST")
    eq(got[0]["body_bytes"], len(body), "mirrored body bytes")
    eq(got[0]["method"], "POST", "mirrored method")
    r = get("/body/large", data=b"x" * 200000)
    eq(r.status, 200, "large: status")
    eq(r.json()["body_bytes"], 200000, "large: main body")
    time.sleep(0.3)
    eq(paths("m2", "/body/large"), [], "large body not mirrored")


@S.case("A mirror that never answers: main requests unaffected; a clean exit frees its copies")
def _():
    clear()
    res = gwtest.curl_many([E["env"].url(E["p"], "/hole")] * 20, host="mirror.test")
    eq([r.status for r in res], [200] * 20, "main answers")
    eq(len(paths("main", "/hole")), 20, "main requests")
    conns = []
    hole = E["hole"]
    hole.settimeout(2)
    try:
        while len(conns) < 20:
            conns.append(hole.accept()[0])
    except socket.timeout:
        pass
    eq(len(conns), 20, "mirror connections held open")
    env = E["env"]
    eq(env.stop(), 0, "exit status with mirrors in flight")
    check("Sanitizer" not in env.stderr_text(), "sanitizer report: " + env.stderr_tail())
    for c in conns:
        c.close()


if __name__ == "__main__":
    S.run()
