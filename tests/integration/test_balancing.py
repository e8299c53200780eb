#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test_balancing: BackendTrafficPolicy loadBalancer (Envoy Gateway's shape) through the
# real gatewayd against several echo backends: the distribution of each algorithm over
# a few hundred requests, smooth weighted round robin between backendRefs, least request
# against slow requests in flight, consistent hashing on a header, a cookie and the
# source address, and how the hashed keys move when an endpoint dies and comes back.
import collections
import http.client
import json
import threading
import time

import gwtest
from gwtest import backend, check, eq, gateway, httproute, listener, match, rule, within

S = gwtest.Suite("balancing")
E = {}


def btp(name, target, spec, kind="HTTPRoute"):
    spec = dict(spec)
    spec["targetRefs"] = [{"group": "gateway.networking.k8s.io", "kind": kind, "name": target}]
    return {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "BackendTrafficPolicy",
            "metadata": {"name": name}, "spec": spec}


def multi(env, name, echos):
    return backend(name, endpoints=[{"ip": {"address": "127.0.0.1", "port": env.echos[e].port}}
                                    for e in echos])


@S.setup
def setup():
    env = S.env("balancing", workers=1)
    for n in ("a", "b", "c", "h1", "h2", "h3"):
        env.echo(n)
    p = gwtest.free_port()
    E.update(env=env, p=p)
    routes = [
        httproute("rr", rules=[rule(["abc"], [match("/rr")])]),
        httproute("weighted", rules=[rule([("a1", 1), ("b1", 2)], [match("/weighted")])]),
        httproute("least", rules=[rule(["ab"], [match("/least"), match("/delay")])]),
        httproute("random", rules=[rule(["abc"], [match("/random")])]),
        httproute("hhdr", rules=[rule(["abc"], [match("/hash-header")])]),
        httproute("hcookie", rules=[rule(["abc"], [match("/hash-cookie")])]),
        httproute("hip", rules=[rule(["abc"], [match("/hash-ip")])]),
        httproute("hdie", rules=[rule(["hhh"], [match("/hash-die")])]),
    ]
    chk = {"active": {"type": "HTTP", "interval": "200ms", "timeout": "200ms",
                      "unhealthyThreshold": 1, "healthyThreshold": 1, "http": {"path": "/"}}}
    policies = [
        btp("p-rr", "rr", {"loadBalancer": {"type": "RoundRobin"}}),
        btp("p-least", "least", {"loadBalancer": {"type": "LeastRequest"}}),
        btp("p-random", "random", {"loadBalancer": {"type": "Random"}}),
        btp("p-hhdr", "hhdr", {"loadBalancer": {"type": "ConsistentHash", "consistentHash": {
            "type": "Header", "header": {"name": "X-User"}}}}),
        btp("p-hcookie", "hcookie", {"loadBalancer": {"type": "ConsistentHash", "consistentHash": {
            "type": "Cookie", "cookie": {"name": "session"}}}}),
        btp("p-hip", "hip", {"loadBalancer": {"type": "ConsistentHash", "consistentHash": {
            "type": "SourceIP", "tableSize": 1009}}}),
        btp("p-hdie", "hdie", {"loadBalancer": {"type": "ConsistentHash", "consistentHash": {
            "type": "Header", "header": {"name": "X-User"}}}, "healthCheck": chk}),
    ]
    backends = [multi(env, "abc", "a b c".split()), multi(env, "ab", ["a", "b"]),
                multi(env, "hhh", ["h1", "h2", "h3"]), multi(env, "a1", ["a"]), multi(env, "b1", ["b"])]
    docs = [gwtest.gatewayclass(), gateway("gw", [listener("http", p)])] + routes + policies + backends
    env.write_docs("gateway.yaml", *docs)
    env.start()


class Client:
    """A keep-alive HTTP/1.1 client (one connection: one worker, one RR cursor)."""

    def __init__(self):
        self.c = http.client.HTTPConnection("127.0.0.1", E["p"], timeout=10)

    def get(self, path, headers=None):
        self.c.request("GET", path, headers=headers or {})
        r = self.c.getresponse()
        body = r.read()
        name = None
        if r.status == 200:
            name = json.loads(body).get("name")
        return r.status, name

    def close(self):
        self.c.close()


def names(path, n, headers=None):
    c = Client()
    try:
        out = []
        for _ in range(n):
            st, name = c.get(path, headers)
            eq(st, 200, "status of %s" % path)
            out.append(name)
        return out
    finally:
        c.close()


@S.case("RoundRobin: 300 requests split evenly over three endpoints (within 10%)")
def _():
    got = collections.Counter(names("/rr", 300))
    eq(sorted(got), ["a", "b", "c"], "endpoints used")
    for k, v in got.items():
        within(v, 90, 110, "requests to %s" % k)


@S.case("weights 1:2 without a policy: smooth order (b a b, never a a), exact shares")
def _():
    seq = names("/weighted", 300)
    got = collections.Counter(seq)
    eq((got["a"], got["b"]), (100, 200), "shares")
    text = "".join(seq)
    check("aa" not in text, "two a in a row: %s" % text[:60])
    check("bbb" not in text, "three b in a row: %s" % text[:60])


