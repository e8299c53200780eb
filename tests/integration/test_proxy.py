# SPDX-License-Identifier: MIT
# test_proxy: basic reverse proxying through the real gatewayd: what the backend sees
# (target, Host, X-Forwarded-*, hop-by-hop headers), keep-alive on both sides,
# pipelining, request bodies, weighted backendRefs and a unix-socket Backend.
import hashlib
import os
import socket

import gwtest
from gwtest import check, eq, listener, match, rule, httproute

S = gwtest.Suite("proxy")
E = {}


@S.setup
def setup():
    env = S.env("proxy", workers=1)
    for name in ("a", "b", "c"):
        env.echo(name)
    env.echo("u", unix=True)
    port = gwtest.free_port()
    E.update(env=env, port=port)
    routes = [httproute("main", rules=[
        rule(["a"], [match("/")]),
        rule([("a", 3), ("b", 1)], [match("/weighted")]),
        rule([("a", 1), ("c", 0)], [match("/weight0")]),
        rule(["u"], [match("/unix")]),
    ])]
    env.simple_config(port, routes, ["a", "b", "c", "u"])
    env.start()


def get(path="/", **kw):
    return E["env"].curl(E["port"], path, **kw)


def echoed(r, what="response"):
    eq(r.status, 200, "%s status (curl rc %d %s)" % (what, r.rc, r.err))
    return r.json()


@S.case("a GET reaches the backend with the exact target, method and Host")
def _():
    r = get("/hello/world?x=1&y=%2F&z")
    j = echoed(r)
    eq(j["name"], "a", "backend")
    eq(j["method"], "GET", "method")
    eq(j["path"], "/hello/world?x=1&y=%2F&z", "target seen by the backend")
    eq(j["host"], "127.0.0.1:%d" % E["port"], "Host seen by the backend")
    eq(r.header("X-Echo-Name"), "a", "backend response header passed to the client")


@S.case("the Host header is forwarded unchanged")
def _():
    j = echoed(get("/", host="Www.Example.COM:8443"))
    eq(j["host"], "Www.Example.COM:8443", "Host")


@S.case("X-Forwarded-For and X-Forwarded-Proto are set")
def _():
    j = echoed(get("/"))
    eq(j["headers"].get("x-forwarded-for"), ["127.0.0.1"], "X-Forwarded-For")
    eq(j["headers"].get("x-forwarded-proto"), ["http"], "X-Forwarded-Proto")


@S.case("X-Forwarded-For from the client is appended to")
def _():
    j = echoed(get("/", headers=["X-Forwarded-For: 10.1.2.3"]))
    xff = ",".join(j["headers"].get("x-forwarded-for", []))
    eq([p.strip() for p in xff.split(",")], ["10.1.2.3", "127.0.0.1"], "X-Forwarded-For")


@S.case("end-to-end headers pass, repeated ones in order")
def _():
    j = echoed(get("/", headers=["X-Test: one", "X-Multi: 1", "X-Multi: 2", "Accept: text/x"]))
    eq(j["headers"].get("x-test"), ["one"], "X-Test")
    multi = ",".join(j["headers"].get("x-multi", []))
    eq([p.strip() for p in multi.split(",")], ["1", "2"], "X-Multi values in order")
    eq(j["headers"].get("accept"), ["text/x"], "Accept")


@S.case("hop-by-hop headers named in Connection are not forwarded (RFC 9110 7.6.1)")
def _():
    j = echoed(get("/", headers=["Connection: X-Hop", "X-Hop: secret", "Keep-Alive: timeout=5",
                                 "Proxy-Connection: keep-alive"]))
    for h in ("x-hop", "keep-alive", "proxy-connection"):
        check(h not in j["headers"], "%s was forwarded: %r" % (h, j["headers"].get(h)))


