# SPDX-License-Identifier: MIT
# test_backend_faults: what a client sees when its backend misbehaves (DESIGN.md, "HTTP
# behaviour visible to clients"): refused (502), reset before a response (502), reset
# or closed in the middle of a body (the client connection is cut, no made-up status),
# silent (504 after the route's timeout, or after idle_timeout with none configured),
# garbage or contradictory framing (502). Each fault runs while other clients use a
# healthy backend through the same gateway, and those must not notice.
import socket
import struct
import threading
import time

import gwtest
from gwtest import check, eq, within, listener, match, rule, httproute

S = gwtest.Suite("backend_faults")
E = {}
IDLE = 2.0   # [limits] idle_timeout of this gateway (seconds)


class FaultServer:
    """A backend in the test process; the request path picks the fault."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closing = True
        self.sock.close()

    def _accept(self):
        while not self.closing:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _reset(c):
        # SO_LINGER with a zero timeout: close() sends a RST instead of a FIN.
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()

    def _serve(self, c):
        c.settimeout(20)
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                b = c.recv(65536)
                if not b:
                    c.close()
                    return
                buf += b
            path = buf.split(b" ", 2)[1].decode()
            fault = path.split("/")[2] if path.count("/") >= 2 else ""
            head200 = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
            if fault == "reset-before":
                self._reset(c)
                return
            if fault == "close-before":
                c.close()
                return
            if fault == "reset-mid":
                c.sendall(head200 + b"x" * 1000)
                time.sleep(0.2)
                self._reset(c)
                return
            if fault == "close-mid":
                c.sendall(head200 + b"x" * 1000)
                time.sleep(0.2)
                c.close()
                return
            if fault == "close-mid-chunked":
                c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"3e8\r\n" + b"y" * 1000 + b"\r\n")
                time.sleep(0.2)
                c.close()
                return
            if fault == "hang":
                # Silent until gatewayd gives up (the test is bounded by its own timeouts).
                while c.recv(65536):
                    pass
                c.close()
                return
            canned = {
                "garbage": b"HELLO THERE\r\n\r\n",
                "bad-status": b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
                "bad-cl": b"HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\nhello",
                "two-cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
                "cl-and-te": (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                "bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n",
                "unexpected-101": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\n\r\n",
            }
            if fault in canned:
                c.sendall(canned[fault])
                time.sleep(0.2)
            c.close()
        except OSError:
            try:
                c.close()
            except OSError:
                pass


@S.setup
def setup():
    env = S.env("backend_faults", workers=2, limits={"idle_timeout": "%gs" % IDLE})
    env.echo("ok")
    fs = FaultServer()
    dead = gwtest.free_port()   # nobody listens there
    port = gwtest.free_port()

    def timed(path, timeouts):
        r = rule(["fault"], [match(path)])
        r["timeouts"] = timeouts
        return r
    routes = [httproute("faults", rules=[
        rule(["ok"], [match("/ok")]),
        rule(["dead"], [match("/refused")]),
        timed("/t/hang", {"request": "1s"}),
        timed("/tb/hang", {"backendRequest": "1s"}),
        rule(["fault"], [match("/f")]),
    ])]
    docs = [gwtest.gatewayclass(), gwtest.gateway("gw", [listener("http", port)])] + routes
    docs += [env.backend_doc("ok"), gwtest.backend("fault", port=fs.port),
             gwtest.backend("dead", port=dead)]
    env.write_docs("gateway.yaml", *docs)
    env.start()
    E.update(env=env, port=port, fs=fs)


@S.teardown
def teardown():
    if "fs" in E:
        E["fs"].close()


class Bystanders:
    """Clients of the healthy backend, running while a fault happens."""

    def __init__(self, n=2):
        self.stop = False
        self.errors = []
        self.count = 0
        self.ts = [threading.Thread(target=self._run, daemon=True) for _ in range(n)]
        for t in self.ts:
            t.start()

    def _run(self):
        while not self.stop:
            try:
                got, _ = gwtest.raw(E["port"], b"GET /ok/x HTTP/1.1\r\nHost: t\r\n"
                                    b"Connection: close\r\n\r\n", timeout=5)
                st = gwtest.status_line(got)
                if st != 200:
                    self.errors.append("status %d: %r" % (st, got[:100]))
                self.count += 1
            except OSError as e:
                self.errors.append(str(e))
            time.sleep(0.02)

    def finish(self):
        self.stop = True
        for t in self.ts:
            t.join(10)
        check(not self.errors, "healthy requests failed during the fault: %s" % self.errors[:3])
        check(self.count > 0, "no healthy request completed during the fault")


def fault(path, timeout=5.0):
    """(status, whole reply bytes, closed by gatewayd, seconds) of one GET."""
    by = Bystanders()
    t0 = time.monotonic()
    try:
        got, closed = gwtest.raw(E["port"], ("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % path).encode(),
                                 timeout=timeout)
    finally:
        took = time.monotonic() - t0
        by.finish()
    return gwtest.status_line(got), got, closed, took


def cut_short(got, closed, what):
    eq(gwtest.status_line(got), 200, "%s: the backend's status was relayed" % what)
    body = got[got.index(b"\r\n\r\n") + 4:] if b"\r\n\r\n" in got else b""
    check(closed, "%s: the client connection was closed" % what)
    check(len(body) < 100000, "%s: a body of %d bytes cannot be complete" % (what, len(body)))
    check(b"HTTP/1.1 5" not in got, "%s: a made-up status followed the cut: %r" % (what, got[-200:]))


@S.case("502 when the backend refuses the connection")
def _():
    st, got, _, _ = fault("/refused/x")
    eq(st, 502, "status")


@S.case("502 when the backend resets the connection before a response")
def _():
    st, got, _, _ = fault("/f/reset-before")
    eq(st, 502, "status")


@S.case("502 when the backend closes the connection before a response")
def _():
    st, got, _, _ = fault("/f/close-before")
    eq(st, 502, "status")


@S.case("a reset in the middle of a body cuts the client connection (no fake status)")
def _():
    st, got, closed, _ = fault("/f/reset-mid")
    cut_short(got, closed, "reset mid-body")


@S.case("a close in the middle of a Content-Length body cuts the client connection")
def _():
    st, got, closed, _ = fault("/f/close-mid")
    cut_short(got, closed, "close mid-body")


@S.case("a close in the middle of a chunked body cuts the client connection")
def _():
    st, got, closed, _ = fault("/f/close-mid-chunked")
    eq(st, 200, "status relayed")
    check(closed, "client connection closed")
    check(not got.endswith(b"0\r\n\r\n"), "the chunked body must not look complete: %r" % got[-50:])


@S.case("504 after the route's timeouts.request when the backend never answers")
def _():
    st, got, _, took = fault("/t/hang/x")
    eq(st, 504, "status")
    within(took, 0.8, 4.0, "seconds until the 504")


@S.case("504 after the route's timeouts.backendRequest when the backend never answers")
def _():
    st, got, _, took = fault("/tb/hang/x")
    eq(st, 504, "status")
    within(took, 0.8, 4.0, "seconds until the 504")


@S.case("504 after idle_timeout when no route timeout is configured")
def _():
    st, got, _, took = fault("/f/hang", timeout=IDLE + 6)
    eq(st, 504, "status")
    within(took, IDLE - 0.2, IDLE + 4, "seconds until the 504")


@S.case("502 for responses that are not HTTP or whose framing is broken")
def _():
    for f in ("garbage", "bad-status", "bad-cl", "two-cl", "cl-and-te", "bad-chunk",
              "unexpected-101"):
        st, got, _, _ = fault("/f/" + f)
        eq(st, 502, "status for %s (%r)" % (f, got[:80]))


@S.case("the gateway is healthy after all the faults")
def _():
    r = E["env"].curl(E["port"], "/ok/after")
    eq(r.status, 200, "status")

    def none_active():
        m = E["env"].metrics()
        return gwtest.metric_sum(m, "gatewayd_connections_active") == 0
    gwtest.wait_for(none_active, 15, "gatewayd_connections_active == 0")


@S.case("gatewayd stops cleanly with no sanitizer report")
def _():
    env = E["env"]
    eq(env.stop(), 0, "exit status")
    err = env.stderr_text()
    for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        check(bad not in err, "%s in gatewayd's stderr:\n%s" % (bad, err[-3000:]))


S.run()
