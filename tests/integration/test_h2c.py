# SPDX-License-Identifier: MIT
# test_h2c: HTTP/2 cleartext through the real gatewayd. Backend side: a Service port with
# appProtocol kubernetes.io/h2c (GEP-1911, GATEWAY-API.md 2.8 and 5.6) or a Backend with
# appProtocols [gateway.envoyproxy.io/h2c] is spoken to in HTTP/2 with prior knowledge
# (tests/tools/h2_echo), HTTP/1.1 clients unchanged. Client side: a connection that opens
# with the HTTP/2 preface (curl --http2-prior-knowledge, nghttp, h2load) is served HTTP/2
# in front of the HTTP/1.1 echo_backend.py. Both: h2c client to h2c backend. Covered:
# HTTPRouteBackendProtocolH2C, bodies (Content-Length, chunked, none), HEAD, 204/404,
# header translation, 5 MB responses with and without a length, RST_STREAM and dead
# backends (502/503), upstream connection reuse and backend restarts, parallel clients,
# trailers, h2load (also with a small window), the stream limit of 1, a cancelled
# stream, a broken preface. Raw frames come from RawH2 (literal-only HPACK).
import hashlib
import json
import os
import socket
import sys
import threading
import time

import gwtest
from gwtest import check, eq

S = gwtest.Suite("h2c")
E = {}
INFRA = "gateway-conformance-infra"
ENVOY = gwtest.ENVOY_GROUP
WRAPPED = bool(gwtest.WRAPPER)
T = 30 if WRAPPED else 10          # curl --max-time (valgrind is ~20x slower)
MIB = 1 << 20
H2C = "kubernetes.io/h2c"


def doc(kind, name, ns=INFRA, **kw):
    return gwtest.doc(kind, name, ns, **kw)


def service(name, ports):
    """A selector-less Service and its EndpointSlice on 127.0.0.1. ports: [(name, port,
    targetPort, appProtocol or None, the real port behind it)], as the conformance base
    manifests' infra-backend-v1 (8080 -> 3000 HTTP, 8081 -> 3001 h2c)."""
    sp, ep = [], []
    for pname, port, target, app, real in ports:
        p = {"name": pname, "port": port, "targetPort": target}
        e = {"name": pname, "port": real}
        if app:
            p["appProtocol"] = app
            e["appProtocol"] = app
        sp.append(p)
        ep.append(e)
    return [doc("Service", name, spec={"ports": sp}, api="v1"),
            doc("EndpointSlice", name + "-1", api="discovery.k8s.io/v1",
                labels={"kubernetes.io/service-name": name}, addressType="IPv4",
                ports=ep, endpoints=[{"addresses": ["127.0.0.1"]}])]


def gw_doc(name, port):
    return doc("Gateway", name, spec={
        "gatewayClassName": "gatewayd", "addresses": [{"type": "IPAddress", "value": "127.0.0.1"}],
        "listeners": [{"name": "http", "port": port, "protocol": "HTTP",
                       "allowedRoutes": {"namespaces": {"from": "Same"}}}]})


def route(name, parent, rules, hostnames=None):
    spec = {"parentRefs": [{"name": parent, "namespace": INFRA}], "rules": rules}
    if hostnames:
        spec["hostnames"] = hostnames
    return doc("HTTPRoute", name, spec=spec)


def svc_ref(name, port):
    return {"backendRefs": [{"name": name, "port": port}]}


