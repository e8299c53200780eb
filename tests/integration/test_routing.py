# SPDX-License-Identifier: MIT
# test_routing: Gateway API request routing through the real gatewayd, following the
# upstream conformance tests summarised in GATEWAY-API.md 3.1, 3.2 and 3.4
# (HTTPRoutePathMatchOrder, HTTPRouteExactPathMatching, HTTPRouteHeaderMatching,
# HTTPRouteMethodMatching, HTTPRouteMatchingAcrossRoutes, hostname intersection and
# listener isolation). Each case is judged by which echo backend answers, or 404.
import gwtest
from gwtest import check, eq, gateway, httproute, listener, match, rule

S = gwtest.Suite("routing")
E = {}
BACKENDS = ["e1", "e2", "e3", "e4", "e5", "e6"]


def m(path=None, type="PathPrefix", **kw):
    return match(path, type, **kw)


@S.setup
def setup():
    env = S.env("routing", workers=2)
    for b in BACKENDS:
        env.echo(b)
    p1, p2, p3 = gwtest.free_port(), gwtest.free_port(), gwtest.free_port()
    E.update(env=env, p1=p1, p2=p2, p3=p3)
    gw = gateway("gw", [
        listener("http", p1),
        # listener isolation (3.1), all on p2
        listener("empty", p2),
        listener("wildcard-example-com", p2, hostname="*.example.com"),
        listener("wildcard-foo-example-com", p2, hostname="*.foo.example.com"),
        listener("abc-foo-example-com", p2, hostname="abc.foo.example.com"),
        # hostname intersection (3.2), on p3
        listener("very-specific", p3, hostname="very.specific.com"),
        listener("wildcard-io", p3, hostname="*.wildcard.io"),
    ])
    routes = [
        # HTTPRoutePathMatchOrder
        httproute("path-order", [("gw", "http")], hostnames=["order.test"], rules=[
            rule(["e1"], [m("/match", "Exact")]),
            rule(["e2"], [m("/match/exact", "Exact")]),
            rule(["e3"], [m("/match/exact/one", "Exact")]),
            rule(["e4"], [m("/match/")]),
            rule(["e5"], [m("/match/prefix/")]),
            rule(["e6"], [m("/match/prefix/one")]),
        ]),
        # prefix element boundaries
        httproute("prefix", [("gw", "http")], hostnames=["prefix.test"], rules=[
            rule(["e1"], [m("/")]),
            rule(["e2"], [m("/v2")]),
            rule(["e3"], [m("/v3/")]),
        ]),
        # HTTPRouteExactPathMatching
        httproute("exact", [("gw", "http")], hostnames=["exact.test"], rules=[
            rule(["e1"], [m("/one", "Exact")]),
            rule(["e2"], [m("/two", "Exact")]),
        ]),
        # HTTPRouteHeaderMatching
        httproute("headers", [("gw", "http")], hostnames=["headers.test"], rules=[
            rule(["e1"], [m(headers=[("version", "one")])]),
            rule(["e2"], [m(headers=[("version", "two")])]),
            rule(["e1"], [m(headers=[("version", "two"), ("color", "orange")])]),
            rule(["e1"], [m(headers=[("color", "blue")]), m(headers=[("color", "green")])]),
            rule(["e2"], [m(headers=[("color", "red")]), m(headers=[("color", "yellow")])]),
        ]),
        # HTTPRouteMethodMatching
        httproute("methods", [("gw", "http")], hostnames=["method.test"], rules=[
            rule(["e1"], [m(method="PATCH")]),
            rule(["e2"], [m(headers=[("version", "four")])]),
            rule(["e3"], [m("/path5")]),
            rule(["e4"], [m(method="GET")]),
            rule(["e5"], [m(method="POST")]),
        ]),
        # HTTPRouteMatchingAcrossRoutes
        httproute("across-a", [("gw", "http")], hostnames=["example.com", "example.net"], rules=[
            rule(["e1"], [m("/"), m(headers=[("version", "one")])]),
        ]),
        httproute("across-b", [("gw", "http")], hostnames=["example.com"], rules=[
            rule(["e2"], [m("/v2"), m(headers=[("version", "two")])]),
        ]),
        # hostname precedence across routes
        httproute("wild", [("gw", "http")], hostnames=["*.wild.test"], rules=[rule(["e1"])]),
        httproute("specific", [("gw", "http")], hostnames=["foo.wild.test"], rules=[rule(["e2"])]),
        # listener isolation
        httproute("iso-empty", [("gw", "empty")], rules=[rule(["e1"], [m("/empty-hostname")])]),
        httproute("iso-wc", [("gw", "wildcard-example-com")],
                  rules=[rule(["e2"], [m("/wildcard-example-com")])]),
        httproute("iso-wcfoo", [("gw", "wildcard-foo-example-com")],
                  rules=[rule(["e3"], [m("/wildcard-foo-example-com")])]),
        httproute("iso-abc", [("gw", "abc-foo-example-com")],
                  rules=[rule(["e4"], [m("/abc-foo-example-com")])]),
        # hostname intersection
        httproute("specific-host", [("gw", "very-specific")],
                  hostnames=["non.matching.com", "*.nonmatchingwildcard.io", "very.specific.com"],
                  rules=[rule(["e1"])]),
        httproute("wildcard-host", [("gw", "wildcard-io")],
                  hostnames=["wildcard.io", "foo.wildcard.io", "bar.wildcard.io", "*.bar.wildcard.io"],
                  rules=[rule(["e2"])]),
        httproute("wider-route", [("gw", "very-specific")], hostnames=["*.specific.com"],
                  rules=[rule(["e3"], [m("/s3")])]),
        httproute("no-intersection", [("gw", "very-specific"), ("gw", "wildcard-io")],
                  hostnames=["specific.but.wrong.com", "wildcard.io"],
                  rules=[rule(["e4"], [m("/never")])]),
    ]
    env.simple_config(None, routes, BACKENDS, listeners=gw["spec"]["listeners"])
    env.start()


