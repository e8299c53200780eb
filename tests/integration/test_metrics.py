# SPDX-License-Identifier: MIT
# test_metrics: /metrics as DESIGN.md "Admin listener" names it: exact request counts
# by gateway/listener/route/backend/status class (gatewayd's own 400/404/502 too),
# consistent latency histograms, bytes, active connections, the generation, reloads
# by result, backend endpoints, counters kept across reloads, and `promtool check
# metrics` (Debian's prometheus package) when it is installed.
import shutil
import socket
import subprocess

import gwtest
from gwtest import check, eq, httproute, match, metric, metric_sum, rule

S = gwtest.Suite("metrics")
E = {}

REQ = "gatewayd_http_requests_total"
HIST = "gatewayd_http_request_duration_seconds"
WEB = {"gateway": "default/gw", "listener": "http", "route": "default/web",
       "backend": "Backend/default/a"}
BROKEN = {"gateway": "default/gw", "listener": "http", "route": "default/broken",
          "backend": "Backend/default/dead"}
NOROUTE = {"gateway": "default/gw", "listener": "http", "route": "", "backend": ""}
NOTHING = {"gateway": "", "listener": "", "route": "", "backend": ""}


def write_config(env, extra_route=False):
    routes = [httproute("web", rules=[rule(["a"], [match("/app")])]),
              httproute("broken", rules=[rule(["dead"], [match("/broken")])])]
    if extra_route:
        routes.append(httproute("extra", rules=[rule(["a"], [match("/extra")])]))
    docs = [gwtest.gatewayclass(), gwtest.gateway("gw", [gwtest.listener("http", E["port"])])]
    docs += routes + [env.backend_doc("a"), gwtest.backend("dead", port=E["dead"])]
    env.write_docs("gateway.yaml", *docs)


@S.setup
def setup():
    # Two workers: every worker counts on its own; /metrics must add them up.
    env = S.env("metrics", workers=2)
    env.echo("a")
    E.update(env=env, port=gwtest.free_port(), dead=gwtest.free_port())
    write_config(env)
    env.start()


def wait_metrics(pred, what, timeout=10):
    """Scrapes until pred(samples) holds; returns the samples."""
    env = E["env"]
    return gwtest.wait_for(lambda: (lambda s: s if pred(s) else None)(env.metrics()),
                           timeout, what)


def raw_close(path):
    req = ("GET %s HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n" % path).encode()
    resp, _ = gwtest.raw(E["port"], req)
    return req, resp


@S.case("requests_total: every response counted once, by route, backend and class")
def _():
    env = E["env"]
    s0 = env.metrics()
    base = metric_sum(s0, REQ)
    for i in range(5):
        eq(env.curl(E["port"], "/app/%d" % i).status, 200, "status")
    for i in range(3):
        eq(env.curl(E["port"], "/nope/%d" % i).status, 404, "status")
    for i in range(2):
        eq(env.curl(E["port"], "/broken/%d" % i).status, 502, "status")
    resp, _ = gwtest.raw(E["port"], b"GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n")
    eq(gwtest.status_line(resp), 400, "status")
    want = [(WEB, "2xx", 5), (NOROUTE, "4xx", 3), (BROKEN, "5xx", 2), (NOTHING, "4xx", 1)]

    def done(s):
        return all(metric(s, REQ, code_class=c, **labels) - metric(s0, REQ, code_class=c, **labels)
                   == n for labels, c, n in want)
    s1 = wait_metrics(done, "the 11 requests counted")
    eq(metric_sum(s1, REQ) - base, 11, "all requests, all series")


@S.case("histogram: cumulative buckets, +Inf = _count = requests of the route")
def _():
    s = E["env"].metrics()
    routes = {dict(ls)["route"] for (n, ls) in s if n == HIST + "_count"}
    check({"default/web", "default/broken", ""} <= routes, "histogram routes: %r" % routes)
    for route in routes:
        buckets = sorted((float(dict(ls)["le"]), v) for (n, ls), v in s.items()
                         if n == HIST + "_bucket" and dict(ls)["route"] == route)
        check(len(buckets) >= 2 and buckets[-1][0] == float("inf"), "buckets of %r" % route)
        counts = [v for _, v in buckets]
        eq(counts, sorted(counts), "buckets of %r are cumulative" % route)
        count = metric(s, HIST + "_count", route=route)
        eq(buckets[-1][1], count, "+Inf bucket of %r" % route)
        eq(count, metric_sum(s, REQ, route=route), "_count of %r vs requests_total" % route)
        total = metric(s, HIST + "_sum", route=route)
        check(0 <= total <= count * 10, "_sum of %r: %r for %r requests" % (route, total, count))
    check(metric(s, HIST + "_sum", route="default/web") > 0, "web _sum is 0")


@S.case("bytes: request and response bytes of a route, exactly")
def _():
    env = E["env"]
    s0 = env.metrics()
    sent = received = 0
    for i in range(2):
        req, resp = raw_close("/app/bytes%d" % i)
        eq(gwtest.status_line(resp), 200, "status")
        sent += len(req)
        received += len(resp)
    s1 = wait_metrics(lambda s: metric(s, REQ, code_class="2xx", **WEB) -
                      metric(s0, REQ, code_class="2xx", **WEB) == 2, "2 requests counted")
    eq(metric(s1, "gatewayd_http_request_bytes_total", **WEB) -
       metric(s0, "gatewayd_http_request_bytes_total", **WEB), sent, "request bytes")
    eq(metric(s1, "gatewayd_http_response_bytes_total", **WEB) -
       metric(s0, "gatewayd_http_response_bytes_total", **WEB), received, "response bytes")


