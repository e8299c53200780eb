# SPDX-License-Identifier: MIT
# test_tls: HTTPS termination with real clients (curl, openssl s_client, python ssl):
# certificates chosen by SNI (RSA, ECDSA, exact, wildcard, default), protocol versions
# and suites, ALPN, ticket resumption, 421 Misdirected Request, client certificates,
# a reload that swaps a certificate under an open connection, a bad Secret, an HTTP to
# HTTPS redirect, and BackendTLSPolicy to a TLS backend (including 502s on a wrong CA
# or hostname). Certificates are made here at run time with the openssl CLI.
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time

import gwtest
from gwtest import check, eq, httproute, listener, match, rule

S = gwtest.Suite("tls", case_timeout=180)
E = {}
OPENSSL = shutil.which("openssl")
GROUP = "gateway.networking.k8s.io"


# ---------------------------------------------------------------- certificates

def openssl(*args, cwd=None):
    r = subprocess.run([OPENSSL] + list(args), capture_output=True, text=True, cwd=cwd, timeout=60)
    check(r.returncode == 0, "openssl %s: %s" % (" ".join(args[:2]), r.stderr[-500:]))
    return r.stdout


class PKI:
    """A CA and leaf certificates in a directory; names are file stems."""

    def __init__(self, d, name="ca"):
        self.d = d
        self.ca = name
        os.makedirs(d, exist_ok=True)
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.path(name, "key"), "-out", self.path(name, "crt"),
                "-subj", "/CN=gatewayd test %s" % name, "-days", "2")
        self.serial = 1000

    def path(self, name, ext):
        return os.path.join(self.d, "%s.%s" % (name, ext))

    def leaf(self, name, sans, kind="ec", client=False, cn=None):
        key, csr = self.path(name, "key"), self.path(name, "csr")
        if kind == "rsa":
            openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=%s" % (cn or sans[0]))
        else:
            openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", csr, "-subj", "/CN=%s" % (cn or sans[0]))
        ext = self.path(name, "ext")
        with open(ext, "w") as f:
            if sans:
                f.write("subjectAltName=%s\n" % ",".join("DNS:" + s for s in sans))
            f.write("extendedKeyUsage=%s\n" % ("clientAuth" if client else "serverAuth"))
        self.serial += 1
        openssl("x509", "-req", "-in", csr, "-CA", self.path(self.ca, "crt"),
                "-CAkey", self.path(self.ca, "key"), "-set_serial", str(self.serial),
                "-out", self.path(name, "crt"), "-days", "2", "-extfile", ext)
        return name

    def pem(self, name, ext="crt"):
        with open(self.path(name, ext)) as f:
            return f.read()

    def der(self, name):
        return ssl.PEM_cert_to_DER_cert(self.pem(name))


def secret(name, pki, leaf):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": pki.pem(leaf), "tls.key": pki.pem(leaf, "key")}}


def configmap(name, pem):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"ca.crt": pem}}


def https(name, port, secrets, hostname=None, options=None):
    lst = listener(name, port, hostname, protocol="HTTPS")
    lst["tls"] = {"mode": "Terminate",
                  "certificateRefs": [{"kind": "Secret", "name": s} for s in secrets]}
    if options:
        lst["tls"]["options"] = options
    return lst


def btls_policy(name, backend, hostname, ca=None, system=False):
    v = {"hostname": hostname}
    if system:
        v["wellKnownCACertificates"] = "System"
    else:
        v["caCertificateRefs"] = [{"group": "", "kind": "ConfigMap", "name": ca}]
    return {"apiVersion": GROUP + "/v1", "kind": "BackendTLSPolicy", "metadata": {"name": name},
            "spec": {"targetRefs": [{"group": gwtest.ENVOY_GROUP, "kind": "Backend", "name": backend}],
                     "validation": v}}


# ---------------------------------------------------------------- clients

def s_client(port, *args, servername=None, stdin=b"", timeout=10):
    """openssl s_client against 127.0.0.1:port; returns its combined output."""
    argv = [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port]
    argv += ["-servername", servername] if servername else ["-noservername"]
    argv += list(args)
    r = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)
    return (r.stdout + r.stderr).decode("utf-8", "replace")


def subject_cn(out):
    m = re.search(r"^subject=.*?CN ?= ?([^,\n/]+)", out, re.M)
    return m.group(1).strip() if m else None


