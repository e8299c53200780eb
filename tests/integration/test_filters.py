#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test_filters: HTTPRoute filters and timeouts through the real gatewayd, re-expressing
# the upstream conformance tests of GATEWAY-API.md 5.6: HTTPRouteRequestHeaderModifier,
# HTTPRouteResponseHeaderModifier, HTTPRouteBackendRequestHeaderModifier,
# HTTPRouteRequestHeaderModifierBackendWeights, HTTPRouteRedirect{HostAndStatus,Path,
# Port,Scheme,PortAndScheme}, HTTPRoute303/307/308Redirect, HTTPRouteRewriteHost,
# HTTPRouteRewritePath, HTTPRouteCORS, HTTPRouteTimeoutRequest,
# HTTPRouteTimeoutBackendRequest (RequestMirror: test_mirror.py; retry: test_retry.py).
import os

import gwtest
from gwtest import check, eq, gateway, httproute, listener, match, rule

S = gwtest.Suite("filters")
E = {}


def hm(kind, set_=None, add=None, remove=None):
    body = {}
    if set_:
        body["set"] = [{"name": k, "value": v} for k, v in set_]
    if add:
        body["add"] = [{"name": k, "value": v} for k, v in add]
    if remove:
        body["remove"] = list(remove)
    key = "requestHeaderModifier" if kind == "RequestHeaderModifier" else "responseHeaderModifier"
    return {"type": kind, key: body}


def redirect(**kw):
    return {"type": "RequestRedirect", "requestRedirect": kw}


def rewrite(**kw):
    return {"type": "URLRewrite", "urlRewrite": kw}


def frule(backends, path, filters, ptype="PathPrefix", **extra):
    r = rule(backends, [match(path, ptype)])
    r["filters"] = filters
    r.update(extra)
    if not backends:
        del r["backendRefs"]
    return r


