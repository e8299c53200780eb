# SPDX-License-Identifier: MIT
# test_config: `gatewayd check` and `gatewayd version` against DESIGN.md: exit codes,
# GCC-style diagnostics with exact file:line:col for YAML and schema errors,
# file:line for gatewayd.conf errors, the --json shape, warnings vs --strict.
import json
import os
import re

import gwtest
from gwtest import check, eq, find_diag, parse_diags, pos_of

S = gwtest.Suite("config")
E = {}

GOOD = """\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: gatewayd
spec:
  controllerName: gatewayd.io/gateway-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: gatewayd
  addresses:
  - type: IPAddress
    value: 127.0.0.1
  listeners:
  - name: http
    port: {port}
    protocol: HTTP
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata:
  name: app
spec:
  endpoints:
  - ip:
      address: 127.0.0.1
      port: 9
"""

ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  parentRefs:
  - name: gw
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /
    backendRefs:
    - group: gateway.envoyproxy.io
      kind: Backend
      name: app
"""


@S.setup
def setup():
    env = S.env("config")
    E["env"] = env
    E["port"] = gwtest.free_port()


def reset(route=ROUTE, extra=None):
    """conf.d = gateway.yaml (class, gateway, backend) + route.yaml (+ extra files)."""
    env = E["env"]
    env.clear_confd()
    env.write("gateway.yaml", GOOD.format(port=E["port"]))
    if route is not None:
        env.write("route.yaml", route)
    for rel, text in (extra or {}).items():
        env.write(rel, text)


def run_check(*args, **kw):
    r = E["env"].cmd("check", *args, **kw)
    return r, parse_diags(r.stdout + "\n" + r.stderr)


def expect_error(fname, text, *where, contains=()):
    """`check` must exit 1 and print "fname:line:col: error:" at one of the positions
    in where (each a needle of text, or a (needle, nth) pair). Errors about a value
    accept the key's or the value's position; a missing field, its parent's."""
    r, diags = run_check()
    eq(r.returncode, 1, "check exit status (stdout %r stderr %r)" % (r.stdout[-300:], r.stderr[-300:]))
    errs = find_diag(diags, fname)
    check(errs, "no error diagnostic for %s in: %r" % (fname, (r.stdout + r.stderr)[-600:]))
    want = set()
    for w in where:
        needle, nth = w if isinstance(w, tuple) else (w, 0)
        want.add(pos_of(text, needle, nth))
    got = [(d["line"], d["col"]) for d in errs]
    check(any(g in want for g in got),
          "diagnostic position: got %s, want one of %s (%s)" % (got, sorted(want), errs[0]["message"]))
    d = [d for d in errs if (d["line"], d["col"]) in want][0]
    for c in contains:
        check(c in d["message"], "message %r does not contain %r" % (d["message"], c))
    return d


@S.case("version prints the package version and exits 0")
def _():
    r = gwtest.subprocess.run([gwtest.GATEWAYD, "version"], capture_output=True, text=True,
                              timeout=10, env=gwtest.child_env())
    eq(r.returncode, 0, "exit status")
    with open(os.path.join(gwtest.SRCDIR, "configure.ac")) as f:
        m = re.search(r"AC_INIT\(\[gatewayd\],\s*\[([^\]]+)\]", f.read())
    check(m, "version not found in configure.ac")
    check(m.group(1) in r.stdout, "version output %r lacks %s" % (r.stdout, m.group(1)))
    check("gatewayd" in r.stdout, "version output %r lacks the program name" % r.stdout)


@S.case("check accepts a valid directory (exit 0, no error)")
def _():
    reset()
    r, diags = run_check()
    eq(r.returncode, 0, "exit status (output %r)" % (r.stdout + r.stderr)[-400:])
    eq([d for d in diags if d["severity"] == "error"], [], "error diagnostics")


@S.case("-c may stand before or after the command")
def _():
    reset()
    r = E["env"].cmd("check", conf_first=False)
    eq(r.returncode, 0, "`check -c FILE` exit status (%r)" % r.stderr[-300:])


@S.case("relative paths in gatewayd.conf resolve against its folder, not the cwd")
def _():
    reset()
    env = E["env"]
    r = gwtest.subprocess.run([gwtest.GATEWAYD, "-c", env.conf, "check"], capture_output=True,
                              text=True, timeout=30, cwd="/", env=gwtest.child_env())
    eq(r.returncode, 0, "check from / (%r)" % r.stderr[-300:])