def handshake_ok(out):
    return re.search(r"^New, TLSv1\.[23]", out, re.M) is not None or "Reused, TLSv1" in out


def tls_curl(port, sni, path="/", extra=(), **kw):
    """curl over HTTPS with SNI = sni (the URL's host), resolved to 127.0.0.1, trusting
    the test CA; host= sets another Host field."""
    args = ["--cacert", E["pki"].path("ca", "crt"), "--resolve", "%s:%d:127.0.0.1" % (sni, port)]
    kw.setdefault("workdir", E["env"].dir)
    return gwtest.curl("https://%s:%d%s" % (sni, port, path), extra=args + list(extra), **kw)


class TLSClient:
    """One TLS connection (python ssl) for several requests: keep-alive tests."""

    def __init__(self, port, sni, cafile, host=None):
        ctx = ssl.create_default_context(cafile=cafile)
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = ctx.wrap_socket(raw, server_hostname=sni)
        self.host = host or sni

    def peer_der(self):
        return self.sock.getpeercert(binary_form=True)

    def get(self, path):
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, self.host)).encode())
        resp = http.client.HTTPResponse(self.sock)
        resp.begin()
        return resp.status, resp.read()

    def close(self):
        self.sock.close()


def mbedtls_major():
    """2 or 3: the mbedTLS gatewayd links (from the shared library it loads)."""
    try:
        out = subprocess.run(["ldd", gwtest.GATEWAYD], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        out = ""
    m = re.search(r"libmbedtls\.so\.(\d+)", out)
    if m:
        return 2 if int(m.group(1)) < 16 else 3
    return None


# ---------------------------------------------------------------- setup

@S.setup
def setup():
    if not OPENSSL:
        raise gwtest.Skip("openssl not found")
    env = S.env("tls", workers=2)
    pki = PKI(os.path.join(env.dir, "pki"))
    pki.leaf("rsa", ["a.example.com"], kind="rsa")
    pki.leaf("ecdsa", ["b.example.com"])
    pki.leaf("wild", ["*.wild.example.com"])
    pki.leaf("dflt", ["default.example.com"], kind="rsa")
    pki.leaf("misdir", ["example.org", "second-example.org", "*.wildcard.org", "unknown-example.org"])
    pki.leaf("dflt2", ["default.example.com"], kind="rsa")   # the reload's new certificate
    pki.leaf("backend", ["backend.internal"])
    pki.leaf("client", ["client.example.com"], client=True)
    other = PKI(os.path.join(env.dir, "pki-other"), name="otherca")
    other.leaf("client", ["intruder.example.com"], client=True)
    E.update(env=env, pki=pki, other=other)
    for n in ("main", "misdir", "mtls_req", "mtls_opt", "http", "bad", "v13"):
        E[n] = gwtest.free_port()

    env.echo("e1")
    argv = [gwtest.PYTHON, gwtest.ECHO, "--name", "tlsecho", "--port", "0",
            "--tls-cert", pki.path("backend", "crt"), "--tls-key", pki.path("backend", "key")]
    p = gwtest.spawn(argv, stdout=subprocess.PIPE, stderr=open(os.path.join(env.dir, "tlsecho.err"), "wb"),
                     stdin=subprocess.DEVNULL)
    line = gwtest._readline_deadline(p.stdout, 10)
    m = re.match(rb"READY (\d+)", line or b"")
    check(m, "TLS echo backend did not start: %r" % line)
    E["tls_echo_port"] = int(m.group(1))
    write_config()
    env.set_access_log("access.log")
    env.start()


def write_config(dflt="dflt"):
    env, pki = E["env"], E["pki"]
    gw = gwtest.gateway("gw", [
        # One listener, several certificates chosen by SNI; the first is the default.
        https("main", E["main"], ["s-dflt", "s-rsa", "s-ecdsa", "s-wild"]),
        # GATEWAY-API.md 3.3's conformance listeners.
        https("catchall", E["misdir"], ["s-misdir"]),
        https("second", E["misdir"], ["s-misdir"], hostname="second-example.org"),
        https("wildcard", E["misdir"], ["s-misdir"], hostname="*.wildcard.org"),
        https("fourth", E["misdir"], ["s-misdir"], hostname="fourth-example.wildcard.org"),
        https("mtls-req", E["mtls_req"], ["s-dflt"]),
        https("mtls-opt", E["mtls_opt"], ["s-dflt"]),
        https("bad", E["bad"], ["s-broken"]),
        https("v13", E["v13"], ["s-ecdsa"], options={"gatewayd.io/min-version": "1.3"}),
        listener("http", E["http"]),
    ])
    ca_ref = [{"group": "", "kind": "ConfigMap", "name": "client-ca"}]
    gw["spec"]["tls"] = {"frontend": {"default": {}, "perPort": [
        {"port": E["mtls_req"], "tls": {"validation": {"caCertificateRefs": ca_ref, "mode": "AllowValidOnly"}}},
        {"port": E["mtls_opt"], "tls": {"validation": {"caCertificateRefs": ca_ref,
                                                       "mode": "AllowInsecureFallback"}}},
    ]}}
    broken = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s-broken"},
              "type": "kubernetes.io/tls",
              "stringData": {"tls.crt": "-----BEGIN CERTIFICATE-----\nnot a certificate\n"
                                        "-----END CERTIFICATE-----\n",
                             "tls.key": pki.pem("rsa", "key")}}
    docs = [gwtest.gatewayclass(), gw,
            secret("s-dflt", pki, dflt), secret("s-rsa", pki, "rsa"), secret("s-ecdsa", pki, "ecdsa"),
            secret("s-wild", pki, "wild"), secret("s-misdir", pki, "misdir"), broken,
            configmap("client-ca", pki.pem("ca")), configmap("backend-ca", pki.pem("ca")),
            configmap("other-ca", E["other"].pem("otherca")),
            httproute("all", parents=[("gw", n) for n in ("main", "mtls-req", "mtls-opt", "bad", "v13")],
                      rules=[rule(["e1"], [match("/")]),
                             rule(["tlsok"], [match("/tls/ok")]),
                             rule(["tlsok"], [match("/big")]),  # echo's /big, over TLS
                             rule(["tlsname"], [match("/tls/badname")]),
                             rule(["tlsca"], [match("/tls/badca")]),
                             rule(["tlsplain"], [match("/tls/plain")])]),
            httproute("m-catchall", parents=[("gw", "catchall")], hostnames=["example.org"],
                      rules=[rule(["e1"], [match("/")])]),
            httproute("m-second", parents=[("gw", "second")], rules=[rule(["e1"], [match("/")])]),
            httproute("m-wildcard", parents=[("gw", "wildcard")], rules=[rule(["e1"], [match("/")])]),
            httproute("m-fourth", parents=[("gw", "fourth")], rules=[rule(["e1"], [match("/")])]),
            redirect_route(),
            env.backend_doc("e1")]
    for name in ("tlsok", "tlsname", "tlsca", "tlsplain"):
        docs.append(gwtest.backend(name, port=E["tls_echo_port"]))
    docs += [btls_policy("p-ok", "tlsok", "backend.internal", ca="backend-ca"),
             btls_policy("p-name", "tlsname", "wrong.internal", ca="backend-ca"),
             btls_policy("p-ca", "tlsca", "backend.internal", ca="other-ca")]
    env.write_docs("tls.yaml", *docs)


