# SPDX-License-Identifier: MIT
# test_reload: configuration generations. `reload` prints the new generation,
# `history` lists them newest first, `rollback` switches back, SIGHUP reloads, a
# broken reload changes nothing, reloads are atomic and hitless under continuous
# traffic, kill -9 during reloads loses nothing that was committed, and a daemon
# that starts with a broken config_dir serves the last good generation ("stale").
import http.client
import os
import random
import shutil
import signal
import subprocess
import threading
import time

import gwtest
from gwtest import check, eq, httproute, match, rule

S = gwtest.Suite("reload", case_timeout=180)
E = {}
BROKEN = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: oops: x\n"


def config(env, which):
    """Config "a" or "b": two routes whose every rule goes to backend `which`, so a
    generation is either all-a or all-b (a torn one would mix)."""
    routes = [
        httproute("root", rules=[rule([which], [match("/")])]),
        httproute("second", rules=[rule([which], [match("/second")])]),
    ]
    env.simple_config(E["port"], routes, ["a", "b"])


@S.setup
def setup():
    env = S.env("reload", workers=2)
    env.echo("a")
    env.echo("b")
    E.update(env=env, port=gwtest.free_port())
    config(env, "a")
    env.start()
    E["gen_of"] = {}


def served():
    """Backend names that / and /second answer with (None = not 200)."""
    env = E["env"]
    return (env.curl(E["port"], "/").backend(), env.curl(E["port"], "/second").backend())


def generation():
    return E["env"].status()["generation"]


def ensure_running(which="a"):
    env = E["env"]
    if env.alive():
        return
    env.clear_confd()
    config(env, which)
    env.start()


@S.case("the first generation is active and served")
def _():
    g = generation()
    check(isinstance(g, int) and g >= 1, "generation %r" % g)
    eq(served(), ("a", "a"), "backends")
    E["gen_of"][g] = "a"


@S.case("reload prints the new generation and applies it")
def _():
    env = E["env"]
    g0 = generation()
    config(env, "b")
    g1 = env.reload()
    check(g1 > g0, "new generation %d is not above %d" % (g1, g0))
    eq(generation(), g1, "status generation")
    eq(served(), ("b", "b"), "backends after reload")
    E["gen_of"][g1] = "b"


@S.case("history lists generations newest first, the current one on top")
def _():
    env = E["env"]
    config(env, "a")
    g2 = env.reload()
    E["gen_of"][g2] = "a"
    h = env.history()
    check(len(h) >= 3, "history has %d entries: %r" % (len(h), h))
    eq(h[0], g2, "newest generation")
    eq(h, sorted(h, reverse=True), "order")
    eq(len(set(h)), len(h), "duplicates")


@S.case("rollback without N makes the previous generation current (no new number)")
def _():
    env = E["env"]
    before = generation()
    h = env.history()
    prev = h[1]
    r = env.cmd("rollback")
    eq(r.returncode, 0, "rollback exit status (%s)" % r.stderr.strip())
    eq(generation(), prev, "status generation after rollback (was %d)" % before)
    want = E["gen_of"].get(prev)
    eq(served(), (want, want), "backends after rollback to %d" % prev)
    eq(env.history(), h, "history unchanged by rollback")


@S.case("rollback N makes generation N current")
def _():
    env = E["env"]
    h = env.history()
    target = h[-1]
    r = env.cmd("rollback", str(target))
    eq(r.returncode, 0, "rollback %d (%s)" % (target, r.stderr.strip()))
    eq(generation(), target, "status generation")
    want = E["gen_of"].get(target)
    if want:
        eq(served(), (want, want), "backends")


@S.case("rollback to an unknown generation fails and changes nothing")
def _():
    env = E["env"]
    g = generation()
    r = env.cmd("rollback", "987654")
    check(r.returncode != 0, "rollback 987654 exited 0")
    eq(generation(), g, "generation")


@S.case("a reload after a rollback gets a number above every earlier one")
def _():
    env = E["env"]
    top = max(env.history())
    config(env, "b")
    g = env.reload()
    check(g > top, "generation %d not above %d" % (g, top))
    E["gen_of"][g] = "b"
    eq(served(), ("b", "b"), "backends")


@S.case("SIGHUP reloads config_dir")
def _():
    env = E["env"]
    g0 = generation()
    config(env, "a")
    env.gw.send_signal(signal.SIGHUP)
    gwtest.wait_for(lambda: generation() > g0, 15, "a new generation after SIGHUP")
    E["gen_of"][generation()] = "a"
    eq(served(), ("a", "a"), "backends after SIGHUP")
    check(env.alive(), "gatewayd died on SIGHUP")