@S.case("check DIR checks that directory instead of config_dir")
def _():
    reset()
    env = E["env"]
    other = os.path.join(env.dir, "other")
    os.makedirs(other, exist_ok=True)
    with open(os.path.join(other, "bad.yaml"), "w") as f:
        f.write("kind: [\n")
    r, diags = run_check(other)
    eq(r.returncode, 1, "check of a broken DIR")
    check(find_diag(diags, "bad.yaml"), "no diagnostic names bad.yaml: %r" % r.stdout)
    r, _ = run_check()
    eq(r.returncode, 0, "config_dir itself is still fine")


@S.case("YAML syntax error: file:line:col of the problem")
def _():
    text = ROUTE.replace("  name: web\n", "  name: web: x\n")
    reset(route=text)
    # libyaml: "mapping values are not allowed in this context" at the second colon.
    expect_error("route.yaml", text, ": x")


@S.case("YAML tab indentation: file:line:col of the tab")
def _():
    text = ROUTE.replace("  name: web\n", "\tname: web\n")
    reset(route=text)
    expect_error("route.yaml", text, "\tname")


@S.case("unknown field: error at the key, naming it")
def _():
    text = ROUTE.replace("    backendRefs:\n", "    backendRefz:\n")
    reset(route=text)
    expect_error("route.yaml", text, "backendRefz", contains=("backendRefz",))


@S.case("unknown field nested in a backendRef")
def _():
    text = ROUTE.replace("      name: app\n", "      name: app\n      wieght: 3\n")
    reset(route=text)
    expect_error("route.yaml", text, "wieght", contains=("wieght",))


@S.case("wrong type: a string where a port number belongs")
def _():
    env = E["env"]
    env.clear_confd()
    text = GOOD.format(port="eighty")
    env.write("gateway.yaml", text)
    expect_error("gateway.yaml", text, "port: eighty", "eighty", contains=("port",))


@S.case("wrong type: a mapping where a list belongs")
def _():
    text = ROUTE.replace("  parentRefs:\n  - name: gw\n", "  parentRefs:\n    name: gw\n")
    reset(route=text)
    expect_error("route.yaml", text, "parentRefs", "name: gw", contains=("parentRefs",))


@S.case("bad enum value: path type Prefix (DESIGN.md's own example)")
def _():
    text = ROUTE.replace("type: PathPrefix", "type: Prefix")
    reset(route=text)
    d = expect_error("route.yaml", text, "type: Prefix", "Prefix",
                     contains=('"Prefix"', "HTTPRoute default/web", "matches[0].path.type"))
    check("PathPrefix" in d["message"], "message does not list the allowed values: %r" % d["message"])


@S.case("bad enum value: method FETCH")
def _():
    text = ROUTE.replace("        value: /\n", "        value: /\n      method: FETCH\n")
    reset(route=text)
    expect_error("route.yaml", text, "method: FETCH", "FETCH", contains=('"FETCH"',))


@S.case("missing required field: Gateway without gatewayClassName")
def _():
    env = E["env"]
    env.clear_confd()
    text = GOOD.format(port=E["port"]).replace("  gatewayClassName: gatewayd\n", "")
    env.write("gateway.yaml", text)
    # Reported at the spec key or at its mapping (the first key inside it).
    expect_error("gateway.yaml", text, ("spec:", 1), "addresses:", contains=("gatewayClassName",))


@S.case("missing required field: backendRef without name")
def _():
    text = ROUTE.replace("      name: app\n", "")
    reset(route=text)
    # The backendRef's mapping starts at its first key (or at its "- ").
    expect_error("route.yaml", text, "group: gateway.envoyproxy.io", "- group",
                 "backendRefs:", contains=("name",))


@S.case("invalid value: path not starting with /")
def _():
    text = ROUTE.replace("        value: /\n", "        value: nope\n")
    reset(route=text)
    expect_error("route.yaml", text, "value: nope", "nope", contains=("nope",))


@S.case("invalid value: weight out of range")
def _():
    text = ROUTE.replace("      name: app\n", "      name: app\n      weight: -1\n")
    reset(route=text)
    expect_error("route.yaml", text, "weight: -1", "-1", contains=("weight",))


@S.case("every error of every file is reported, and nothing else decides the exit")
def _():
    bad1 = ROUTE.replace("type: PathPrefix", "type: Prefix")
    bad2 = ROUTE.replace("name: web", "name: web2").replace("    backendRefs:\n", "    backendRefz:\n")
    reset(route=bad1, extra={"sub/dir/route2.yaml": bad2})
    r, diags = run_check()
    eq(r.returncode, 1, "exit status")
    check(find_diag(diags, "route.yaml"), "no error for route.yaml: %r" % r.stdout)
    check(find_diag(diags, "route2.yaml"), "no error for sub/dir/route2.yaml (read recursively?)")


@S.case("duplicate kind/namespace/name is an error")
def _():
    reset(extra={"dup.yaml": ROUTE})
    r, diags = run_check()
    eq(r.returncode, 1, "exit status")
    errs = [d for d in diags if d["severity"] == "error"]
    check(errs, "no error printed: %r" % (r.stdout + r.stderr))
    check(any("web" in d["message"] for d in errs), "error does not name the object: %r" % errs)