def redirect_route():
    r = httproute("to-https", parents=[("gw", "http")],
                  rules=[{"filters": [{"type": "RequestRedirect",
                                       "requestRedirect": {"scheme": "https", "port": E["main"],
                                                           "statusCode": 301}}]}])
    return r


# ---------------------------------------------------------------- cases

@S.case("curl reaches the backend over HTTPS; it sees X-Forwarded-Proto: https")
def _():
    r = tls_curl(E["main"], "a.example.com", "/hello")
    eq(r.status, 200, "status (%s)" % r.err)
    j = r.json()
    eq(j["name"], "e1", "backend")
    eq(j["headers"].get("x-forwarded-proto"), ["https"], "X-Forwarded-Proto")
    eq(r.info.get("scheme", "https").lower(), "https", "scheme")


@S.case("SNI picks the certificate: RSA exact, ECDSA exact, wildcard")
def _():
    out = s_client(E["main"], "-showcerts", servername="a.example.com")
    eq(subject_cn(out), "a.example.com", "subject for a.example.com")
    check("RSA" in out or "rsa" in out, "RSA certificate expected:\n" + out[-800:])
    out = s_client(E["main"], servername="b.example.com")
    eq(subject_cn(out), "b.example.com", "subject for b.example.com")
    check(re.search(r"ECDSA|id-ecPublicKey|prime256v1", out), "ECDSA certificate expected:\n" + out[-800:])
    out = s_client(E["main"], servername="x.wild.example.com")
    eq(subject_cn(out), "*.wild.example.com", "subject for x.wild.example.com")
    for host in ("a.example.com", "b.example.com", "x.wild.example.com"):
        r = tls_curl(E["main"], host, "/")
        eq(r.status, 200, "curl %s (%s)" % (host, r.err))


