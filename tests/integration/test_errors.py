# SPDX-License-Identifier: MIT
# test_errors: the error responses of DESIGN.md "HTTP behaviour visible to clients"
# (404, 500, 502, 400, 431, 413, 408), whether the connection is closed where it says
# so, and that a broken backend or client does not disturb other traffic.
import time

import gwtest
from gwtest import backend, backend_ref, check, eq, httproute, match, rule

S = gwtest.Suite("errors")
E = {}
HOST = b"Host: 127.0.0.1\r\n"


@S.setup
def setup():
    env = S.env("errors", workers=1, limits={
        "max_header_bytes": "4k", "max_headers": "20", "max_body_bytes": "1m",
        "header_timeout": "1s", "idle_timeout": "2s", "connect_timeout": "1s",
    })
    env.echo("a")
    port = gwtest.free_port()
    dead_port = gwtest.free_port()  # nobody listens there: connection refused
    E.update(env=env, port=port)
    routes = [httproute("errors", rules=[
        rule(["a"], [match("/ok")]),
        rule([backend_ref("nosuch")], [match("/missing")]),
        rule([("a", 0)], [match("/allzero")]),
        rule([], [match("/norefs")]),
        rule(["dead"], [match("/dead")]),
        rule([("a", 1), ("nosuch", 1)], [match("/half")]),
        rule(["a"], [match("/status")]),
        rule(["a"], [match("/garbage")]),
        rule(["a"], [match("/close")]),
        rule(["a"], [match("/upload")]),
    ])]
    docs = [gwtest.gatewayclass(), gwtest.gateway("gw", [gwtest.listener("http", port)])]
    docs += routes + [env.backend_doc("a"), backend("dead", port=dead_port)]
    env.write_docs("gateway.yaml", *docs)
    env.start()


def get(path, **kw):
    return E["env"].curl(E["port"], path, **kw)


def raw(data, **kw):
    return gwtest.raw(E["port"], data, **kw)


@S.case("404 when no route matches")
def _():
    eq(get("/nothing/here").status, 404, "status")
    eq(get("/").status, 404, "status of /")


@S.case("500 when the backendRef does not resolve (BackendNotFound)")
def _():
    eq(get("/missing").status, 500, "status")


@S.case("500 when every weight is 0")
def _():
    eq(get("/allzero").status, 500, "status")


@S.case("500 for a rule without backendRefs")
def _():
    eq(get("/norefs").status, 500, "status")


@S.case("one valid and one unresolved backendRef: about half the requests get 500")
def _():
    rs = gwtest.curl_many([E["env"].url(E["port"], "/half") for _ in range(100)])
    codes = [r.status for r in rs]
    eq(set(codes) - {200, 500}, set(), "unexpected statuses")
    check(25 <= codes.count(500) <= 75, "500s: %d of 100" % codes.count(500))
    eq(set(r.backend() for r in rs if r.status == 200), {"a"}, "the valid share")


@S.case("502 when the backend refuses the connection")
def _():
    t0 = time.monotonic()
    eq(get("/dead").status, 502, "status")
    check(time.monotonic() - t0 < 3, "a refused connection took %.1fs" % (time.monotonic() - t0))


@S.case("502 when the backend answers garbage")
def _():
    eq(get("/garbage").status, 502, "status")


@S.case("502 when the backend closes without answering")
def _():
    eq(get("/close").status, 502, "status")


@S.case("backend status codes are not rewritten (a backend 500 stays 500)")
def _():
    r = get("/status/500")
    eq(r.status, 500, "status")
    eq(r.json()["name"], "a", "body from the backend")


@S.case("a dead backend does not affect other routes, even on the same connection")
def _():
    paths = ["/dead", "/ok/1", "/garbage", "/ok/2", "/close", "/ok/3", "/missing", "/ok/4"]
    rs = gwtest.curl_many([E["env"].url(E["port"], p) for p in paths])
    eq([r.status for r in rs], [502, 200, 502, 200, 502, 200, 500, 200], "statuses")
    eq(get("/ok").backend(), "a", "afterwards")


def expect_400_closed(req, what):
    data, closed = raw(req, timeout=3)
    eq(gwtest.status_line(data), 400, "%s: status (%r)" % (what, data[:80]))
    check(closed, "%s: connection left open after 400" % what)


@S.case("400 + close: Content-Length and Transfer-Encoding together (RFC 9112 6.3)")
def _():
    expect_400_closed(b"POST /ok HTTP/1.1\r\n" + HOST +
                      b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"0\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\n", "CL+TE")


@S.case("400 + close: conflicting Content-Length values")
def _():
    expect_400_closed(b"POST /ok HTTP/1.1\r\n" + HOST +
                      b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "two CL")


@S.case("400 + close: non-numeric Content-Length")
def _():
    expect_400_closed(b"POST /ok HTTP/1.1\r\n" + HOST + b"Content-Length: 5x\r\n\r\nhello",
                      "bad CL")


@S.case("400 + close: missing Host in HTTP/1.1 (RFC 9112 3.2)")
def _():
    expect_400_closed(b"GET /ok HTTP/1.1\r\nX-A: b\r\n\r\n", "no Host")


@S.case("400 + close: two Host headers")
def _():
    expect_400_closed(b"GET /ok HTTP/1.1\r\n" + HOST + HOST + b"\r\n", "two Host")


