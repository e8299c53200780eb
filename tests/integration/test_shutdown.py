# SPDX-License-Identifier: MIT
# test_shutdown: process lifecycle. SIGTERM/SIGINT stop accepting, let in-flight
# requests finish (bounded by drain_timeout) and exit 0; SIGUSR1 does not stop the
# daemon; with NOTIFY_SOCKET set, the systemd notify-reload protocol is followed.
import os
import signal
import socket
import threading
import time

import gwtest
from gwtest import check, eq, httproute, match, rule

S = gwtest.Suite("shutdown")
E = {}


@S.setup
def setup():
    env = S.env("shutdown", workers=2, limits={"drain_timeout": "3s"})
    env.echo("a")
    port = gwtest.free_port()
    E.update(env=env, port=port)
    env.simple_config(port, [httproute("all", rules=[rule(["a"], [match("/")])])], ["a"])


def fresh(extra_env=None):
    env = E["env"]
    if env.alive():
        env.kill9()
    env.start(extra_env=extra_env)
    return env


def in_background(fn):
    box = {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as e:
            box["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


@S.case("SIGTERM: an in-flight slow request completes, new connections are refused, exit 0")
def _():
    env = fresh()
    t, box = in_background(lambda: env.curl(E["port"], "/delay?ms=1500", timeout=10))
    time.sleep(0.4)
    t0 = time.monotonic()
    env.gw.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    r2 = env.curl(E["port"], "/after-term", timeout=2)
    check(r2.status != 200, "a request after SIGTERM was still served")
    t.join(15)
    check("error" not in box, "slow request raised %r" % box.get("error"))
    r = box["result"]
    eq(r.status, 200, "in-flight request status (rc %d %s)" % (r.rc, r.err))
    eq(r.json()["path"], "/delay?ms=1500", "in-flight request answer")
    code = env.stop(timeout=10)
    eq(code, 0, "exit status")
    check(time.monotonic() - t0 < 5, "exit took %.1fs" % (time.monotonic() - t0))


@S.case("SIGTERM: draining is bounded by drain_timeout")
def _():
    env = fresh()
    t, box = in_background(lambda: env.curl(E["port"], "/delay?ms=20000", timeout=30))
    time.sleep(0.4)
    t0 = time.monotonic()
    env.gw.send_signal(signal.SIGTERM)
    code = env.stop(timeout=15)
    took = time.monotonic() - t0
    eq(code, 0, "exit status")
    check(took < 3 + 2.5, "exit took %.1fs with drain_timeout 3s" % took)
    t.join(15)


@S.case("SIGTERM: idle keep-alive connections do not delay the exit")
def _():
    env = fresh()
    s = socket.create_connection(("127.0.0.1", E["port"]), timeout=5)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        while not gwtest.complete_responses(got):
            b = s.recv(65536)
            check(b, "closed before the response")
            got += b
        t0 = time.monotonic()
        code = env.stop(timeout=10)
        eq(code, 0, "exit status")
        check(time.monotonic() - t0 < 2, "exit took %.1fs" % (time.monotonic() - t0))
        try:
            eq(s.recv(100), b"", "the idle connection is closed")
        except ConnectionResetError:
            pass
    finally:
        s.close()


def read_response(s):
    got = b""
    while not gwtest.complete_responses(got):
        b = s.recv(65536)
        check(b, "closed before the response")
        got += b
    return got


@S.case("SIGTERM during a slow request: an idle keep-alive connection closes at once, "
        "the slow one ends with Connection: close, exit 0")
def _():
    env = fresh()
    idle = socket.create_connection(("127.0.0.1", E["port"]), timeout=5)
    busy = socket.create_connection(("127.0.0.1", E["port"]), timeout=10)
    try:
        idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        read_response(idle)
        busy.sendall(b"GET /delay?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        t0 = time.monotonic()
        env.gw.send_signal(signal.SIGTERM)
        try:
            eq(idle.recv(100), b"", "the idle connection is closed")
        except ConnectionResetError:
            pass
        took = time.monotonic() - t0
        check(took < 0.5, "the idle connection closed only after %.2fs" % took)
        check(env.alive(), "gatewayd exited while a request was in flight")
        got = read_response(busy)
        resp = gwtest.parse_responses(got)
        eq(resp[0][0], 200, "status of the in-flight request")
        eq(dict((k.lower(), v) for k, v in resp[0][1]).get("connection"), "close",
           "Connection field of the in-flight response")
        eq(busy.recv(100), b"", "the busy connection closes after its response")
        eq(env.stop(timeout=10), 0, "exit status")
        check(time.monotonic() - t0 < 3, "exit took %.1fs (drain_timeout 3s)" % (time.monotonic() - t0))
    finally:
        idle.close()
        busy.close()


@S.case("SIGINT stops like SIGTERM (exit 0)")
def _():
    env = fresh()
    eq(env.stop(sig=signal.SIGINT, timeout=10), 0, "exit status")


@S.case("SIGUSR1 (reopen logs) does not stop the daemon")
def _():
    env = fresh()
    env.gw.send_signal(signal.SIGUSR1)
    time.sleep(0.3)
    check(env.alive(), "gatewayd exited on SIGUSR1 (status %r)" % env.gw.returncode)
    eq(env.curl(E["port"], "/").backend(), "a", "still serving")
    eq(env.stop(), 0, "exit status")


@S.case("systemd notify: READY=1, RELOADING=1 + MONOTONIC_USEC then READY=1, STOPPING=1")
def _():
    env = E["env"]
    path = os.path.join(env.dir, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    msgs = []

    def drain(until, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msgs.append(sock.recv(4096).decode("utf-8", "replace"))
            except socket.timeout:
                pass
            if any(until(m) for m in msgs):
                return True
        return False
    try:
        fresh(extra_env={"NOTIFY_SOCKET": path})
        check(drain(lambda m: "READY=1" in m.split("\n"), 10), "no READY=1: %r" % msgs)
        msgs.clear()
        env.reload()
        check(drain(lambda m: "READY=1" in m.split("\n"), 10), "no READY=1 after reload: %r" % msgs)
        fields = [f for m in msgs for f in m.split("\n")]
        check("RELOADING=1" in fields, "no RELOADING=1 on reload: %r" % msgs)
        check(any(f.startswith("MONOTONIC_USEC=") and f[15:].isdigit() for f in fields),
              "no MONOTONIC_USEC= with RELOADING=1: %r" % msgs)
        check(fields.index("RELOADING=1") < len(fields) - 1 - fields[::-1].index("READY=1"),
              "READY=1 did not follow RELOADING=1: %r" % msgs)
        msgs.clear()
        env.gw.send_signal(signal.SIGTERM)
        check(drain(lambda m: "STOPPING=1" in m.split("\n"), 10), "no STOPPING=1: %r" % msgs)
        eq(env.stop(), 0, "exit status")
    finally:
        sock.close()


S.run()
