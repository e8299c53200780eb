# SPDX-License-Identifier: MIT
# test_websocket: HTTP/1.1 Upgrade (RFC 9110 §7.8) and WebSocket (RFC 6455) through
# the real gatewayd, in front of tests/tools/ws_echo.py: the handshake with filters
# applied, text/binary/fragmented/1 MiB messages both ways, the close handshake,
# half-closes, refused upgrades relayed as they are, h2c never forwarded, the idle
# timeout of a silent tunnel, a reload while tunnels are open, 50 tunnels at once.
import base64
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

import gwtest
from gwtest import check, eq, within, listener, match, rule, httproute

sys.path.insert(0, os.path.join(gwtest.SRCDIR, "tests", "tools"))
import ws_echo  # noqa: E402
from ws_echo import OP_BINARY, OP_TEXT  # noqa: E402

WS_ECHO = os.path.join(gwtest.SRCDIR, "tests", "tools", "ws_echo.py")
S = gwtest.Suite("websocket")
E = {}


def start_ws(env, name, tls=None):
    argv = [gwtest.PYTHON, WS_ECHO, "--name", name]
    if tls:
        argv += ["--tls-cert", tls[0], "--tls-key", tls[1]]
    p = gwtest.spawn(argv, stdout=subprocess.PIPE,
                     stderr=open(os.path.join(env.dir, "ws-%s.stderr" % name), "wb"),
                     stdin=subprocess.DEVNULL)
    line = gwtest._readline_deadline(p.stdout, 10)
    m = re.match(rb"READY (\d+)", line or b"")
    check(m, "ws_echo did not start: %r" % line)
    return p, int(m.group(1))


def routes_docs(env, ws_port, extra_route=False, tag="on-upgrade"):
    ws_rule = rule(["ws"], [match("/ws")])
    ws_rule["filters"] = [
        {"type": "RequestHeaderModifier",
         "requestHeaderModifier": {"add": [{"name": "X-Filter", "value": tag}]}},
        {"type": "ResponseHeaderModifier",
         "responseHeaderModifier": {"add": [{"name": "X-Resp-Filter", "value": "yes"}]}}]
    svc_rule = {"matches": [match("/svc")],
                "backendRefs": [{"name": "infra-backend-ws", "port": 8082}]}
    routes = [httproute("ws", rules=[ws_rule, rule(["ws"], [match("/refuse")]),
                                     rule(["ws-tls"], [match("/wsb")]), svc_rule]),
              httproute("plain", rules=[rule(["a"], [match("/plain")])])]
    if extra_route:
        routes.append(httproute("later", rules=[rule(["a"], [match("/later")])]))
    return routes


def make_cert(env):
    """A self-signed certificate for ws.test (openssl CLI), or None without openssl."""
    if not shutil.which("openssl"):
        return None
    crt, key = os.path.join(env.dir, "ws.crt"), os.path.join(env.dir, "ws.key")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                        "-days", "2", "-subj", "/CN=ws.test", "-addext",
                        "subjectAltName=DNS:ws.test"], capture_output=True, timeout=30)
    check(r.returncode == 0, "openssl: %r" % r.stderr[-300:])
    return crt, key


def write_config(env, port, ws_port, extra_route=False, tag="on-upgrade"):
    listeners = [listener("http", port)]
    extra = []
    if E.get("tls_port"):
        crt, key = E["cert"]
        lst = listener("https", E["tls_port"], protocol="HTTPS")
        lst["tls"] = {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "ws-cert"}]}
        listeners.append(lst)
        with open(crt) as f, open(key) as g:
            pem = f.read()
            extra.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ws-cert"},
                          "type": "kubernetes.io/tls",
                          "stringData": {"tls.crt": pem, "tls.key": g.read()}})
        # the TLS WebSocket backend, verified against its own self-signed certificate
        extra.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ws-ca"},
                      "data": {"ca.crt": pem}})
        extra.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "BackendTLSPolicy",
                      "metadata": {"name": "ws-tls"},
                      "spec": {"targetRefs": [{"group": gwtest.ENVOY_GROUP, "kind": "Backend",
                                               "name": "ws-tls"}],
                               "validation": {"hostname": "ws.test", "caCertificateRefs": [
                                   {"group": "", "kind": "ConfigMap", "name": "ws-ca"}]}}})
        extra.append(gwtest.backend("ws-tls", port=E["wsb_port"]))
    docs = [gwtest.gatewayclass(), gwtest.gateway("gw", listeners)] + extra
    docs += routes_docs(env, ws_port, extra_route, tag)
    docs += [gwtest.backend("ws", port=ws_port), env.backend_doc("a")]
    # HTTPRouteBackendProtocolWebSocket: a Service port with appProtocol kubernetes.io/ws
    docs += [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "infra-backend-ws"},
              "spec": {"ports": [{"name": "ws", "port": 8082, "targetPort": 3000,
                                  "appProtocol": "kubernetes.io/ws"}]}},
             {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": {"name": "infra-backend-ws-1",
                           "labels": {"kubernetes.io/service-name": "infra-backend-ws"}},
              "addressType": "IPv4", "ports": [{"name": "ws", "port": ws_port}],
              "endpoints": [{"addresses": ["127.0.0.1"]}]}]
    env.write_docs("gateway.yaml", *docs)


