#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/bench report: measurements.tsv (+ idle.tsv, reload.tsv, meta.txt) -> markdown.
Medians over rounds; "vs best" = gatewayd (or any target) req/s / the faster of nginx
and HAProxy in the same scenario; CPU = the target's utime+stime over the run / requests.

report.py OUTDIR HZ"""
import csv
import os
import statistics
import sys

SCEN = ["ka-100B", "ka-16KiB", "close-100B"]
TARGETS = ["direct", "nginx", "haproxy", "gatewayd"]


def med(xs):
    return statistics.median(xs) if xs else None


def main():
    out, hz = sys.argv[1], float(sys.argv[2])
    rows = list(csv.DictReader(open(os.path.join(out, "measurements.tsv")), delimiter="\t"))
    agg = {}
    for r in rows:
        req, dur = int(r["requests"]), int(r["duration_us"])
        if req == 0:
            continue
        k = (r["scenario"], int(r["workers"]), r["target"])
        a = agg.setdefault(k, {"rps": [], "cpu": [], "p50": [], "p99": [], "err": 0})
        a["rps"].append(req / (dur / 1e6))
        a["cpu"].append(int(r["cpu_ticks"]) / hz / req * 1e6)
        a["p50"].append(int(r["p50_us"]))
        a["p99"].append(int(r["p99_us"]))
        a["err"] += int(r["errors"]) + int(r["non2xx"])
    scen = SCEN + sorted({k[0] for k in agg if k[0] not in SCEN and not k[0].startswith("routes-")}) + \
        sorted({k[0] for k in agg if k[0].startswith("routes-")}, key=lambda s: int(s.split("-")[1]))
    print(open(os.path.join(out, "meta.txt")).read().rstrip().replace("\n", "  \n"))
    print()
    print("| scenario | workers | target | req/s | vs best of nginx/HAProxy | CPU µs/req | p50 | p99 | n | errors |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for sc in scen:
        for w in (1, 2):
            best = max([med(agg[(sc, w, t)]["rps"]) for t in ("nginx", "haproxy") if (sc, w, t) in agg],
                       default=None)
            for t in TARGETS:
                a = agg.get((sc, w, t))
                if not a:
                    continue
                rps = med(a["rps"])
                print("| %s | %d | %s | %s | %s | %.1f | %.2f ms | %.2f ms | %d | %d |" % (
                    sc, w, t, f"{rps:,.0f}", "%.2f" % (rps / best) if best else "-", med(a["cpu"]),
                    med(a["p50"]) / 1000, med(a["p99"]) / 1000, len(a["rps"]), a["err"]))
    # routes scaling: each target's req/s at N routes relative to 1 route
    rs = [s for s in scen if s.startswith("routes-")]
    if len(rs) > 1:
        print()
        print("| routes: req/s relative to %s | %s |" % (rs[0], " | ".join(rs[1:])))
        print("|---|" + "---:|" * (len(rs) - 1))
        for t in TARGETS:
            base = agg.get((rs[0], 1, t))
            if not base:
                continue
            b = med(base["rps"])
            cells = ["%.2f" % (med(agg[(s, 1, t)]["rps"]) / b) if (s, 1, t) in agg else "-" for s in rs[1:]]
            print("| %s | %s |" % (t, " | ".join(cells)))
    p = os.path.join(out, "rss-start.tsv")
    idle = {}
    ip = os.path.join(out, "idle.tsv")
    if os.path.exists(ip):
        for line in open(ip):
            t, r0, r1, n = line.split()
            idle[t] = (int(r0), int(r1), int(n))
    if idle:
        print()
        print("| target (1 worker) | RSS idle | RSS with idle connections | connections | KiB per connection |")
        print("|---|---:|---:|---:|---:|")
        for t in TARGETS:
            if t in idle:
                r0, r1, n = idle[t]
                print("| %s | %.1f MiB | %.1f MiB | %d | %.2f |" % (t, r0 / 1024, r1 / 1024, n,
                                                                   (r1 - r0) / n if n else 0))
    rp = os.path.join(out, "reload.tsv")
    if os.path.exists(rp):
        times = {}
        for line in open(rp):
            k, ms = line.split()
            times.setdefault(k, []).append(int(ms))
        print()
        for k, v in times.items():
            what = "`gatewayd reload` (compile + store + swap, wall)" if k.startswith("reload") \
                else "`gatewayd check` (load + compile, wall, new process)"
            print("- %s, %s routes: median %d ms (%s)" % (what, k.split("-")[1], med(v),
                                                         ", ".join("%d" % x for x in v)))
    if os.path.exists(p) and not idle:
        pass


if __name__ == "__main__":
    main()
