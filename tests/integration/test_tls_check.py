# SPDX-License-Identifier: MIT
# test_tls_check: the TLS control plane as a user meets it: `gatewayd check` on HTTPS
# listeners and Secrets (warnings at the Secret's file:line, --strict, --json), and a
# running daemon whose reload prints the warning, keeps serving HTTP, and reports the
# unserved HTTPS listener in status. Certificates are made with the openssl CLI.
import json
import os
import shutil
import subprocess

import gwtest
from gwtest import check, eq, find_diag, parse_diags, pos_of

S = gwtest.Suite("tls_check")
E = {}

HEAD = """\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: gatewayd}}
spec: {{controllerName: gatewayd.io/gateway-controller}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw}}
spec:
  gatewayClassName: gatewayd
  addresses: [{{type: IPAddress, value: 127.0.0.1}}]
  listeners:
  - {{name: http, port: {http}, protocol: HTTP}}
  - name: https
    port: {https}
    protocol: HTTPS
    tls:
      certificateRefs: [{{name: site}}]
"""


def secret_yaml(crt, key):
    def block(pem):
        return "".join("    " + line + "\n" for line in pem.splitlines())
    return ("apiVersion: v1\nkind: Secret\nmetadata: {name: site}\ntype: kubernetes.io/tls\n"
            "stringData:\n  tls.crt: |\n" + block(crt) + "  tls.key: |\n" + block(key))


@S.setup
def setup():
    if not shutil.which("openssl"):
        raise gwtest.Skip("the openssl CLI is not installed")
    env = S.env("tls_check")
    E["env"] = env
    E["http"], E["https"] = gwtest.free_port(), gwtest.free_port()
    pki = os.path.join(env.dir, "pki")
    os.makedirs(pki)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", "site.key", "-out", "site.crt", "-subj", "/CN=site.example.org",
                    "-days", "365"], cwd=pki, check=True, capture_output=True)
    with open(os.path.join(pki, "site.crt")) as f:
        E["crt"] = f.read()
    with open(os.path.join(pki, "site.key")) as f:
        E["key"] = f.read()


def write(crt):
    env = E["env"]
    env.clear_confd()
    env.write("gateway.yaml", HEAD.format(http=E["http"], https=E["https"]))
    env.write("secret.yaml", secret_yaml(crt, E["key"]))


def broken_crt():
    # a certificate with its body cut: PEM-shaped, not DER inside
    lines = E["crt"].splitlines()
    return "\n".join(lines[:3] + lines[-1:]) + "\n"


@S.case("a good Secret: check and check --strict accept it without warnings")
def _():
    write(E["crt"])
    for args in ((), ("--strict",)):
        r = E["env"].cmd("check", *args)
        eq(r.returncode, 0, "check %s exit status (%r)" % (" ".join(args), r.stderr[-400:]))
        eq(find_diag(parse_diags(r.stderr), "secret.yaml", "warning"), [], "warnings")


@S.case("a broken certificate: a warning at the Secret, exit 0, and 1 with --strict")
def _():
    write(broken_crt())
    text = secret_yaml(broken_crt(), E["key"])
    line, _col = pos_of(text, "-----BEGIN CERTIFICATE-----")
    r = E["env"].cmd("check")
    eq(r.returncode, 0, "check exit status (%r)" % r.stderr[-400:])
    ws = find_diag(parse_diags(r.stderr), "secret.yaml", "warning")
    check(len(ws) == 1, "one warning at secret.yaml expected, got %r" % r.stderr[-600:])
    eq(ws[0]["line"], line, "line of the warning")
    check("Gateway default/gw listener \"https\" is not served" in ws[0]["message"],
          "the warning does not name the listener: %r" % ws[0]["message"])
    r = E["env"].cmd("check", "--strict")
    eq(r.returncode, 1, "check --strict exit status")
    r = E["env"].cmd("check", "--json")
    eq(r.returncode, 0, "check --json exit status")
    doc = json.loads(r.stdout)
    check(any(d["severity"] == "warning" and d["file"].endswith("secret.yaml") and d["line"] == line
              for d in doc["diagnostics"]), "--json diagnostics lack the warning: %r" % doc["diagnostics"])
    gw = [x for x in doc["resources"] if x["kind"] == "Gateway"][0]
    https = [l for l in gw["status"]["listeners"] if l["name"] == "https"][0]
    conds = {c["type"]: (c["status"], c["reason"]) for c in https["conditions"]}
    eq(conds.get("ResolvedRefs"), ("False", "InvalidCertificateRef"), "ResolvedRefs")
    eq(conds.get("Programmed"), ("False", "Invalid"), "Programmed")


@S.case("reload prints the warning; HTTP stays served, HTTPS is not bound")
def _():
    env = E["env"]
    write(broken_crt())
    env.start()
    try:
        r = env.cmd("reload")
        eq(r.returncode, 0, "reload exit status (%r)" % r.stderr[-400:])
        ws = find_diag(parse_diags(r.stderr), "secret.yaml", "warning")
        check(ws and "is not served" in ws[0]["message"], "reload did not print the warning: %r" % r.stderr[-600:])
        st = env.status()
        gw = [x for x in st["resources"] if x["kind"] == "Gateway"][0]
        https = [l for l in gw["status"]["listeners"] if l["name"] == "https"][0]
        check(any(c["type"] == "Programmed" and c["status"] == "False" for c in https["conditions"]),
              "status: https listener is programmed: %r" % https)
        res = gwtest.curl("http://127.0.0.1:%d/" % E["http"])
        eq(res.status, 404, "HTTP listener (no route)")
        res = gwtest.curl("http://127.0.0.1:%d/" % E["https"], timeout=3)
        check(res.rc != 0, "something answers on the unserved HTTPS port: %r" % res)
    finally:
        env.stop()


S.run()