def expect(port, cases):
    """cases: (host, path, want backend name or status int, extra curl kwargs)."""
    bad = []
    for c in cases:
        host, path, want = c[:3]
        kw = c[3] if len(c) > 3 else {}
        r = E["env"].curl(port, path, host=host, **kw)
        got = r.backend() if r.status == 200 else r.status
        if got != want:
            bad.append("%s %s%s %s: got %r, want %r" % (kw.get("method", "GET"), host, path,
                                                         kw.get("headers", ""), got, want))
    check(not bad, "; ".join(bad))


@S.case("HTTPRoutePathMatchOrder: Exact beats prefix, the longest prefix wins")
def _():
    h = "order.test"
    expect(E["p1"], [
        (h, "/match/exact/one", "e3"), (h, "/match/exact", "e2"), (h, "/match", "e1"),
        (h, "/match/prefix/one/any", "e6"), (h, "/match/prefix/one", "e6"),
        (h, "/match/prefix/any", "e5"), (h, "/match/prefix", "e5"),
        (h, "/match/any", "e4"), (h, "/match/", "e4"), (h, "/match/exact/any", "e4"),
        (h, "/matchany", 404), (h, "/", 404),
    ])


@S.case("PathPrefix matches whole path elements; the query is not part of the path")
def _():
    h = "prefix.test"
    expect(E["p1"], [
        (h, "/v2", "e2"), (h, "/v2/", "e2"), (h, "/v2/example", "e2"), (h, "/v2?x=/v3/", "e2"),
        (h, "/v2example", "e1"), (h, "/foo/v2/example", "e1"), (h, "/V2", "e1"),
        (h, "/v3", "e3"), (h, "/v3/x", "e3"), (h, "/v3x", "e1"), (h, "/", "e1"),
    ])


@S.case("HTTPRouteExactPathMatching")
def _():
    h = "exact.test"
    expect(E["p1"], [
        (h, "/one", "e1"), (h, "/two", "e2"), (h, "/one?q=1", "e1"),
        (h, "/", 404), (h, "/one/example", 404), (h, "/two/", 404), (h, "/Two", 404),
    ])


@S.case("HTTPRouteHeaderMatching: names case-insensitive, more headers win, ORed matches")
def _():
    h = "headers.test"
    hd = lambda *hs: {"headers": list(hs)}
    expect(E["p1"], [
        (h, "/", "e1", hd("Version: one")),
        (h, "/", "e2", hd("Version: two")),
        (h, "/", "e1", hd("Version: two", "Color: orange")),
        (h, "/", "e1", hd("Color: blue")),
        (h, "/", "e1", hd("Color: green")),
        (h, "/", "e2", hd("Color: red")),
        (h, "/", "e2", hd("Color: yellow")),
        (h, "/", "e1", hd("VERSION: one")),
        (h, "/", 404, hd("Color: orange")),
        (h, "/", 404, hd("Version: ONE")),
        (h, "/", 404, {}),
    ])


