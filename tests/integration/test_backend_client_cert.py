# SPDX-License-Identifier: MIT
# test_backend_client_cert: Gateway spec.tls.backend.clientCertificateRef (GATEWAY-API.md
# 2.4, feature GatewayBackendClientCertificate). A TLS echo backend that requires a
# client certificate from the test CA answers a Gateway that has one, and sees that
# Gateway's certificate; one backend reached from two Gateways sees each one's own
# certificate (per backend and Gateway), on separate pooled connections; a Gateway
# without one, or with a bad Secret, gets 502s. Bad references give the Gateway
# ResolvedRefs=False (InvalidClientCertificateRef, RefNotPermitted) and a warning at
# the Secret's file:line, while it stays Accepted. Certificates are made at run time.
import os
import re
import shutil
import subprocess
import http.client
import json

import gwtest
from gwtest import check, eq, find_diag, httproute, listener, match, parse_diags, pos_of, rule

S = gwtest.Suite("backend_client_cert", case_timeout=120)
E = {}
OPENSSL = shutil.which("openssl")
GROUP = "gateway.networking.k8s.io"


def openssl(*args):
    r = subprocess.run([OPENSSL] + list(args), capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "openssl %s: %s" % (" ".join(args[:2]), r.stderr[-500:]))


class PKI:
    """A P-256 CA and the leaves it signs, as name.crt / name.key in d."""

    def __init__(self, d):
        self.d = d
        os.makedirs(d, exist_ok=True)
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.path("ca", "key"), "-out", self.path("ca", "crt"),
                "-subj", "/CN=gatewayd test backend-mtls ca", "-days", "2")
        self.serial = 2000

    def path(self, name, ext):
        return os.path.join(self.d, "%s.%s" % (name, ext))

    def leaf(self, name, cn, client):
        key, csr, ext = self.path(name, "key"), self.path(name, "csr"), self.path(name, "ext")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", csr, "-subj", "/CN=%s" % cn)
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:%s\n" % cn)
            f.write("extendedKeyUsage=%s\n" % ("clientAuth" if client else "serverAuth"))
        self.serial += 1
        openssl("x509", "-req", "-in", csr, "-CA", self.path("ca", "crt"), "-CAkey", self.path("ca", "key"),
                "-set_serial", str(self.serial), "-out", self.path(name, "crt"), "-days", "2",
                "-extfile", ext)

    def pem(self, name, ext="crt"):
        with open(self.path(name, ext)) as f:
            return f.read()


def secret(name, leaf, namespace=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": E["pki"].pem(leaf), "tls.key": E["pki"].pem(leaf, "key")}}


def gateway(name, port, ref=None):
    gw = gwtest.gateway(name, [listener("http", port)])
    if ref is not None:
        gw["spec"]["tls"] = {"backend": {"clientCertificateRef": ref}}
    return gw


def bad_secret_yaml():
    """A kubernetes.io/tls Secret whose certificate is cut: written by hand for its line."""
    key = "".join("    " + line + "\n" for line in E["pki"].pem("gw1", "key").splitlines())
    return ("apiVersion: v1\nkind: Secret\nmetadata: {name: broken}\ntype: kubernetes.io/tls\n"
            "stringData:\n  tls.crt: |\n    -----BEGIN CERTIFICATE-----\n    bm90IGEgY2VydGlmaWNhdGU=\n"
            "    -----END CERTIFICATE-----\n  tls.key: |\n" + key)


# The Gateways: name -> (clientCertificateRef or None)
GATEWAYS = {
    "gw1": {"name": "gw1-client"},
    "gw2": {"group": "", "kind": "Secret", "name": "gw2-client"},
    "plain": None,
    "broken": {"name": "broken"},
    "nogrant": {"name": "gw1-client", "namespace": "other"},
    "granted": {"name": "granted", "namespace": "other"},
    "missing": {"name": "no-such-secret"},
    "wrongkind": {"group": "", "kind": "ConfigMap", "name": "gw1-client"},
}


def write_config(gw1_leaf="gw1"):
    env, pki = E["env"], E["pki"]
    docs = [gwtest.gatewayclass()]
    for name, ref in GATEWAYS.items():
        docs.append(gateway(name, E["ports"][name], ref))
        docs.append(httproute("r-" + name, parents=[name],
                              rules=[rule(["mtls"], [match("/mtls")]), rule(["e1"], [match("/")])]))
    docs += [secret("gw1-client", gw1_leaf), secret("gw2-client", "gw2"),
             secret("gw1-client", "gw1", namespace="other"), secret("granted", "gw2", namespace="other"),
             {"apiVersion": GROUP + "/v1beta1", "kind": "ReferenceGrant",
              "metadata": {"name": "gateways-to-granted", "namespace": "other"},
              "spec": {"from": [{"group": GROUP, "kind": "Gateway", "namespace": "default"}],
                       "to": [{"group": "", "kind": "Secret", "name": "granted"}]}},
             {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "backend-ca"},
              "data": {"ca.crt": pki.pem("ca")}},
             gwtest.backend("mtls", port=E["tls_echo_port"]),
             {"apiVersion": GROUP + "/v1", "kind": "BackendTLSPolicy", "metadata": {"name": "p-mtls"},
              "spec": {"targetRefs": [{"group": gwtest.ENVOY_GROUP, "kind": "Backend", "name": "mtls"}],
                       "validation": {"hostname": "backend.internal",
                                      "caCertificateRefs": [{"group": "", "kind": "ConfigMap",
                                                             "name": "backend-ca"}]}}},
             env.backend_doc("e1")]
    env.write_docs("gateways.yaml", *docs)
    env.write("broken-secret.yaml", bad_secret_yaml())


