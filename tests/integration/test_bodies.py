# SPDX-License-Identifier: MIT
# test_bodies: bodies stream through gatewayd instead of being buffered. A 1 GiB
# upload (chunked, then with Content-Length) and 100 MiB downloads pass through
# while gatewayd's VmRSS, sampled all along, stays under 64 MiB.
import os
import subprocess
import threading
import time

import gwtest
from gwtest import check, eq, httproute, match, rule

S = gwtest.Suite("bodies", case_timeout=300)
E = {}
GIB = 1 << 30
MIB = 1 << 20
GIB_ZEROS_SHA256 = "49bc20df15e412a64472421e13fe86ff1c5165e18b2afccf160d4dc19fe68a14"
# The bound. Under AddressSanitizer (shadow memory, quarantine) the same
# code uses several times more, so only gross buffering is caught there.
SANITIZED = gwtest.is_sanitized()
RSS_LIMIT_KIB = (320 if SANITIZED else 64) * 1024


class RssSampler(threading.Thread):
    def __init__(self, pid, interval=0.05):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            kib = gwtest.rss_kib(self.pid)
            if kib:
                self.peak = max(self.peak, kib)
                self.samples += 1
            time.sleep(self.interval)

    def stop(self):
        self.done.set()
        self.join(5)
        return self.peak


@S.setup
def setup():
    env = S.env("bodies", workers=1)
    env.echo("a")
    port = gwtest.free_port()
    E.update(env=env, port=port)
    env.simple_config(port, [httproute("all", rules=[rule(["a"], [match("/")])])], ["a"])
    env.start()


def sampled(fn):
    """Runs fn() while sampling gatewayd's RSS; returns (fn's result, peak KiB)."""
    s = RssSampler(E["env"].gw.pid)
    s.start()
    try:
        res = fn()
    finally:
        peak = s.stop()
    check(s.samples >= 3, "RSS was sampled only %d times" % s.samples)
    print("# peak VmRSS of gatewayd: %.1f MiB (limit %d MiB%s)"
          % (peak / 1024.0, RSS_LIMIT_KIB // 1024, ", sanitizer build" if SANITIZED else ""))
    return res, peak


def check_rss(peak):
    if gwtest.WRAPPER:  # valgrind's own memory is in the process's RSS
        return
    check(peak < RSS_LIMIT_KIB, "gatewayd VmRSS peaked at %.1f MiB (limit %d MiB)"
          % (peak / 1024.0, RSS_LIMIT_KIB // 1024))


@S.case("idle gatewayd stays well under the limit")
def _():
    kib = gwtest.rss_kib(E["env"].gw.pid)
    print("# idle VmRSS: %.1f MiB" % (kib / 1024.0))
    check(0 < kib and (gwtest.WRAPPER or kib < RSS_LIMIT_KIB), "idle VmRSS %.1f MiB" % (kib / 1024.0))


@S.case("1 GiB chunked upload (head -c | curl -T -) streams through under the RSS limit")
def _():
    env = E["env"]

    def upload():
        head = gwtest.spawn(["head", "-c", str(GIB), "/dev/zero"], stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
        try:
            return env.curl(E["port"], "/upload-chunked", stdin=head.stdout,
                            extra=["-H", "Expect:"], timeout=600)
        finally:
            gwtest.kill_proc(head)
    r, peak = sampled(upload)
    eq(r.status, 200, "status (curl rc %d %s)" % (r.rc, r.err))
    j = r.json()
    eq(j["body_bytes"], GIB, "bytes the backend received")
    eq(j["body_sha256"], GIB_ZEROS_SHA256, "digest of what the backend received")
    check_rss(peak)


@S.case("1 GiB Content-Length upload (curl -T file) streams through under the RSS limit")
def _():
    env = E["env"]
    path = os.path.join(env.dir, "gib.bin")
    with open(path, "wb") as f:
        f.truncate(GIB)  # sparse: no disk space used
    try:
        r, peak = sampled(lambda: env.curl(E["port"], "/upload-cl", extra=["-T", path, "-H", "Expect:"],
                                           timeout=600))
    finally:
        os.unlink(path)
    eq(r.status, 200, "status (curl rc %d %s)" % (r.rc, r.err))
    j = r.json()
    eq(j["method"], "PUT", "method")
    eq(j["headers"].get("content-length"), [str(GIB)], "Content-Length forwarded")
    eq(j["body_bytes"], GIB, "bytes the backend received")
    eq(j["body_sha256"], GIB_ZEROS_SHA256, "digest")
    check_rss(peak)


def download(query, extra=()):
    env = E["env"]
    out = os.path.join(env.dir, "download.bin")
    try:
        r, peak = sampled(lambda: env.curl(E["port"], "/big?" + query, timeout=600,
                                           output=out, extra=list(extra)))
        size = os.path.getsize(out) if os.path.exists(out) else 0
    finally:
        if os.path.exists(out):
            os.unlink(out)
    return r, size, peak


@S.case("100 MiB download with Content-Length")
def _():
    r, size, peak = download("bytes=%d" % (100 * MIB))
    eq(r.status, 200, "status (curl rc %d %s)" % (r.rc, r.err))
    eq(size, 100 * MIB, "bytes downloaded")
    check_rss(peak)


@S.case("100 MiB chunked download")
def _():
    r, size, peak = download("bytes=%d&chunked=1" % (100 * MIB))
    eq(r.status, 200, "status (curl rc %d %s)" % (r.rc, r.err))
    eq(size, 100 * MIB, "bytes downloaded")
    check_rss(peak)


@S.case("a slow reader (128 MiB at 64 MiB/s) does not make gatewayd buffer the body")
def _():
    r, size, peak = download("bytes=%d" % (128 * MIB), extra=["--limit-rate", "64M"])
    eq(r.status, 200, "status (curl rc %d %s)" % (r.rc, r.err))
    eq(size, 128 * MIB, "bytes downloaded")
    check_rss(peak)


@S.case("gatewayd still answers after the big transfers")
def _():
    eq(E["env"].curl(E["port"], "/after").backend(), "a", "backend")


S.run()
