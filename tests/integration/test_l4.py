#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test_l4: layer-4 routes (GATEWAY-API.md §2.8, §2.9). TLS passthrough to TLS backends
# of the test's own (the client sees the backend's certificate: TLS was not
# terminated), SNI routing exact vs wildcard, unknown SNI closed, weights, TCP and UDP
# echo, a reload that keeps an open tunnel, and route status conditions.
import os
import socket
import ssl
import subprocess
import threading
import time

import gwtest
from gwtest import check, eq, within

S = gwtest.Suite("l4")
E = {}
GW_GROUP = "gateway.networking.k8s.io"


def make_cert(d, name):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=" + name, "-keyout", key, "-out", crt],
                       capture_output=True, timeout=60)
    check(r.returncode == 0, "openssl req failed: %s" % r.stderr[-300:])
    with open(crt) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return key, crt, der


class Server(threading.Thread):
    """A tiny threaded server on 127.0.0.1: TCP (optionally TLS with its own
    certificate) answering each line with "<tag>:<line>", or UDP echoing each datagram
    with the tag in front."""

    def __init__(self, tag, tls=None, udp=False):
        super().__init__(daemon=True)
        self.tag = tag.encode()
        self.udp = udp
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.ctx = None
        if tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(tls[1], tls[0])
        self.conns = 0
        self.stopped = False
        if not udp:
            self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.start()

    def run(self):
        while not self.stopped:
            try:
                if self.udp:
                    data, addr = self.sock.recvfrom(65536)
                    self.sock.sendto(self.tag + b":" + data, addr)
                    continue
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.conns += 1
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            c.settimeout(10)
            if self.ctx:
                c = self.ctx.wrap_socket(c, server_side=True)
            f = c.makefile("rb")
            for line in f:
                c.sendall(self.tag + b":" + line)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        self.sock.close()