@S.case("HTTPRouteMethodMatching: method outranks headers, a longer prefix outranks method")
def _():
    h = "method.test"
    expect(E["p1"], [
        (h, "/", "e1", {"method": "PATCH", "headers": ["version: four"]}),
        (h, "/path5", "e3", {"method": "PATCH"}),
        (h, "/", "e4", {"method": "GET"}),
        (h, "/", "e4", {"method": "GET", "headers": ["version: four"]}),
        (h, "/", "e5", {"method": "POST"}),
        (h, "/", "e2", {"method": "PUT", "headers": ["version: four"]}),
        (h, "/", 404, {"method": "PUT"}),
        (h, "/", 404, {"method": "HEAD"}),
        (h, "/", 404, {"method": "DELETE"}),
    ])


@S.case("HTTPRouteMatchingAcrossRoutes")
def _():
    expect(E["p1"], [
        ("example.com", "/", "e1"), ("example.com", "/example", "e1"),
        ("example.net", "/", "e1"), ("example.net", "/example", "e1"),
        ("example.com", "/v2", "e2"), ("example.com", "/v2/example", "e2"),
        ("example.net", "/v2", "e1"),
        ("example.com", "/", "e1", {"headers": ["version: one"]}),
        ("example.com", "/", "e2", {"headers": ["version: two"]}),
        ("example.net", "/", "e1", {"headers": ["version: two"]}),
    ])


@S.case("route hostnames: exact beats wildcard; wildcards span labels; port and case ignored")
def _():
    expect(E["p1"], [
        ("foo.wild.test", "/", "e2"), ("foo.wild.test:1234", "/", "e2"),
        ("FOO.Wild.Test", "/", "e2"),
        ("bar.wild.test", "/", "e1"), ("a.b.wild.test", "/", "e1"),
        ("wild.test", "/", 404), ("nothing.test", "/", 404),
    ])


@S.case("listener isolation: only the most specific listener's routes serve")
def _():
    p = E["p2"]
    expect(p, [
        ("bar.com", "/empty-hostname", "e1"),
        ("bar.com", "/wildcard-example-com", 404),
        ("foo.example.com", "/wildcard-example-com", "e2"),
        ("foo.example.com", "/empty-hostname", 404),
        ("foo.example.com", "/wildcard-foo-example-com", 404),
        ("bar.foo.example.com", "/wildcard-foo-example-com", "e3"),
        ("bar.foo.example.com", "/wildcard-example-com", 404),
        ("bar.foo.example.com", "/empty-hostname", 404),
        ("abc.foo.example.com", "/abc-foo-example-com", "e4"),
        ("abc.foo.example.com", "/wildcard-foo-example-com", 404),
        ("abc.foo.example.com", "/wildcard-example-com", 404),
        ("abc.foo.example.com", "/empty-hostname", 404),
        ("example.com", "/empty-hostname", "e1"),
    ])


@S.case("HTTPRouteHostnameIntersection: only intersected hostnames are served")
def _():
    p = E["p3"]
    expect(p, [
        ("very.specific.com", "/", "e1"), ("very.specific.com:1234", "/", "e1"),
        ("non.matching.com", "/", 404), ("foo.nonmatchingwildcard.io", "/", 404),
        ("foo.wildcard.io", "/", "e2"), ("bar.wildcard.io", "/", "e2"),
        ("foo.bar.wildcard.io", "/", "e2"), ("wildcard.io", "/", 404),
        ("very.specific.com", "/s3", "e3"), ("other.specific.com", "/s3", 404),
        ("very.specific.com", "/never", "e1"), ("specific.but.wrong.com", "/never", 404),
    ])


@S.case("a route without intersecting hostnames is Accepted=False/NoMatchingListenerHostname")
def _():
    st = E["env"].status()
    r = gwtest.resources(st, "HTTPRoute", "no-intersection")
    eq(len(r), 1, "HTTPRoute no-intersection in status")
    parents = r[0]["status"].get("parents", [])
    check(parents, "no parents in route status")
    for p in parents:
        c = gwtest.condition(p.get("conditions"), "Accepted")
        check(c is not None, "no Accepted condition")
        eq((c["status"], c["reason"]), ("False", "NoMatchingListenerHostname"), "Accepted")
    g = gwtest.resources(st, "Gateway", "gw")[0]
    counts = {l["name"]: l.get("attachedRoutes") for l in g["status"].get("listeners", [])}
    eq(counts.get("very-specific"), 2, "attachedRoutes of very-specific (%r)" % counts)
    eq(counts.get("wildcard-io"), 1, "attachedRoutes of wildcard-io")
    eq(counts.get("http"), 9, "attachedRoutes of http")


S.run()
