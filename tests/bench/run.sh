#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/bench/run.sh: gatewayd side by side with nginx and HAProxy (Debian packages,
# configured alike: same worker count, upstream keep-alive, access logs off) and the
# origin itself ("direct"), interleaved and repeated; prints a markdown table of medians.
#
#   tests/bench/run.sh                 # build gatewayd in $BUILD (default /tmp/build-bench), full run
#   QUICK=1 tests/bench/run.sh         # ~3-4 minutes: 3 s per measurement, 1 round
#   GATEWAYD=/path/to/gatewayd tests/bench/run.sh    # use this binary, do not build
#
# Environment: DURATION (s per wrk run, 8), REPEATS (rounds, 3), CONNS (wrk -c, 64),
# ROUTES ("1 1000 10000"), IDLE (connections for the RSS test, 10000), OUT (results dir).
# Scenarios: keep-alive 100-byte and 16 KiB responses and a new connection per request
# (Connection: close) at 1 and 2 workers; 1/1,000/10,000 routes (distinct hostnames and
# path prefixes; the request hits the last-defined route); IDLE idle keep-alive
# connections (RSS); `gatewayd reload` of 10,000 routes. HTTPS is not measured yet.
# Needs: nginx, haproxy, wrk, curl, python3. Ports 18180-18184 must be free.
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
SRC=$(cd "$HERE/../.." && pwd)
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then DURATION=${DURATION:-3}; REPEATS=${REPEATS:-1}; else
	DURATION=${DURATION:-8}; REPEATS=${REPEATS:-3}; fi
CONNS=${CONNS:-64}
ROUTES=${ROUTES:-"1 1000 10000"}
IDLE=${IDLE:-10000}
BUILD=${BUILD:-/tmp/build-bench}
OUT=${OUT:-${TMPDIR:-/tmp}/gatewayd-bench/$(date +%Y%m%d-%H%M%S)}
HZ=$(getconf CLK_TCK)
declare -A PORT=([direct]=18180 [nginx]=18181 [haproxy]=18182 [gatewayd]=18184)


for t in nginx haproxy wrk curl python3; do command -v $t >/dev/null || die "$t not installed"; done
for p in 18180 18181 18182 18184; do
	ss -Hltn "sport = :$p" | grep -q . && die "port $p is in use"
done
if [[ -z ${GATEWAYD:-} ]]; then
	log "building gatewayd in $BUILD"
	mkdir -p "$BUILD" && cd "$BUILD" || die "no build dir"
	[[ -f Makefile ]] || "$SRC/configure" -q || die "configure failed"
	make -j"$(nproc)" src/gatewayd >"$BUILD/bench-build.log" 2>&1 || die "build failed: $BUILD/bench-build.log"
	GATEWAYD=$BUILD/src/gatewayd
	cd "$HERE" || exit 1
fi
[[ -x $GATEWAYD ]] || die "no gatewayd binary at $GATEWAYD"
# Room for IDLE connections on both sides (root may raise the hard limit).
ulimit -n $((IDLE * 2 + 1000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)" || die "ulimit"

WORK=$(mktemp -d /tmp/gwbench.XXXXXX) && chmod 755 "$WORK"   # nginx workers run as nobody
mkdir -p "$OUT/raw" "$WORK/pids"
MEAS=$OUT/measurements.tsv
printf 'round\tscenario\ttarget\tworkers\trequests\tduration_us\terrors\tnon2xx\tp50_us\tp99_us\tcpu_ticks\trss_kb\n' >"$MEAS"

# ---- processes: every pid we start is in $WORK/pids; only those are ever signalled
trap cleanup EXIT
trap 'exit 130' INT TERM

ready() {  # ready PORT HOST PATH [PID]: 200 within 30 s (fails early if PID exits)
	local i
	for ((i = 0; i < 300; i++)); do
		[[ -n ${4:-} ]] && ! alive "$4" && return 1
		[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H "Host: $2" "http://127.0.0.1:$1$3") == 200 ]] && return 0
		sleep 0.1
	done
	return 1
}

# ---- configs: one directory per routing table (0 = catch-all "/")
for n in 0 $ROUTES; do python3 "$HERE/gen.py" "$WORK/cfg$n" "$n" || die "gen.py failed"; done