@S.setup
def setup():
    env = S.env("websocket", workers=2, limits={"drain_timeout": "2s"})
    env.echo("a")
    ws_proc, ws_port = start_ws(env, "ws")
    port = gwtest.free_port()
    cert = make_cert(env)
    if cert:
        wsb_proc, wsb_port = start_ws(env, "wsb", tls=cert)
        E.update(cert=cert, tls_port=gwtest.free_port(), wsb_proc=wsb_proc, wsb_port=wsb_port)
    write_config(env, port, ws_port)
    env.start()
    # A second gatewayd whose idle_timeout is short, for the idle tunnel case.
    idle = S.env("websocket-idle", workers=1, limits={"idle_timeout": "1s"})
    idle_port = gwtest.free_port()
    docs = [gwtest.gatewayclass(), gwtest.gateway("gw", [listener("http", idle_port)]),
            httproute("ws", rules=[rule(["ws"], [match("/")])]), gwtest.backend("ws", port=ws_port)]
    idle.write_docs("gateway.yaml", *docs)
    idle.start()
    E.update(env=env, port=port, ws_port=ws_port, ws_proc=ws_proc, idle=idle,
             idle_port=idle_port)


@S.teardown
def teardown():
    for k in ("ws_proc", "wsb_proc"):
        if k in E:
            gwtest.kill_proc(E[k])


def client(path="/ws", **kw):
    return ws_echo.Client(E["port"], path, **kw)


def opened(path="/ws", **kw):
    c = client(path, **kw)
    check(c.accepted(), "handshake: status %d, head %r" % (c.status, c.head[:300]))
    return c


@S.case("the handshake passes with Upgrade and Connection kept and the route's filters applied")
def _():
    c = opened(headers=[("Sec-WebSocket-Protocol", "chat")])
    try:
        eq(c.fields.get("upgrade", "").lower(), "websocket", "Upgrade in the 101")
        check("upgrade" in c.fields.get("connection", "").lower(),
              "Connection: upgrade in the 101: %r" % c.fields.get("connection"))
        eq(c.fields.get("x-resp-filter"), "yes", "ResponseHeaderModifier on the 101")
        seen = base64.b64decode(c.fields["x-req-head"]).decode("latin-1").lower()
        for want in ("\r\nupgrade: websocket\r\n", "\r\nconnection: upgrade\r\n",
                     "\r\nx-filter: on-upgrade\r\n", "\r\nsec-websocket-key: ",
                     "\r\nsec-websocket-protocol: chat\r\n", "\r\nx-forwarded-for: 127.0.0.1"):
            check(want in seen, "the backend saw %r in %r" % (want, seen))
        c.send("hello")
        eq(c.recv(), (OP_TEXT, b"hello"), "echo after the handshake")
    finally:
        c.close()


@S.case("text, binary, empty and fragmented messages and pings are echoed in order")
def _():
    c = opened()
    try:
        c.send("héllo wörld")
        c.send(bytes(range(256)))
        c.send(b"")
        c.send("x" * 70000, fragment=1000)
        eq(c.recv(), (OP_TEXT, "héllo wörld".encode()), "text")
        eq(c.recv(), (OP_BINARY, bytes(range(256))), "binary")
        eq(c.recv(), (OP_BINARY, b""), "empty binary")
        eq(c.recv(), (OP_TEXT, b"x" * 70000), "fragmented text, 70000 bytes")
        eq(c.ping(b"are you there"), b"are you there", "pong payload")
        for i in range(100):
            c.send("m%d" % i)
        for i in range(100):
            eq(c.recv(), (OP_TEXT, ("m%d" % i).encode()), "message %d of 100" % i)
    finally:
        c.close()