@S.setup
def setup():
    if not OPENSSL:
        raise gwtest.Skip("openssl not found")
    env = S.env("backend_client_cert", workers=1)
    pki = PKI(os.path.join(env.dir, "pki"))
    pki.leaf("backend", "backend.internal", client=False)
    pki.leaf("gw1", "gateway-one.example", client=True)
    pki.leaf("gw2", "gateway-two.example", client=True)
    pki.leaf("gw1b", "gateway-one-renewed.example", client=True)
    E.update(env=env, pki=pki, ports={n: gwtest.free_port() for n in GATEWAYS})
    env.echo("e1")
    argv = [gwtest.PYTHON, gwtest.ECHO, "--name", "mtlsecho", "--port", "0",
            "--tls-cert", pki.path("backend", "crt"), "--tls-key", pki.path("backend", "key"),
            "--tls-client-ca", pki.path("ca", "crt")]
    p = gwtest.spawn(argv, stdout=subprocess.PIPE, stderr=open(os.path.join(env.dir, "mtlsecho.err"), "wb"),
                     stdin=subprocess.DEVNULL)
    line = gwtest._readline_deadline(p.stdout, 10)
    m = re.match(rb"READY (\d+)", line or b"")
    check(m, "TLS echo backend did not start: %r" % line)
    E["tls_echo_port"] = int(m.group(1))
    write_config()
    env.start()


def get(gw, path="/mtls"):
    return E["env"].curl(E["ports"][gw], path)


def gateway_conditions(name):
    gw = gwtest.resources(E["env"].status(), "Gateway", name)[0]
    return {c["type"]: (c["status"], c["reason"]) for c in gw["status"]["conditions"]}


class Conn:
    """One keep-alive client connection to a Gateway's HTTP listener."""

    def __init__(self, gw):
        self.c = http.client.HTTPConnection("127.0.0.1", E["ports"][gw], timeout=10)

    def get(self, path):
        self.c.request("GET", path)
        r = self.c.getresponse()
        return r.status, r.read()


# ---------------------------------------------------------------- cases

@S.case("with clientCertificateRef the mTLS backend answers and saw the Gateway's certificate")
def _():
    r = get("gw1")
    eq(r.status, 200, "status (%s)" % r.err)
    j = r.json()
    eq(j["name"], "mtlsecho", "backend")
    eq(j.get("tls_peer_subject"), "CN=gateway-one.example", "client certificate seen by the backend")
    eq(get("gw1", "/plain").status, 200, "a plain backend of the same Gateway")
    eq(gateway_conditions("gw1").get("ResolvedRefs"), ("True", "ResolvedRefs"), "ResolvedRefs")
    eq(gateway_conditions("gw1").get("Accepted"), ("True", "Accepted"), "Accepted")


@S.case("one backend, two Gateways: each presents its own certificate on its own connections")
def _():
    eq(get("gw2").json().get("tls_peer_subject"), "CN=gateway-two.example", "gw2's certificate")
    # One worker: the pool is shared, so a connection opened for gw1 must not serve gw2.
    c1, c2 = Conn("gw1"), Conn("gw2")
    try:
        seen = []
        for c in (c1, c2, c1, c2):
            status, body = c.get("/mtls/pool")
            eq(status, 200, "status")
            j = json.loads(body)
            seen.append((j["tls_peer_subject"], j["conn_requests"]))
        eq(seen[0][0], "CN=gateway-one.example", "first via gw1")
        eq(seen[1][0], "CN=gateway-two.example", "then via gw2")
        eq(seen[2], (seen[0][0], seen[0][1] + 1), "gw1 again: its pooled connection, its certificate")
        eq(seen[3], (seen[1][0], seen[1][1] + 1), "gw2 again: its pooled connection, its certificate")
    finally:
        c1.c.close()
        c2.c.close()


@S.case("without clientCertificateRef the backend refuses the handshake: 502, and a log line")
def _():
    env = E["env"]
    r = get("plain")
    eq(r.status, 502, "status")
    eq(get("plain", "/plain").status, 200, "its plain backend still answers")
    gwtest.wait_for(lambda: re.search(r"BackendTLSPolicy default/p-mtls.*failed", env.stderr_text()), 5,
                    "a log line about the failed TLS")
    eq(get("gw1").status, 200, "gw1 is unaffected")