@S.case("an unknown SNI, or none, gets the listener's first certificate")
def _():
    eq(subject_cn(s_client(E["main"], servername="nobody.example.net")), "default.example.com", "unknown SNI")
    eq(subject_cn(s_client(E["main"])), "default.example.com", "no SNI")
    # A wildcard covers one label only (RFC 6125): a.b.wild... is unknown.
    eq(subject_cn(s_client(E["main"], servername="a.b.wild.example.com")), "default.example.com",
       "two labels under a wildcard")


@S.case("TLS 1.0/1.1 are refused; TLS 1.2 negotiates ECDHE with an AEAD suite and ALPN http/1.1")
def _():
    for v in ("-tls1", "-tls1_1"):
        out = s_client(E["main"], v, servername="a.example.com")
        check(not handshake_ok(out), "%s was accepted:\n%s" % (v, out[-600:]))
    out = s_client(E["main"], "-tls1_2", "-alpn", "h2,http/1.1", servername="a.example.com")
    check(handshake_ok(out), "TLS 1.2 refused:\n" + out[-600:])
    m = re.search(r"Cipher is (\S+)", out)
    check(m and re.match(r"ECDHE-(RSA|ECDSA)-(AES\d+-GCM|CHACHA20-POLY1305)", m.group(1)),
          "cipher %s" % (m and m.group(1)))
    check("ALPN protocol: http/1.1" in out, "ALPN:\n" + out[-600:])
    # Static RSA key exchange and CBC suites are not offered.
    out = s_client(E["main"], "-tls1_2", "-cipher", "AES128-SHA:AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA",
                   servername="a.example.com")
    check(not handshake_ok(out), "a non-forward-secret or CBC suite was accepted:\n" + out[-600:])


@S.case("TLS 1.3 follows the linked mbedTLS; min-version 1.3 refuses TLS 1.2 there")
def _():
    major = mbedtls_major()
    out = s_client(E["main"], "-tls1_3", servername="a.example.com")
    if major == 2 or (major is None and not handshake_ok(out)):
        check(not handshake_ok(out), "TLS 1.3 with mbedTLS 2?\n" + out[-600:])
        # gatewayd with mbedTLS 2 cannot serve a 1.3-only listener: not served.
        out = s_client(E["v13"], "-tls1_2", servername="b.example.com")
        check(not handshake_ok(out), "a min-version 1.3 listener served TLS 1.2:\n" + out[-600:])
        return
    check("Protocol  : TLSv1.3" in out or "New, TLSv1.3" in out, "TLS 1.3 refused:\n" + out[-600:])
    check(handshake_ok(s_client(E["v13"], "-tls1_3", servername="b.example.com")), "1.3 on v13")
    out = s_client(E["v13"], "-tls1_2", servername="b.example.com")
    check(not handshake_ok(out), "a min-version 1.3 listener served TLS 1.2:\n" + out[-600:])


@S.case("a session ticket resumes the session (\"Reused\")")
def _():
    sess = os.path.join(E["env"].dir, "sess.pem")
    out = s_client(E["main"], "-tls1_2", "-sess_out", sess, servername="a.example.com")
    check(handshake_ok(out), "first handshake:\n" + out[-600:])
    out = s_client(E["main"], "-tls1_2", "-sess_in", sess, servername="a.example.com")
    check("Reused, TLSv1" in out, "not resumed:\n" + out[-800:])


@S.case("421 Misdirected Request when the Host selects another listener than the SNI (GATEWAY-API.md 3.3)")
def _():
    cases = [("example.org", "example.org", 200), ("example.org", "second-example.org", 421),
             ("example.org", "unknown-example.org", 404),
             ("second-example.org", "unknown-example.org", 421),
             ("third-example.wildcard.org", "fith-example.wildcard.org", 200),
             ("third-example.wildcard.org", "fourth-example.wildcard.org", 421),
             ("unknown-example.org", "example.org", 200)]
    for sni, host, want in cases:
        r = tls_curl(E["misdir"], sni, "/", host=host)
        eq(r.status, want, "SNI %s, Host %s (%s)" % (sni, host, r.err))