@S.case("a broken reload exits 1, prints file:line:col, and traffic is untouched")
def _():
    env = E["env"]
    g0 = generation()
    config(env, "b")
    env.write("zz-broken.yaml", BROKEN)
    try:
        r = env.cmd("reload")
        eq(r.returncode, 1, "reload exit status")
        diags = gwtest.find_diag(gwtest.parse_diags(r.stdout + "\n" + r.stderr), "zz-broken.yaml")
        check(diags, "no zz-broken.yaml:LINE:COL: error: in %r" % (r.stdout + r.stderr)[-400:])
        # libyaml: "mapping values are not allowed in this context" at the second colon
        eq((diags[0]["line"], diags[0]["col"]), gwtest.pos_of(BROKEN, ": x"), "position")
        eq(generation(), g0, "generation")
        want = E["gen_of"][g0]
        rs = gwtest.curl_many([env.url(E["port"], "/second") for _ in range(20)])
        eq(set(r.backend() for r in rs), {want}, "backends after the failed reload")
    finally:
        env.remove_file("zz-broken.yaml")
    g1 = env.reload()
    E["gen_of"][g1] = "b"
    eq(served(), ("b", "b"), "backends after the fixed reload")


@S.case("reload with no daemon running fails with a message")
def _():
    env = E["env"]
    other = gwtest.Env("reload-nodaemon")
    try:
        r = other.cmd("reload")
        check(r.returncode != 0, "reload without a daemon exited 0")
        check(r.stderr.strip(), "no message on stderr")
    finally:
        other.remove()


# ---- hitless reloads

class Client(threading.Thread):
    """Sends GET / continuously; records (start, end, backend name or error)."""

    def __init__(self, kind, stop):
        super().__init__(daemon=True)
        self.kind = kind
        self.stop = stop
        self.log = []

    def run(self):
        conn = None
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                if self.kind == "curl":
                    r = E["env"].curl(E["port"], "/", timeout=5)
                    res = r.backend() or "status %d rc %d %s" % (r.status, r.rc, r.err)
                else:  # one keep-alive connection for the whole run
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", E["port"], timeout=5)
                    conn.request("GET", "/")
                    resp = conn.getresponse()
                    body = resp.read()
                    res = gwtest.json.loads(body)["name"] if resp.status == 200 else \
                        "status %d" % resp.status
            except Exception as e:
                res = "error %s: %s" % (type(e).__name__, e)
                if conn is not None:
                    conn.close()
                    conn = None
            self.log.append((t0, time.monotonic(), res))
        if conn is not None:
            conn.close()


@S.case("20 reloads under continuous traffic: no request lost, each served by its generation")
def _():
    env = E["env"]
    ensure_running()
    config(env, "a")
    env.reload()
    stop = threading.Event()
    clients = [Client("keepalive", stop), Client("keepalive", stop), Client("curl", stop)]
    for c in clients:
        c.start()
    reloads = []  # (t_before, t_after, config now in effect)
    try:
        time.sleep(0.3)
        for i in range(20):
            which = "b" if i % 2 == 0 else "a"
            config(env, which)
            t0 = time.monotonic()
            env.reload()
            reloads.append((t0, time.monotonic(), which))
            time.sleep(0.15)
    finally:
        stop.set()
        for c in clients:
            c.join(15)
    first_start = reloads[0][0]

    def allowed(t0, t1):
        """Configs that may answer a request sent at t0 and answered at t1: the one in
        effect at t0, plus both sides of every reload that overlaps [t0, t1] (the
        gateway picked the generation somewhere in that interval)."""
        effect = "a"
        ok = set()
        for r0, r1, which in reloads:
            if r1 < t0:
                effect = which
            elif r0 <= t1:
                ok.add(which)
        ok.add(effect)
        return ok

    total = 0
    bad = []
    for c in clients:
        for t0, t1, res in c.log:
            total += 1
            if res not in ("a", "b"):
                bad.append("%s request at +%.3fs failed: %s" % (c.kind, t0 - first_start, res))
                continue
            ok = allowed(t0, t1)
            if res not in ok:
                bad.append("%s request at +%.3fs..+%.3fs answered by %s, allowed %s"
                           % (c.kind, t0 - first_start, t1 - first_start, res, sorted(ok)))
    check(total >= 100, "only %d requests were made" % total)
    check(not bad, "%d of %d requests wrong: %s" % (len(bad), total, "; ".join(bad[:5])))


# ---- crash safety and stale start

