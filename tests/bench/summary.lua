-- SPDX-License-Identifier: MIT
-- tests/bench wrk hook: one "BENCH requests=... p99_us=..." line at the end. Only done()
-- is defined, so wrk keeps its fast request path.
done = function(s, lat, _)
  local e = s.errors
  io.write(string.format("BENCH requests=%d duration_us=%d errors=%d non2xx=%d p50_us=%d p99_us=%d\n",
    s.requests, s.duration, e.connect + e.read + e.write + e.timeout, e.status,
    lat:percentile(50), lat:percentile(99)))
end