@S.setup
def setup():
    if not gwtest.CURL or "HTTP2" not in os.popen(gwtest.CURL + " --version").read():
        raise gwtest.Skip("curl without HTTP2")
    env = S.env("h2c", workers=1)
    E["env"] = env
    h2 = gwtest.env_h2echo(env, "infra-backend-v1")
    h2b = gwtest.env_h2echo(env, "h2-backend-kind")
    h1 = env.echo("h1-echo")
    E["conf"], E["port"] = gwtest.free_port(), gwtest.free_port()
    E["dead_port"] = gwtest.free_port()   # nobody listens there
    kind_backend = gwtest.backend("h2-backend-kind", port=h2b.port, namespace=INFRA)
    kind_backend["spec"]["appProtocols"] = ["%s/h2c" % ENVOY]
    docs = [gwtest.gatewayclass(),
            doc("Namespace", INFRA, ns=None, api="v1", labels={"gateway-conformance": "infra"}),
            gw_doc("same-namespace", E["conf"]), gw_doc("gw", E["port"])]
    docs += service("infra-backend-v1", [("http", 8080, 3000, None, h1.port),
                                         ("http2", 8081, 3001, H2C, h2.port)])
    docs += service("dead-h2", [("http2", 8081, 3001, H2C, E["dead_port"])])
    docs += [
        # HTTPRouteBackendProtocolH2C (upstream: backend-protocol-h2c.yaml)
        route("backend-protocol-h2c", "same-namespace", [svc_ref("infra-backend-v1", 8081)]),
        route("h2-backend", "gw", [svc_ref("infra-backend-v1", 8081)], ["h2.example"]),
        route("h2-backend-kind", "gw", [{"backendRefs": [gwtest.backend_ref("h2-backend-kind")]}],
              ["h2b.example"]),
        route("dead", "gw", [svc_ref("dead-h2", 8081)], ["dead.example"]),
        route("h1", "gw", [svc_ref("infra-backend-v1", 8080),
                           {"matches": [{"path": {"type": "PathPrefix", "value": "/redirect"}}],
                            "filters": [{"type": "RequestRedirect", "requestRedirect": {
                                "hostname": "elsewhere.example", "statusCode": 302}}]}],
              ["h1.example"]),
        kind_backend,
    ]
    env.write_docs("h2c.yaml", *docs)
    env.set_access_log("access.log")
    env.start()


# ---------------------------------------------------------------- helpers

def h1(path, host, **kw):
    """HTTP/1.1 client request on the main listener."""
    return E["env"].curl(E["port"], path, host=host, timeout=T, **kw)


def h2(path, host, port=None, **kw):
    """HTTP/2 prior-knowledge client request on the main listener."""
    env = E["env"]
    return gwtest.curl_h2(env.url(port or E["port"], path), host=host, timeout=T,
                          workdir=env.dir, **kw)


def echoed(r, name, what="request"):
    """The echo's JSON, after checking status 200 and which echo answered."""
    eq((r.status, r.rc), (200, 0), "%s: status, curl exit (%s)" % (what, r.err))
    j = r.json()
    eq(j["name"], name, "%s: answering backend" % what)
    return j


def is_h2(r, what="response"):
    eq(r.info.get("http_version"), "2", "%s: HTTP version seen by the client" % what)


def route_cond(name, ctype):
    st = E["env"].status()
    rs = [r for r in gwtest.resources(st, "HTTPRoute", name) if r.get("namespace") == INFRA]
    check(len(rs) == 1, "HTTPRoute %s/%s in status --json" % (INFRA, name))
    c = gwtest.condition(rs[0]["status"]["parents"][0]["conditions"], ctype)
    check(c is not None, "route %s has condition %s" % (name, ctype))
    return c["status"], c["reason"]


def sha(data):
    return hashlib.sha256(data).hexdigest()


def hpack_int(n):
    """An HPACK integer with a 7-bit prefix and the H (Huffman) bit 0 (RFC 7541 §5.1)."""
    if n < 127:
        return bytes([n])
    out, n = [127], n - 127
    while n >= 128:
        out.append((n & 0x7f) | 0x80)
        n >>= 7
    return bytes(out + [n])


def hpack_block(fields):
    """Literal header fields without indexing, new names, no Huffman (RFC 7541 §6.2.2):
    enough to send any request without an HPACK encoder."""
    out = b""
    for k, v in fields:
        k, v = k.encode(), v.encode()
        out += b"\x00" + hpack_int(len(k)) + k + hpack_int(len(v)) + v
    return out


# the first byte of a response HEADERS block when :status is an indexed static entry
STATIC_STATUS = {0x88: 200, 0x89: 204, 0x8a: 206, 0x8b: 304, 0x8c: 400, 0x8d: 404, 0x8e: 500}


