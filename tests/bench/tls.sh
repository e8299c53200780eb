#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/bench/tls.sh: HTTPS side by side. gatewayd, nginx and HAProxy terminate TLS with
# the same certificate in front of the same origin, and measures, per certificate
# kind (ECDSA P-256 and RSA 2048):
#   full-hs     full TLS handshakes/s: `openssl s_time -new` (never resumes), two
#               clients at once; CPU µs per handshake is the figure to compare, since
#               the clients share the 2 CPUs
#   resumed-hs  handshakes/s with session tickets: wrk, one request per connection
#               (Connection: close); wrk keeps the session and resumes it
#   ka-https    keep-alive requests/s over one TLS connection each (wrk)
# All three speak TLS 1.2 with ECDHE and AES-128-GCM here and issue session tickets,
# so the comparison is of the same work (gatewayd on Debian 12's mbedTLS 2.28 has no
# TLS 1.3).
#
#   GATEWAYD=/path/to/gatewayd tests/bench/tls.sh     # QUICK=1: 3 s per run, 1 round
#
# Environment: DURATION (8), REPEATS (3), CONNS (wrk -c for keep-alive, 64), HCONNS (wrk -c
# for handshakes, 16), ONLY (targets, "nginx haproxy gatewayd"), OUT (results dir).
# Needs: nginx, haproxy, wrk, curl, openssl, python3. Ports 18180, 18185-18187 free.
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then DURATION=${DURATION:-3}; REPEATS=${REPEATS:-1}; else
	DURATION=${DURATION:-8}; REPEATS=${REPEATS:-3}; fi
CONNS=${CONNS:-64}
HCONNS=${HCONNS:-16}
ONLY=${ONLY:-"nginx haproxy gatewayd"}
OUT=${OUT:-${TMPDIR:-/tmp}/gatewayd-bench-tls/$(date +%Y%m%d-%H%M%S)}
HZ=$(getconf CLK_TCK)
declare -A PORT=([gatewayd]=18185 [nginx]=18186 [haproxy]=18187)

for t in nginx haproxy wrk curl openssl python3; do command -v $t >/dev/null || die "$t not installed"; done
[[ -x ${GATEWAYD:-} ]] || die "set GATEWAYD to a gatewayd binary"
for p in 18180 18185 18186 18187; do ss -Hltn "sport = :$p" | grep -q . && die "port $p is in use"; done

WORK=$(mktemp -d /tmp/gwbench-tls.XXXXXX) && chmod 755 "$WORK"
mkdir -p "$OUT/raw" "$WORK/pids"
MEAS=$OUT/measurements.tsv
printf 'round\tscenario\ttarget\tworkers\trequests\tduration_us\terrors\tnon2xx\tp50_us\tp99_us\tcpu_ticks\trss_kb\n' >"$MEAS"

trap cleanup EXIT
trap 'exit 130' INT TERM

ready() {  # ready URL [PID]
	local i
	for ((i = 0; i < 300; i++)); do
		[[ -n ${2:-} ]] && ! alive "$2" && return 1
		[[ $(curl -sk -o /dev/null -w '%{http_code}' --max-time 1 "$1") == 200 ]] && return 0
		sleep 0.1
	done
	return 1
}

# ---- certificates: one self-signed certificate per kind for bench.test
for kind in ecdsa rsa; do
	if [[ $kind == ecdsa ]]; then keyopt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); else keyopt=(-newkey rsa:2048); fi
	openssl req -x509 -nodes "${keyopt[@]}" -days 30 -subj /CN=bench.test \
		-addext subjectAltName=DNS:bench.test -keyout "$WORK/$kind.key" -out "$WORK/$kind.crt" \
		>/dev/null 2>&1 || die "openssl req failed"
	cat "$WORK/$kind.crt" "$WORK/$kind.key" >"$WORK/$kind.pem"
done
CIPHERS="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

# start_target TARGET KIND -> TPID
start_target() {
	local t=$1 k=$2 d=$WORK/$1-$2
	rm -rf "$d"; mkdir -p "$d"
	case $t in
	nginx)
		mkdir -p "$d"/{logs,run,tmp}
		cat >"$d/nginx.conf" <<EOF
