#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test_policy_timeouts: BackendTrafficPolicy timeout.http.connectionIdleTimeout and
# maxConnectionDuration on the upstream connections of the routes a policy targets, the
# idle timeout of a WebSocket tunnel under such a policy, and consistentHash
# cookie.ttl: a request without the cookie gets one (Set-Cookie) whose value decides
# its endpoint, and later requests carrying it stick there. The echo backend reports
# its peer address (the gateway's side of the upstream connection) and the requests
# seen on that connection, so a test can tell reuse from a new connection.
import collections
import http.client
import json
import os
import re
import subprocess
import sys
import time

import gwtest
from gwtest import backend, check, eq, gateway, httproute, listener, match, rule, within

sys.path.insert(0, os.path.join(gwtest.SRCDIR, "tests", "tools"))
import ws_echo  # noqa: E402
from ws_echo import OP_TEXT  # noqa: E402

WS_ECHO = os.path.join(gwtest.SRCDIR, "tests", "tools", "ws_echo.py")
S = gwtest.Suite("policy-timeouts")
E = {}
COOKIE_RE = re.compile(r'^sticky="([0-9a-f]{16})"; Max-Age=3600; SameSite=Lax; Path=/; HttpOnly$')


def btp(name, target, spec):
    spec = dict(spec)
    spec["targetRefs"] = [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": target}]
    return {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "BackendTrafficPolicy",
            "metadata": {"name": name}, "spec": spec}


def ep(port):
    return {"ip": {"address": "127.0.0.1", "port": port}}


def cookie_lb(cookie):
    return {"loadBalancer": {"type": "ConsistentHash", "consistentHash": {
        "type": "Cookie", "cookie": cookie}}}


@S.setup
def setup():
    # One worker: one upstream pool per endpoint, whatever client connection asks.
    env = S.env("policy-timeouts", workers=1)
    for n in ("i", "m", "d", "k1", "k2", "k3"):
        env.echo(n)
    ws_proc = gwtest.spawn([gwtest.PYTHON, WS_ECHO, "--name", "ws"], stdout=subprocess.PIPE,
                           stderr=open(os.path.join(env.dir, "ws.stderr"), "wb"),
                           stdin=subprocess.DEVNULL)
    line = gwtest._readline_deadline(ws_proc.stdout, 10)
    m = re.match(rb"READY (\d+)", line or b"")
    check(m, "ws_echo did not start: %r" % line)
    p = gwtest.free_port()
    E.update(env=env, p=p, ws_proc=ws_proc)
    port = lambda n: env.echos[n].port
    routes = [
        httproute("idle", rules=[rule(["bi"], [match("/idle")])]),
        httproute("max", rules=[rule(["bm"], [match("/max"), match("/delay")])]),
        httproute("plain", rules=[rule(["bd"], [match("/plain")])]),
        httproute("sticky", rules=[rule(["bk"], [match("/sticky")])]),
        httproute("nottl", rules=[rule(["bk"], [match("/nottl")])]),
        httproute("ws", rules=[rule(["bw"], [match("/ws")])]),
    ]
    policies = [
        btp("p-idle", "idle", {"timeout": {"http": {"connectionIdleTimeout": "1s"}}}),
        btp("p-max", "max", {"timeout": {"http": {"maxConnectionDuration": "1s"}}}),
        btp("p-sticky", "sticky", cookie_lb({"name": "sticky", "ttl": "1h",
                                             "attributes": {"SameSite": "Lax", "Path": "/"}})),
        btp("p-nottl", "nottl", cookie_lb({"name": "sticky"})),
        btp("p-ws", "ws", {"timeout": {"http": {"connectionIdleTimeout": "1s"}}}),
    ]
    backends = [
        backend("bi", endpoints=[ep(port("i"))]),
        backend("bm", endpoints=[ep(port("m"))]),
        backend("bd", endpoints=[ep(port("d"))]),
        backend("bk", endpoints=[ep(port("k1")), ep(port("k2")), ep(port("k3"))]),
        backend("bw", endpoints=[ep(int(m.group(1)))]),
    ]
    docs = [gwtest.gatewayclass(), gateway("gw", [listener("http", p)])] + routes + policies + backends
    env.write_docs("gateway.yaml", *docs)
    env.start()


@S.teardown
def teardown():
    gwtest.kill_proc(E["ws_proc"])


class Client:
    """A keep-alive client connection to the gateway."""

    def __init__(self):
        self.c = http.client.HTTPConnection("127.0.0.1", E["p"], timeout=10)

    def get(self, path, headers=None):
        self.c.request("GET", path, headers=headers or {})
        r = self.c.getresponse()
        body = r.read()
        eq(r.status, 200, "status of %s: %r" % (path, body[:200]))
        return json.loads(body), r

    def close(self):
        self.c.close()


def upstream(c, path):
    """(backend's peer = the gateway's upstream socket, requests seen on it)."""
    j, _ = c.get(path)
    return j["peer"], j["conn_requests"]


@S.case("connectionIdleTimeout 1s: reused 0.2 s later, a new connection 1.5 s later")
def _():
    c = Client()
    try:
        a = upstream(c, "/idle")
        time.sleep(0.2)
        b = upstream(c, "/idle")
        eq(b[0], a[0], "0.2 s apart: the same upstream connection")
        eq(b[1], a[1] + 1, "its request count")
        time.sleep(1.5)
        n = upstream(c, "/idle")
        check(n[0] != a[0], "1.5 s apart: a new upstream connection (%r, then %r)" % (a, n))
        eq(n[1], 1, "the new connection's first request")
        # Without a policy the default idle timeout (60 s) keeps it.
        d = upstream(c, "/plain")
        time.sleep(1.5)
        eq(upstream(c, "/plain")[0], d[0], "no policy: still reused after 1.5 s")
    finally:
        c.close()


@S.case("maxConnectionDuration 1s: no connection serves past 1 s under steady traffic")
def _():
    c = Client()
    try:
        seen = collections.OrderedDict()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.6:
            t = time.monotonic()
            peer, n = upstream(c, "/max")
            seen.setdefault(peer, []).append((t, n))
            time.sleep(0.1)
        check(len(seen) >= 2, "at least two connections in 2.6 s: %r" % list(seen))
        for peer, uses in seen.items():
            span = uses[-1][0] - uses[0][0]
            check(span < 1.3, "%s used for %.2f s" % (peer, span))
        first = list(seen.values())[0]
        check(len(first) >= 4 and first[-1][1] == len(first),
              "reused until its age is up: %r" % first)
    finally:
        c.close()


@S.case("maxConnectionDuration 1s: a request in flight past the limit is not cut")
def _():
    c = Client()
    try:
        a = upstream(c, "/max")
        j, _ = c.get("/delay?ms=1500")
        eq(j["peer"], a[0], "the slow request went on the same connection")
        n = upstream(c, "/max")
        check(n[0] != a[0], "the connection closed after it: %r then %r" % (a, n))
        eq(n[1], 1, "a new connection")
    finally:
        c.close()


@S.case("connectionIdleTimeout is the idle timeout of a WebSocket tunnel to those backends")
def _():
    talk = ws_echo.Client(E["p"], "/ws")
    silent = ws_echo.Client(E["p"], "/ws")
    try:
        check(talk.accepted() and silent.accepted(), "handshakes")
        silent.send("once")
        eq(silent.recv(), (OP_TEXT, b"once"), "echo")
        t0 = time.monotonic()
        for i in range(5):   # 2.5 s of traffic, more than the 1 s idle timeout
            talk.send("tick %d" % i)
            eq(talk.recv(), (OP_TEXT, ("tick %d" % i).encode()), "tick %d" % i)
            time.sleep(0.5)
        silent.sock.settimeout(10)
        try:
            eof = silent.sock.recv(10)
        except ConnectionResetError:
            eof = b""
        eq(eof, b"", "the silent tunnel was closed ([limits] idle_timeout is 60 s)")
        within(time.monotonic() - t0, 0.5, 5, "seconds until the silent tunnel closed")
        talk.send("still there")
        eq(talk.recv(), (OP_TEXT, b"still there"), "the talking tunnel lives on")
    finally:
        talk.close()
        silent.close()


@S.case("cookie.ttl: the first response sets the cookie; requests with it stick to its endpoint")
def _():
    c = Client()
    try:
        j, r = c.get("/sticky")
        sc = r.getheader("Set-Cookie")
        m = COOKIE_RE.match(sc or "")
        check(m, "Set-Cookie as Envoy writes it: %r" % sc)
        first = j["name"]
        for quoted in (True, False):
            v = '"%s"' % m.group(1) if quoted else m.group(1)
            for _ in range(8):
                j, r = c.get("/sticky", {"Cookie": "other=1; sticky=%s" % v})
                eq(j["name"], first, "sticks to the endpoint of the first response (quoted %s)" % quoted)
                eq(r.getheader("Set-Cookie"), None, "no new cookie when the request has one")
    finally:
        c.close()
    # New clients get other cookies, spread over the endpoints, each one sticking.
    names = collections.Counter()
    cookies = {}
    for _ in range(24):
        c = Client()
        try:
            j, r = c.get("/sticky")
            v = COOKIE_RE.match(r.getheader("Set-Cookie") or "").group(1)
            names[j["name"]] += 1
            cookies[v] = j["name"]
        finally:
            c.close()
    eq(len(cookies), 24, "a value per client connection")
    check(len(names) >= 2, "generated cookies spread over the endpoints: %r" % names)
    c = Client()
    try:
        for v, name in list(cookies.items())[:8]:
            eq(c.get("/sticky", {"Cookie": "sticky=\"%s\"" % v})[0]["name"], name, "cookie %s" % v)
    finally:
        c.close()


@S.case("cookie without ttl: no cookie is generated")
def _():
    c = Client()
    try:
        _, r = c.get("/nottl")
        eq(r.getheader("Set-Cookie"), None, "Set-Cookie")
    finally:
        c.close()


@S.case("check: bad durations and cookie attributes are errors naming the field")
def _():
    env = E["env"]
    d = os.path.join(env.dir, "bad-policy")
    os.mkdir(d)
    bad = [
        btp("a", "idle", {"timeout": {"http": {"connectionIdleTimeout": "1x",
                                               "maxConnectionDuration": "-1s"}}}),
        btp("b", "sticky", cookie_lb({"name": "sticky", "ttl": "soon"})),
        btp("c", "nottl", cookie_lb({"name": "sticky", "ttl": "1h",
                                     "attributes": {"Bad Name": "x", "Domain": "a;b"}})),
        btp("e", "max", cookie_lb({"name": "a b", "ttl": "10s"})),
    ]
    with open(os.path.join(d, "p.yaml"), "w") as f:
        f.write(gwtest.documents(*bad))
    r = env.cmd("check", d)
    eq(r.returncode, 1, "check exit")
    out = r.stdout + r.stderr
    for want in ('spec.timeout.http.connectionIdleTimeout: must be a duration',
                 'spec.timeout.http.maxConnectionDuration: must be a duration',
                 'spec.loadBalancer.consistentHash.cookie.ttl: must be a duration',
                 'spec.loadBalancer.consistentHash.cookie.attributes.Bad Name: must be a cookie attribute name',
                 'spec.loadBalancer.consistentHash.cookie.attributes.Domain: must not contain ";"',
                 'spec.loadBalancer.consistentHash.cookie.name: must be a cookie name'):
        check(want in out, "no %r in %r" % (want, out[-1500:]))
    check("not supported by gatewayd" not in out, "nothing refused as unsupported: %r" % out[-1500:])
    good = os.path.join(env.dir, "good-policy")
    os.mkdir(good)
    with open(os.path.join(good, "p.yaml"), "w") as f:
        f.write(gwtest.documents(btp("z", "idle", {"timeout": {"http": {
            "connectionIdleTimeout": "0s", "maxConnectionDuration": "0s"}}})))
    r = env.cmd("check", good)
    check("error" not in (r.stdout + r.stderr).lower(), "0s is valid: %r" % (r.stdout + r.stderr)[-800:])


@S.case("gatewayd exits cleanly (pooled and tunnel connections released; no sanitizer report)")
def _():
    env = E["env"]
    c = Client()
    try:
        upstream(c, "/idle")
        upstream(c, "/max")
    finally:
        c.close()
    eq(env.stop(), 0, "exit status")
    err = env.stderr_text()
    check("Sanitizer" not in err and "runtime error" not in err, "stderr: %r" % err[-1500:])


S.run()