# start_target TARGET WORKERS NROUTES -> TPID
start_target() {
	local t=$1 w=$2 n=$3 d=$WORK/$1-w$2-n$3
	case $t in
	nginx)
		mkdir -p "$d"/{logs,run,tmp}
		cp "$HERE/nginx-proxy.conf" "$d/nginx.conf"; cp "$WORK/cfg$n/routes.conf" "$d/"
		start "$t" nginx -p "$d/" -c "$d/nginx.conf" -e "$d/logs/error.log" \
			-g "daemon off; worker_processes $w;" ;;
	haproxy)
		start "$t" env BENCH_THREADS="$w" haproxy -db -f "$WORK/cfg$n/haproxy.cfg" ;;
	gatewayd)
		rm -rf "$d"; mkdir -p "$d"; cp -r "$WORK/cfg$n/conf.d" "$d/"
		sed "s/^workers = .*/workers = $w/" "$WORK/cfg$n/gatewayd.conf" >"$d/gatewayd.conf"
		mkdir -p "$d/state" "$d/run"
		start "$t" "$GATEWAYD" run -c "$d/gatewayd.conf" ;;
	esac
	TPID=$LASTPID
}

# measure ROUND SCENARIO TARGET WORKERS PID URL [HEADER]
measure() {
	local round=$1 sc=$2 t=$3 w=$4 pid=$5 url=$6 hdr=${7:-} raw c0 c1 rss line
	raw=$OUT/raw/r$round-$sc-$t-w$w.txt
	c0=$(cpu_ticks "$pid")
	if [[ -n $hdr ]]; then
		wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/summary.lua" -H "$hdr" "$url" >"$raw" 2>&1
	else
		wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/summary.lua" "$url" >"$raw" 2>&1
	fi
	c1=$(cpu_ticks "$pid"); rss=$(rss_kb "$pid")
	line=$(grep -m1 '^BENCH ' "$raw") || { log "  wrk failed: $raw"; return; }
	local -A S=(); for kv in ${line#BENCH }; do S[${kv%%=*}]=${kv#*=}; done
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$sc" "$t" "$w" \
		"${S[requests]}" "${S[duration_us]}" "${S[errors]}" "${S[non2xx]}" "${S[p50_us]}" \
		"${S[p99_us]}" $((c1 - c0)) "$rss" >>"$MEAS"
	log "$(printf '  %-13s %-8s w%s %8d req/s  p99 %6d us  cpu %5.1f us/req%s' "$sc" "$t" "$w" \
		$((S[requests] * 1000000 / S[duration_us])) "${S[p99_us]}" \
		"$(awk -v c=$((c1 - c0)) -v r="${S[requests]}" -v hz="$HZ" 'BEGIN{print c/hz/r*1e6}')" \
		"$( ((S[errors] + S[non2xx])) && echo "  errors ${S[errors]}/${S[non2xx]}")")"
}

order() {  # order ROUND ITEMS...: round 1 as given, 2 reversed, 3 rotated
	local r=$1; shift; local a=("$@") n=$# i
	case $((r % 3)) in
	1) echo "${a[@]}" ;;
	2) for ((i = n - 1; i >= 0; i--)); do printf '%s ' "${a[$i]}"; done ;;
	0) for ((i = 0; i < n; i++)); do printf '%s ' "${a[$(((i + n / 2) % n))]}"; done ;;
	esac
}

{
	echo "date: $(date -Is)"
	echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr)"
	echo "versions: $(nginx -v 2>&1 | cut -d' ' -f3), $(haproxy -v | head -1 | cut -d' ' -f1-3), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
	echo "gatewayd: $GATEWAYD ($(cd "$SRC" && git rev-parse --short HEAD 2>/dev/null))"
	echo "params: duration=${DURATION}s repeats=$REPEATS conns=$CONNS routes=($ROUTES) idle=$IDLE"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/meta.txt"
cat "$OUT/meta.txt" >&2

# ---- origin
mkdir -p "$WORK/backend"/{logs,run,tmp,www}
head -c 16384 /dev/zero | tr '\0' 'x' >"$WORK/backend/www/big"
start backend nginx -p "$WORK/backend/" -c "$HERE/backend-nginx.conf" -e "$WORK/backend/logs/error.log" -g "daemon off;"
BPID=$LASTPID
ready 18180 bench / || die "origin did not start"

