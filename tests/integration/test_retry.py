#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test_retry: HTTPRoute rule retry (GEP-1731, GATEWAY-API.md 2.6.6) through the real
# gatewayd against the echo backend's /retry/ simulator (5.3): the HTTPRouteRetry
# conformance matrix, exhausted attempts, codes not listed, backoff, bodies that can or
# cannot be replayed, TCP resets, and the request timeout over all attempts.
import time
import uuid

import gwtest
from gwtest import check, eq, gateway, httproute, listener, match, rule

S = gwtest.Suite("retry")
E = {}


def rrule(path, retry, **extra):
    # one backend: the simulator counts failures per uuid in each backend process
    r = rule(["e1"], [match(path)])
    r["retry"] = retry
    r.update(extra)
    return r


@S.setup
def setup():
    env = S.env("retry", workers=2)
    for b in ("e1", "e2"):
        env.echo(b)
    p = gwtest.free_port()
    E.update(env=env, p=p)
    routes = [
        httproute("retry", [("gw", "http")], rules=[
            rrule("/r500", {"codes": [500], "attempts": 3, "backoff": "10ms"}),
            rrule("/r5xx", {"codes": [500, 502, 503, 504], "attempts": 2, "backoff": "10ms"}),
            rrule("/slow", {"codes": [500], "attempts": 2, "backoff": "300ms"}),
            rrule("/reset", {"attempts": 2, "backoff": "0s"}),
            rrule("/deadline", {"codes": [500], "attempts": 50, "backoff": "200ms"},
                  timeouts={"request": "1s"}),
            rrule("/attempt", {"codes": [504], "attempts": 2, "backoff": "0s"},
                  timeouts={"backendRequest": "300ms"},
                  filters=[{"type": "URLRewrite", "urlRewrite": {
                      "path": {"type": "ReplaceFullPath", "replaceFullPath": "/delay"}}}]),
            rule(["e1"], [match("/none")]),
        ]),
    ]
    gw = gateway("gw", [listener("http", p)])
    docs = [gwtest.gatewayclass(), gw] + routes + [env.backend_doc(b) for b in ("e1", "e2")]
    env.write_docs("gateway.yaml", *docs)
    env.start()


def sim(prefix, after, code=None):
    q = "%s/retry/x?uuid=%s&succeedAfter=%d" % (prefix, uuid.uuid4().hex, after)
    if code is not None:
        q += "&responseCode=%d" % code
    return q


def get(path, **kw):
    return E["env"].curl(E["p"], path, **kw)


@S.case("HTTPRouteRetry: codes [500], attempts 3; codes 500-504, attempts 2")
def _():
    eq(get(sim("/r500", 2, 500)).status, 200, "fails twice, then succeeds")
    eq(get(sim("/r500", 3, 500)).status, 200, "fails three times: the third retry succeeds")
    eq(get(sim("/r500", 4, 500)).status, 500, "fails four times")
    eq(get(sim("/r500", 1, 503)).status, 503, "503 is not a retry code")
    eq(get(sim("/r5xx", 1, 502)).status, 200, "one failure, then success")
    for code in (500, 502, 503, 504):
        eq(get(sim("/r5xx", 3, code)).status, code, "three failures of %d" % code)


@S.case("exhausted retries: the last backend response (status and body) reaches the client")
def _():
    r = get(sim("/r5xx", 5, 503))
    eq((r.status, r.body), (503, b"retry simulator failure\n"), "last failure relayed")


@S.case("a code that is not listed is not retried (each request counts once)")
def _():
    path = sim("/r500", 2, 503)
    eq(get(path).status, 503, "first request")
    eq(get(path).status, 503, "second request: the first was not retried")
    eq(get(path).status, 200, "third request")
    path = sim("/none", 1, 500)
    eq([get(path).status, get(path).status], [500, 200], "a rule without retry")


@S.case("backoff: the gateway waits between attempts")
def _():
    t0 = time.monotonic()
    eq(get(sim("/slow", 2, 500)).status, 200, "two failures, then success")
    took = time.monotonic() - t0
    check(took >= 0.5, "two 300ms backoffs took %.3fs" % took)


@S.case("a body held whole in the buffer is replayed; a large streamed one is not")
def _():
    body = b"0123456789" * 100
    r = get(sim("/r500", 1, 500), method="POST", data=body)
    eq(r.status, 200, "small POST retried")
    eq(r.json().get("body_bytes"), len(body), "the whole body reached the retry")
    big = b"y" * (8 << 20)
    eq(get(sim("/r500", 1, 500), method="POST", data=big).status, 500, "8 MiB POST not retried")


@S.case("HTTPRouteRetryConnectionError: a reset before any response byte is retried")
def _():
    eq(get(sim("/reset", 2)).status, 200, "two resets, then success")
    eq(get(sim("/reset", 3)).status, 502, "three resets: 502")


@S.case("timeouts.request covers every attempt and backoff: 504")
def _():
    t0 = time.monotonic()
    eq(get(sim("/deadline", 100, 500)).status, 504, "timeout during retries")
    took = time.monotonic() - t0
    check(0.8 <= took < 5, "504 after %.3fs" % took)


@S.case("HTTPRouteRetryBackendTimeout: with 504 in codes a timed-out attempt is retried")
def _():
    eq(get("/attempt?ms=0").status, 200, "no delay")
    # every attempt of a 1 s request times out after 300 ms: three attempts, then 504
    t0 = time.monotonic()
    eq(get("/attempt?ms=1000").status, 504, "every attempt timed out")
    took = time.monotonic() - t0
    check(0.8 <= took < 3, "three 300ms attempts took %.3fs" % took)


if __name__ == "__main__":
    S.run()