@S.case("LeastRequest: with a slow request in flight the idle endpoint gets most requests")
def _():
    env = E["env"]
    done = {}

    def slow():
        c = Client()
        try:
            done["r"] = c.get("/delay?ms=4000")
        finally:
            c.close()
    t = threading.Thread(target=slow)
    t.start()
    busy = None
    deadline = time.time() + 3
    while busy is None and time.time() < deadline:
        for b in env.status().get("backends", []):
            if b["name"] != "Backend/default/ab":
                continue
            for pol in b.get("policies", []):
                for e in pol["endpoints"]:
                    if e["active"] == 1:
                        busy = e["address"]
        time.sleep(0.05)
    check(busy is not None, "the slow request never showed as active in status")
    busy_name = "a" if busy.endswith(":%d" % env.echos["a"].port) else "b"
    got = collections.Counter(names("/least", 100))
    t.join(10)
    eq(done.get("r", (0,))[0], 200, "slow request")
    # Power of two choices over two endpoints: the idle one wins 3 times in 4.
    check(got[busy_name] <= 38, "busy endpoint %s got %d of 100 (%r)" % (busy_name, got[busy_name], got))


@S.case("Random: 300 requests roughly even over three endpoints")
def _():
    got = collections.Counter(names("/random", 300))
    eq(sorted(got), ["a", "b", "c"], "endpoints used")
    for k, v in got.items():
        within(v, 65, 135, "requests to %s" % k)


def hash_map(path, keys, hdr):
    out = {}
    c = Client()
    try:
        for k in keys:
            seen = set()
            for _ in range(3):
                st, name = c.get(path, hdr(k))
                eq(st, 200, "status")
                seen.add(name)
            eq(len(seen), 1, "key %s went to %r" % (k, seen))
            out[k] = seen.pop()
    finally:
        c.close()
    return out


@S.case("ConsistentHash Header: one endpoint per X-User value, several endpoints in use")
def _():
    m = hash_map("/hash-header", ["user%d" % i for i in range(30)], lambda k: {"X-User": k})
    check(len(set(m.values())) >= 2, "all keys on one endpoint: %r" % m)
    eq(hash_map("/hash-header", list(m)[:10], lambda k: {"x-user": k}),
       {k: m[k] for k in list(m)[:10]}, "same mapping with a lowercase header name")


@S.case("ConsistentHash Cookie: one endpoint per session cookie value")
def _():
    m = hash_map("/hash-cookie", ["s%d" % i for i in range(30)],
                 lambda k: {"Cookie": "theme=dark; session=%s; x=1" % k})
    check(len(set(m.values())) >= 2, "all keys on one endpoint: %r" % m)


@S.case("ConsistentHash SourceIP: every request from 127.0.0.1 on one endpoint")
def _():
    seen = set()
    for _ in range(5):
        seen |= set(names("/hash-ip", 4))  # new connections, new source ports
    eq(len(seen), 1, "endpoints for one source address: %r" % seen)


@S.case("ConsistentHash: keys of a dead endpoint move, the others stay; back when it returns")
def _():
    env = E["env"]
    keys = ["k%d" % i for i in range(40)]
    before = hash_map("/hash-die", keys, lambda k: {"X-User": k})
    victim = collections.Counter(before.values()).most_common(1)[0][0]
    port = env.echos[victim].port
    env.echos[victim].stop()
    gwtest.wait_for(lambda: any(e["health"] == "unhealthy" for b in env.status()["backends"]
                                if b["name"] == "Backend/default/hhh" for e in b["endpoints"]),
                    5, "%s marked unhealthy" % victim)
    after = hash_map("/hash-die", keys, lambda k: {"X-User": k})
    for k in keys:
        if before[k] == victim:
            check(after[k] != victim, "key %s still on the dead endpoint" % k)
        else:
            eq(after[k], before[k], "key %s moved though its endpoint lives" % k)
    env.echos[victim] = gwtest.Echo(victim, env.dir, port=port)
    gwtest.wait_for(lambda: all(e["health"] == "healthy" for b in env.status()["backends"]
                                if b["name"] == "Backend/default/hhh" for e in b["endpoints"]),
                    5, "%s healthy again" % victim)
    eq(hash_map("/hash-die", keys, lambda k: {"X-User": k}), before, "mapping once it is back")


@S.case("status: policy accepted on the route's Gateway; lb shown per backend")
def _():
    st = E["env"].status()
    pols = {r["name"]: r for r in st["resources"] if r["kind"] == "BackendTrafficPolicy"}
    eq(len(pols), 7, "policies in status")
    for n, r in pols.items():
        anc = r["status"]["ancestors"]
        eq(len(anc), 1, "%s ancestors" % n)
        eq(anc[0]["ancestorRef"]["name"], "gw", "%s ancestor" % n)
        c = anc[0]["conditions"][0]
        eq((c["type"], c["status"], c["reason"]), ("Accepted", "True", "Accepted"), n)
    lbs = {p["policy"]: p["lb"] for b in st["backends"] for p in b.get("policies", [])}
    eq(lbs.get("default/p-least"), "LeastRequest", "lb of p-least")
    eq(lbs.get("default/p-hip"), "ConsistentHash", "lb of p-hip")


S.run()