@S.case("400 + close: whitespace before the colon (RFC 9112 5.1)")
def _():
    expect_400_closed(b"GET /ok HTTP/1.1\r\nHost : x\r\n\r\n", "space before colon")


@S.case("400 + close: invalid header field name")
def _():
    expect_400_closed(b"GET /ok HTTP/1.1\r\n" + HOST + b"Bad Header: y\r\n\r\n", "space in name")


@S.case("400 + close: malformed request line")
def _():
    expect_400_closed(b"HELLO\r\n\r\n", "request line")
    expect_400_closed(b"GET /ok HTTP/1.1 extra\r\n" + HOST + b"\r\n", "extra token")


@S.case("400 + close: control character in a header value")
def _():
    expect_400_closed(b"GET /ok HTTP/1.1\r\n" + HOST + b"X-A: a\x01b\r\n\r\n", "CTL in value")


@S.case("400 + close: bad chunk size")
def _():
    data, closed = raw(b"POST /upload HTTP/1.1\r\n" + HOST +
                       b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", timeout=3)
    check(gwtest.status_line(data) in (400, 502), "status (%r)" % data[:80])
    check(closed, "connection left open after a framing error")


@S.case("the gateway still serves after malformed input")
def _():
    eq(get("/ok").backend(), "a", "backend")


@S.case("431 when the header section exceeds max_header_bytes")
def _():
    r = get("/ok", headers=["X-Big: " + "y" * 5000])
    eq(r.status, 431, "status via curl")
    data, _ = raw(b"GET /ok HTTP/1.1\r\n" + HOST + b"X-Big: " + b"z" * 8000 + b"\r\n\r\n")
    eq(gwtest.status_line(data), 431, "status via raw socket")


@S.case("431 when the request has more than max_headers fields")
def _():
    r = get("/ok", headers=["X-H%d: v" % i for i in range(25)])
    eq(r.status, 431, "status")
    r = get("/ok", headers=["X-H%d: v" % i for i in range(10)])
    eq(r.status, 200, "10 headers are fine")


@S.case("413 when Content-Length exceeds max_body_bytes")
def _():
    r = get("/upload", method="POST", data=b"q" * (2 * 1024 * 1024), timeout=10)
    eq(r.status, 413, "status (rc %d %s)" % (r.rc, r.err))
    r = get("/upload", method="POST", data=b"q" * (1024 * 1024 - 100), timeout=10)
    eq(r.status, 200, "a body under the limit")


@S.case("413 when a chunked body grows past max_body_bytes")
def _():
    blocks = [b"w" * 65536] * 32  # 2 MiB
    r = get("/upload", stdin=iter(blocks), timeout=10)
    eq(r.status, 413, "status (rc %d %s)" % (r.rc, r.err))


@S.case("408 + close when the request head does not arrive within header_timeout")
def _():
    t0 = time.monotonic()
    data, closed = raw(b"GET /ok HTTP/1.1\r\n" + HOST, timeout=6)
    took = time.monotonic() - t0
    eq(gwtest.status_line(data), 408, "status (%r)" % data[:80])
    check(closed, "connection left open after 408")
    check(0.8 <= took <= 4, "408 after %.1fs (header_timeout 1s)" % took)


@S.case("408 for a slowloris client that keeps sending header bytes")
def _():
    head = b"GET /ok HTTP/1.1\r\n" + HOST + b"".join(b"X-%d: v\r\n" % i for i in range(12))
    chunks = [head[i:i + 8] for i in range(0, len(head), 8)]  # 1 chunk per 0.2 s: ~5 s
    t0 = time.monotonic()
    data, closed = _slow_send(chunks, 0.2, 6)
    took = time.monotonic() - t0
    eq(gwtest.status_line(data), 408, "status (%r)" % data[:80])
    check(took < 4, "408 came only after %.1fs" % took)


def _slow_send(chunks, delay, timeout):
    """Sends chunks delay seconds apart until the server answers or closes."""
    s = gwtest.socket.create_connection(("127.0.0.1", E["port"]), timeout=timeout)
    got = b""
    closed = False
    try:
        s.settimeout(delay)
        for c in chunks:
            try:
                s.sendall(c)
            except OSError:
                closed = True
                break
            try:
                b = s.recv(65536)
                if not b:
                    closed = True
                    break
                got += b
            except gwtest.socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
                break
        if not closed:
            s.settimeout(timeout)
            try:
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    got += b
            except OSError:
                pass
    finally:
        s.close()
    return got, closed


@S.case("an idle keep-alive connection is closed after idle_timeout")
def _():
    s = gwtest.socket.create_connection(("127.0.0.1", E["port"]), timeout=8)
    try:
        s.sendall(b"GET /ok HTTP/1.1\r\n" + HOST + b"\r\n")
        got = b""
        while not gwtest.complete_responses(got):
            b = s.recv(65536)
            check(b, "closed before the response")
            got += b
        eq(gwtest.status_line(got), 200, "first response")
        t0 = time.monotonic()
        rest = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                rest += b
        except gwtest.socket.timeout:
            raise gwtest.Failure("connection still open after 8s (idle_timeout 2s)")
        except ConnectionResetError:
            pass
        took = time.monotonic() - t0
        check(1.5 <= took <= 5, "closed after %.1fs (idle_timeout 2s)" % took)
    finally:
        s.close()


S.run()
