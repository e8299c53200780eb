#!/bin/sh
# SPDX-License-Identifier: MIT
# demo.sh: build gatewayd if needed, then run the example configuration
# (etc/gatewayd) in front of a demo echo backend on 127.0.0.1:9080.
# Ctrl-C stops both. State (LMDB) and the control socket go to
# etc/gatewayd/state and etc/gatewayd/run (relative paths in gatewayd.conf).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

build=${BUILD_DIR:-$top}
bin="$build/src/gatewayd"
if [ ! -x "$bin" ]; then
	echo "demo: building gatewayd in $build"
	if [ ! -x "$top/configure" ]; then
		autoreconf -fi
	fi
	mkdir -p "$build"
	if [ ! -f "$build/Makefile" ]; then
		(cd "$build" && "$top/configure")
	fi
	make -C "$build" -j"$(nproc 2>/dev/null || echo 2)" src/gatewayd
fi

conf="$top/etc/gatewayd/gatewayd.conf"
backend_pid=""
gateway_pid=""
cleanup() {
	trap - INT TERM EXIT
	[ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null || true
	[ -n "$backend_pid" ] && kill "$backend_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	echo
	echo "demo: stopped"
}
trap cleanup INT TERM EXIT

"$bin" -c "$conf" check

python3 "$top/tests/tools/echo_backend.py" --port 9080 --name demo >/dev/null &
backend_pid=$!

"$bin" -c "$conf" run &
gateway_pid=$!

# Wait (at most 10 s) until the admin listener says ready.
i=0
until curl -fsS -o /dev/null http://127.0.0.1:9901/readyz 2>/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$gateway_pid" 2>/dev/null; then
		echo "demo: gatewayd did not become ready" >&2
		exit 1
	fi
	sleep 0.1
done

cat <<MSG

gatewayd is serving etc/gatewayd/conf.d on 127.0.0.1:8080 (admin on 127.0.0.1:9901)
in front of a demo echo backend on 127.0.0.1:9080.

try: curl -i http://127.0.0.1:8080/

then edit etc/gatewayd/conf.d/example.yaml and run
     $bin -c $conf reload
status:  $bin -c $conf status
Ctrl-C stops the demo.
MSG

wait "$gateway_pid"