class RawH2:
    """A hand-driven HTTP/2 client connection (prior knowledge) for the cases that
    curl, nghttp and h2load cannot express: concurrent streams, RST_STREAM."""

    def __init__(self, port, timeout):
        self.timeout = timeout
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.frames = []
        self.closed = False
        self.s.sendall(gwtest.H2_PREFACE + gwtest.h2_frame(4, 0, 0))
        self.wait(lambda: any(f[0] == 4 and not f[1] & 1 for f in self.frames), "server SETTINGS")
        self.s.sendall(gwtest.h2_frame(4, 1, 0))   # ACK

    def request(self, stream, path, authority, end_stream=True):
        block = hpack_block([(":method", "GET"), (":scheme", "http"), (":path", path),
                             (":authority", authority)])
        return gwtest.h2_frame(1, 0x4 | (0x1 if end_stream else 0), stream, block)

    def send(self, data):
        self.s.sendall(data)

    def pump(self, deadline):
        self.s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            b = self.s.recv(65536)
        except socket.timeout:
            return
        except ConnectionResetError:
            b = b""
        if not b:
            self.closed = True
            return
        self.buf += b
        fr = gwtest.h2_frames(self.buf)
        used = sum(9 + len(f[3]) for f in fr)
        self.buf = self.buf[used:]
        self.frames += fr

    def wait(self, pred, what):
        deadline = time.monotonic() + self.timeout
        while not pred():
            if self.closed or time.monotonic() >= deadline:
                raise gwtest.Failure("waiting for %s: %s; frames %r" % (
                    what, "connection closed" if self.closed else "timed out",
                    [(f[0], f[1], f[2], f[3][:12]) for f in self.frames][-12:]))
            self.pump(deadline)

    def on(self, stream, ftype=None):
        return [f for f in self.frames if f[2] == stream and (ftype is None or f[0] == ftype)]

    def ended(self, stream):
        """True once stream ended: END_STREAM on DATA/HEADERS, or RST_STREAM."""
        return any((f[0] in (0, 1) and f[1] & 1) or f[0] == 3 for f in self.on(stream))

    def status(self, stream):
        hs = self.on(stream, 1)
        return STATIC_STATUS.get(hs[0][3][0]) if hs and hs[0][3] else None

    def close(self):
        self.s.close()