@S.setup
def setup():
    env = S.env("filters", workers=2)
    for b in ("e1", "e2"):
        env.echo(b)
    p, p80 = gwtest.free_port(), gwtest.free_port()
    E.update(env=env, p=p, p80=p80)
    rq = "RequestHeaderModifier"
    rs = "ResponseHeaderModifier"
    ref1 = gwtest.backend_ref("e1", 10)
    ref1["filters"] = [hm(rq, set_=[("Backend", "e1")])]
    ref2 = gwtest.backend_ref("e2", 10)
    ref2["filters"] = [hm(rq, set_=[("Backend", "e2")])]
    routes = [
        httproute("hdr", [("gw", "http")], hostnames=["hdr.test"], rules=[
            frule(["e1"], "/set", [hm(rq, set_=[("X-Header-Set", "set-overwrites-values")])]),
            frule(["e1"], "/add", [hm(rq, add=[("X-Header-Add", "add-appends-values")])]),
            frule(["e1"], "/remove", [hm(rq, remove=["X-Header-Remove"])]),
            frule(["e1"], "/multiple", [hm(rq, set_=[("X-Header-Set-1", "header-set-1"),
                                                      ("X-Header-Set-2", "header-set-2")],
                                           add=[("X-Header-Add-1", "header-add-1"),
                                                ("X-Header-Add-2", "header-add-2"),
                                                ("X-Header-Add-3", "header-add-3")],
                                           remove=["X-Header-Remove-1", "X-Header-Remove-2"])]),
            frule(["e1"], "/case-insensitivity", [hm(rq, set_=[("X-Header-Set", "header-set")],
                                                     add=[("X-Header-Add", "header-add")],
                                                     remove=["X-Header-Remove"])]),
            frule(["e1"], "/response", [hm(rs, set_=[("X-Header-Set", "set-overwrites-values")],
                                           add=[("X-Header-Add", "add-appends-values")],
                                           remove=["X-Header-Remove"])]),
            rule([ref1, ref2], [match("/weights")]),
        ]),
        httproute("redir", [("gw", "http")], hostnames=["redir.test"], rules=[
            frule([], "/hostname-redirect", [redirect(hostname="example.org")]),
            frule([], "/host-and-status", [redirect(hostname="example.org", statusCode=301)]),
            frule([], "/original-prefix", [redirect(path={"type": "ReplacePrefixMatch",
                                                          "replacePrefixMatch": "/replacement-prefix"})]),
            frule([], "/full", [redirect(path={"type": "ReplaceFullPath",
                                               "replaceFullPath": "/full-path-replacement"})]),
            frule([], "/port", [redirect(port=8083)]),
            frule([], "/scheme", [redirect(scheme="https")]),
            frule([], "/scheme-and-port", [redirect(scheme="http", port=8080)]),
            frule([], "/nothing", [redirect()]),
            frule([], "/see-other", [redirect(statusCode=303)]),
            frule([], "/temporary", [redirect(statusCode=307)]),
            frule([], "/permanent", [redirect(statusCode=308)]),
        ]),
        httproute("redir80", [("gw", "http80")], hostnames=["redir80.test"], rules=[
            frule([], "/scheme", [redirect(scheme="https")]),
            frule([], "/nothing", [redirect()]),
        ]),
        httproute("rewrite", [("gw", "http")], hostnames=["rewrite.example"], rules=[
            frule(["e1"], "/one", [rewrite(hostname="one.example.org")]),
            frule(["e1"], "/prefix/one", [rewrite(path={"type": "ReplacePrefixMatch",
                                                        "replacePrefixMatch": "/one"})]),
            frule(["e1"], "/full/one", [rewrite(path={"type": "ReplaceFullPath",
                                                      "replaceFullPath": "/one"})]),
            frule(["e1"], "/strip-prefix", [rewrite(path={"type": "ReplacePrefixMatch",
                                                          "replacePrefixMatch": "/"})]),
            frule(["e1"], "/prefix/rewrite-path-and-modify-headers", [
                rewrite(path={"type": "ReplacePrefixMatch", "replacePrefixMatch": "/prefix"}),
                hm(rq, set_=[("X-Header-Set", "set-overwrites-values")],
                   add=[("X-Header-Add", "header-add")], remove=["X-Header-Remove"])]),
            frule(["e1"], "/", [rewrite(hostname="example.org")]),
        ]),
        httproute("cors", [("gw", "http")], hostnames=["cors.test"], rules=[
            frule(["e1"], "/", [{"type": "CORS", "cors": {
                "allowOrigins": ["https://www.foo.com", "https://*.bar.com"],
                "allowMethods": ["GET", "OPTIONS"],
                "allowHeaders": ["x-header-1", "x-header-2"],
                "exposeHeaders": ["x-header-3", "x-header-4"],
                "allowCredentials": True, "maxAge": 3600}}]),
        ]),
        httproute("t-request", [("gw", "http")], hostnames=["request.timeout.test"], rules=[
            frule(["e1"], "/", [], timeouts={"request": "500ms"})]),
        httproute("t-backend", [("gw", "http")], hostnames=["backend.timeout.test"], rules=[
            frule(["e1"], "/", [], timeouts={"backendRequest": "500ms"})]),
        httproute("t-off", [("gw", "http")], hostnames=["off.timeout.test"], rules=[
            frule(["e1"], "/", [], timeouts={"request": "0s"})]),
    ]
    gw = gateway("gw", [listener("http", p), listener("http80", p80)])
    docs = [gwtest.gatewayclass(), gw] + routes + [env.backend_doc(b) for b in ("e1", "e2")]
    env.write_docs("gateway.yaml", *docs)
    env.start()


def get(host, path, **kw):
    return E["env"].curl(E["p"], path, host=host, **kw)


def seen(r):
    eq(r.status, 200, "status")
    return r.json()["headers"]


@S.case("HTTPRouteRequestHeaderModifier: set, add, remove, several, names in any case")
def _():
    h = seen(get("hdr.test", "/set", headers=["X-Header-Set: some-other-value"]))
    eq(h.get("x-header-set"), ["set-overwrites-values"], "set replaces")
    h = seen(get("hdr.test", "/set"))
    eq(h.get("x-header-set"), ["set-overwrites-values"], "set adds when absent")
    h = seen(get("hdr.test", "/add", headers=["X-Header-Add: some-other-value"]))
    eq(",".join(h.get("x-header-add", [])), "some-other-value,add-appends-values", "add appends")
    h = seen(get("hdr.test", "/remove", headers=["X-Header-Remove: val"]))
    check("x-header-remove" not in h, "remove: %r" % h)
    h = seen(get("hdr.test", "/multiple", headers=["X-Header-Set-2: set-val", "X-Header-Add-2: add-val",
                                                  "X-Header-Remove-1: a", "X-Header-Remove-2: b",
                                                  "X-Header-Keep: k"]))
    eq(h.get("x-header-set-1"), ["header-set-1"], "set-1")
    eq(h.get("x-header-set-2"), ["header-set-2"], "set-2")
    eq(h.get("x-header-add-1"), ["header-add-1"], "add-1")
    eq(",".join(h.get("x-header-add-2")), "add-val,header-add-2", "add-2")
    eq(h.get("x-header-add-3"), ["header-add-3"], "add-3")
    eq(h.get("x-header-keep"), ["k"], "other fields stay")
    check("x-header-remove-1" not in h and "x-header-remove-2" not in h, "removed: %r" % h)
    h = seen(get("hdr.test", "/case-insensitivity", headers=["x-header-set: original", "x-header-add: original",
                                                            "x-header-remove: gone"]))
    eq(h.get("x-header-set"), ["header-set"], "set in other case")
    eq(",".join(h.get("x-header-add")), "original,header-add", "add in other case")
    check("x-header-remove" not in h, "remove in other case")