@S.case("backend status codes and bodies reach the client unchanged")
def _():
    r = get("/status/503")
    eq(r.status, 503, "status")
    eq(r.json()["name"], "a", "body from the backend")
    r = get("/status/204")
    eq(r.status, 204, "status 204")
    eq(r.body, b"", "204 body")
    r = get("/status/404")
    eq(r.status, 404, "backend 404 passes through")
    eq(r.json()["path"], "/status/404", "404 body is the backend's")


@S.case("methods POST/PUT/DELETE/PATCH/OPTIONS with bodies, HEAD without")
def _():
    body = os.urandom(100000)
    for m in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        j = echoed(get("/m", method=m, data=body), m)
        eq(j["method"], m, "method")
        eq(j["body_bytes"], len(body), "%s body length" % m)
        eq(j["body_sha256"], hashlib.sha256(body).hexdigest(), "%s body digest" % m)
    r = get("/m", method="HEAD")
    eq(r.status, 200, "HEAD status")
    check(int(r.header("Content-Length", "0")) > 0, "HEAD lost the Content-Length")
    # A HEAD answer has no body: a GET pipelined behind it must parse cleanly.
    data, _ = gwtest.raw(E["port"], b"HEAD /h1 HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET /h2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head_end = data.find(b"\r\n\r\n") + 4
    check(head_end > 4 and data[head_end:head_end + 9] == b"HTTP/1.1 ",
          "bytes after the HEAD response head: %r" % data[head_end:head_end + 40])
    rest = gwtest.parse_responses(data[head_end:])
    eq([gwtest.json.loads(b)["path"] for _, _, b in rest], ["/h2"], "the GET behind the HEAD")


@S.case("client keep-alive: 10 requests on one connection")
def _():
    rs = gwtest.curl_many([E["env"].url(E["port"], "/ka/%d" % i) for i in range(10)])
    eq([r.status for r in rs], [200] * 10, "statuses")
    eq(sum(int(r.info.get("num_connects", 0)) for r in rs), 1, "connections opened by curl")
    eq([r.json()["path"] for r in rs], ["/ka/%d" % i for i in range(10)], "paths in order")


@S.case("upstream keep-alive: sequential requests reuse one backend connection")
def _():
    rs = gwtest.curl_many([E["env"].url(E["port"], "/up/%d" % i) for i in range(6)])
    js = [r.json() for r in rs]
    peers = set(j["peer"] for j in js)
    eq(len(peers), 1, "distinct upstream connections the backend saw (%r)" % sorted(peers))
    check(max(j["conn_requests"] for j in js) >= 6,
          "the upstream connection served %r requests" % [j["conn_requests"] for j in js])
    # A new client connection may use the pooled upstream connection too.
    j = echoed(get("/up/again"))
    check(j["peer"] in peers and j["conn_requests"] > 6,
          "a later request opened a new upstream connection (%s, #%d)" % (j["peer"], j["conn_requests"]))


@S.case("HTTP/1.0 client is served")
def _():
    r = get("/old", extra=["--http1.0"])
    eq(r.status, 200, "status")
    eq(r.json()["path"], "/old", "path")


@S.case("pipelining: three requests in one write get three answers in order")
def _():
    host = "Host: 127.0.0.1\r\n"
    req = b"".join(("GET /p%d HTTP/1.1\r\n%s\r\n" % (i, host)).encode() for i in range(1, 3))
    req += ("POST /p3 HTTP/1.1\r\n%sContent-Length: 5\r\n\r\nhello" % host).encode()
    req += ("GET /p4 HTTP/1.1\r\n%sConnection: close\r\n\r\n" % host).encode()
    data, closed = gwtest.raw(E["port"], req, timeout=5)
    rs = gwtest.parse_responses(data)
    eq([r[0] for r in rs], [200, 200, 200, 200], "statuses (%r)" % data[:200])
    paths = [gwtest.json.loads(r[2])["path"] for r in rs]
    eq(paths, ["/p1", "/p2", "/p3", "/p4"], "order of answers")
    eq(gwtest.json.loads(rs[2][2])["body_bytes"], 5, "pipelined POST body")
    check(closed, "connection not closed after Connection: close")


@S.case("a pipelined request split across writes")
def _():
    parts = [b"GET /s1 HTTP/1.1\r\nHo", b"st: x\r\n\r\nGET /s2 HT", b"TP/1.1\r\nHost: x\r\n",
             b"Connection: close\r\n\r\n"]
    data, closed = gwtest.raw(E["port"], None, chunks=parts, delay=0.05, timeout=5)
    rs = gwtest.parse_responses(data)
    eq([gwtest.json.loads(r[2])["path"] for r in rs], ["/s1", "/s2"], "answers")


@S.case("chunked request body (curl -T -) streams through intact")
def _():
    blocks = [os.urandom(65536) for _ in range(48)]  # 3 MiB
    h = hashlib.sha256()
    for b in blocks:
        h.update(b)
    r = get("/upload", stdin=iter(blocks), extra=["-H", "Expect:"], timeout=30)
    j = echoed(r)
    eq(j["body_bytes"], 48 * 65536, "bytes received by the backend")
    eq(j["body_sha256"], h.hexdigest(), "body digest")


@S.case("Content-Length request body streams through intact")
def _():
    body = os.urandom(3 * 1024 * 1024 + 17)
    j = echoed(get("/upload", method="POST", data=body, timeout=30))
    eq(j["body_bytes"], len(body), "bytes")
    eq(j["body_sha256"], hashlib.sha256(body).hexdigest(), "digest")


@S.case("Expect: 100-continue upload works")
def _():
    body = os.urandom(2 * 1024 * 1024)
    j = echoed(get("/expect", method="POST", data=body, headers=["Expect: 100-continue"],
                   timeout=30))
    eq(j["body_bytes"], len(body), "bytes")


@S.case("response bodies: Content-Length and chunked downloads")
def _():
    for q in ("bytes=5000000", "bytes=5000000&chunked=1"):
        r = get("/big?" + q, timeout=30)
        eq(r.status, 200, "status")
        eq(len(r.body), 5000000, "bytes downloaded for " + q)
        check(r.body.count(b"x") == 5000000, "body corrupted for " + q)


@S.case("weighted backendRefs 3:1 over 200 requests")
def _():
    rs = gwtest.curl_many([E["env"].url(E["port"], "/weighted") for _ in range(200)])
    names = [r.backend() for r in rs]
    eq(names.count(None), 0, "failed requests")
    share = names.count("a") / 200.0
    # Expected 0.75; +-0.12 is four standard deviations of a random split.
    check(0.63 <= share <= 0.87, "share of a: %.3f (a=%d b=%d)" % (share, names.count("a"),
                                                                  names.count("b")))
    eq(set(names), {"a", "b"}, "backends used")


@S.case("weight 0 receives no traffic")
def _():
    rs = gwtest.curl_many([E["env"].url(E["port"], "/weight0") for _ in range(60)])
    eq(set(r.backend() for r in rs), {"a"}, "backends used")


@S.case("a unix-socket Backend endpoint")
def _():
    j = echoed(get("/unix/x?q=1"))
    eq(j["name"], "u", "backend")
    eq(j["path"], "/unix/x?q=1", "path")


@S.case("concurrent clients: 8 connections x 25 requests")
def _():
    import threading
    results = []
    lock = threading.Lock()

    def client(i):
        rs = gwtest.curl_many([E["env"].url(E["port"], "/c%d/%d" % (i, k)) for k in range(25)])
        with lock:
            results.extend((i, k, r) for k, r in enumerate(rs))
    ts = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    eq(len(results), 200, "answers")
    for i, k, r in results:
        eq(r.status, 200, "status of /c%d/%d" % (i, k))
        eq(r.json()["path"], "/c%d/%d" % (i, k), "answer matches its request")


S.run()