@S.case("YAML aliases are refused")
def _():
    text = ROUTE.replace("  name: web\n", "  name: &n web\n  labels:\n    x: *n\n")
    reset(route=text)
    r, diags = run_check()
    eq(r.returncode, 1, "exit status")
    check(find_diag(diags, "route.yaml"), "no error names route.yaml: %r" % (r.stdout + r.stderr))


@S.case("hidden files, other extensions and .yml: only *.yaml/*.yml are read")
def _():
    reset(route=None, extra={".hidden.yaml": "kind: [\n", "README.txt": "kind: [\n",
                             "notes.yaml.bak": "kind: [\n", "route.yml": ROUTE})
    r, diags = run_check("--json")
    eq(r.returncode, 0, "exit status (%r)" % (r.stdout + r.stderr)[-400:])
    st = json.loads(r.stdout)
    names = [(x.get("kind"), x.get("name")) for x in st.get("resources", [])]
    check(("HTTPRoute", "web") in names, "route.yml was not read: %r" % names)


@S.case("warnings do not fail check; --strict makes them fail")
def _():
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {}\n"
    orphan = ROUTE.replace("name: web", "name: orphan").replace("  - name: gw\n", "  - name: nosuchgw\n")
    reset(extra={"widget.yaml": widget, "orphan.yaml": orphan})
    r, diags = run_check()
    eq(r.returncode, 0, "exit status with warnings (%r)" % (r.stdout + r.stderr)[-400:])
    check(find_diag(diags, "widget.yaml", "warning"), "no warning for the unknown kind: %r"
          % (r.stdout + r.stderr))
    check(find_diag(diags, "orphan.yaml", "warning"), "no warning for a route attached nowhere")
    r, _ = run_check("--strict")
    eq(r.returncode, 1, "exit status with --strict")


@S.case("check --json: one object with resources and diagnostics (positions as numbers)")
def _():
    text = ROUTE.replace("type: PathPrefix", "type: Prefix")
    reset(route=text)
    r, _ = run_check("--json")
    eq(r.returncode, 1, "exit status")
    try:
        st = json.loads(r.stdout)
    except ValueError:
        raise gwtest.Failure("stdout is not one JSON object: %r" % r.stdout[:300])
    check(isinstance(st.get("resources"), list), "no resources array")
    diags = st.get("diagnostics")
    check(isinstance(diags, list) and diags, "no diagnostics array")
    d = [d for d in diags if str(d.get("file", "")).endswith("route.yaml")]
    check(d, "no diagnostic for route.yaml: %r" % diags)
    d = d[0]
    for k in ("file", "line", "column", "severity", "message"):
        check(k in d, "diagnostic lacks %r: %r" % (k, d))
    eq(d["severity"], "error", "severity")
    line, col = pos_of(text, "type: Prefix")
    _, vcol = pos_of(text, "Prefix")
    eq(d["line"], line, "line")
    check(d["column"] in (col, vcol), "column %r not in %r" % (d["column"], (col, vcol)))


@S.case("check --json on a valid directory lists every resource")
def _():
    reset()
    r, _ = run_check("--json")
    eq(r.returncode, 0, "exit status")
    st = json.loads(r.stdout)
    kinds = sorted((x["kind"], x["name"]) for x in st["resources"])
    for want in (("Backend", "app"), ("Gateway", "gw"), ("GatewayClass", "gatewayd"),
                 ("HTTPRoute", "web")):
        check(want in kinds, "%r missing from resources %r" % (want, kinds))
    for x in st["resources"]:
        for k in ("apiVersion", "kind", "name", "source", "status"):
            check(k in x, "resource %s lacks %r" % (x.get("name"), k))
        # GatewayClass is cluster-scoped: no namespace (or an empty one).
        if x["kind"] == "GatewayClass":
            check(not x.get("namespace"), "GatewayClass with namespace %r" % x.get("namespace"))
        else:
            check(x.get("namespace"), "%s %s lacks a namespace" % (x["kind"], x["name"]))
    eq(st.get("diagnostics"), [], "diagnostics of a clean directory")


# ---- gatewayd.conf (INI): errors carry file:line