@S.case("a broken Secret: ResolvedRefs=False/InvalidClientCertificateRef, Accepted, 502, a warning at its line")
def _():
    env = E["env"]
    conds = gateway_conditions("broken")
    eq(conds.get("ResolvedRefs"), ("False", "InvalidClientCertificateRef"), "ResolvedRefs")
    eq(conds.get("Accepted"), ("True", "Accepted"), "Accepted")
    eq(conds.get("Programmed"), ("True", "Programmed"), "Programmed")
    eq(get("broken").status, 502, "requests to the mTLS backend (no certificate presented)")
    eq(get("broken", "/plain").status, 200, "the rest of the Gateway applies")
    r = env.cmd("check")
    eq(r.returncode, 0, "check exit status (%r)" % r.stderr[-400:])
    ws = find_diag(parse_diags(r.stderr), "broken-secret.yaml", "warning")
    check(len(ws) == 1, "one warning at broken-secret.yaml expected, got %r" % r.stderr[-800:])
    line, _col = pos_of(bad_secret_yaml(), "-----BEGIN CERTIFICATE-----")
    eq(ws[0]["line"], line, "line of the warning")
    check("Gateway default/broken presents no client certificate" in ws[0]["message"],
          "the warning does not name the Gateway: %r" % ws[0]["message"])
    eq(env.cmd("check", "--strict").returncode, 1, "check --strict exit status")


@S.case("other bad references: RefNotPermitted, missing Secret, wrong kind; a ReferenceGrant allows")
def _():
    env = E["env"]
    for name, want in (("nogrant", "RefNotPermitted"), ("missing", "InvalidClientCertificateRef"),
                       ("wrongkind", "InvalidClientCertificateRef")):
        conds = gateway_conditions(name)
        eq(conds.get("ResolvedRefs"), ("False", want), "%s: ResolvedRefs" % name)
        eq(conds.get("Accepted"), ("True", "Accepted"), "%s: Accepted" % name)
        eq(get(name).status, 502, "%s: requests to the mTLS backend" % name)
    eq(gateway_conditions("granted").get("ResolvedRefs"), ("True", "ResolvedRefs"), "granted: ResolvedRefs")
    r = get("granted")
    eq(r.status, 200, "granted: status (%s)" % r.err)
    eq(r.json().get("tls_peer_subject"), "CN=gateway-two.example", "granted: certificate")
    # Gateways without spec.tls.backend get no ResolvedRefs condition of their own.
    eq(gateway_conditions("plain").get("ResolvedRefs"), None, "plain: no ResolvedRefs")
    diags = parse_diags(env.cmd("check").stderr)
    text = "\n".join(d["message"] for d in diags if d["severity"] == "warning")
    for needle in ("no ReferenceGrant allows it", "Secret \"default/no-such-secret\" not found",
                   "kind \"ConfigMap\" in group \"\" is not supported"):
        check(needle in text, "warning %r missing:\n%s" % (needle, text[-1500:]))


@S.case("schema: clientCertificateRef needs a name; namespace and kind follow the CRD")
def _():
    env = E["env"]
    text = ("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: schema}\n"
            "spec:\n  gatewayClassName: gatewayd\n  listeners: [{name: http, port: %d, protocol: HTTP}]\n"
            "  tls:\n    backend:\n      clientCertificateRef: {kind: Secret}\n"
            "---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: schema2}\n"
            "spec:\n  gatewayClassName: gatewayd\n  listeners: [{name: http, port: %d, protocol: HTTP}]\n"
            "  tls:\n    backend:\n      clientCertificateRef: {name: x, namespace: Not_A_Label}\n"
            "      extra: 1\n") % (gwtest.free_port(), gwtest.free_port())
    env.write("schema.yaml", text)
    try:
        r = env.cmd("check")
        eq(r.returncode, 1, "check exit status")
        errs = find_diag(parse_diags(r.stderr), "schema.yaml")
        got = sorted((d["line"], d["message"].split(": ", 2)[-1][:40]) for d in errs)
        lines = [e[0] for e in got]
        eq(lines, [pos_of(text, "{kind: Secret}")[0], pos_of(text, "{name: x")[0], pos_of(text, "extra")[0]],
           "error lines (%r)" % got)
        check("name" in errs[0]["message"] or any("\"name\"" in d["message"] for d in errs),
              "no error about the missing name: %r" % errs)
    finally:
        env.remove_file("schema.yaml")
    eq(env.cmd("check").returncode, 0, "check after removing the file")


@S.case("a reload that renews the Secret: new connections present the new certificate")
def _():
    env = E["env"]
    write_config(gw1_leaf="gw1b")
    env.reload()
    gwtest.wait_for(lambda: get("gw1").json().get("tls_peer_subject") == "CN=gateway-one-renewed.example", 5,
                    "the renewed certificate at the backend")
    eq(get("gw2").json().get("tls_peer_subject"), "CN=gateway-two.example", "gw2 unchanged")


@S.case("gatewayd stops cleanly")
def _():
    env = E["env"]
    eq(env.stop(), 0, "exit status")
    err = env.stderr_text()
    check("ERROR: AddressSanitizer" not in err and "LeakSanitizer" not in err
          and "runtime error:" not in err, "sanitizer report:\n" + err[-3000:])


S.run()
