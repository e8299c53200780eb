# SPDX-License-Identifier: MIT
# test_limits: the [limits] keys of gatewayd.conf, each at a small value, seen from a
# client: the status code, the close, and what the backend got. Then the limits on
# resources: at max_connections or out of file descriptors, accepting pauses without
# a busy loop and resumes when connections close; a slow reader of a 200 MB response
# does not make gatewayd buffer it (back-pressure on the backend).
import os
import resource
import socket
import threading
import time

import gwtest
import rawbackend
from gwtest import check, eq, httproute, match, rule

S = gwtest.Suite("limits", case_timeout=60)
E = {}
HOST = b"Host: x\r\n"
WRAPPED = bool(os.environ.get("GATEWAYD_WRAPPER"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process, all threads (seconds)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(TICK)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def cpu_over(pid, seconds):
    c0 = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - c0


def config(env, port, rec=None):
    docs = [gwtest.gatewayclass(), gwtest.gateway("gw", [gwtest.listener("http", port)]),
            httproute("all", rules=[rule(["a"], [match("/")])])]
    if rec is not None:
        docs.append(gwtest.backend("a", port=rec.port))
    else:
        docs.append(env.backend_doc("a"))
    env.write_docs("gateway.yaml", *docs)


@S.setup
def setup():
    env = S.env("limits", workers=1, limits={
        "header_timeout": "1s", "idle_timeout": "2s", "max_header_bytes": "4k",
        "max_headers": "20", "max_body_bytes": "1k", "max_request_line_bytes": "1k",
        "request_timeout": "2s", "max_requests_per_connection": "3"})
    env.echo("a")
    rec = rawbackend.RawBackend()
    port, rport = gwtest.free_port(), gwtest.free_port()
    E.update(env=env, port=port, rec=rec)
    config(env, port)
    env.start()
    # A second gatewayd in front of the recording backend, same limits.
    env2 = S.env("limits-rec", workers=1, limits=env.limits)
    config(env2, rport, rec)
    env2.start()
    E.update(env2=env2, rport=rport)


@S.teardown
def teardown():
    E["rec"].close()


def raw(data, **kw):
    return gwtest.raw(E["port"], data, **kw)


def rejected_before_backend(data, status):
    """Through the recording backend: status, close, and not one byte forwarded."""
    rec = E["rec"]
    rec.reset()
    got, closed = gwtest.raw(E["rport"], data, timeout=5)
    eq(gwtest.status_line(got), status, "status (%r)" % got[:80])
    check(closed, "connection left open after %d" % status)
    time.sleep(0.02)
    eq(rec.received(), b"", "bytes the backend received")


@S.case("431 + close when the header section exceeds max_header_bytes (4k)")
def _():
    rejected_before_backend(b"GET / HTTP/1.1\r\n" + HOST + b"X-Big: " + b"b" * 5000 + b"\r\n\r\n", 431)
    got, _ = raw(b"GET / HTTP/1.1\r\n" + HOST + b"X-Big: " + b"b" * 3000 + b"\r\n\r\n",
                 read_until_close=False)
    eq(gwtest.status_line(got), 200, "a 3 KiB header section is served")


@S.case("431 + close when the request has more than max_headers (20) fields")
def _():
    fields = b"".join(b"X-H%d: v\r\n" % i for i in range(21))
    rejected_before_backend(b"GET / HTTP/1.1\r\n" + HOST + fields + b"\r\n", 431)
    fields = b"".join(b"X-H%d: v\r\n" % i for i in range(19))
    got, _ = raw(b"GET / HTTP/1.1\r\n" + HOST + fields + b"\r\n", read_until_close=False)
    eq(gwtest.status_line(got), 200, "20 fields are served")


@S.case("414 + close when the request line exceeds max_request_line_bytes (1k)")
def _():
    rejected_before_backend(b"GET /" + b"a" * 1100 + b" HTTP/1.1\r\n" + HOST + b"\r\n", 414)
    # Long enough before its end arrives: 414 without waiting for the line feed.
    got, closed = raw(b"GET /" + b"a" * 2000, timeout=5)
    eq(gwtest.status_line(got), 414, "status of an unfinished long line")
    check(closed, "connection left open")
    line = b"GET /" + b"a" * (1024 - 14) + b" HTTP/1.1"
    eq(len(line), 1024, "test line length")
    got, _ = raw(line + b"\r\n" + HOST + b"\r\n", read_until_close=False)
    eq(gwtest.status_line(got), 200, "a request line of exactly 1k is served")
    got, _ = raw(b"GET /a" + line[5:] + b"\r\n" + HOST + b"\r\n")
    eq(gwtest.status_line(got), 414, "a request line of 1k + 1")


@S.case("413 + close when Content-Length exceeds max_body_bytes (1k)")
def _():
    rejected_before_backend(b"POST / HTTP/1.1\r\n" + HOST + b"Content-Length: 1025\r\n\r\n" + b"x" * 1025, 413)
    got, _ = raw(b"POST / HTTP/1.1\r\n" + HOST + b"Content-Length: 1000\r\n\r\n" + b"x" * 1000,
                 read_until_close=False)
    eq(gwtest.status_line(got), 200, "a 1000-byte body is served")


@S.case("413 + close when a chunked body grows past max_body_bytes (1k)")
def _():
    body = b"".join(b"100\r\n" + b"y" * 256 + b"\r\n" for _ in range(6)) + b"0\r\n\r\n"
    got, closed = raw(b"POST / HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n" + body,
                      timeout=5)
    eq(gwtest.status_line(got), 413, "status (%r)" % got[:80])
    check(closed, "connection left open after 413")


def slow_send(port, chunks, delay, timeout):
    """Sends chunks delay seconds apart until the server answers or closes; then
    reads until the close. Returns (bytes received, closed, seconds taken)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = b""
    closed = False
    t0 = time.monotonic()
    try:
        s.settimeout(delay)
        for c in chunks:
            try:
                s.sendall(c)
                b = s.recv(65536)
                if not b:
                    closed = True
                    break
                got += b
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
        s.settimeout(timeout)
        try:
            while not closed:
                b = s.recv(65536)
                if not b:
                    closed = True
                got += b
        except socket.timeout:
            pass
        except OSError:
            closed = True
    finally:
        s.close()
    return got, closed, time.monotonic() - t0


@S.case("slowloris: one header byte every 0.3 s gets 408 + close after header_timeout (1s)")
def _():
    head = b"GET / HTTP/1.1\r\n" + HOST + b"X-Slow: " + b"s" * 100
    got, closed, took = slow_send(E["port"], [head[:1]] + [bytes([c]) for c in head[1:]], 0.3, 5)
    eq(gwtest.status_line(got), 408, "status (%r)" % got[:80])
    check(closed, "connection left open after 408")
    gwtest.within(took, 0.8, 2.5, "seconds until the 408")


@S.case("an idle keep-alive connection is closed after idle_timeout (2s), without a response")
def _():
    s = socket.create_connection(("127.0.0.1", E["port"]), timeout=8)
    try:
        s.sendall(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
        got = b""
        while not gwtest.complete_responses(got):
            b = s.recv(65536)
            check(b, "closed before the response")
            got += b
        t0 = time.monotonic()
        rest = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                rest += b
        except ConnectionResetError:
            pass
        eq(rest, b"", "bytes sent on the idle connection")
        gwtest.within(time.monotonic() - t0, 1.5, 4, "seconds until the close")
    finally:
        s.close()


@S.case("a new connection that sends nothing is closed after header_timeout (1s), not idle_timeout")
def _():
    s = socket.create_connection(("127.0.0.1", E["port"]), timeout=8)
    t0 = time.monotonic()
    try:
        try:
            got = s.recv(100)
        except ConnectionResetError:
            got = b""
        eq(got, b"", "bytes sent on the silent connection")
        gwtest.within(time.monotonic() - t0, 0.8, 1.8, "seconds until the close")
    finally:
        s.close()


@S.case("request_timeout (2s): a body trickling in steadily gets 408 + close")
def _():
    head = b"POST / HTTP/1.1\r\n" + HOST + b"Content-Length: 100\r\n\r\n"
    # One byte every 0.4 s: never idle for idle_timeout, but 100 bytes take 40 s.
    got, closed, took = slow_send(E["port"], [head] + [b"z"] * 100, 0.4, 6)
    eq(gwtest.status_line(got), 408, "status (%r)" % got[:80])
    check(closed, "connection left open after 408")
    gwtest.within(took, 1.8, 3.5, "seconds until the 408")


@S.case("max_requests_per_connection (3): the third response says Connection: close, then the close")
def _():
    req = b"GET / HTTP/1.1\r\n" + HOST + b"\r\n"
    got, closed = raw(req * 4, timeout=5)
    resp = gwtest.parse_responses(got)
    eq([st for st, _, _ in resp], [200, 200, 200], "statuses (the fourth request is not served)")
    conn = [dict((k.lower(), v) for k, v in h).get("connection") for _, h, _ in resp]
    eq(conn, [None, None, "close"], "Connection fields")
    check(closed, "connection left open after the third response")
    # Sequentially, not pipelined: the same.
    s = socket.create_connection(("127.0.0.1", E["port"]), timeout=5)
    try:
        for i in range(3):
            s.sendall(req)
            got = b""
            while not gwtest.complete_responses(got):
                b = s.recv(65536)
                check(b, "closed before response %d" % (i + 1))
                got += b
        eq(s.recv(100), b"", "the connection closes after the third")
    finally:
        s.close()


# ---- resources

def hold(port, n):
    """n connections, each with one request answered, left open (idle)."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        socks.append(s)
    return socks


@S.case("max_connections (20): the 21st waits, gatewayd does not spin, service resumes")
def _():
    if WRAPPED:
        raise gwtest.Skip("CPU time is meaningless under a wrapper")
    env = S.env("limits-max", workers=1, limits={"max_connections": "20", "idle_timeout": "30s"})
    env.echo("a")
    port = gwtest.free_port()
    config(env, port)
    env.start()
    pid = env.gw.pid
    socks = hold(port, 20)
    try:
        for s in socks:  # each of them is really accepted and served
            s.sendall(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
        for s in socks:
            got = b""
            while not gwtest.complete_responses(got):
                b = s.recv(65536)
                check(b, "a held connection was closed")
                got += b
        extra = socket.create_connection(("127.0.0.1", port), timeout=5)
        extra.sendall(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
        extra.settimeout(1.0)
        try:
            early = extra.recv(100)
        except socket.timeout:
            early = None
        check(early is None, "the 21st connection was served (%r)" % early)
        used = cpu_over(pid, 2.0)
        print("# gatewayd CPU over 2 s at max_connections: %.3f s" % used)
        check(used < 0.2, "gatewayd used %.2f s of CPU in 2 s at the limit (busy loop?)" % used)
        socks.pop().close()
        extra.settimeout(5)
        got = b""
        while not gwtest.complete_responses(got):
            b = extra.recv(65536)
            check(b, "the waiting connection was closed")
            got += b
        eq(gwtest.status_line(got), 200, "the waiting request is served once one closes")
        extra.close()
    finally:
        for s in socks:
            s.close()
    eq(env.stop(), 0, "exit status")


@S.case("out of file descriptors: accepting pauses without spinning and recovers")
def _():
    if WRAPPED:
        raise gwtest.Skip("fd limits and CPU time are meaningless under a wrapper")
    env = S.env("limits-fd", workers=1, limits={"idle_timeout": "30s"})
    env.echo("a")
    port = gwtest.free_port()
    config(env, port)
    env.start()
    pid = env.gw.pid
    got, _ = gwtest.raw(port, b"GET / HTTP/1.1\r\n" + HOST + b"\r\n", read_until_close=False)
    eq(gwtest.status_line(got), 200, "served before the limit")
    base = fd_count(pid)
    hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)[1]
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (base + 8, hard))
    socks = []
    try:
        socks = hold(port, 40)
        time.sleep(0.5)
        check(fd_count(pid) <= base + 8, "fds %d above the limit %d" % (fd_count(pid), base + 8))
        used = cpu_over(pid, 2.0)
        print("# gatewayd CPU over 2 s out of fds: %.3f s (%d fds, limit %d)"
              % (used, fd_count(pid), base + 8))
        check(used < 0.2, "gatewayd used %.2f s of CPU in 2 s out of fds (busy loop?)" % used)
        check(env.alive(), "gatewayd died")
        env.admin_get("/healthz", timeout=1)  # queued too: the main thread must not spin
        check(cpu_over(pid, 1.0) < 0.1, "gatewayd spins after an admin connection out of fds")
        for s in socks:
            s.close()
        socks = []
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (base + 64, hard))
        # The connections queued in the listen backlog are accepted, find their
        # clients gone, and close: then new requests are served again.
        gwtest.wait_for(lambda: gwtest.status_line(gwtest.raw(
            port, b"GET / HTTP/1.1\r\n" + HOST + b"\r\n", read_until_close=False, timeout=2)[0]) == 200,
            10, "a request to be served after the connections closed")
        eq(env.admin_get("/healthz")[0], 200, "admin answers again")
        gwtest.wait_for(lambda: fd_count(pid) <= base + 1, 5, "fd count back to %d (now %d)"
                        % (base, fd_count(pid)))
    finally:
        for s in socks:
            s.close()
    eq(env.stop(), 0, "exit status")


@S.case("a slow reader of a 200 MB response: gatewayd's RSS stays under 16 MiB")
def _():
    if WRAPPED:
        raise gwtest.Skip("RSS is meaningless under a wrapper")
    limit_kib = (96 if gwtest.is_sanitized() else 16) * 1024
    pid = E["env"].gw.pid
    s = socket.create_connection(("127.0.0.1", E["port"]), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    peak = 0
    received = 0
    try:
        s.sendall(b"GET /big?bytes=200000000 HTTP/1.1\r\n" + HOST + b"\r\n")
        t_end = time.monotonic() + 4
        while time.monotonic() < t_end:
            b = s.recv(16384)
            check(b, "closed early after %d bytes" % received)
            received += len(b)
            peak = max(peak, gwtest.rss_kib(pid))
            time.sleep(0.005)   # at most ~3 MB/s while the backend could send GB/s
    finally:
        s.close()
    print("# slow reader: %d bytes read in 4 s, gatewayd peak VmRSS %.1f MiB"
          % (received, peak / 1024.0))
    check(received > 100000, "only %d bytes arrived" % received)
    check(received < 50000000, "the reader was not slow (%d bytes)" % received)
    check(peak < limit_kib, "gatewayd VmRSS peaked at %.1f MiB" % (peak / 1024.0))


S.run()