pid run/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path tmp/cb; proxy_temp_path tmp/p; fastcgi_temp_path tmp/f;
    uwsgi_temp_path tmp/u; scgi_temp_path tmp/s;
    keepalive_requests 10000000;
    upstream origin { server 127.0.0.1:18180; keepalive 1024; keepalive_requests 10000000; }
    server {
        listen 127.0.0.1:${PORT[nginx]} ssl reuseport backlog=4096;
        ssl_certificate $WORK/$k.crt;
        ssl_certificate_key $WORK/$k.key;
        ssl_protocols TLSv1.2;
        ssl_ciphers $CIPHERS;
        ssl_session_tickets on;
        location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
EOF
		start "$t" nginx -p "$d/" -c "$d/nginx.conf" -e "$d/logs/error.log" -g "daemon off; worker_processes 1;" ;;
	haproxy)
		cat >"$d/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4000
    ssl-default-bind-options ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.2
    ssl-default-bind-ciphers $CIPHERS
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 60s
    timeout server 60s
backend be_origin
    http-reuse always
    server origin 127.0.0.1:18180 maxconn 1024
frontend fe
    bind 127.0.0.1:${PORT[haproxy]} ssl crt $WORK/$k.pem alpn http/1.1
    default_backend be_origin
EOF
		start "$t" haproxy -db -f "$d/haproxy.cfg" ;;
	gatewayd)
		mkdir -p "$d"/{conf.d,state,run}
		cat >"$d/gatewayd.conf" <<EOF
[gatewayd]
config_dir = conf.d
state_dir = state
run_dir = run
workers = 1
[admin]
listen = off
[log]
access = off
EOF
		{
			cat <<EOF
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gatewayd}
spec: {controllerName: gatewayd.io/gateway-controller}
---
apiVersion: v1
kind: Secret
metadata: {name: bench-cert}
type: kubernetes.io/tls
stringData:
  tls.crt: |
$(sed 's/^/    /' "$WORK/$k.crt")
  tls.key: |
$(sed 's/^/    /' "$WORK/$k.key")
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench}
spec:
  gatewayClassName: gatewayd
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
  - name: https
    protocol: HTTPS
    port: ${PORT[gatewayd]}
    tls:
      mode: Terminate
      certificateRefs: [{name: bench-cert}]
      options: {gatewayd.io/min-version: "1.2"}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata: {name: origin}
spec:
  endpoints: [{ip: {address: 127.0.0.1, port: 18180}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: all}
spec:
  parentRefs: [{name: bench}]
  rules:
  - backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: origin, port: 18180}]
EOF
		} >"$d/conf.d/bench.yaml"
		start "$t" "$GATEWAYD" run -c "$d/gatewayd.conf" ;;
	esac
	TPID=$LASTPID
}