@S.case("a 1 MiB message goes both ways intact (binary and text)")
def _():
    c = opened()
    try:
        blob = os.urandom(1 << 20)
        c.send(blob)
        op, got = c.recv()
        eq(op, OP_BINARY, "opcode")
        eq(len(got), len(blob), "length")
        check(got == blob, "1 MiB binary message differs after the round trip")
        text = ("0123456789abcdef" * 65536)
        c.send(text)
        eq(c.recv(), (OP_TEXT, text.encode()), "1 MiB text message")
    finally:
        c.close()


@S.case("the close handshake completes and both TCP connections end")
def _():
    c = opened()
    try:
        c.send("bye")
        eq(c.recv(), (OP_TEXT, b"bye"), "echo")
        code, eof = c.close_handshake(1001)
        eq(code, 1001, "close code echoed by the backend")
        check(eof, "gatewayd closed the client connection after the backend closed")
    finally:
        c.close()


@S.case("a half-close from the backend reaches the client, which can still send")
def _():
    c = opened()
    try:
        c.send("shutdown-write")
        eq(c.recv(), (OP_TEXT, b"shutdown-write"), "echo")
        c.sock.settimeout(5)
        eq(c.sock.recv(10), b"", "EOF after the backend's SHUT_WR")
        c.send("still talking")   # the backend reads until we close: no error
        c.sock.shutdown(socket.SHUT_WR)
        c.sock.settimeout(5)
        try:
            rest = c.sock.recv(10)
        except ConnectionResetError:
            rest = b""
        eq(rest, b"", "nothing more after both sides closed")
    finally:
        c.close()


@S.case("wss: the tunnel runs over TLS (1 MiB both ways, close handshake)")
def _():
    if not E.get("tls_port"):
        raise gwtest.Skip("no openssl CLI to make a certificate")
    ctx = ssl.create_default_context(cafile=E["cert"][0])
    c = ws_echo.Client(E["tls_port"], "/ws", ssl_context=ctx)
    try:
        check(c.accepted(), "handshake over TLS: %r" % c.head[:200])
        seen = base64.b64decode(c.fields["x-req-head"]).decode("latin-1").lower()
        check("\r\nx-forwarded-proto: https\r\n" in seen, "X-Forwarded-Proto: %r" % seen)
        blob = os.urandom(1 << 20)
        c.send(blob)
        eq(c.recv(), (OP_BINARY, blob), "1 MiB over wss")
        code, eof = c.close_handshake(1000)
        eq(code, 1000, "close code")
        check(eof, "the TLS connection ended after the close handshake")
    finally:
        c.close()


@S.case("HTTPRouteBackendProtocolWebSocket: a Service port with appProtocol kubernetes.io/ws")
def _():
    st = E["env"].status()
    route = [r for r in st["resources"] if r["kind"] == "HTTPRoute" and r["name"] == "ws"][0]
    conds = {c["type"]: c for c in route["status"]["parents"][0]["conditions"]}
    eq(conds["ResolvedRefs"]["status"], "True", "ResolvedRefs (%s)" % conds["ResolvedRefs"].get("message"))
    c = opened("/svc")
    try:
        c.send("text frame")
        eq(c.recv(), (OP_TEXT, b"text frame"), "text echo")
        c.send(b"\x00\x01binary")
        eq(c.recv(), (OP_BINARY, b"\x00\x01binary"), "binary echo")
    finally:
        c.close()


@S.case("a tunnel to a backend behind a BackendTLSPolicy runs over that TLS session")
def _():
    if not E.get("tls_port"):
        raise gwtest.Skip("no openssl CLI to make a certificate")
    c = opened("/wsb")
    try:
        eq(c.fields.get("x-req-head") is not None, True, "the TLS backend answered the upgrade")
        for msg in (b"over tls", os.urandom(300000)):
            c.send(msg)
            eq(c.recv(), (OP_BINARY, msg), "echo of %d bytes" % len(msg))
        code, eof = c.close_handshake(1000)
        eq(code, 1000, "close code")
    finally:
        c.close()


@S.case("a backend reset inside a tunnel closes the client connection")
def _():
    c = opened()
    try:
        c.send("reset-now")
        c.sock.settimeout(5)
        try:
            got = c.sock.recv(10)
        except ConnectionResetError:
            got = b""
        eq(got, b"", "the client connection ends")
    finally:
        c.close()


