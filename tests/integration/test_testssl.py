# SPDX-License-Identifier: MIT
# test_testssl: Debian's testssl.sh against an HTTPS listener on 127.0.0.1 (RSA and
# ECDSA certificates of a test CA, which testssl is told to trust). Any finding of
# severity HIGH or CRITICAL fails. Runtime is bounded with --fast (one preferred
# cipher per protocol instead of all) and short timeouts: about a minute here; the
# full run took over three. Skipped (77) when testssl is not installed.
import json
import os
import shutil
import subprocess
import sys

import gwtest
from gwtest import check, httproute, match, rule

S = gwtest.Suite("testssl", case_timeout=400)
E = {}
TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
OPENSSL = shutil.which("openssl")
if not TESTSSL or not OPENSSL:
    print("1..0 # SKIP testssl or openssl not installed")
    sys.exit(gwtest.SKIP)
HOST = "a.example.com"


def openssl(*args):
    r = subprocess.run([OPENSSL] + list(args), capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "openssl %s: %s" % (args[0], r.stderr[-400:]))


def make_pki(d):
    os.makedirs(d)
    p = lambda n: os.path.join(d, n)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", p("ca.key"), "-out", p("ca.crt"), "-subj", "/CN=gatewayd testssl CA", "-days", "400")
    with open(p("leaf.ext"), "w") as f:
        # A CRL URI, as a public CA's certificate has (testssl rates its absence HIGH;
        # without --phone-out it is not fetched).
        f.write("subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "crlDistributionPoints=URI:http://127.0.0.1:9/ca.crl\n" % HOST)
    for name, newkey in (("rsa", ["rsa:2048"]), ("ecdsa", ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"])):
        openssl("req", "-newkey", *newkey, "-nodes", "-keyout", p(name + ".key"), "-out", p(name + ".csr"),
                "-subj", "/CN=" + HOST)
        openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
                "-CAcreateserial", "-out", p(name + ".crt"), "-days", "365",
                "-extfile", p("leaf.ext"))
    return p


@S.setup
def setup():
    env = S.env("testssl", workers=2)
    p = make_pki(os.path.join(env.dir, "pki"))
    env.echo("e1")
    port = gwtest.free_port()
    lst = gwtest.listener("https", port, protocol="HTTPS")
    lst["tls"] = {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "rsa"},
                                                           {"kind": "Secret", "name": "ecdsa"}]}
    secrets = []
    for name in ("rsa", "ecdsa"):
        with open(p(name + ".crt")) as c, open(p("ca.crt")) as ca, open(p(name + ".key")) as k:
            secrets.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                            "type": "kubernetes.io/tls",
                            "stringData": {"tls.crt": c.read() + ca.read(), "tls.key": k.read()}})
    env.write_docs("tls.yaml", gwtest.gatewayclass(), gwtest.gateway("gw", [lst]), *secrets,
                   httproute("r", rules=[rule(["e1"], [match("/")])]), env.backend_doc("e1"))
    env.start()
    E.update(env=env, port=port, ca=p("ca.crt"))


@S.case("testssl --fast finds nothing of severity HIGH or CRITICAL")
def _():
    env = E["env"]
    out = os.path.join(env.dir, "testssl.json")
    argv = [TESTSSL, "--quiet", "--color", "0", "--warnings", "off", "--fast",
            "--connect-timeout", "5", "--openssl-timeout", "5", "--add-ca", E["ca"],
            "--ip", "127.0.0.1", "--jsonfile", out, "%s:%d" % (HOST, E["port"])]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=360, cwd=env.dir,
                       stdin=subprocess.DEVNULL)
    check(os.path.exists(out), "testssl wrote no JSON (exit %d): %s" % (r.returncode, (r.stdout + r.stderr)[-1500:]))
    with open(out) as f:
        findings = json.load(f)
    check(len(findings) > 20, "testssl reported only %d findings" % len(findings))
    bad = [x for x in findings if x.get("severity") in ("HIGH", "CRITICAL")]
    check(not bad, "HIGH/CRITICAL findings:\n" + "\n".join(
        "%s %s: %s" % (x.get("severity"), x.get("id"), x.get("finding")) for x in bad))
    # The scan itself reached the server: protocols and a certificate were seen.
    ids = {x.get("id"): x for x in findings}
    check("TLS1_2" in ids and "offered" in ids["TLS1_2"].get("finding", ""), "TLS 1.2 not seen offered")
    for old in ("SSLv3", "TLS1", "TLS1_1"):
        check(old in ids and "not offered" in ids[old].get("finding", ""), "%s: %r" % (old, ids.get(old)))
    check(gwtest.curl("https://%s:%d/" % (HOST, E["port"]), workdir=env.dir,
                      extra=["--cacert", E["ca"], "--resolve", "%s:%d:127.0.0.1" % (HOST, E["port"])]).status
          == 200, "gatewayd serves after the scan")
    # Hundreds of odd handshakes later: a clean exit (and no leak under ASan).
    gwtest.eq(env.stop(), 0, "exit status")
    err = env.stderr_text()
    check("Sanitizer" not in err and "runtime error:" not in err, "sanitizer report:\n" + err[-3000:])


S.run()