BODY = bytes(range(256)) * (MIB // 256)    # 1 MiB, not all zeroes


# ---------------------------------------------------------------- conformance

@S.case("HTTPRouteBackendProtocolH2C: an h2c client reaches Service port 8081 (appProtocol kubernetes.io/h2c) in HTTP/2")
def _():
    host = "127.0.0.1:%d" % E["conf"]
    r = h2("/backend-protocol-h2c?x=1", None, port=E["conf"])
    j = echoed(r, "infra-backend-v1")
    is_h2(r)
    eq(j["proto"], "HTTP/2.0", "protocol the backend saw")
    eq(j["host"], host, ":authority the backend saw")
    eq(j["path"], "/backend-protocol-h2c?x=1", ":path the backend saw")
    eq(j["method"], "GET", ":method")


@S.case("HTTPRouteBackendProtocolH2C: the route is Accepted and ResolvedRefs=True (no UnsupportedProtocol)")
def _():
    eq(route_cond("backend-protocol-h2c", "Accepted"), ("True", "Accepted"), "Accepted")
    eq(route_cond("backend-protocol-h2c", "ResolvedRefs"), ("True", "ResolvedRefs"), "ResolvedRefs")
    eq(route_cond("h2-backend-kind", "ResolvedRefs"), ("True", "ResolvedRefs"), "Backend kind ResolvedRefs")


# ---------------------------------------------------------------- backend side, HTTP/1.1 clients

@S.case("h2c backend, HTTP/1.1 client: GET is sent as HTTP/2 with :authority, :path and :method")
def _():
    r = h1("/some/path?q=1&r=2", "h2.example")
    j = echoed(r, "infra-backend-v1")
    eq(r.info.get("http_version"), "1.1", "client side stays HTTP/1.1")
    eq(j["proto"], "HTTP/2.0", "protocol the backend saw")
    eq(j["host"], "h2.example", ":authority")
    eq(j["path"], "/some/path?q=1&r=2", ":path")
    eq(j["method"], "GET", ":method")
    eq(j["body_bytes"], 0, "body bytes")
    eq(r.header("Content-Type"), "application/json", "content-type passed back")


@S.case("h2c backend, HTTP/1.1 client: POST with a 1 MiB Content-Length body arrives whole")
def _():
    j = echoed(h1("/upload", "h2.example", data=BODY), "infra-backend-v1")
    eq(j["method"], "POST", ":method")
    eq((j["body_bytes"], j["body_sha256"]), (MIB, sha(BODY)), "body length and sha256")
    eq(j["headers"].get("content-length"), [str(MIB)], "content-length the backend saw")


@S.case("h2c backend, HTTP/1.1 client: a chunked POST arrives whole, without Transfer-Encoding")
def _():
    data = BODY[:300001]
    j = echoed(h1("/chunked", "h2.example", data=data, headers=["Transfer-Encoding: chunked"]),
               "infra-backend-v1")
    eq((j["body_bytes"], j["body_sha256"]), (len(data), sha(data)), "body length and sha256")
    check("transfer-encoding" not in j["headers"],
          "transfer-encoding reached the HTTP/2 backend: %r" % j["headers"])


@S.case("h2c backend, HTTP/1.1 client: HEAD gets the head only")
def _():
    r = h1("/head", "h2.example", method="HEAD")
    eq((r.status, r.rc), (200, 0), "status, curl exit (%s)" % r.err)
    eq(r.header("X-Echo-Name"), "infra-backend-v1", "x-echo-name")
    check(int(r.header("Content-Length", "0")) > 0, "HEAD keeps the Content-Length: %r" % r.headers)


@S.case("h2c backend, HTTP/1.1 client: 204 and 404 are passed through")
def _():
    r = h1("/status/204", "h2.example")
    eq((r.status, r.body, r.rc), (204, b"", 0), "204 status, body, curl exit")
    r = h1("/status/404", "h2.example")
    eq(r.status, 404, "404 status")
    eq(r.json()["name"], "infra-backend-v1", "404 body from the backend")


@S.case("h2c backend, HTTP/1.1 client: response headers set by the backend arrive")
def _():
    r = h1("/", "h2.example", headers=["X-Echo-Set-Header: X-Answer:42,X-Other:two words"])
    echoed(r, "infra-backend-v1")
    eq(r.header("X-Answer"), "42", "x-answer")
    eq(r.header("X-Other"), "two words", "x-other")


@S.case("h2c backend, HTTP/1.1 client: request headers arrive lowercased, hop-by-hop ones do not")
def _():
    r = h1("/", "h2.example", headers=["X-Mixed-Case: Value", "Connection: keep-alive",
                                       "Keep-Alive: timeout=5", "Proxy-Connection: keep-alive",
                                       "X-Twice: 1", "X-Twice: 2"])
    j = echoed(r, "infra-backend-v1")
    hs = j["headers"]
    eq(hs.get("x-mixed-case"), ["Value"], "x-mixed-case")
    check(all(k == k.lower() for k in hs), "header names not lowercased: %r" % list(hs))
    bad = [k for k in ("connection", "keep-alive", "proxy-connection", "transfer-encoding",
                       "upgrade") if k in hs]
    check(not bad, "connection-specific headers reached the HTTP/2 backend (RFC 9113 8.2.2): %r" % bad)
    check(hs.get("x-twice") in (["1", "2"], ["1, 2"]), "x-twice: %r" % hs.get("x-twice"))


@S.case("h2c backend, HTTP/1.1 client: a 5 MB response streams whole, with and without a length")
def _():
    n = 5000000
    r = h1("/big?bytes=%d" % n, "h2.example")
    eq((r.status, r.rc), (200, 0), "status, curl exit (%s)" % r.err)
    eq((len(r.body), r.body.count(b"x")), (n, n), "body size, 'x' bytes")
    eq(r.header("Content-Length"), str(n), "content-length")
    r = h1("/big?bytes=%d&nolength=1" % n, "h2.example")
    eq((r.status, r.rc), (200, 0), "nolength: status, curl exit (%s)" % r.err)
    eq((len(r.body), r.body.count(b"x")), (n, n), "nolength: body size, 'x' bytes")
    check(r.header("Content-Length") is None and
          "chunked" in (r.header("Transfer-Encoding") or "").lower(),
          "a response without a length goes to an HTTP/1.1 client chunked: %r" % r.headers)


@S.case("h2c backend: RST_STREAM before the response gives 502, and the next request works")
def _():
    r = h1("/reset", "h2.example")
    eq(r.status, 502, "status after RST_STREAM INTERNAL_ERROR")
    echoed(h1("/after-reset", "h2.example"), "infra-backend-v1", "request after the reset")


@S.case("h2c backend: a dead backend port gives 502 or 503")
def _():
    r = h1("/", "dead.example")
    check(r.status in (502, 503), "status %d (want 502 or 503), curl: %s" % (r.status, r.err))


@S.case("h2c backend: the upstream HTTP/2 connection is reused (20 requests, 1 worker)")
def _():
    seen = []
    for i in range(20):
        seen.append(echoed(h1("/reuse/%d" % i, "h2.example"), "infra-backend-v1")["conn_requests"])
    check(seen[-1] > 1 and max(seen) >= 10,
          "conn_requests of 20 sequential requests (each a new client connection): %r" % seen)


@S.case("h2c backend: a delayed answer (200 ms) arrives")
def _():
    t0 = time.monotonic()
    j = echoed(h1("/delay?ms=200", "h2.example"), "infra-backend-v1")
    eq(j["path"], "/delay?ms=200", "path")
    check(time.monotonic() - t0 >= 0.19, "answered before the backend's delay")


@S.case("h2c backend: a response with trailers arrives (HTTP/1.1 client: body)")
def _():
    j = echoed(h1("/trailers", "h2.example"), "infra-backend-v1")
    eq(j["path"], "/trailers", "path")


@S.case("h2c backend via the Backend kind (appProtocols [gateway.envoyproxy.io/h2c])")
def _():
    j = echoed(h1("/kind", "h2b.example"), "h2-backend-kind")
    eq(j["proto"], "HTTP/2.0", "protocol the backend saw")
    eq(j["host"], "h2b.example", ":authority")
    j = echoed(h1("/kind-post", "h2b.example", data=BODY[:65537]), "h2-backend-kind")
    eq((j["body_bytes"], j["body_sha256"]), (65537, sha(BODY[:65537])), "body")


@S.case("h2c backend: 12 concurrent HTTP/1.1 clients to a 300 ms backend are served in parallel")
def _():
    res = [None] * 12

    def one(i):
        try:
            res[i] = h1("/delay?ms=300&i=%d" % i, "h2.example")
        except Exception as e:  # reported below
            res[i] = e
    t0 = time.monotonic()
    ths = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(12)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(T + 15)
    took = time.monotonic() - t0
    bad = [(i, r if isinstance(r, Exception) else (r.status, r.err)) for i, r in enumerate(res)
           if not isinstance(r, gwtest.Response) or r.status != 200]
    check(not bad, "failed requests: %r" % bad)
    eq(sorted(r.json()["path"] for r in res), sorted("/delay?ms=300&i=%d" % i for i in range(12)),
       "each client got its own answer")
    if not WRAPPED:
        check(took < 2.5, "12 x 300 ms took %.1fs: requests were serialized" % took)


@S.case("h2c backend: a 6 KB request header and 40 headers arrive")
def _():
    big = "v" * 6000
    hs = ["X-Big: " + big] + ["X-N%02d: %d" % (i, i) for i in range(40)]
    j = echoed(h1("/bigheader", "h2.example", headers=hs), "infra-backend-v1")
    eq(j["headers"].get("x-big"), [big], "x-big")
    eq([j["headers"].get("x-n%02d" % i) for i in range(40)], [[str(i)] for i in range(40)], "x-nNN")


@S.case("h2c backend restarts on the same port: the next request opens a new connection (200)")
def _():
    env = E["env"]
    echoed(h1("/before-restart", "h2b.example"), "h2-backend-kind", "before the restart")
    old = env.echos["h2-backend-kind"]
    old.stop()
    env.echos["h2-backend-kind"] = gwtest.H2Echo("h2-backend-kind", env.dir, port=old.port)
    j = echoed(h1("/after-restart", "h2b.example"), "h2-backend-kind", "first request after the restart")
    eq(j["conn_requests"], 1, "a new upstream connection")
    j = echoed(h1("/after-restart-2", "h2b.example"), "h2-backend-kind", "second request after the restart")
    eq(j["conn_requests"], 2, "the new connection is reused")


# ---------------------------------------------------------------- client side, HTTP/1.1 backend

@S.case("h2c client: GET is answered over HTTP/2; the backend sees HTTP/1.1 with Host = :authority")
def _():
    r = h2("/client/get?a=b", "h1.example")
    j = echoed(r, "h1-echo")
    is_h2(r)
    eq(j["proto"], "HTTP/1.1", "protocol the HTTP/1.1 backend saw")
    eq(j["host"], "h1.example", "Host the backend saw")
    eq(j["path"], "/client/get?a=b", "path")
    eq(j["method"], "GET", "method")
    eq(r.header("X-Echo-Name"), "h1-echo", "x-echo-name response header")


@S.case("h2c client: POST of a 1 MiB body arrives whole")
def _():
    r = h2("/client/post", "h1.example", data=BODY)
    j = echoed(r, "h1-echo")
    is_h2(r)
    eq(j["method"], "POST", "method")
    eq((j["body_bytes"], j["body_sha256"]), (MIB, sha(BODY)), "body length and sha256")


@S.case("h2c client: an upload without content-length (curl -T -) arrives whole")
def _():
    n = 300000
    r = h2("/client/stream", "h1.example", stdin=gwtest.zero_stream(n, 65536))
    j = echoed(r, "h1-echo")
    is_h2(r)
    eq(j["method"], "PUT", "method")
    eq((j["body_bytes"], j["body_sha256"]), (n, gwtest.sha256_of_stream(n)), "body length and sha256")


@S.case("h2c client: HEAD")
def _():
    r = h2("/client/head", "h1.example", method="HEAD")
    eq((r.status, r.rc), (200, 0), "status, curl exit (%s)" % r.err)
    is_h2(r)
    eq(r.header("X-Echo-Name"), "h1-echo", "x-echo-name")


@S.case("h2c client: 404 when no route matches")
def _():
    r = h2("/", "no-route.example")
    eq((r.status, r.rc), (404, 0), "status, curl exit (%s)" % r.err)
    is_h2(r)


@S.case("h2c client: a RequestRedirect filter answers 302 with Location")
def _():
    r = h2("/redirect/x", "h1.example")
    eq((r.status, r.rc), (302, 0), "status, curl exit (%s)" % r.err)
    is_h2(r)
    loc = r.header("Location") or ""
    check(loc.startswith("http://elsewhere.example") and loc.endswith("/redirect/x"),
          "location: %r" % loc)


@S.case("h2c client: 5 MB (Content-Length) and 300 kB (chunked upstream) responses arrive whole")
def _():
    for path, n in (("/big?bytes=5000000", 5000000), ("/big?bytes=300000&chunked=1", 300000)):
        r = h2(path, "h1.example")
        eq((r.status, r.rc), (200, 0), "%s: status, curl exit (%s)" % (path, r.err))
        is_h2(r, path)
        eq((len(r.body), r.body.count(b"x")), (n, n), "%s: body size, 'x' bytes" % path)
        check(r.header("Transfer-Encoding") is None, "%s: transfer-encoding in an HTTP/2 response" % path)


@S.case("h2c client: request headers reach the HTTP/1.1 backend")
def _():
    r = h2("/client/headers", "h1.example", headers=["X-Custom: one", "X-Custom: two",
                                                     "Accept-Language: fr"])
    j = echoed(r, "h1-echo")
    hs = j["headers"]
    check(hs.get("x-custom") in (["one", "two"], ["one, two"]), "x-custom: %r" % hs.get("x-custom"))
    eq(hs.get("accept-language"), ["fr"], "accept-language")
    eq(hs.get("host"), ["h1.example"], "one Host header, from :authority")


@S.case("h2c client: 100 sequential requests on one connection (h2load -c 1 -m 1)")
def _():
    r = gwtest.h2load(E["env"].url(E["port"], "/client/seq"), 100, 1, 1,
                      headers=[":authority: h1.example"], timeout=T * 3)
    eq((r["succeeded"], r["failed"], r["errored"], r.get("2xx")), (100, 0, 0, 100),
       "succeeded, failed, errored, 2xx (%s)" % r["output"].strip().splitlines()[-8:])


@S.case("h2c client: h2load -n 500 -c 4 -m 1 all succeed")
def _():
    r = gwtest.h2load(E["env"].url(E["port"], "/client/load"), 500, 4, 1,
                      headers=[":authority: h1.example"], timeout=T * 6)
    eq((r["succeeded"], r["failed"], r["errored"], r.get("2xx")), (500, 0, 0, 500),
       "succeeded, failed, errored, 2xx")


@S.case("h2c client: the server SETTINGS announce SETTINGS_MAX_CONCURRENT_STREAMS 1")
def _():
    s = socket.create_connection(("127.0.0.1", E["port"]), timeout=T)
    got = b""
    settings = None
    try:
        s.sendall(gwtest.H2_PREFACE + gwtest.h2_frame(4, 0, 0))
        deadline = time.monotonic() + (10 if WRAPPED else 3)
        while settings is None and time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            got += b
            for ftype, flags, stream, payload in gwtest.h2_frames(got):
                if ftype == 4 and not flags & 1:
                    settings = {int.from_bytes(payload[i:i + 2], "big"):
                                int.from_bytes(payload[i + 2:i + 6], "big")
                                for i in range(0, len(payload) - 5, 6)}
                    break
    finally:
        s.close()
    check(settings is not None, "no SETTINGS frame from the server: %r" % got[:100])
    eq(settings.get(3), 1, "SETTINGS_MAX_CONCURRENT_STREAMS (%r)" % settings)


@S.case("h2c client: garbage after the preface closes the connection (GOAWAY); HTTP/1.1 still works")
def _():
    wait = 10 if WRAPPED else 3
    got, closed = gwtest.raw(E["port"], gwtest.H2_PREFACE + b"this is not an HTTP/2 frame at all\r\n\r\n" * 4,
                             timeout=wait)
    goaway = [f for f in gwtest.h2_frames(got) if f[0] == 7]
    check(closed, "the connection was not closed within %ds (got %r)" % (wait, got[:80]))
    check(goaway or not got, "bytes but no GOAWAY before the close: %r" % got[:80])
    if goaway:
        code = int.from_bytes(goaway[0][3][4:8], "big")
        check(code in (0x1, 0x6), "GOAWAY error code %#x (want PROTOCOL_ERROR or FRAME_SIZE_ERROR)" % code)
    echoed(h1("/after-garbage", "h1.example"), "h1-echo", "HTTP/1.1 on a new connection")
    check(E["env"].alive(), "gatewayd is still running")


@S.case("HTTP/1.1 clients on the same listener still work (GET, POST, keep-alive)")
def _():
    rs = gwtest.curl_many([E["env"].url(E["port"], "/h1/%d" % i) for i in range(5)],
                          host="h1.example", workdir=E["env"].dir, timeout=T)
    eq([r.status for r in rs], [200] * 5, "statuses")
    eq([r.info.get("http_version") for r in rs], ["1.1"] * 5, "versions")
    eq(rs[-1].info.get("num_connects"), 0, "the last request reused the connection")
    j = echoed(h1("/h1/post", "h1.example", data=BODY[:1000]), "h1-echo")
    eq(j["body_sha256"], sha(BODY[:1000]), "body sha256")


@S.case("h2c client: a stream beyond SETTINGS_MAX_CONCURRENT_STREAMS is refused; then a new connection works")
def _():
    c = RawH2(E["port"], T)
    try:
        c.send(c.request(1, "/client/first", "h1.example"))
        c.wait(lambda: c.ended(1), "stream 1 to end")
        eq(c.status(1), 200, "stream 1 status")
        c.send(c.request(3, "/delay?ms=300", "h1.example") + c.request(5, "/client/second", "h1.example"))
        c.wait(lambda: c.on(5, 3) or c.ended(5) or c.on(0, 7), "stream 5 refused, served, or GOAWAY")
        rst, goaway = c.on(5, 3), c.on(0, 7)
        if rst:
            # RFC 9113 5.1.2: a stream error, PROTOCOL_ERROR or REFUSED_STREAM; 3 goes on
            code = int.from_bytes(rst[0][3][:4], "big")
            check(code in (0x1, 0x7), "stream 5 RST_STREAM code %#x" % code)
            c.wait(lambda: c.ended(3), "stream 3 to end")
            eq(c.status(3), 200, "stream 3 status")
        elif goaway:
            # nghttp2 (1.52) makes this a connection error: GOAWAY PROTOCOL_ERROR, close
            code = int.from_bytes(goaway[0][3][4:8], "big")
            eq(code, 0x1, "GOAWAY error code")
            sys.stderr.write("# note: the excess stream cost the connection (GOAWAY %r)\n"
                             % goaway[0][3][8:])
        else:
            eq(c.status(5), 200, "stream 5 status (queued behind stream 3)")
    finally:
        c.close()
    echoed(h2("/client/after-excess", "h1.example"), "h1-echo", "a new connection")


@S.case("h2c client: RST_STREAM (CANCEL) of a 5 MB download; the next stream is answered or safely retryable")
def _():
    c = RawH2(E["port"], T)
    try:
        c.send(c.request(1, "/big?bytes=5000000", "h1.example"))
        c.wait(lambda: c.on(1, 0), "the first DATA frame of stream 1")
        c.send(gwtest.h2_frame(3, 0, 1, (0x8).to_bytes(4, "big")))
        c.send(c.request(3, "/client/after-cancel", "h1.example"))
        c.wait(lambda: c.ended(3) or c.on(0, 7), "stream 3 to end, or GOAWAY")
        goaway = c.on(0, 7)
        rst = c.on(3, 3)
        if rst:
            # RST_STREAM REFUSED_STREAM: not processed, safe to retry (RFC 9113 8.7)
            eq(int.from_bytes(rst[0][3][:4], "big"), 0x7, "stream 3 RST_STREAM error code")
            sys.stderr.write("# note: stream 3 was refused (REFUSED_STREAM)\n")
        elif c.ended(3):
            eq(c.status(3), 200, "stream 3 status")
            body = b"".join(f[3] for f in c.on(3, 0))
            check(b'"/client/after-cancel"' in body, "stream 3 body is its own answer: %r" % body[:120])
        else:
            # a graceful GOAWAY is allowed if it tells the client that stream 3 was not
            # processed (last_stream_id < 3, RFC 9113 6.8), so that it can retry
            last = int.from_bytes(goaway[0][3][:4], "big") & 0x7fffffff
            code = int.from_bytes(goaway[0][3][4:8], "big")
            check(last < 3, "GOAWAY last_stream_id %d: stream 3 was accepted and then dropped" % last)
            eq(code, 0, "GOAWAY error code")
            sys.stderr.write("# note: a cancelled stream cost the connection (GOAWAY NO_ERROR, "
                             "last_stream_id %d)\n" % last)
    finally:
        c.close()
    echoed(h2("/client/after-cancel", "h1.example"), "h1-echo", "the retry on a new connection")


@S.case("h2c client: a small client flow-control window (h2load -w 12 -W 14) still gets 1 MB responses")
def _():
    r = gwtest.h2load(E["env"].url(E["port"], "/big?bytes=1000000"), 3, 1, 1,
                      headers=[":authority: h1.example"], timeout=T * 3, extra=["-w", "12", "-W", "14"])
    eq((r["succeeded"], r["failed"], r["errored"]), (3, 0, 0), "succeeded, failed, errored")
    eq(r.get("data_bytes"), 3000000, "DATA bytes received")

# ---------------------------------------------------------------- both sides

@S.case("h2c client to h2c backend: GET and a 1 MiB POST")
def _():
    r = h2("/both/get", "h2.example")
    j = echoed(r, "infra-backend-v1")
    is_h2(r)
    eq((j["proto"], j["host"], j["path"]), ("HTTP/2.0", "h2.example", "/both/get"),
       "proto, :authority, :path the backend saw")
    r = h2("/both/post", "h2.example", data=BODY)
    j = echoed(r, "infra-backend-v1")
    is_h2(r)
    eq((j["method"], j["body_bytes"], j["body_sha256"]), ("POST", MIB, sha(BODY)), "method, body")


@S.case("h2c client to h2c backend: 5 MB response, 204, and RST_STREAM as 502")
def _():
    r = h2("/big?bytes=5000000&nolength=1", "h2.example")
    eq((r.status, r.rc), (200, 0), "status, curl exit (%s)" % r.err)
    eq(len(r.body), 5000000, "body size")
    r = h2("/status/204", "h2.example")
    eq((r.status, r.rc, r.body), (204, 0, b""), "204")
    r = h2("/reset", "h2.example")
    eq((r.status, r.rc), (502, 0), "RST_STREAM -> status, curl exit (%s)" % r.err)


@S.case("h2c client to h2c backend: h2load -n 200 -c 8 -m 1 all succeed")
def _():
    r = gwtest.h2load(E["env"].url(E["port"], "/both/load"), 200, 8, 1,
                      headers=[":authority: h2.example"], timeout=T * 6)
    eq((r["succeeded"], r["failed"], r["errored"], r.get("2xx")), (200, 0, 0, 200),
       "succeeded, failed, errored, 2xx")


@S.case("the access log says HTTP/2.0 for an h2c request and HTTP/1.1 for the others")
def _():
    env = E["env"]
    path = os.path.join(env.dir, "access.log")
    h1("/alog/one", "h2.example")
    h2("/alog/two", "h2.example")

    def lines():
        try:
            with open(path, "rb") as f:
                got = [json.loads(l) for l in f.read().decode().splitlines()]
        except FileNotFoundError:
            return None
        got = {j["path"]: j["protocol"] for j in got if j.get("path", "").startswith("/alog/")}
        return got if len(got) == 2 else None
    got = gwtest.wait_for(lines, 10, "two access log lines")
    eq(got, {"/alog/one": "HTTP/1.1", "/alog/two": "HTTP/2.0"}, "protocols logged")


@S.case("h2c client to h2c backend: with te: trailers (as gRPC sends), trailers reach the client (nghttp -v)")
def _():
    r = gwtest.nghttp([E["env"].url(E["port"], "/trailers")],
                      ["-v", "-H", ":authority: h2.example", "-H", "te: trailers"], timeout=T)
    eq(r.returncode, 0, "nghttp exit (%s)" % r.stderr[-200:])
    check('"name": "infra-backend-v1"' in r.stdout and ":status: 200" in r.stdout,
          "the JSON body and a 200 arrive: %r" % r.stdout[-300:])
    check('"te": ["trailers"]' in r.stdout, "the backend saw te: trailers: %r" % r.stdout[-600:])
    # the trailer arrives in a HEADERS frame after the DATA
    tail = r.stdout[r.stdout.rfind("DATA frame"):]
    check("grpc-status: 0" in tail, "grpc-status trailer after the body: %r" % r.stdout[-600:])


S.run()