@S.case("AllowValidOnly: no client certificate or a foreign one fails, a valid one passes")
def _():
    pki, other = E["pki"], E["other"]
    r = tls_curl(E["mtls_req"], "default.example.com", "/")
    eq(r.status, 0, "without a client certificate")
    r = tls_curl(E["mtls_req"], "default.example.com", "/",
                 extra=["--cert", other.path("client", "crt"), "--key", other.path("client", "key")])
    eq(r.status, 0, "with a certificate of another CA")
    r = tls_curl(E["mtls_req"], "default.example.com", "/",
                 extra=["--cert", pki.path("client", "crt"), "--key", pki.path("client", "key")])
    eq(r.status, 200, "with a valid certificate (%s)" % r.err)


@S.case("AllowInsecureFallback: a client without a certificate gets through")
def _():
    pki = E["pki"]
    r = tls_curl(E["mtls_opt"], "default.example.com", "/")
    eq(r.status, 200, "without a client certificate (%s)" % r.err)
    r = tls_curl(E["mtls_opt"], "default.example.com", "/",
                 extra=["--cert", pki.path("client", "crt"), "--key", pki.path("client", "key")])
    eq(r.status, 200, "with a valid certificate (%s)" % r.err)
    out = s_client(E["mtls_opt"], servername="default.example.com")
    check("Acceptable client certificate CA names" in out or "client certificate CA names" in out,
          "no CertificateRequest:\n" + out[-800:])


@S.case("HTTP to HTTPS redirect (RequestRedirect scheme https) works end to end")
def _():
    env = E["env"]
    r = env.curl(E["http"], "/some/path?q=1", host="a.example.com")
    eq(r.status, 301, "redirect status")
    eq(r.header("Location"), "https://a.example.com:%d/some/path?q=1" % E["main"], "Location")
    r = tls_curl(E["http"], "a.example.com", "/x", extra=[])  # sanity: TLS to an HTTP port fails
    eq(r.status, 0, "TLS to the plain HTTP port")
    args = ["-L", "--cacert", E["pki"].path("ca", "crt"),
            "--resolve", "a.example.com:%d:127.0.0.1" % E["http"],
            "--resolve", "a.example.com:%d:127.0.0.1" % E["main"]]
    r = gwtest.curl("http://a.example.com:%d/follow" % E["http"], extra=args, workdir=env.dir)
    eq(r.status, 200, "after following (%s)" % r.err)
    eq(r.json()["path"], "/follow", "path at the backend")
    check(r.info.get("url_effective", "").startswith("https://"), "effective URL %r" % r.info.get("url_effective"))


@S.case("BackendTLSPolicy: TLS to the backend, verified against the policy's CA and hostname")
def _():
    r = tls_curl(E["main"], "a.example.com", "/tls/ok")
    eq(r.status, 200, "status (%s)" % r.err)
    eq(r.json()["name"], "tlsecho", "backend")
    # Keep-alive to the TLS backend: one client connection (one worker), so the
    # second request reuses that worker's pooled TLS connection.
    c = TLSClient(E["main"], "a.example.com", E["pki"].path("ca", "crt"))
    try:
        seen = []
        for i in range(2):
            status, body = c.get("/tls/ok/%d" % i)
            eq(status, 200, "request %d" % i)
            seen.append(json.loads(body)["conn_requests"])
        eq(seen[1], seen[0] + 1, "upstream TLS connection reused (conn_requests)")
    finally:
        c.close()


@S.case("large bodies cross both TLS legs intact (slow client, big upload: partial record writes)")
def _():
    # A rate-limited client makes gatewayd's TLS writes hit EAGAIN mid-record; a lost or
    # repeated record would break the TLS stream (curl fails) or the length.
    r = tls_curl(E["main"], "a.example.com", "/big?bytes=6000000", extra=["--limit-rate", "3M"],
                 timeout=30)
    eq((r.status, len(r.body)), (200, 6000000), "download through TLS on both legs (%s)" % r.err)
    data = os.urandom(1 << 20) * 12
    r = tls_curl(E["main"], "a.example.com", "/tls/ok/upload", data=data, timeout=30)
    eq(r.status, 200, "upload (%s)" % r.err)
    j = r.json()
    eq(j["body_bytes"], len(data), "bytes at the TLS backend")
    eq(j["body_sha256"], hashlib.sha256(data).hexdigest(), "sha256 at the TLS backend")