@S.case("HTTPRouteResponseHeaderModifier: backend-set headers are set, appended, removed")
def _():
    r = get("hdr.test", "/response", headers=[
        "X-Echo-Set-Header: X-Header-Set:original,X-Header-Add:original,X-Header-Remove:gone,X-Other:o"])
    eq(r.status, 200, "status")
    eq(r.header("X-Header-Set"), "set-overwrites-values", "set")
    adds = [v for k, v in r.headers if k.lower() == "x-header-add"]
    eq(",".join(adds), "original,add-appends-values", "add")
    eq(r.header("X-Header-Remove"), None, "remove")
    eq(r.header("X-Other"), "o", "others stay")


@S.case("HTTPRouteRequestHeaderModifierBackendWeights: backendRef filters follow the chosen backend")
def _():
    counts = {"e1": 0, "e2": 0}
    for _ in range(40):
        r = get("hdr.test", "/weights")
        eq(r.status, 200, "status")
        j = r.json()
        eq(j["headers"].get("backend"), [j["name"]], "Backend header names the backend that got it")
        counts[j["name"]] += 1
    check(counts["e1"] > 0 and counts["e2"] > 0, "both backends chosen: %r" % counts)


def location(r):
    return r.header("Location")


@S.case("HTTPRouteRedirectHostAndStatus, HTTPRouteRedirectPath, 303/307/308")
def _():
    p = E["p"]
    r = get("redir.test", "/hostname-redirect?x=1")
    eq((r.status, location(r)), (302, "http://example.org:%d/hostname-redirect?x=1" % p), "hostname")
    r = get("redir.test", "/host-and-status")
    eq((r.status, location(r)), (301, "http://example.org:%d/host-and-status" % p), "301")
    r = get("redir.test", "/original-prefix/lemon")
    eq(location(r), "http://redir.test:%d/replacement-prefix/lemon" % p, "ReplacePrefixMatch")
    r = get("redir.test", "/full/path/original")
    eq(location(r), "http://redir.test:%d/full-path-replacement" % p, "ReplaceFullPath")
    r = get("redir.test", "/full-path-and-host")
    eq(r.status, 404, "/full does not match /full-path-and-host")
    for path, code in (("/see-other", 303), ("/temporary", 307), ("/permanent", 308)):
        r = get("redir.test", path, method="POST", data=b"x")
        eq((r.status, location(r)), (code, "http://redir.test:%d%s" % (p, path)), path)


@S.case("HTTPRouteRedirectPort, HTTPRouteRedirectScheme, HTTPRouteRedirectPortAndScheme")
def _():
    p = E["p"]
    eq(location(get("redir.test", "/port")), "http://redir.test:8083/port", "port")
    eq(location(get("redir.test", "/scheme")), "https://redir.test/scheme", "scheme: well-known port left out")
    eq(location(get("redir.test", "/scheme-and-port")), "http://redir.test:8080/scheme-and-port",
       "scheme and port")
    eq(location(get("redir.test", "/nothing")), "http://redir.test:%d/nothing" % p,
       "neither: the listener's port")
    r = E["env"].curl(E["p80"], "/scheme", host="redir80.test:%d" % E["p80"])
    eq(location(r), "https://redir80.test/scheme", "scheme change drops the Host port")