T0=$SECONDS
for ((round = 1; round <= REPEATS; round++)); do
	log "round $round/$REPEATS"
	# Basic scenarios: catch-all route, 1 and 2 workers.
	for tw in $(order "$round" direct:1 nginx:1 haproxy:1 gatewayd:1 nginx:2 haproxy:2 gatewayd:2); do
		t=${tw%:*} w=${tw#*:} port=${PORT[$t]}
		if [[ $t == direct ]]; then pid=$BPID; else
			start_target "$t" "$w" 0; pid=$TPID
			ready "$port" bench / "$pid" || { log "  $t w$w did not start"; stop "$t"; continue; }
		fi
		((round == 1)) && printf '%s\t%s\t%s\n' "$t" "$w" "$(rss_kb "$pid")" >>"$OUT/rss-start.tsv"
		wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1   # warm-up
		for sc in $(order "$round" ka-100B ka-16KiB close-100B); do
			case $sc in
			ka-100B) measure "$round" "$sc" "$t" "$w" "$pid" "http://127.0.0.1:$port/" ;;
			ka-16KiB) measure "$round" "$sc" "$t" "$w" "$pid" "http://127.0.0.1:$port/big/x" ;;
			close-100B) measure "$round" "$sc" "$t" "$w" "$pid" "http://127.0.0.1:$port/" "Connection: close" ;;
			esac
		done
		[[ $t != direct ]] && stop "$t"
	done
	# Routing tables: the request hits the last-defined route.
	for n in $(order "$round" $ROUTES); do
		for t in $(order "$round" nginx haproxy gatewayd); do
			port=${PORT[$t]} id=$(printf %05d "$n")
			start_target "$t" 1 "$n"; pid=$TPID
			ready "$port" "h$id.bench.test" "/r$id/x" "$pid" || { log "  $t n$n did not start"; stop "$t"; continue; }
			wrk -t1 -c"$CONNS" -d1s -H "Host: h$id.bench.test" "http://127.0.0.1:$port/r$id/x" >/dev/null 2>&1
			measure "$round" "routes-$n" "$t" 1 "$pid" "http://127.0.0.1:$port/r$id/x" "Host: h$id.bench.test"
			stop "$t"
		done
	done
done

# ---- idle keep-alive connections: RSS of each proxy (workers=1) holding IDLE of them
log "idle connections: $IDLE per proxy"
for t in nginx haproxy gatewayd; do
	start_target "$t" 1 0; pid=$TPID
	ready "${PORT[$t]}" bench / "$pid" || { log "  $t did not start"; stop "$t"; continue; }
	r0=$(rss_kb "$pid")
	coproc IDLEC { python3 "$HERE/idle.py" "${PORT[$t]}" "$IDLE"; }
	read -r -t 120 _ got <&"${IDLEC[0]}"
	sleep 1
	r1=$(rss_kb "$pid")
	printf '%s\t%s\t%s\t%s\n' "$t" "$r0" "$r1" "${got:-0}" >>"$OUT/idle.tsv"
	log "  $t: rss ${r0} kB idle, ${r1} kB with ${got:-0} connections"
	kill -TERM "$IDLEC_PID" 2>/dev/null; wait "$IDLEC_PID" 2>/dev/null
	stop "$t"
done

# ---- gatewayd reload: compile and swap 10,000 routes
big=$(printf '%s\n' $ROUTES | sort -n | tail -1)
if [[ $big -gt 1 ]]; then
	log "gatewayd reload: 1 <-> $big routes"
	start_target gatewayd 1 1; d=$WORK/gatewayd-w1-n1
	if ready 18184 h00001.bench.test /r00001/x; then
		for i in 1 2 3; do
			cp "$WORK/cfg$big/conf.d/routes.yaml" "$d/conf.d/routes.yaml"
			t0=$EPOCHREALTIME
			"$GATEWAYD" reload -c "$d/gatewayd.conf" >>"$OUT/raw/reload.log" 2>&1 || log "  reload failed"
			t1=$EPOCHREALTIME
			ready 18184 "h$(printf %05d "$big").bench.test" "/r$(printf %05d "$big")/x" || log "  route $big not served after reload"
			printf 'reload-%s\t%s\n' "$big" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", (b-a)*1000}')" >>"$OUT/reload.tsv"
			cp "$WORK/cfg1/conf.d/routes.yaml" "$d/conf.d/routes.yaml"
			"$GATEWAYD" reload -c "$d/gatewayd.conf" >>"$OUT/raw/reload.log" 2>&1
		done
		t0=$EPOCHREALTIME
		"$GATEWAYD" check -c "$d/gatewayd.conf" "$WORK/cfg$big/conf.d" >/dev/null 2>&1
		t1=$EPOCHREALTIME
		printf 'check-%s\t%s\n' "$big" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", (b-a)*1000}')" >>"$OUT/reload.tsv"
	fi
	stop gatewayd
fi
stop backend
echo "run time: $((SECONDS - T0)) s; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"
python3 "$HERE/report.py" "$OUT" "$HZ" | tee "$OUT/table.md"
log "results in $OUT"