def ini_case(lines, *bad_line_texts):
    """The error must be on the line of one of bad_line_texts."""
    env = E["env"]
    reset()
    base = ["[gatewayd]", "config_dir = conf.d", "state_dir = state", "run_dir = run",
            "workers = 1", "", "[admin]", "listen = off", "", "[log]", "access = off", ""]
    text = "\n".join(base + lines) + "\n"
    env.write_ini(text)
    try:
        r, diags = run_check()
        want_lines = [text.splitlines().index(t) + 1 for t in bad_line_texts]
        eq(r.returncode, 1, "check exit status (%r)" % (r.stdout + r.stderr)[-300:])
        errs = find_diag(diags, "gatewayd.conf")
        check(errs, "no gatewayd.conf:LINE: error: line in %r" % (r.stdout + r.stderr)[-400:])
        check(errs[0]["line"] in want_lines, "line of the error: got %d, want %s"
              % (errs[0]["line"], " or ".join(map(str, want_lines))))
        return errs[0]
    finally:
        env.write_ini()


@S.case("gatewayd.conf: unknown key -> file:line error")
def _():
    d = ini_case(["[limits]", "max_header_bytes = 16k", "frobnicate = 1"], "frobnicate = 1")
    check("frobnicate" in d["message"], "message does not name the key: %r" % d["message"])


@S.case("gatewayd.conf: unknown section -> file:line error")
def _():
    # inih reports keys, so the section's line or its first key's line.
    d = ini_case(["[nope]", "x = 1"], "[nope]", "x = 1")
    check("nope" in d["message"], "message does not name the section: %r" % d["message"])


@S.case("gatewayd.conf: workers = 0 is out of range")
def _():
    env = E["env"]
    reset()
    text = "[gatewayd]\nconfig_dir = conf.d\nstate_dir = state\nrun_dir = run\nworkers = 0\n"
    env.write_ini(text)
    try:
        r, diags = run_check()
        eq(r.returncode, 1, "exit status")
        errs = find_diag(diags, "gatewayd.conf")
        check(errs, "no gatewayd.conf error: %r" % (r.stdout + r.stderr))
        eq(errs[0]["line"], 5, "line")
    finally:
        env.write_ini()


@S.case("gatewayd.conf: bad duration and bad size")
def _():
    ini_case(["[limits]", "header_timeout = 10 parsecs"], "header_timeout = 10 parsecs")
    ini_case(["[limits]", "max_body_bytes = lots"], "max_body_bytes = lots")


@S.case("gatewayd.conf: bad enum (log level)")
def _():
    d = ini_case(["[log]", "level = chatty"], "level = chatty")
    check("chatty" in d["message"], "message does not quote the value: %r" % d["message"])


@S.case("gatewayd.conf: every documented key is accepted")
def _():
    env = E["env"]
    reset()
    text = """[gatewayd]
config_dir = conf.d
state_dir = state
run_dir = run
workers = auto
user =
controller_name = gatewayd.io/gateway-controller
history = 20

[admin]
listen = 127.0.0.1:%d

[log]
level = info
access = off
access_format = json

[limits]
header_timeout = 10s
idle_timeout = 60s
max_header_bytes = 32k
max_headers = 100
max_body_bytes = 0
max_connections = 16384
connect_timeout = 5s
drain_timeout = 30s

[dns]
nameservers =
min_ttl = 5s
max_ttl = 300s
""" % gwtest.free_port()
    env.write_ini(text)
    try:
        r, diags = run_check()
        eq(r.returncode, 0, "exit status (%r)" % (r.stdout + r.stderr)[-400:])
    finally:
        env.write_ini()


@S.case("a missing -c file is an error naming the file")
def _():
    env = E["env"]
    missing = os.path.join(env.dir, "nope.conf")
    r = gwtest.subprocess.run([gwtest.GATEWAYD, "-c", missing, "check"], capture_output=True,
                              text=True, timeout=10, env=gwtest.child_env())
    check(r.returncode != 0, "exit status 0 for a missing config file")
    check("nope.conf" in r.stdout + r.stderr, "message does not name the file: %r" % r.stderr)


@S.case("an unknown command fails with a usage message")
def _():
    r = E["env"].cmd("frobnicate")
    check(r.returncode != 0, "exit status 0 for an unknown command")
    check(r.stderr.strip(), "nothing printed on stderr")


@S.case("`run` refuses a broken gatewayd.conf and prints file:line")
def _():
    env = E["env"]
    reset()
    env.write_ini("[gatewayd]\nconfig_dir = conf.d\nstate_dir = state\nrun_dir = run\nbogus = 1\n")
    try:
        r = gwtest.subprocess.run([gwtest.GATEWAYD, "run", "-c", env.conf], capture_output=True,
                                  text=True, timeout=20, env=gwtest.child_env())
        check(r.returncode != 0, "run exited 0 with a broken gatewayd.conf")
        errs = find_diag(parse_diags(r.stdout + r.stderr), "gatewayd.conf")
        check(errs and errs[0]["line"] == 5, "no gatewayd.conf:5: error: line in %r" % r.stderr[-400:])
    finally:
        env.write_ini()


S.run()