@S.case("connections_active follows open client connections")
def _():
    base = metric(E["env"].metrics(), "gatewayd_connections_active")
    socks = []
    try:
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", E["port"]), timeout=5)
            s.sendall(b"GET /app HTTP/1.1\r\n")  # a head in progress keeps it open
            socks.append(s)
        wait_metrics(lambda s: metric(s, "gatewayd_connections_active") == base + 3,
                     "3 more active connections")
    finally:
        for s in socks:
            s.close()
    wait_metrics(lambda s: metric(s, "gatewayd_connections_active") == base,
                 "active connections back to %d" % base)


@S.case("backend_endpoints: every endpoint healthy, none ejected")
def _():
    s = E["env"].metrics()
    for b in ("Backend/default/a", "Backend/default/dead"):
        eq(metric(s, "gatewayd_backend_endpoints", backend=b, state="healthy"), 1.0, b + " healthy")
        eq(metric(s, "gatewayd_backend_endpoints", backend=b, state="ejected"), 0.0, b + " ejected")


@S.case("generation gauge and reloads_total after a good and a broken reload")
def _():
    env = E["env"]
    s0 = env.metrics()
    eq(metric(s0, "gatewayd_config_generation"), float(env.status()["generation"]), "generation")
    ok0 = metric(s0, "gatewayd_config_reloads_total", result="success")
    bad0 = metric(s0, "gatewayd_config_reloads_total", result="failure")
    web0 = metric(s0, REQ, code_class="2xx", **WEB)

    write_config(env, extra_route=True)
    gen = env.reload()
    s1 = env.metrics()
    eq(metric(s1, "gatewayd_config_generation"), float(gen), "generation after reload")
    eq(metric(s1, "gatewayd_config_reloads_total", result="success"), ok0 + 1, "successes")
    eq(metric(s1, "gatewayd_config_reloads_total", result="failure"), bad0, "failures")
    # The counts of the retired generation stay in the totals.
    eq(metric(s1, REQ, code_class="2xx", **WEB), web0, "web 2xx after the reload")

    env.write("zz-broken.yaml", "kind: [\n")
    r = env.cmd("reload")
    check(r.returncode != 0, "a broken reload exited 0")
    env.remove_file("zz-broken.yaml")
    s2 = env.metrics()
    eq(metric(s2, "gatewayd_config_reloads_total", result="failure"), bad0 + 1, "failures")
    eq(metric(s2, "gatewayd_config_reloads_total", result="success"), ok0 + 1, "successes")
    eq(metric(s2, "gatewayd_config_generation"), float(gen), "generation kept")

    for i in range(2):
        eq(env.curl(E["port"], "/app/after%d" % i).status, 200, "status")
    eq(env.curl(E["port"], "/extra").status, 200, "new route")
    wait_metrics(lambda s: metric(s, REQ, code_class="2xx", **WEB) == web0 + 2 and
                 metric(s, REQ, code_class="2xx", **dict(WEB, route="default/extra")) == 1,
                 "web counted on across the reload, extra counted")


@S.case("status: backends with their endpoints and health, in the table and the JSON")
def _():
    env = E["env"]
    st = env.status()
    a = "127.0.0.1:%d" % env.echos["a"].port
    backends = {b["name"]: b["endpoints"] for b in st.get("backends", [])}
    eq(backends.get("Backend/default/a"), [{"address": a, "health": "healthy"}], "backend a")
    eq(backends.get("Backend/default/dead"),
       [{"address": "127.0.0.1:%d" % E["dead"], "health": "healthy"}], "backend dead")
    code, body = env.admin_get("/status")
    eq(code, 200, "/status")
    eq(gwtest.json.loads(body).get("backends"), st["backends"], "/status backends")
    r = env.cmd("status")
    eq(r.returncode, 0, "status exit")
    out = r.stdout
    check(gwtest.re.search(r"^generation %d\b" % st["generation"], out, gwtest.re.M),
          "no generation line: %r" % out[:200])
    check(gwtest.re.search(r"^\s+listener\s+http\s+attachedRoutes=\d+ Accepted=True", out,
                           gwtest.re.M), "no listener line with attachedRoutes")
    check(gwtest.re.search(r"^HTTPRoute\s+default/web", out, gwtest.re.M), "no route line")
    check(gwtest.re.search(r"^Backend/default/a\s+%s\s+healthy$" % gwtest.re.escape(a), out,
                           gwtest.re.M), "no endpoint line for backend a in:\n%s" % out)


@S.case("every family has HELP and TYPE; DESIGN.md's families are there")
def _():
    code, body = E["env"].admin_get("/metrics")
    eq(code, 200, "status")
    types = {}
    helps = set()
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
        elif line.startswith("# HELP "):
            helps.add(line.split(" ", 3)[2])
    for (name, _), _v in gwtest.parse_metrics(body).items():
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[:-len(suffix)] in types:
                family = name[:-len(suffix)]
        check(family in types, "no TYPE for %s" % name)
        check(family in helps, "no HELP for %s" % name)
    want = {"gatewayd_http_requests_total": "counter", HIST: "histogram",
            "gatewayd_connections_active": "gauge", "gatewayd_config_generation": "gauge",
            "gatewayd_config_reloads_total": "counter", "gatewayd_backend_endpoints": "gauge"}
    for name, typ in want.items():
        eq(types.get(name), typ, "TYPE of " + name)


@S.case("`promtool check metrics` accepts /metrics")
def _():
    promtool = shutil.which("promtool")
    if not promtool:
        raise gwtest.Skip("promtool not installed (Debian package prometheus)")
    code, body = E["env"].admin_get("/metrics")
    eq(code, 200, "status")
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                       text=True, timeout=30)
    eq(r.returncode, 0, "promtool exit status (%s%s)" % (r.stdout, r.stderr))


S.run()