# measure ROUND SCENARIO TARGET PID URL CONNS [HEADER]
measure() {
	local round=$1 sc=$2 t=$3 pid=$4 url=$5 c=$6 hdr=${7:-} raw c0 c1 rss line
	raw=$OUT/raw/r$round-$sc-$t.txt
	c0=$(cpu_ticks "$pid")
	if [[ -n $hdr ]]; then
		wrk -t1 -c"$c" -d"${DURATION}s" --latency -s "$HERE/summary.lua" -H "$hdr" "$url" >"$raw" 2>&1
	else
		wrk -t1 -c"$c" -d"${DURATION}s" --latency -s "$HERE/summary.lua" "$url" >"$raw" 2>&1
	fi
	c1=$(cpu_ticks "$pid"); rss=$(rss_kb "$pid")
	line=$(grep -m1 '^BENCH ' "$raw") || { log "  wrk failed: $raw"; return; }
	local -A S=(); for kv in ${line#BENCH }; do S[${kv%%=*}]=${kv#*=}; done
	printf '%s\t%s\t%s\t1\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$sc" "$t" \
		"${S[requests]}" "${S[duration_us]}" "${S[errors]}" "${S[non2xx]}" "${S[p50_us]}" \
		"${S[p99_us]}" $((c1 - c0)) "$rss" >>"$MEAS"
	log "$(printf '  %-16s %-8s %8d req/s  p99 %6d us  cpu %6.1f us/req%s' "$sc" "$t" \
		$((S[requests] * 1000000 / S[duration_us])) "${S[p99_us]}" \
		"$(awk -v c=$((c1 - c0)) -v r="${S[requests]}" -v hz="$HZ" 'BEGIN{print c/hz/r*1e6}')" \
		"$( ((S[errors] + S[non2xx])) && echo "  errors ${S[errors]}/${S[non2xx]}")")"
}

# measure_stime ROUND SCENARIO TARGET PID PORT: two `openssl s_time -new` clients
measure_stime() {
	local round=$1 sc=$2 t=$3 pid=$4 port=$5 raw c0 c1 rss n=0 secs=0 i out
	raw=$OUT/raw/r$round-$sc-$t.txt
	c0=$(cpu_ticks "$pid")
	local pids=()
	for i in 1 2; do
		openssl s_time -connect 127.0.0.1:"$port" -new -time "$DURATION" -cipher "$CIPHERS" \
			>"$raw.$i" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	c1=$(cpu_ticks "$pid"); rss=$(rss_kb "$pid")
	for i in 1 2; do
		out=$(grep -m1 'connections in .* real seconds' "$raw.$i") || { log "  s_time failed: $raw.$i"; return; }
		n=$((n + $(echo "$out" | awk '{print $1}')))
		secs=$(echo "$out" | awk -v s="$secs" '{for (i = 1; i <= NF; i++) if ($(i+1) == "real") print (s > $i ? s : $i)}')
	done
	local dur_us; dur_us=$(awk -v s="$secs" 'BEGIN{printf "%d", s * 1e6}')
	printf '%s\t%s\t%s\t1\t%s\t%s\t0\t0\t0\t0\t%s\t%s\n' "$round" "$sc" "$t" "$n" "$dur_us" \
		$((c1 - c0)) "$rss" >>"$MEAS"
	log "$(printf '  %-16s %-8s %8d handshakes/s  cpu %6.1f us/handshake' "$sc" "$t" \
		$((n * 1000000 / (dur_us > 0 ? dur_us : 1))) \
		"$(awk -v c=$((c1 - c0)) -v r="$n" -v hz="$HZ" 'BEGIN{print r ? c/hz/r*1e6 : 0}')")"
}

{
	echo "date: $(date -Is)"
	echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr)"
	echo "versions: $(nginx -v 2>&1 | cut -d' ' -f3), $(haproxy -v | head -1 | cut -d' ' -f1-3), $(openssl version | cut -d' ' -f1-2), $("$GATEWAYD" version 2>&1 | head -1)"
	echo "params: duration=${DURATION}s repeats=$REPEATS conns=$CONNS resumed-handshake conns=$HCONNS, 2 s_time clients; TLS 1.2, $CIPHERS"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/meta.txt"
cat "$OUT/meta.txt" >&2

mkdir -p "$WORK/backend"/{logs,run,tmp,www}
start backend nginx -p "$WORK/backend/" -c "$HERE/backend-nginx.conf" -e "$WORK/backend/logs/error.log" -g "daemon off;"
ready http://127.0.0.1:18180/ || die "origin did not start"

for ((round = 1; round <= REPEATS; round++)); do
	log "round $round/$REPEATS"
	for k in ecdsa rsa; do
		for t in $ONLY; do
			url=https://127.0.0.1:${PORT[$t]}/
			start_target "$t" "$k"; pid=$TPID
			ready "$url" "$pid" || { log "  $t ($k) did not start: $OUT/raw/$t.log"; stop "$t"; continue; }
			wrk -t1 -c"$CONNS" -d1s "$url" >/dev/null 2>&1
			measure_stime "$round" "full-hs-$k" "$t" "$pid" "${PORT[$t]}"
			measure "$round" "resumed-hs-$k" "$t" "$pid" "$url" "$HCONNS" "Connection: close"
			measure "$round" "ka-https-$k" "$t" "$pid" "$url" "$CONNS"
			stop "$t"
		done
	done
done
stop backend
python3 "$HERE/report.py" "$OUT" "$HZ" | tee "$OUT/table.md"
log "results in $OUT"
