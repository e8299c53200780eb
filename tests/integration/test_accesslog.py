# SPDX-License-Identifier: MIT
# test_accesslog: the access log of DESIGN.md "Access log": JSON lines with every
# field for proxied requests and for gatewayd's own answers (404, 502, 400, 408),
# request ids (generated and sent to the backend as X-Request-Id, or the client's),
# the exact "combined" shape, stdout, reopening on SIGUSR1, and access = off.
import json
import os
import re
import signal
import time

import gwtest
from gwtest import check, eq, httproute, match, rule

S = gwtest.Suite("accesslog")
E = {}

JSON_FIELDS = ("ts", "client", "method", "host", "path", "protocol", "status", "bytes_in",
               "bytes_out", "duration_ms", "upstream_ms", "gateway", "route", "backend",
               "upstream", "request_id")
TS_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")


def make_env(name, access, fmt=None, limits=None):
    env = S.env(name, limits=limits)
    env.echo("a")
    port = gwtest.free_port()
    dead = gwtest.free_port()  # nobody listens there: connection refused, 502
    routes = [httproute("web", rules=[rule(["a"], [match("/app")])]),
              httproute("broken", rules=[rule(["dead"], [match("/broken")])])]
    docs = [gwtest.gatewayclass(), gwtest.gateway("gw", [gwtest.listener("http", port)])]
    docs += routes + [env.backend_doc("a"), gwtest.backend("dead", port=dead)]
    env.write_docs("gateway.yaml", *docs)
    if access != "off":
        env.set_access_log(access, fmt)
    env.start()
    return {"env": env, "port": port, "dead": dead}


def log_path(ctx, name="access.log"):
    return os.path.join(ctx["env"].dir, name)


def read_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8").splitlines()
    except FileNotFoundError:
        return []


def wait_lines(path, n, what="access log lines"):
    """Waits until path holds at least n lines; returns them."""
    return gwtest.wait_for(lambda: (lambda l: l if len(l) >= n else None)(read_lines(path)),
                           10, "%d %s in %s" % (n, what, os.path.basename(path)))


def request(ctx, data, path="access.log"):
    """Sends one raw request (it should close the connection); returns the response
    bytes and the JSON log line it produced."""
    before = len(read_lines(log_path(ctx, path)))
    resp, _ = gwtest.raw(ctx["port"], data)
    lines = wait_lines(log_path(ctx, path), before + 1)
    eq(len(lines), before + 1, "new access log lines")
    return resp, json.loads(lines[-1])


