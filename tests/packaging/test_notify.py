# SPDX-License-Identifier: MIT
# test_notify: the sd_notify protocol that gatewayd.service (Type=notify) relies on,
# checked against a unix datagram socket the test binds itself (NOTIFY_SOCKET):
# READY=1 with STATUS= naming the generation once serving; RELOADING=1 with a current
# MONOTONIC_USEC= and then READY=1 around a reload by SIGHUP, by `gatewayd reload`,
# and around a reload that fails; STOPPING=1 on SIGTERM, then exit 0.
import os
import re
import signal
import socket
import time

import gwtest

S = gwtest.Suite("notify")
MSG_TIMEOUT = 10.0


class Notify:
    """A datagram socket standing in for systemd's notification socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        # "@name" is how NOTIFY_SOCKET names the abstract namespace ("\0name").
        self.env = path if not path.startswith("\0") else "@" + path[1:]

    def recv(self, timeout=MSG_TIMEOUT):
        """The next message as a dict of its KEY=VALUE lines (and the raw text)."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            raise gwtest.Failure("no notification within %.0fs" % timeout)
        text = data.decode("utf-8", "replace")
        fields = {}
        for line in text.split("\n"):
            if line:
                gwtest.check("=" in line, "notification line without \"=\": %r" % line)
                k, v = line.split("=", 1)
                fields[k] = v
        fields["_raw"] = text
        return fields

    def expect_none(self, wait=0.3):
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return
        raise gwtest.Failure("unexpected notification %r" % data)

    def close(self):
        self.sock.close()


def status_generation(msg):
    m = re.match(r"generation (\d+)", msg.get("STATUS", ""))
    gwtest.check(m, "STATUS= does not name the generation: %r" % msg["_raw"])
    return int(m.group(1))


def expect_ready(n, generation):
    msg = n.recv()
    gwtest.eq(msg.get("READY"), "1", "READY in %r" % msg["_raw"])
    gwtest.eq(status_generation(msg), generation, "generation in STATUS=")
    return msg


def expect_reloading(n, before_us):
    msg = n.recv()
    gwtest.eq(msg.get("RELOADING"), "1", "RELOADING in %r" % msg["_raw"])
    usec = msg.get("MONOTONIC_USEC", "")
    gwtest.check(usec.isdigit(), "MONOTONIC_USEC is not a number: %r" % msg["_raw"])
    # CLOCK_MONOTONIC, as systemd compares it with its own (Type=notify-reload).
    gwtest.within(int(usec), before_us, monotonic_us(), "MONOTONIC_USEC")
    return msg


def monotonic_us():
    return int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)


def start(env, n):
    port = gwtest.free_port()
    env.simple_config(port, [gwtest.httproute("web", rules=[gwtest.rule()])], [])
    env.start(extra_env={"NOTIFY_SOCKET": n.env})
    return port


@S.case("READY=1 and STATUS=generation N once serving; reloads; STOPPING=1")
def _():
    env = S.env("notify")
    n = Notify(os.path.join(env.dir, "notify.sock"))
    try:
        start(env, n)
        st = env.status()
        first = expect_ready(n, st["generation"])
        gwtest.check("RELOADING" not in first, "READY message also says RELOADING")
        gen = st["generation"]

        # SIGHUP: RELOADING=1 + MONOTONIC_USEC, then READY=1 with the new generation.
        before = monotonic_us()
        env.gw.send_signal(signal.SIGHUP)
        expect_reloading(n, before)
        expect_ready(n, gen + 1)
        gen += 1
        gwtest.eq(env.status()["generation"], gen, "status generation after SIGHUP")

        # `gatewayd reload` (what ExecReload runs): the same, and it prints the number.
        before = monotonic_us()
        gwtest.eq(env.reload(), gen + 1, "generation printed by reload")
        expect_reloading(n, before)
        expect_ready(n, gen + 1)
        gen += 1

        # A reload that fails: still RELOADING=1 then READY=1, and the generation stays.
        env.write("broken.yaml", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                  "metadata: {name: broken}\nspec: {rules: [{matches: [{path: {type: Prefix}}]}]}\n")
        before = monotonic_us()
        r = env.cmd("reload")
        gwtest.eq(r.returncode, 1, "exit status of a failing reload")
        expect_reloading(n, before)
        expect_ready(n, gen)
        env.remove_file("broken.yaml")

        # SIGTERM: STOPPING=1, then exit 0, and nothing after it.
        env.gw.send_signal(signal.SIGTERM)
        msg = n.recv()
        gwtest.eq(msg.get("STOPPING"), "1", "STOPPING in %r" % msg["_raw"])
        gwtest.eq(env.stop(timeout=30), 0, "exit status after SIGTERM")
        n.expect_none()
    finally:
        n.close()


@S.case("NOTIFY_SOCKET in the abstract namespace (@name)")
def _():
    env = S.env("notify-abstract")
    n = Notify("\0gatewayd-test-notify-%d-%d" % (os.getpid(), int(time.time() * 1000)))
    try:
        start(env, n)
        expect_ready(n, env.status()["generation"])
        env.gw.send_signal(signal.SIGTERM)
        gwtest.eq(n.recv().get("STOPPING"), "1", "STOPPING")
        gwtest.eq(env.stop(timeout=30), 0, "exit status after SIGTERM")
    finally:
        n.close()


@S.case("without NOTIFY_SOCKET nothing is sent and gatewayd serves")
def _():
    env = S.env("notify-none")
    port = gwtest.free_port()
    env.simple_config(port, [gwtest.httproute("web", rules=[gwtest.rule()])], [])
    env.start()
    # The route has no backends: 500 shows the request was routed.
    gwtest.eq(env.curl(port).status, 500, "status of a routed request")
    gwtest.eq(env.stop(timeout=30), 0, "exit status after SIGTERM")


S.run()
