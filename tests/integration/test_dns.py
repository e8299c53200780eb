# SPDX-License-Identifier: MIT
# test_dns: fqdn Backend endpoints and ExternalName Services resolved by a real DNS
# server (Debian's dnsmasq, started here on 127.0.0.1 and a free port, answering from
# its own hosts file with a 1 s TTL). Echo backends listen on 127.0.0.2, 127.0.0.3 and
# ::1 on one port, so DNS records decide which of them gets traffic.
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import gwtest
from gwtest import check, eq, listener, match, rule, httproute

S = gwtest.Suite("dns", case_timeout=90)
E = {}
DNSMASQ = shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if os.access("/usr/sbin/dnsmasq", os.X_OK) else None)


def free_udp_port():
    """A port free for UDP and TCP on 127.0.0.1: dnsmasq binds both and exits (2)
    when either is taken."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            t.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
            t.close()
        if port not in gwtest._PORTS:
            gwtest._PORTS.add(port)
            return port
    raise gwtest.Failure("no free UDP port")


class Dnsmasq:
    """dnsmasq answering for *.test from a hosts file (NXDOMAIN for other .test names)."""

    def __init__(self, d):
        self.dir = d
        self.port = free_udp_port()
        self.hosts = os.path.join(d, "dns-hosts")
        self.proc = None
        self.set([])

    def set(self, records):
        """records: [(address, name)]; reloaded with SIGHUP when running."""
        tmp = self.hosts + ".tmp"
        with open(tmp, "w") as f:
            for addr, name in records:
                f.write("%s %s\n" % (addr, name))
        os.replace(tmp, self.hosts)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)

    def start(self):
        argv = [DNSMASQ, "--no-daemon", "--no-resolv", "--no-hosts", "--port=%d" % self.port,
                "--listen-address=127.0.0.1", "--bind-interfaces", "--local=/test/",
                "--addn-hosts=" + self.hosts, "--local-ttl=1",
                "--pid-file=" + os.path.join(self.dir, "dnsmasq.pid"),
                "--log-facility=" + os.path.join(self.dir, "dnsmasq.log"), "--log-queries"]
        if os.geteuid() == 0:
            argv.append("--user=root")   # else it drops to "nobody", who cannot read our dir
        self.proc = gwtest.spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(self.dir, "dnsmasq.stderr"), "ab"))
        gwtest.wait_for(self.answers, 10, "dnsmasq answering on port %d" % self.port)

    def answers(self):
        if self.proc.poll() is not None:
            with open(os.path.join(self.dir, "dnsmasq.stderr"), errors="replace") as f:
                why = f.read().strip().splitlines()[-1:]
            raise gwtest.Failure("dnsmasq exited with %s: %s" % (self.proc.returncode, " ".join(why)))
        q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ready\x04test\x00\x00\x01\x00\x01"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.3)
        try:
            s.sendto(q, ("127.0.0.1", self.port))
            return len(s.recv(512)) >= 12
        except OSError:
            return False
        finally:
            s.close()

    def kill(self):
        gwtest.kill_proc(self.proc, signal.SIGKILL)


def fqdn_backend(name, host, port):
    return gwtest.backend(name, endpoints=[{"fqdn": {"hostname": host, "port": port}}])


def svc_ref(name, port):
    return {"name": name, "port": port}


BASE = [("127.0.0.2", "web.test"), ("127.0.0.3", "web.test"), ("127.0.0.2", "move.test"),
        ("::1", "v6.test"), ("127.0.0.3", "ext.test")]


@S.setup
def setup():
    if not DNSMASQ:
        raise gwtest.Skip("dnsmasq not found (Debian package dnsmasq-base)")
    env = S.env("dns", workers=2)
    dns = Dnsmasq(env.dir)
    dns.set(BASE)
    dns.start()
    env.write_ini()
    with open(env.conf, "a") as f:
        f.write("\n[dns]\nnameservers = 127.0.0.1:%d\nmin_ttl = 1s\nmax_ttl = 5s\n" % dns.port)
    bport = gwtest.free_port()
    for name, host in (("d2", "127.0.0.2"), ("d3", "127.0.0.3"), ("d6", "::1")):
        env.echos[name] = gwtest.Echo(name, env.dir, port=bport, host=host)
    port = gwtest.free_port()
    routes = [httproute("main", rules=[
        rule(["web"], [match("/web")]),
        rule(["move"], [match("/move")]),
        rule(["v6"], [match("/v6")]),
        rule(["none"], [match("/none")]),
        rule([svc_ref("ext", bport)], [match("/ext")]),
    ])]
    env.write_docs("gateway.yaml", gwtest.gatewayclass(),
                   gwtest.gateway("gw", [listener("http", port)]), *routes,
                   fqdn_backend("web", "web.test", bport),
                   fqdn_backend("move", "move.test", bport),
                   fqdn_backend("v6", "v6.test", bport),
                   fqdn_backend("none", "none.test", bport),
                   {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
                    "spec": {"type": "ExternalName", "externalName": "ext.test",
                             "ports": [{"port": bport, "targetPort": 9999}]}})
    env.start()
    E.update(env=env, dns=dns, port=port, bport=bport)


def get(path, **kw):
    return E["env"].curl(E["port"], path, **kw)


def served_by(path):
    r = get(path)
    return r.json()["name"] if r.status == 200 else r.status


def dns_entry(name):
    for e in E["env"].status().get("dns", []):
        if e.get("name") == name:
            return e
    return None


def dns_metric(samples, family, host, **labels):
    """gwtest.metric() with a "name" label (which its own parameter shadows)."""
    labels["name"] = host
    return samples.get((family, tuple(sorted(labels.items()))), 0.0)


def wait_served(path, want, timeout=15):
    gwtest.wait_for(lambda: served_by(path) == want, timeout, "%s served by %s" % (path, want),
                    interval=0.2)


@S.case("both A records of a name get traffic")
def _():
    wait_served("/web", "d2")
    seen = {served_by("/web") for _ in range(20)}
    eq(seen, {"d2", "d3"}, "backends that answered /web")
    e = dns_entry("web.test")
    check(e is not None, "status has no dns entry for web.test")
    eq(e["addresses"], ["127.0.0.2", "127.0.0.3"], "addresses in status")
    eq(e["lastResult"], "success", "lastResult")
    eq(e["backends"], ["Backend/default/web"], "backends using web.test")
    check(e["ttl"] == 1 and e["nextRefresh"], "ttl/nextRefresh: %r" % e)


@S.case("a changed record moves traffic without a reload and without failed requests")
def _():
    env = E["env"]
    wait_served("/move", "d2")
    gen = env.status()["generation"]
    stop = threading.Event()
    results = {"ok": 0, "fail": [], "names": []}

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", E["port"], timeout=5)
        while not stop.is_set():
            try:
                conn.request("GET", "/move")
                r = conn.getresponse()
                body = r.read()
                if r.status == 200:
                    results["ok"] += 1
                    results["names"].append(json.loads(body)["name"])
                else:
                    results["fail"].append(r.status)
            except (OSError, http.client.HTTPException) as ex:
                results["fail"].append(repr(ex))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", E["port"], timeout=5)
            time.sleep(0.01)
        conn.close()

    t = threading.Thread(target=client, daemon=True)
    t.start()
    try:
        time.sleep(0.5)
        E["dns"].set([r for r in BASE if r[1] != "move.test"] + [("127.0.0.3", "move.test")])
        gwtest.wait_for(lambda: results["names"][-5:] == ["d3"] * 5, 15,
                        "traffic to move.test moving to 127.0.0.3", interval=0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        t.join(10)
    eq(results["fail"], [], "failed requests while the record changed")
    check(results["ok"] > 20, "only %d requests went through" % results["ok"])
    eq(results["names"][-1], "d3", "the last answer")
    eq(env.status()["generation"], gen, "generation (no reload)")
    eq(dns_entry("move.test")["addresses"], ["127.0.0.3"], "addresses of move.test")


@S.case("an AAAA record for ::1 is an endpoint")
def _():
    wait_served("/v6", "d6")
    eq(dns_entry("v6.test")["addresses"], ["::1"], "addresses of v6.test")


@S.case("an ExternalName Service resolves its externalName on the Service port")
def _():
    wait_served("/ext", "d3")
    e = dns_entry("ext.test")
    eq(e["backends"], ["Service/default/ext:%d" % E["bport"]], "backends using ext.test")


@S.case("a name without records yet answers 503, then serves once it resolves")
def _():
    env = E["env"]
    r = get("/none")
    eq(r.status, 503, "status for a backend whose name has no address")
    e = dns_entry("none.test")
    eq(e["addresses"], [], "addresses of none.test")
    eq(e["lastResult"], "empty", "lastResult of none.test")
    table = env.cmd("status")
    eq(table.returncode, 0, "status exit code")
    check("none.test" in table.stdout and "no address yet for Backend/default/none" in table.stdout,
          "the status table reports the backend without address:\n%s" % table.stdout)
    check("web.test" in table.stdout and "127.0.0.2,127.0.0.3" in table.stdout,
          "the status table lists web.test and its addresses:\n%s" % table.stdout)
    E["dns"].set(BASE + [("127.0.0.2", "none.test")])
    wait_served("/none", "d2", timeout=20)


@S.case("metrics count resolutions and addresses per name")
def _():
    code, body = E["env"].admin_get("/metrics")
    eq(code, 200, "/metrics")
    m = gwtest.parse_metrics(body)
    check(dns_metric(m, "gatewayd_dns_resolutions_total", "web.test", result="success") >= 1,
          "success counter of web.test")
    eq(dns_metric(m, "gatewayd_dns_addresses", "web.test"), 2.0, "addresses of web.test")
    check("# TYPE gatewayd_dns_resolutions_total counter" in body, "TYPE line")
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True)
        eq(p.returncode, 0, "promtool check metrics: %s" % (p.stdout + p.stderr))


@S.case("with the DNS server gone, the last addresses keep serving and the failure shows")
def _():
    env = E["env"]
    before = dns_metric(env.metrics(), "gatewayd_dns_resolutions_total", "web.test", result="failure")
    E["dns"].kill()
    gwtest.wait_for(lambda: (dns_entry("web.test") or {}).get("lastResult") == "failure", 20,
                    "web.test lastResult failure", interval=0.3)
    e = dns_entry("web.test")
    eq(e["addresses"], ["127.0.0.2", "127.0.0.3"], "addresses kept")
    check(e["lastError"], "lastError is set: %r" % e)
    seen = {served_by("/web") for _ in range(10)}
    eq(seen, {"d2", "d3"}, "backends still answering /web")
    after = dns_metric(env.metrics(), "gatewayd_dns_resolutions_total", "web.test", result="failure")
    check(after > before, "failure counter went from %s to %s" % (before, after))
    check("dns: web.test: resolution failed" in env.stderr_text(), "the failure is logged")
    eq(env.stderr_text().count("dns: web.test: resolution failed"), 1,
       "the failure is logged once, not per retry")


@S.case("gatewayd stops cleanly with names in flight (sanitizer builds check for leaks)")
def _():
    eq(E["env"].stop(), 0, "exit status after SIGTERM")
    text = E["env"].stderr_text()
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        check(bad not in text, "%s in gatewayd's stderr" % bad)


if __name__ == "__main__":
    S.run()