@S.case("a refused upgrade (200, then 400) is relayed as is and the connection stays HTTP")
def _():
    for code in (200, 400):
        c = client("/refuse/%d" % code)
        try:
            eq(c.status, code, "status relayed")
            eq(c.body, b"upgrade refused\n", "body relayed")
            check("upgrade" not in c.fields.get("connection", "").lower(),
                  "no Connection: upgrade in a refusal: %r" % c.fields)
            # The same connection carries a plain request next.
            c.sock.sendall(b"GET /plain/next HTTP/1.1\r\nHost: ws.test\r\n\r\n")
            head = c.rd.read_head()
            eq(gwtest.status_line(head), 200, "next request on the same connection")
        finally:
            c.close()


@S.case("an upgrade the backend ignores gets its ordinary answer, keep-alive goes on")
def _():
    s = socket.create_connection(("127.0.0.1", E["port"]), timeout=5)
    try:
        req = (b"GET /plain/x HTTP/1.1\r\nHost: ws.test\r\nConnection: upgrade\r\n"
               b"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               b"Sec-WebSocket-Version: 13\r\n\r\n")
        s.sendall(req + b"GET /plain/y HTTP/1.1\r\nHost: ws.test\r\n\r\n")
        got = b""
        deadline = time.monotonic() + 5
        while gwtest.complete_responses(got) < 2 and time.monotonic() < deadline:
            b = s.recv(65536)
            if not b:
                break
            got += b
        rs = gwtest.parse_responses(got)
        eq([r[0] for r in rs], [200, 200], "statuses of both requests")
        j = json.loads(rs[0][2])
        eq(j["headers"].get("upgrade"), ["websocket"], "Upgrade forwarded to the backend")
        eq(json.loads(rs[1][2])["path"], "/plain/y", "second request")
    finally:
        s.close()


@S.case("h2c upgrades are not forwarded (the request is served as HTTP/1.1)")
def _():
    r = E["env"].curl(E["port"], "/plain/h2c", headers=[
        ("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
        ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")], extra=["--http1.1"])
    eq(r.status, 200, "status (%s)" % r.err)
    h = r.json()["headers"]
    check("upgrade" not in h, "Upgrade reached the backend: %r" % h)
    check("http2-settings" not in h, "HTTP2-Settings reached the backend: %r" % h)


@S.case("an upgrade request with a chunked body is forwarded without the upgrade")
def _():
    s = socket.create_connection(("127.0.0.1", E["port"]), timeout=5)
    try:
        s.sendall(b"POST /ws HTTP/1.1\r\nHost: ws.test\r\nConnection: upgrade\r\n"
                  b"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  b"Sec-WebSocket-Version: 13\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"3\r\nabc\r\n0\r\n\r\n")
        got = b""
        while gwtest.complete_responses(got) < 1:
            b = s.recv(65536)
            if not b:
                break
            got += b
        rs = gwtest.parse_responses(got)
        eq(rs[0][0], 200, "status")
        eq(rs[0][2], b"no upgrade: -\n", "the backend saw no Upgrade field")
    finally:
        s.close()


@S.case("an upgrade request with a Content-Length body switches after the body")
def _():
    s = socket.create_connection(("127.0.0.1", E["port"]), timeout=5)
    try:
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        s.sendall(b"POST /ws HTTP/1.1\r\nHost: ws.test\r\nConnection: upgrade\r\n"
                  b"Upgrade: websocket\r\nSec-WebSocket-Key: " + key.encode() +
                  b"\r\nSec-WebSocket-Version: 13\r\nContent-Length: 5\r\n\r\nhello")
        rd = ws_echo.Reader(s)
        head = rd.read_head()
        eq(gwtest.status_line(head), 101, "status")
        s.sendall(ws_echo.encode_frame(OP_TEXT, b"after body", mask=True))
        eq(ws_echo.read_message(rd, expect_mask=False), (OP_TEXT, b"after body"), "echo")
    finally:
        s.close()


@S.case("reloads that change other routes, then the tunnel's own, leave it working")
def _():
    env = E["env"]
    c = opened()
    try:
        c.send("before")
        eq(c.recv(), (OP_TEXT, b"before"), "echo before the reload")
        write_config(env, E["port"], E["ws_port"], extra_route=True)
        env.reload()
        r = env.curl(E["port"], "/later/x")
        eq(r.status, 200, "the new route serves")
        c.send("after")
        eq(c.recv(), (OP_TEXT, b"after"), "echo after the reload")
        write_config(env, E["port"], E["ws_port"], extra_route=False, tag="v2")
        env.reload()
        eq(env.curl(E["port"], "/later/x").status, 404, "the removed route is gone")
        c.send(os.urandom(100000))
        eq(len(c.recv()[1]), 100000, "echo after the second reload")
        c2 = opened()
        try:
            seen = base64.b64decode(c2.fields["x-req-head"]).decode("latin-1").lower()
            check("\r\nx-filter: v2\r\n" in seen, "a new tunnel uses the new route: %r" % seen)
        finally:
            c2.close()
        write_config(env, E["port"], E["ws_port"])
        env.reload()
        c.send("still")
        eq(c.recv(), (OP_TEXT, b"still"), "echo after the third reload")
    finally:
        c.close()


@S.case("50 tunnels at once each echo their own messages")
def _():
    errors = []
    barrier = threading.Barrier(50, timeout=30)

    def one(i):
        try:
            c = opened()
            try:
                barrier.wait()
                for k in range(5):
                    msg = ("tunnel %d message %d " % (i, k)).encode() * (i + 1)
                    c.send(msg, opcode=OP_BINARY)
                    got = c.recv()
                    if got != (OP_BINARY, msg):
                        errors.append("tunnel %d message %d: got %r" % (i, k, got[1][:40]))
                        return
                code, _ = c.close_handshake()
                if code != 1000:
                    errors.append("tunnel %d: close code %r" % (i, code))
            finally:
                c.close()
        except Exception as e:
            errors.append("tunnel %d: %s" % (i, e))
            try:
                barrier.abort()
            except Exception:
                pass

    ts = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    check(not errors, "; ".join(errors[:5]))


@S.case("a silent tunnel is closed after idle_timeout; a talking one is not")
def _():
    port = E["idle_port"]
    talk = ws_echo.Client(port, "/ws")
    silent = ws_echo.Client(port, "/ws")
    try:
        check(talk.accepted() and silent.accepted(), "handshakes")
        silent.send("once")
        eq(silent.recv(), (OP_TEXT, b"once"), "echo")
        t0 = time.monotonic()
        for i in range(6):   # 3 s of traffic, more than the 1 s idle timeout
            talk.send("tick %d" % i)
            eq(talk.recv(), (OP_TEXT, ("tick %d" % i).encode()), "tick %d" % i)
            time.sleep(0.5)
        silent.sock.settimeout(10)
        try:
            eof = silent.sock.recv(10)
        except ConnectionResetError:
            eof = b""
        eq(eof, b"", "the silent tunnel was closed")
        within(time.monotonic() - t0, 0.5, 8, "seconds until the silent tunnel closed")
        talk.send("still there")
        eq(talk.recv(), (OP_TEXT, b"still there"), "the talking tunnel lives on")
    finally:
        talk.close()
        silent.close()


@S.case("no connection is left open once the clients are gone")
def _():
    def none_active():
        m = E["env"].metrics()
        return gwtest.metric_sum(m, "gatewayd_connections_active") == 0
    gwtest.wait_for(none_active, 15, "gatewayd_connections_active == 0")
    m = E["env"].metrics()
    n = gwtest.metric_sum(m, "gatewayd_http_requests_total", route="default/ws", code_class="1xx")
    check(n >= 50, "101 responses counted in code_class 1xx: %r" % n)



@S.case("SIGTERM: an open tunnel is closed after drain_timeout, gatewayd exits 0")
def _():
    env = E["env"]
    c = opened()
    try:
        c.send("draining")
        eq(c.recv(), (OP_TEXT, b"draining"), "echo")
        t0 = time.monotonic()
        eq(env.stop(), 0, "exit status")
        within(time.monotonic() - t0, 1.5, 15, "seconds until gatewayd exited")
        c.sock.settimeout(5)
        try:
            got = c.sock.recv(10)
        except ConnectionResetError:
            got = b""
        eq(got, b"", "the tunnel was closed")
    finally:
        c.close()


@S.case("gatewayd stops cleanly with no sanitizer report")
def _():
    for env in (E["env"], E["idle"]):
        eq(env.stop(), 0, "exit status of %s" % env.name)
        err = env.stderr_text()
        for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            check(bad not in err, "%s in the stderr of %s:\n%s" % (bad, env.name, err[-3000:]))


S.run()