@S.case("HTTPRouteRewriteHost and HTTPRouteRewritePath (query kept)")
def _():
    j = get("rewrite.example", "/one/two").json()
    eq(j["host"], "one.example.org", "host rewrite")
    j = get("rewrite.example", "/other").json()
    eq(j["host"], "example.org", "host rewrite on /")
    for path, want in (("/prefix/one/two", "/one/two"), ("/full/one/two", "/one"),
                       ("/strip-prefix/three", "/three"), ("/strip-prefix", "/"),
                       ("/prefix/one/two?param=value", "/one/two?param=value"),
                       ("/strip-prefix?a=b", "/?a=b")):
        eq(get("rewrite.example", path).json()["path"], want, path)
    r = get("rewrite.example", "/prefix/rewrite-path-and-modify-headers/one",
            headers=["X-Header-Set: a", "X-Header-Remove: b"])
    j = r.json()
    eq(j["path"], "/prefix/one", "prefix rewrite with headers")
    eq(j["headers"].get("x-header-set"), ["set-overwrites-values"], "set with rewrite")
    eq(j["headers"].get("x-header-add"), ["header-add"], "add with rewrite")
    check("x-header-remove" not in j["headers"], "remove with rewrite")


@S.case("HTTPRouteCORS: preflight answered here, actual requests get the allow headers")
def _():
    pre = ["Origin: https://www.foo.com", "Access-Control-Request-Method: GET",
           "Access-Control-Request-Headers: x-header-1"]
    r = get("cors.test", "/", method="OPTIONS", headers=pre)
    eq(r.status, 200, "preflight status")
    eq(r.header("Access-Control-Allow-Origin"), "https://www.foo.com", "allow origin")
    eq(r.header("Access-Control-Allow-Methods"), "GET, OPTIONS", "allow methods")
    eq(r.header("Access-Control-Allow-Headers"), "x-header-1, x-header-2", "allow headers")
    eq(r.header("Access-Control-Expose-Headers"), "x-header-3, x-header-4", "expose headers")
    eq(r.header("Access-Control-Max-Age"), "3600", "max age")
    eq(r.header("Access-Control-Allow-Credentials"), "true", "credentials")
    check(r.header("X-Echo-Name") is None, "the preflight is not forwarded")
    r = get("cors.test", "/", method="OPTIONS", headers=["Origin: https://xpto.www.bar.com",
                                                         "Access-Control-Request-Method: GET"])
    eq(r.header("Access-Control-Allow-Origin"), "https://xpto.www.bar.com", "wildcard origin")
    r = get("cors.test", "/", method="OPTIONS", headers=["Origin: https://foo.bar.org:443",
                                                         "Access-Control-Request-Method: GET"])
    check(r.status in (200, 204, 403) and r.header("Access-Control-Allow-Origin") is None,
          "origin not allowed: %r" % r)
    r = get("cors.test", "/", headers=["Origin: https://www.foo.com:443"])
    eq(r.status, 200, "actual request proxied")
    eq(r.header("Access-Control-Allow-Origin"), "https://www.foo.com:443", "actual: allow origin")
    eq(r.header("Access-Control-Allow-Credentials"), "true", "actual: credentials")
    r = get("cors.test", "/", headers=["Origin: https://evil.com"])
    eq((r.status, r.header("Access-Control-Allow-Origin")), (200, None), "actual, not allowed")


@S.case("HTTPRouteTimeoutRequest and HTTPRouteTimeoutBackendRequest: 504, 0s disables")
def _():
    for host in ("request.timeout.test", "backend.timeout.test"):
        eq(get(host, "/delay?ms=1500").status, 504, host + ": delayed")
        eq(get(host, "/delay?ms=0").status, 200, host + ": no delay")
    eq(get("off.timeout.test", "/delay?ms=1000").status, 200, "0s: no timeout")


@S.case("retry is accepted by check (implemented: test_retry.py)")
def _():
    env = E["env"]
    bad = httproute("m", rules=[frule(["e1"], "/", [], retry={"codes": [500], "attempts": 2})])
    d = os.path.join(env.dir, "check-retry")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "m.yaml"), "w") as f:
        f.write(gwtest.documents(gwtest.gatewayclass(), gateway("gw", [listener("http", E["p"])]), bad))
    r = env.cmd("check", d)
    check(r.returncode == 0 and "not supported" not in r.stderr, "retry accepted: %r" % r.stderr)


if __name__ == "__main__":
    S.run()
