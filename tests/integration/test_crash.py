# SPDX-License-Identifier: MIT
# test_crash: nothing is ever half-written in LMDB. Fifteen times: gatewayd runs while
# a client reloads it in a tight loop, alternating between configs A and B (every
# route of A goes to backend "a", every route of B to "b", and each has a route of
# its own); it is killed with SIGKILL at a random moment; `history` then reads the
# store without the daemon; gatewayd restarts on the same state_dir, every other
# time with a broken config_dir so that only LMDB can give it a generation. Each
# restart must serve one complete generation, all of A or all of B, never a mix.
import random
import threading
import time

import gwtest
from gwtest import check, eq, httproute, match, rule

S = gwtest.Suite("crash", case_timeout=240)
E = {}
ROUNDS = 15
ROUTES = ["r1", "r2", "r3", "r4", "r5"]
BROKEN = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: [broken\n"


def config(env, which):
    routes = [httproute(r, rules=[rule([which], [match("/" + r)])]) for r in ROUTES]
    routes.append(httproute("only-" + which, rules=[rule([which], [match("/only-" + which)])]))
    env.simple_config(E["port"], routes, ["a", "b"])


@S.setup
def setup():
    env = S.env("crash", workers=2)
    env.echo("a")
    env.echo("b")
    E.update(env=env, port=gwtest.free_port())
    config(env, "a")


def served(env):
    """{path: backend name or the status}, for every route of A and B."""
    out = {}
    for p in ["/" + r for r in ROUTES] + ["/only-a", "/only-b"]:
        r = env.curl(E["port"], p)
        out[p] = r.backend() or r.status
    return out


def which_config(s):
    """"a" or "b" when s is exactly what config A or B serves, else None."""
    for w, other in (("a", "b"), ("b", "a")):
        if all(s["/" + r] == w for r in ROUTES) and s["/only-" + w] == w and s["/only-" + other] == 404:
            return w
    return None


def history(env):
    """[(generation, is_current)] from `gatewayd history`, newest first."""
    r = env.cmd("history")
    eq(r.returncode, 0, "history exit status (%s)" % r.stderr.strip()[-200:])
    rows = []
    for line in r.stdout.splitlines():
        if line.strip():
            rows.append((int(line.split()[0]), line.rstrip().endswith("current")))
    return rows


@S.case("%d x SIGKILL during a tight reload loop: each restart serves all of A or all of B" % ROUNDS)
def _():
    env = E["env"]
    rng = random.Random(20240611)
    seen = {"a": 0, "b": 0}
    total_reloads = 0
    for i in range(ROUNDS):
        env.start()
        stop = threading.Event()
        done = []

        def reloader():
            k = 0
            while not stop.is_set():
                config(env, "ab"[k % 2])
                r = env.cmd("reload", timeout=10)
                if r.returncode == 0:
                    done.append(k)
                k += 1

        t = threading.Thread(target=reloader, daemon=True)
        t.start()
        time.sleep(rng.uniform(0.2, 0.8))
        env.kill9()
        stop.set()
        t.join(20)
        check(not t.is_alive(), "the reload client hung after the kill")
        total_reloads += len(done)

        # The store is readable without the daemon, and names one current generation.
        rows = history(env)
        check(rows, "round %d: history is empty after the kill" % i)
        eq(sum(1 for _, cur in rows if cur), 1, "round %d: current generations in %r" % (i, rows))
        nums = [g for g, _ in rows]
        eq(nums, sorted(nums, reverse=True), "round %d: history order" % i)

        broken = i % 2 == 1
        if broken:
            env.write("zz-broken.yaml", BROKEN)
        try:
            env.start()
            st = env.status()
            eq(st.get("stale"), broken, "round %d: stale" % i)
            cur = [g for g, c in history(env) if c]
            eq(cur, [st["generation"]], "round %d: history's current vs status generation" % i)
            s = served(env)
            w = which_config(s)
            check(w, "round %d: a mixed or incomplete generation is served: %r" % (i, s))
            seen[w] += 1
        finally:
            if broken:
                env.remove_file("zz-broken.yaml")
        env.kill9()
    print("# %d rounds, %d reloads applied before the kills; restarts served A %d times, B %d times"
          % (ROUNDS, total_reloads, seen["a"], seen["b"]))
    check(total_reloads >= ROUNDS, "only %d reloads were applied" % total_reloads)


S.run()