@S.case("kill -9 during reloads, then restart: a complete last good generation is served")
def _():
    env = E["env"]
    rng = random.Random(1234)
    for i in range(6):
        ensure_running()
        which = "b" if i % 2 == 0 else "a"
        config(env, which)
        rp = gwtest.spawn([gwtest.GATEWAYD, "-c", env.conf, "reload"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.05))
        env.kill9()
        try:
            rp.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            gwtest.kill_proc(rp)
            raise gwtest.Failure("reload client hung after the daemon was killed")
        # Odd rounds restart with a broken config_dir: only LMDB can serve then.
        broken = i % 2 == 1
        if broken:
            env.write("zz-broken.yaml", BROKEN)
        env.start()
        try:
            got = served()
            check(got[0] in ("a", "b") and got[0] == got[1],
                  "round %d: torn or missing generation after restart: %r" % (i, got))
            st = env.status()
            eq(st.get("stale"), broken, "round %d: stale" % i)
            if broken:
                known = E["gen_of"].get(st["generation"])
                if known:
                    eq(got[0], known, "round %d: backend of generation %d" % (i, st["generation"]))
            else:
                eq(got[0], which, "round %d: config_dir compiled at start" % i)
            if not broken:
                E["gen_of"][st["generation"]] = which
            h = env.history()
            check(st["generation"] in h,
                  "round %d: history %r lacks generation %d" % (i, h, st["generation"]))
        finally:
            if broken:
                env.remove_file("zz-broken.yaml")
    ensure_running()
    eq(env.stop(), 0, "exit status on SIGTERM")


@S.case("start with a broken config_dir but a stored generation: serve it, stale")
def _():
    env = E["env"]
    ensure_running()
    config(env, "a")
    g = env.reload()
    E["gen_of"][g] = "a"
    eq(env.stop(), 0, "exit status on SIGTERM")
    env.write("zz-broken.yaml", BROKEN)
    try:
        stale_start(g)
    finally:
        if os.path.exists(os.path.join(env.confd, "zz-broken.yaml")):
            env.remove_file("zz-broken.yaml")


def stale_start(g):
    env = E["env"]
    mark = len(env.stderr_text())
    env.start()
    eq(served(), ("a", "a"), "backends served while stale")
    st = env.status()
    eq(st.get("stale"), True, "status --json stale")
    eq(st.get("generation"), g, "generation served")
    code, body = env.admin_get("/readyz")
    eq(code, 200, "/readyz status")
    check("stale" in body.lower(), "/readyz body lacks 'stale': %r" % body)
    code, body = env.admin_get("/status")
    eq(gwtest.json.loads(body).get("stale"), True, "/status stale")
    log = env.stderr_text()[mark:]
    check("zz-broken.yaml" in log, "the log does not name the failing file: %r" % log[-500:])
    env.remove_file("zz-broken.yaml")
    g2 = env.reload()
    check(g2 > g, "generation after the fix")
    eq(env.status().get("stale"), False, "stale after a good reload")
    code, body = env.admin_get("/readyz")
    check(code == 200 and "stale" not in body.lower(), "/readyz after the fix: %d %r" % (code, body))


def lmdb_readers(state):
    """Rows of the LMDB reader table (mdb_stat -r): one per open read transaction."""
    out = subprocess.run(["mdb_stat", "-r", state], capture_output=True, text=True, timeout=10)
    # mdb_stat -r prints the table but does not exit 0 (lmdb-utils 0.9.24).
    check("Reader Table Status" in out.stdout, "mdb_stat -r %s failed: %s" % (state, (out.stdout + out.stderr).strip()))
    rows = [l.split() for l in out.stdout.splitlines()]
    return [r for r in rows if len(r) == 3 and r[0].isdigit()]


@S.case("old generations are released after reloads, with nothing scraping /metrics")
def _():
    if not shutil.which("mdb_stat"):
        raise gwtest.Skip("mdb_stat not found (Debian package lmdb-utils)")
    env = E["env"]
    ensure_running()
    for i in range(8):
        config(env, "b" if i % 2 == 0 else "a")
        env.reload()
        env.curl(E["port"], "/")
    # Request counters are folded into the totals every 2 s; then only the current
    # generation keeps a read transaction.
    deadline = time.monotonic() + 10
    while True:
        readers = lmdb_readers(env.state)
        if len(readers) <= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    eq(len(readers), 1, "LMDB readers after 8 reloads (%r)" % readers)


@S.case("start with a broken config_dir and no stored generation: exit non-zero")
def _():
    other = gwtest.Env("reload-empty")
    try:
        other.write("broken.yaml", BROKEN)
        p = other.start(wait=False)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            raise gwtest.Failure("gatewayd kept running with nothing to serve")
        check(p.returncode != 0, "exit status 0")
        d = gwtest.find_diag(gwtest.parse_diags(other.stderr_text()), "broken.yaml")
        check(d, "stderr lacks broken.yaml:LINE:COL: error: %r" % other.stderr_tail(5))
    finally:
        other.remove()


S.run()