@S.case("BackendTLSPolicy: a wrong hostname or CA gives 502 and a log line saying why")
def _():
    env = E["env"]
    r = tls_curl(E["main"], "a.example.com", "/tls/badname")
    eq(r.status, 502, "wrong hostname")
    gwtest.wait_for(lambda: re.search(r"BackendTLSPolicy default/p-name.*(CN|[Nn]ame)", env.stderr_text()), 5,
                    "a log line about the name")
    r = tls_curl(E["main"], "a.example.com", "/tls/badca")
    eq(r.status, 502, "wrong CA")
    gwtest.wait_for(lambda: re.search(r"BackendTLSPolicy default/p-ca.*(trusted|CA|verif)", env.stderr_text()), 5,
                    "a log line about the CA")
    # A plain Backend on the same address never gets a pooled TLS connection.
    r = tls_curl(E["main"], "a.example.com", "/tls/plain")
    eq(r.status, 502, "plain HTTP to the TLS backend")
    r = tls_curl(E["main"], "a.example.com", "/tls/ok")
    eq(r.status, 200, "TLS backend still fine")


@S.case("a bad Secret leaves its listener unserved and the others serving")
def _():
    env = E["env"]
    st = env.status()
    gw = gwtest.resources(st, "Gateway", "gw")[0]
    bad = [l for l in gw["status"]["listeners"] if l["name"] == "bad"][0]
    rr = gwtest.condition(bad["conditions"], "ResolvedRefs")
    eq(rr and rr["status"], "False", "ResolvedRefs of the bad listener")
    out = s_client(E["bad"], servername="a.example.com")
    check(not handshake_ok(out), "the bad listener completed a handshake:\n" + out[-600:])
    eq(tls_curl(E["main"], "a.example.com", "/").status, 200, "other listener")


@S.case("a reload swaps the certificate; an open keep-alive TLS connection keeps working")
def _():
    env, pki = E["env"], E["pki"]
    cafile = pki.path("ca", "crt")
    c = TLSClient(E["main"], "default.example.com", cafile)
    try:
        eq(c.get("/before")[0], 200, "before the reload")
        eq(c.peer_der(), pki.der("dflt"), "certificate before")
        write_config(dflt="dflt2")
        env.reload()
        status, body = c.get("/after")
        eq(status, 200, "same connection after the reload")
        eq(c.peer_der(), pki.der("dflt"), "the open connection keeps its certificate")
    finally:
        c.close()
    c = TLSClient(E["main"], "default.example.com", cafile)
    try:
        eq(c.get("/new")[0], 200, "new connection")
        eq(c.peer_der(), pki.der("dflt2"), "a new connection gets the new certificate")
    finally:
        c.close()
    # An unchanged context was reused: resumption keeps working across the reload.
    eq(tls_curl(E["main"], "b.example.com", "/").status, 200, "other certificate after the reload")


@S.case("failed handshakes are not access-logged and gatewayd stops cleanly")
def _():
    env = E["env"]
    log = os.path.join(env.dir, "access.log")

    def text():
        with open(log) as f:
            return f.read()
    eq(tls_curl(E["main"], "a.example.com", "/al-before").status, 200, "a request")
    gwtest.wait_for(lambda: '"/al-before"' in text(), 5, "its access log line")
    before = text().count("\n")
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", E["main"]), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # plain HTTP to HTTPS
        try:
            s.recv(100)
        except OSError:
            pass
        s.close()
    eq(tls_curl(E["main"], "a.example.com", "/al-after").status, 200, "still serving")
    gwtest.wait_for(lambda: '"/al-after"' in text(), 5, "the next access log line")
    eq(text().count("\n"), before + 1, "access log lines: the failed handshakes are not logged")
    last = [l for l in text().splitlines() if '"/al-after"' in l][0]
    check('"protocol":"HTTP/1.1"' in last and '"status":200' in last, "access log line: " + last)
    failed = gwtest.metric(env.metrics(), "gatewayd_tls_handshake_failures_total")
    check(failed >= 3, "gatewayd_tls_handshake_failures_total = %r" % failed)
    rc = env.stop()
    eq(rc, 0, "exit status")
    err = env.stderr_text()
    check("ERROR: AddressSanitizer" not in err and "LeakSanitizer" not in err
          and "runtime error:" not in err, "sanitizer report:\n" + err[-3000:])


S.run()