def tls_exchange(port, sni, line=b"hello\n", timeout=5):
    """(peer certificate DER, answer) through the gateway; raises on a refused or closed
    connection."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            der = s.getpeercert(binary_form=True)
            s.sendall(line)
            return der, s.recv(4096)


def backend_doc(name, port):
    return gwtest.backend(name, port=port)


def ref(name, weight=None):
    return gwtest.backend_ref(name, weight)


def l4route(kind, name, listener, refs, hostnames=None, version="v1"):
    spec = {"parentRefs": [{"name": "gw", "sectionName": listener}]}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    spec["rules"] = [{"backendRefs": refs}]
    return {"apiVersion": GW_GROUP + "/" + version, "kind": kind, "metadata": {"name": name},
            "spec": spec}


def config(ctx, extra=()):
    p = ctx["ports"]
    listeners = [
        {"name": "tls", "port": p["tls"], "protocol": "TLS", "tls": {"mode": "Passthrough"}},
        {"name": "tcp", "port": p["tcp"], "protocol": "TCP"},
        {"name": "udp", "port": p["udp"], "protocol": "UDP"},
        {"name": "http", "port": p["http"], "protocol": "HTTP"},
        {"name": "tcpdead", "port": p["tcpdead"], "protocol": "TCP"},
    ]
    docs = [gwtest.gatewayclass(), gwtest.gateway("gw", listeners)]
    docs += [
        l4route("TLSRoute", "exact", "tls", [ref("tls-a")], ["a.example.com"]),
        l4route("TLSRoute", "wild", "tls", [ref("tls-b")], ["*.example.com"]),
        l4route("TLSRoute", "weighted", "tls", [ref("tls-a", 3), ref("tls-b", 1)], ["w.example.net"]),
        l4route("TLSRoute", "missing", "tls", [ref("nothing")], ["m.example.org"]),
        # legacy version, accepted with a deprecation warning
        l4route("TCPRoute", "echo", "tcp", [ref("tcp-echo")], version="v1alpha2"),
        l4route("UDPRoute", "uecho", "udp", [ref("udp-echo")]),
        # a TCPRoute on the HTTP listener: NotAllowedByListeners
        l4route("TCPRoute", "wrong", "http", [ref("tcp-echo")]),
        # nothing listens behind this one: the connect fails
        l4route("TCPRoute", "deadroute", "tcpdead", [ref("dead")]),
    ]
    docs += [backend_doc("tls-a", ctx["tls_a"].port), backend_doc("tls-b", ctx["tls_b"].port),
             backend_doc("tcp-echo", ctx["tcp"].port), backend_doc("udp-echo", ctx["udp"].port),
             backend_doc("dead", ctx["dead_port"])]
    docs += list(extra)
    ctx["env"].write_docs("gateway.yaml", *docs)


@S.setup
def _():
    # an open tunnel holds a draining worker until drain_timeout: keep the stop short
    env = S.env("l4", workers=2, limits={"drain_timeout": "2s"})
    env.set_access_log("access.log")
    a = make_cert(env.dir, "backend-a")
    b = make_cert(env.dir, "backend-b")
    ctx = {"env": env, "cert_a": a[2], "cert_b": b[2]}
    ctx["tls_a"] = Server("A", tls=a)
    ctx["tls_b"] = Server("B", tls=b)
    ctx["tcp"] = Server("T")
    ctx["udp"] = Server("U", udp=True)
    ctx["ports"] = {k: gwtest.free_port() for k in ("tls", "tcp", "http", "tcpdead")}
    ctx["dead_port"] = gwtest.free_port()
    ctx["ports"]["udp"] = gwtest.free_port()
    config(ctx)
    r = env.cmd("check", "conf.d")
    check(r.returncode == 0, "check failed: %s%s" % (r.stdout, r.stderr))
    check("deprecated" in r.stderr, "no deprecation warning for TCPRoute v1alpha2: %s" % r.stderr)
    env.start()
    E.update(ctx)


@S.teardown
def _():
    for k in ("tls_a", "tls_b", "tcp", "udp"):
        if k in E:
            E[k].stop()


@S.case("TLS passthrough: the client sees the backend's own certificate")
def _():
    der, answer = tls_exchange(E["ports"]["tls"], "a.example.com")
    eq(der, E["cert_a"], "peer certificate (backend-a's)")
    eq(answer, b"A:hello\n", "answer")


@S.case("SNI routing: exact hostname before the wildcard")
def _():
    der, answer = tls_exchange(E["ports"]["tls"], "b.example.com")
    eq(der, E["cert_b"], "wildcard route's backend certificate")
    eq(answer, b"B:hello\n", "answer")
    der, _ = tls_exchange(E["ports"]["tls"], "A.Example.Com")
    eq(der, E["cert_a"], "exact route, SNI in another case")


@S.case("unknown SNI, no SNI and non-TLS bytes: the connection is closed")
def _():
    for sni in ("other.org", None):
        try:
            tls_exchange(E["ports"]["tls"], sni)
        except (ssl.SSLError, OSError):
            continue
        raise gwtest.Failure("SNI %r was served" % sni)
    with socket.create_connection(("127.0.0.1", E["ports"]["tls"]), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n")
        eq(s.recv(100), b"", "bytes after an HTTP request on the TLS port")


@S.case("a TLSRoute whose backend does not exist: closed")
def _():
    try:
        tls_exchange(E["ports"]["tls"], "m.example.org")
    except (ssl.SSLError, OSError):
        return
    raise gwtest.Failure("a route without backend was served")


@S.case("weights 3:1 over 100 connections")
def _():
    n_a = 0
    for _ in range(100):
        der, _ = tls_exchange(E["ports"]["tls"], "w.example.net")
        n_a += der == E["cert_a"]
    within(n_a, 60, 90, "connections to the weight-3 backend")


@S.case("TCPRoute: bytes both ways through the tunnel")
def _():
    with socket.create_connection(("127.0.0.1", E["ports"]["tcp"]), timeout=5) as s:
        f = s.makefile("rb")
        for i in range(3):
            s.sendall(b"line %d\n" % i)
            eq(f.readline(), b"T:line %d\n" % i, "echo %d" % i)
        big = b"x" * 200000 + b"\n"
        s.sendall(big)
        eq(f.readline(), b"T:" + big, "a 200 kB line")


@S.case("UDPRoute: datagrams both ways, per-client sessions")
def _():
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    try:
        for i, u in enumerate(socks):
            u.settimeout(3)
            for k in range(3):
                msg = b"c%d-%d" % (i, k)
                u.sendto(msg, ("127.0.0.1", E["ports"]["udp"]))
                data, _ = u.recvfrom(65536)
                eq(data, b"U:" + msg, "echo")
    finally:
        for u in socks:
            u.close()


@S.case("a reload keeps an open tunnel working")
def _():
    env = E["env"]
    with socket.create_connection(("127.0.0.1", E["ports"]["tcp"]), timeout=5) as s:
        f = s.makefile("rb")
        s.sendall(b"before\n")
        eq(f.readline(), b"T:before\n", "before the reload")
        config(E, extra=[l4route("TLSRoute", "extra", "tls", [ref("tls-b")], ["x.example.com"])])
        env.reload()
        der, _ = tls_exchange(E["ports"]["tls"], "x.example.com")
        eq(der, E["cert_b"], "the new route serves")
        s.sendall(b"after\n")
        eq(f.readline(), b"T:after\n", "after the reload, same connection")


def parent_conds(st, kind, name):
    res = gwtest.resources(st, kind, name)
    eq(len(res), 1, "%s %s in status" % (kind, name))
    parents = res[0]["status"]["parents"]
    eq(len(parents), 1, "parents of %s" % name)
    return parents[0]["conditions"]


@S.case("status: route conditions and listener kinds")
def _():
    st = E["env"].status()
    c = parent_conds(st, "TLSRoute", "exact")
    eq(gwtest.condition(c, "Accepted")["status"], "True", "exact Accepted")
    eq(gwtest.condition(c, "ResolvedRefs")["status"], "True", "exact ResolvedRefs")
    c = parent_conds(st, "TLSRoute", "missing")
    eq(gwtest.condition(c, "Accepted")["status"], "True", "missing Accepted")
    eq(gwtest.condition(c, "ResolvedRefs")["reason"], "BackendNotFound", "missing ResolvedRefs")
    c = parent_conds(st, "TCPRoute", "wrong")
    eq(gwtest.condition(c, "Accepted")["reason"], "NotAllowedByListeners", "wrong Accepted")
    c = parent_conds(st, "UDPRoute", "uecho")
    eq(gwtest.condition(c, "Accepted")["status"], "True", "uecho Accepted")
    gw = gwtest.resources(st, "Gateway", "gw")[0]["status"]
    lis = {l["name"]: l for l in gw["listeners"]}
    eq([k["kind"] for k in lis["tls"]["supportedKinds"]], ["TLSRoute"], "tls supportedKinds")
    eq([k["kind"] for k in lis["tcp"]["supportedKinds"]], ["TCPRoute"], "tcp supportedKinds")
    eq([k["kind"] for k in lis["udp"]["supportedKinds"]], ["UDPRoute"], "udp supportedKinds")
    eq(lis["tls"]["attachedRoutes"], 5, "tls attachedRoutes")
    eq(lis["tcp"]["attachedRoutes"], 1, "tcp attachedRoutes")
    eq(lis["http"]["attachedRoutes"], 0, "http attachedRoutes")


@S.case("a TLS listener in Terminate mode: Accepted=False/UnsupportedValue")
def _():
    env = E["env"]
    d = os.path.join(env.dir, "terminate")
    os.makedirs(os.path.join(d, "c"), exist_ok=True)
    docs = [gwtest.gatewayclass(), gwtest.gateway("t", [
        {"name": "term", "port": gwtest.free_port(), "protocol": "TLS",
         "tls": {"mode": "Terminate", "options": {"example.com/x": "y"}}}])]
    with open(os.path.join(d, "c", "gw.yaml"), "w") as f:
        f.write(gwtest.documents(*docs))
    r = env.cmd("check", "--json", os.path.join(d, "c"))
    import json
    st = json.loads(r.stdout)
    lis = gwtest.resources(st, "Gateway", "t")[0]["status"]["listeners"][0]
    c = gwtest.condition(lis["conditions"], "Accepted")
    eq((c["status"], c["reason"]), ("False", "UnsupportedValue"), "listener Accepted")


@S.case("access log: one record per layer-4 connection")
def _():
    path = os.path.join(E["env"].dir, "access.log")
    import json

    def records():
        try:
            with open(path) as f:
                return [json.loads(l) for l in f if l.strip()]
        except OSError:
            return []
    with socket.create_connection(("127.0.0.1", E["ports"]["tcp"]), timeout=5) as s:
        s.sendall(b"logged\n")
        eq(s.makefile("rb").readline(), b"T:logged\n", "echo")
    rec = gwtest.wait_for(lambda: [r for r in records() if r.get("route") == "default/echo"
                                   and r.get("bytes_in") == 7], 10, "the TCP connection's record")
    r = rec[-1]
    eq(r["status"], 200, "status")
    eq(r["bytes_out"], 9, "bytes_out")
    eq(r["backend"], "Backend/default/tcp-echo", "backend")
    eq(r["upstream"], "127.0.0.1:%d" % E["tcp"].port, "upstream")
    check(r.get("method") is None, "method: %r" % r.get("method"))
    # the SNI is the record's host
    gwtest.wait_for(lambda: [r for r in records() if r.get("status") == 404
                             and r.get("host") == "other.org" and r.get("route") is None], 10,
                    "the unknown SNI's record")
    gwtest.wait_for(lambda: [r for r in records() if r.get("host") == "a.example.com"
                             and r.get("route") == "default/exact" and r.get("status") == 200], 10,
                    "a passthrough connection's record")
    # a backend that refuses: the client sees the close, the record says 502
    with socket.create_connection(("127.0.0.1", E["ports"]["tcpdead"]), timeout=5) as s:
        s.settimeout(5)
        try:
            eq(s.recv(100), b"", "bytes from a refused backend")
        except ConnectionResetError:
            pass
    gwtest.wait_for(lambda: [r for r in records() if r.get("route") == "default/deadroute"
                             and r.get("status") == 502], 10, "the refused connection's 502 record")


@S.case("UDP on every address: replies leave from the address written to (IPv4 and IPv6)")
def _():
    env = S.env("l4-any", limits={"drain_timeout": "2s"})
    port = gwtest.free_port()
    env.write_docs("g.yaml", gwtest.gatewayclass(),
                   gwtest.gateway("gw", [{"name": "u", "port": port, "protocol": "UDP"}], address=None),
                   l4route("UDPRoute", "u", "u", [ref("udp-echo")]),
                   backend_doc("udp-echo", E["udp"].port))
    env.start()
    for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        c = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            c.settimeout(3)
            c.connect((addr, port))  # a connected socket drops datagrams from other sources
            c.send(b"any")
            eq(c.recv(100), b"U:any", "echo over %s" % addr)
        finally:
            c.close()
    eq(env.stop(), 0, "exit status")


@S.case("stop with open tunnels and UDP sessions: exit 0, sessions logged, no sanitizer report")
def _():
    env = E["env"]
    path = os.path.join(env.dir, "access.log")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(3)
    u.sendto(b"last", ("127.0.0.1", E["ports"]["udp"]))
    eq(u.recvfrom(100)[0], b"U:last", "udp echo")
    s = socket.create_connection(("127.0.0.1", E["ports"]["tcp"]), timeout=5)
    s.sendall(b"open\n")
    eq(s.makefile("rb").readline(), b"T:open\n", "tcp echo")
    eq(env.stop(), 0, "exit status")
    s.close()
    u.close()
    err = env.stderr_text()
    for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        check(bad not in err, "%s in gatewayd's stderr:\n%s" % (bad, err[-3000:]))
    with open(path) as f:
        udp = [l for l in f if '"listener":"udp"' in l]
    check(any('"bytes_in":4,' in l and '"bytes_out":6,' in l for l in udp),
          "no record of the last UDP session: %r" % udp[-3:])


S.run()