def check_common(rec, req, resp):
    for k in JSON_FIELDS:
        check(k in rec, "field %r missing in %r" % (k, rec))
    m = TS_RE.match(rec["ts"])
    check(m, "ts %r is not RFC 3339 UTC" % rec["ts"])
    ts = time.mktime(time.strptime(rec["ts"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    check(abs(ts - time.time()) < 120, "ts %r is not now" % rec["ts"])
    eq(rec["client"], "127.0.0.1", "client")
    eq(rec["bytes_in"], len(req), "bytes_in (the request sent)")
    eq(rec["bytes_out"], len(resp), "bytes_out (the response received)")
    check(isinstance(rec["duration_ms"], (int, float)) and rec["duration_ms"] >= 0,
          "duration_ms %r" % rec["duration_ms"])
    check(HEX16.match(rec["request_id"]), "request_id %r" % rec["request_id"])


@S.setup
def setup():
    E["json"] = make_env("alog-json", "access.log", limits={"header_timeout": "1s"})


@S.case("JSON: a proxied request has every field, with exact values")
def _():
    ctx = E["json"]
    req = (b"GET /app/x?q=1 HTTP/1.1\r\nHost: shop.test\r\nUser-Agent: t/1\r\n"
           b"Connection: close\r\n\r\n")
    resp, rec = request(ctx, req)
    eq(gwtest.status_line(resp), 200, "response status")
    check_common(rec, req, resp)
    eq(rec["method"], "GET", "method")
    eq(rec["host"], "shop.test", "host")
    eq(rec["path"], "/app/x?q=1", "path (with the query)")
    eq(rec["protocol"], "HTTP/1.1", "protocol")
    eq(rec["status"], 200, "status")
    eq(rec["gateway"], "default/gw", "gateway")
    eq(rec["route"], "default/web", "route")
    eq(rec["backend"], "Backend/default/a", "backend")
    eq(rec["upstream"], "127.0.0.1:%d" % ctx["env"].echos["a"].port, "upstream")
    check(isinstance(rec["upstream_ms"], (int, float)), "upstream_ms %r" % rec["upstream_ms"])
    check(0 <= rec["upstream_ms"] <= rec["duration_ms"],
          "upstream_ms %r within duration_ms %r" % (rec["upstream_ms"], rec["duration_ms"]))
    # The backend got the logged id as X-Request-Id.
    body = gwtest.parse_responses(resp)[0][2]
    seen = json.loads(body)["headers"].get("x-request-id")
    eq(seen, [rec["request_id"]], "X-Request-Id the backend received")


@S.case("JSON: a 404 (no route) is logged with a null route, backend and upstream")
def _():
    ctx = E["json"]
    req = b"GET /nope HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n"
    resp, rec = request(ctx, req)
    eq(gwtest.status_line(resp), 404, "response status")
    check_common(rec, req, resp)
    eq(rec["status"], 404, "status")
    eq(rec["path"], "/nope", "path")
    eq(rec["gateway"], "default/gw", "gateway (the listener matched)")
    for k in ("route", "backend", "upstream", "upstream_ms"):
        eq(rec[k], None, k)


@S.case("JSON: a 502 (backend refused) names the route, backend and upstream")
def _():
    ctx = E["json"]
    req = b"GET /broken/1 HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n"
    resp, rec = request(ctx, req)
    eq(gwtest.status_line(resp), 502, "response status")
    check_common(rec, req, resp)
    eq(rec["status"], 502, "status")
    eq(rec["route"], "default/broken", "route")
    eq(rec["backend"], "Backend/default/dead", "backend")
    eq(rec["upstream"], "127.0.0.1:%d" % ctx["dead"], "upstream")
    eq(rec["upstream_ms"], None, "upstream_ms (no response came)")


@S.case("JSON: a malformed request (400) is logged without a request line")
def _():
    ctx = E["json"]
    req = b"GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n"
    resp, rec = request(ctx, req)
    eq(gwtest.status_line(resp), 400, "response status")
    check_common(rec, req, resp)
    eq(rec["status"], 400, "status")
    for k in ("method", "host", "path", "protocol", "gateway", "route", "backend"):
        eq(rec[k], None, k)


@S.case("JSON: a request head that never completes (408) is logged")
def _():
    ctx = E["json"]
    req = b"GET /app HTTP/1.1\r\nHost: shop.test\r\n"
    resp, rec = request(ctx, req)
    eq(gwtest.status_line(resp), 408, "response status")
    eq(rec["status"], 408, "status")
    eq(rec["bytes_out"], len(resp), "bytes_out")
    eq(rec["method"], None, "method")


@S.case("the client's X-Request-Id is kept, forwarded once and logged")
def _():
    ctx = E["json"]
    req = (b"GET /app/rid HTTP/1.1\r\nHost: shop.test\r\nX-Request-Id: client-id-42\r\n"
           b"Connection: close\r\n\r\n")
    resp, rec = request(ctx, req)
    eq(rec["request_id"], "client-id-42", "request_id")
    body = gwtest.parse_responses(resp)[0][2]
    eq(json.loads(body)["headers"].get("x-request-id"), ["client-id-42"], "forwarded")


@S.case("every request of a keep-alive connection gets its own line and id")
def _():
    ctx = E["json"]
    path = log_path(ctx)
    before = len(read_lines(path))
    urls = [ctx["env"].url(ctx["port"], "/app/ka%d" % i) for i in range(20)]
    res = gwtest.curl_many(urls)
    eq([r.status for r in res], [200] * 20, "statuses")
    lines = wait_lines(path, before + 20)
    eq(len(lines), before + 20, "lines")
    recs = [json.loads(l) for l in lines[before:]]
    eq([r["path"] for r in recs], ["/app/ka%d" % i for i in range(20)], "paths in order")
    eq(len({r["request_id"] for r in recs}), 20, "distinct request ids")


@S.case("SIGUSR1 reopens the file: after mv, new lines go to a new file")
def _():
    ctx = E["json"]
    env = ctx["env"]
    path, moved = log_path(ctx), log_path(ctx, "access.log.1")
    os.rename(path, moved)
    r = env.curl(ctx["port"], "/app/before-reopen")
    eq(r.status, 200, "status")
    gwtest.wait_for(lambda: any("/app/before-reopen" in l for l in read_lines(moved)), 10,
                    "the line in the renamed file")
    env.gw.send_signal(signal.SIGUSR1)
    gwtest.wait_for(lambda: os.path.exists(path), 10, "access.log created again")
    r = env.curl(ctx["port"], "/app/after-reopen")
    eq(r.status, 200, "status")
    lines = wait_lines(path, 1)
    eq(len(lines), 1, "lines in the new file")
    eq(json.loads(lines[0])["path"], "/app/after-reopen", "the new file's line")
    old = read_lines(moved)
    check(not any("after-reopen" in l for l in old), "the renamed file got the new line")
    check(env.alive(), "gatewayd died")


@S.case("combined: exactly Apache/nginx combined, extra fields after it")
def _():
    ctx = E.setdefault("combined", make_env("alog-combined", "access.log", "combined"))
    req = (b"GET /app/c?x=1 HTTP/1.1\r\nHost: shop.test\r\nReferer: http://ref.test/\r\n"
           b"User-Agent: ua-test/1.0\r\nConnection: close\r\n\r\n")
    resp, _ = gwtest.raw(ctx["port"], req)
    body = gwtest.parse_responses(resp)[0][2]
    rid = json.loads(body)["headers"]["x-request-id"][0]
    lines = wait_lines(log_path(ctx), 1)
    combined = (r'^127\.0\.0\.1 - - \[(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d) [+-]\d{4}\] '
                r'"GET /app/c\?x=1 HTTP/1\.1" 200 (\d+) "http://ref\.test/" "ua-test/1\.0"')
    extra = (r' (\d+) (\d+) "shop\.test" ([0-9a-f]{16}) (\d+\.\d{3}) (\d+\.\d{3}) "default/gw" '
             r'"http" "default/web" "Backend/default/a" "127\.0\.0\.1:(\d+)"$')
    m = re.match(combined + extra, lines[0])
    check(m, "line does not have the combined shape: %r" % lines[0])
    eq(int(m.group(7)), len(body), "%b: body bytes")
    eq(int(m.group(8)), len(req), "bytes in")
    eq(int(m.group(9)), len(resp), "bytes out")
    eq(m.group(10), rid, "request id (as the backend got it)")
    eq(int(m.group(13)), ctx["env"].echos["a"].port, "upstream port")

    req = b"GET /nope HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n"
    resp, _ = gwtest.raw(ctx["port"], req)
    lines = wait_lines(log_path(ctx), 2)
    m = re.match(r'^127\.0\.0\.1 - - \[[^]]+\] "GET /nope HTTP/1\.1" 404 (\d+) "-" "-" '
                 r'(\d+) (\d+) "shop\.test" [0-9a-f]{16} \d+\.\d{3} - "default/gw" "http" '
                 r'"-" "-" "-"$', lines[1])
    check(m, "404 line: %r" % lines[1])
    eq(int(m.group(3)), len(resp), "bytes out")


@S.case("access = stdout: JSON lines on standard output")
def _():
    ctx = make_env("alog-stdout", "stdout")
    env = ctx["env"]
    for i in range(3):
        eq(env.curl(ctx["port"], "/app/s%d" % i).status, 200, "status")
    lines = wait_lines(env.gw_stdout_path, 3, "stdout lines")
    recs = [json.loads(l) for l in lines]
    eq([r["path"] for r in recs], ["/app/s0", "/app/s1", "/app/s2"], "paths")
    eq({r["status"] for r in recs}, {200}, "statuses")
    eq(env.stop(), 0, "exit status")


@S.case("access = off: nothing is written, requests are still counted")
def _():
    ctx = make_env("alog-off", "off")
    env = ctx["env"]
    for i in range(3):
        eq(env.curl(ctx["port"], "/app/o%d" % i).status, 200, "status")
    samples = gwtest.wait_for(
        lambda: (lambda s: s if gwtest.metric_sum(s, "gatewayd_http_requests_total",
                                                  route="default/web") == 3 else None)(env.metrics()),
        10, "3 requests counted")
    eq(gwtest.metric(samples, "gatewayd_access_log_written_total"), 0.0, "lines written")
    time.sleep(0.3)  # longer than the drain period
    eq(os.path.getsize(env.gw_stdout_path), 0, "bytes on stdout")
    eq(sorted(f for f in os.listdir(env.dir) if "access" in f), [], "access log files")


S.run()
