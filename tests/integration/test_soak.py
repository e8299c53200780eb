# SPDX-License-Identifier: MIT
# test_soak: 200 concurrent keep-alive connections through gatewayd for 20 s while
# the configuration is reloaded every second, alternating between two configs (the
# route's backend moves from "a" to "b" and back). Not one request may fail; VmRSS,
# sampled all along, must not grow after the warm-up; and once the clients are gone
# and the backends stopped, gatewayd's open file descriptors (/proc/PID/fd) are
# back to the count before the load. The load comes from wrk when it is installed
# (Debian package wrk), else (or with GW_SOAK_THREADS=1) from Python threads.
import http.client
import os
import re
import shutil
import subprocess
import threading
import time

import gwtest
from gwtest import check, eq, httproute, match, rule

S = gwtest.Suite("soak", case_timeout=90)
E = {}
CONNS = 200
SECONDS = 20
WARMUP = 5
WRK = None if os.environ.get("GW_SOAK_THREADS") == "1" else shutil.which("wrk")
SANITIZED = gwtest.is_sanitized()
WRAPPED = bool(os.environ.get("GATEWAYD_WRAPPER"))
RSS_GROWTH_KIB = 8 * 1024


def write_config(env, port, backend):
    env.write_docs("gateway.yaml", gwtest.gatewayclass(),
                   gwtest.gateway("gw", [gwtest.listener("http", port)]),
                   httproute("all", rules=[rule([backend], [match("/")])]),
                   env.backend_doc("a"), env.backend_doc("b"))


@S.setup
def setup():
    env = S.env("soak", workers=2)
    env.echo("a")
    env.echo("b")
    port = gwtest.free_port()
    E.update(env=env, port=port)
    write_config(env, port, "a")
    env.start()


def run_wrk(url):
    out = subprocess.run([WRK, "-t2", "-c%d" % CONNS, "-d%ds" % SECONDS, "--timeout", "10s", url],
                         capture_output=True, text=True, timeout=SECONDS + 30)
    text = out.stdout + out.stderr
    m = re.search(r"(\d+) requests in", text)
    check(m, "no request count in wrk's output: %r" % text[-500:])
    total = int(m.group(1))
    failed = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        failed += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        failed += sum(int(x) for x in m.groups())
    return total, failed, text


def run_threads(port):
    """CONNS threads, one keep-alive connection each, GET until the deadline."""
    lock = threading.Lock()
    counts = {"ok": 0, "failed": 0}
    errors = []
    deadline = time.monotonic() + SECONDS

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        ok = failed = 0
        while time.monotonic() < deadline:
            try:
                conn.request("GET", "/soak")
                r = conn.getresponse()
                r.read()
                if r.status == 200:
                    ok += 1
                else:
                    failed += 1
                    errors.append("status %d" % r.status)
            except Exception as e:  # a failed request, whatever the reason
                failed += 1
                errors.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()
        with lock:
            counts["ok"] += ok
            counts["failed"] += failed

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 20)
    return counts["ok"] + counts["failed"], counts["failed"], "; ".join(errors[:5])


@S.case("%d connections for %d s with a reload every second: no failure, stable RSS, no fd leak"
        % (CONNS, SECONDS))
def _():
    env, port = E["env"], E["port"]
    pid = env.gw.pid
    fds_before = len(os.listdir("/proc/%d/fd" % pid))
    rss = []
    reloads = []
    stop = threading.Event()

    def sampler():
        t0 = time.monotonic()
        while not stop.is_set():
            rss.append((time.monotonic() - t0, gwtest.rss_kib(pid)))
            stop.wait(0.5)

    def reloader():
        backend = "a"
        due = time.monotonic() + 1.0
        while not stop.wait(max(0.0, due - time.monotonic())):
            due += 1.0  # on the second, however long a reload takes under load
            backend = "b" if backend == "a" else "a"
            write_config(env, port, backend)
            r = env.cmd("reload")
            reloads.append(r.returncode)

    threads = [threading.Thread(target=sampler, daemon=True), threading.Thread(target=reloader, daemon=True)]
    for t in threads:
        t.start()
    try:
        if WRK:
            total, failed, detail = run_wrk("http://127.0.0.1:%d/soak" % port)
        else:
            total, failed, detail = run_threads(port)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    print("# %s: %d requests in %d s over %d connections, %d failed, %d reloads (%d failed)"
          % ("wrk" if WRK else "python threads", total, SECONDS, CONNS, failed, len(reloads),
             sum(1 for rc in reloads if rc != 0)))
    warm = [kib for t, kib in rss if t >= WARMUP]
    check(warm, "no RSS sample after the warm-up")
    print("# VmRSS (MiB) at %ds: %.1f, peak after: %.1f, at the end: %.1f"
          % (WARMUP, warm[0] / 1024.0, max(warm) / 1024.0, warm[-1] / 1024.0))
    eq(failed, 0, "failed requests (%s)" % detail)
    check(total > 1000, "only %d requests" % total)
    # Under valgrind a reload takes a good part of a second itself.
    check(len(reloads) >= (SECONDS // 4 if WRAPPED else SECONDS // 2), "only %d reloads" % len(reloads))
    eq([rc for rc in reloads if rc != 0], [], "failed reloads")
    check(env.alive(), "gatewayd died")
    # ASan's quarantine keeps freed memory for a while: RSS says nothing there.
    if not WRAPPED and not SANITIZED:
        growth = max(warm) - warm[0]
        check(growth < RSS_GROWTH_KIB, "VmRSS grew by %.1f MiB after the warm-up" % (growth / 1024.0))
    # The clients are gone; stopped backends close the pooled upstream connections.
    for e in env.echos.values():
        e.stop()
    gwtest.wait_for(lambda: len(os.listdir("/proc/%d/fd" % pid)) <= fds_before, 15,
                    "gatewayd's fds back to %d (now %d)"
                    % (fds_before, len(os.listdir("/proc/%d/fd" % pid))))
    print("# gatewayd fds: %d before, %d after" % (fds_before, len(os.listdir("/proc/%d/fd" % pid))))
    eq(env.stop(timeout=40), 0, "exit status")


S.run()
