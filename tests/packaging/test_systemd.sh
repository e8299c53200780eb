#!/bin/sh
# SPDX-License-Identifier: MIT
# test_systemd: the unit made by the build (systemd/gatewayd.service) passes
# `systemd-analyze verify`, is Type=notify with ExecReload running `gatewayd reload`,
# runs as the gatewayd user with CAP_NET_BIND_SERVICE only, and its exposure in
# `systemd-analyze security --offline=yes` is 2.0 or lower. The sysusers.d and
# tmpfiles.d files name the same user. Exit 0 pass, 1 fail, 77 skip.
set -u

src=${GW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GW_BUILDDIR:-}
if [ -z "$build" ] && [ -n "${GATEWAYD:-}" ]; then
	build=$(cd "$(dirname "$GATEWAYD")/.." && pwd)
fi
unit=$build/systemd/gatewayd.service
gatewayd=${GATEWAYD:-$build/src/gatewayd}

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze not found"
	exit 77
fi
if [ ! -f "$unit" ]; then
	echo "FAIL: $unit not found (it is made by make from systemd/gatewayd.service.in)"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-systemd.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# The unit as installed, but with the Exec lines pointing at the binary just built
# (verify checks that the command exists) and under its own name.
sed -e "s|^\(Exec[A-Za-z]*=\)[^ ]*/gatewayd |\1$gatewayd |" "$unit" >"$tmp/gatewayd.service"

val() { sed -n "s/^$1=//p" "$tmp/gatewayd.service"; }
[ "$(val Type)" = notify ] && ok "Type=notify" || fail "Type is \"$(val Type)\", want notify"
case $(val ExecStart) in
*/gatewayd\ *run) ok "ExecStart runs gatewayd run" ;;
*) fail "ExecStart=$(val ExecStart)" ;;
esac
case $(val ExecReload) in
*/gatewayd\ *reload) ok "ExecReload runs gatewayd reload" ;;
*) fail "ExecReload=$(val ExecReload), want gatewayd reload (so that a failed reload fails systemctl reload)" ;;
esac
[ "$(val User)" = gatewayd ] && ok "User=gatewayd" || fail "User is \"$(val User)\", want gatewayd"
[ "$(val CapabilityBoundingSet)" = CAP_NET_BIND_SERVICE ] && ok "CapabilityBoundingSet" ||
	fail "CapabilityBoundingSet is \"$(val CapabilityBoundingSet)\""
[ "$(val AmbientCapabilities)" = CAP_NET_BIND_SERVICE ] && ok "AmbientCapabilities" ||
	fail "AmbientCapabilities is \"$(val AmbientCapabilities)\""
for d in StateDirectory RuntimeDirectory ConfigurationDirectory; do
	[ "$(val $d)" = gatewayd ] && ok "$d=gatewayd" || fail "$d is \"$(val $d)\", want gatewayd"
done
grep -q '^ExecStartPre=' "$tmp/gatewayd.service" &&
	fail "ExecStartPre would stop gatewayd from serving its last good generation"

# sysusers.d and tmpfiles.d name the user of the unit.
grep -Eq '^u[[:space:]]+gatewayd[[:space:]]' "$src/systemd/gatewayd.sysusers" &&
	ok "sysusers.d creates gatewayd" || fail "systemd/gatewayd.sysusers does not create the user gatewayd"
grep -Eq '^d[[:space:]]+/var/lib/gatewayd[[:space:]]+[0-7]+[[:space:]]+gatewayd[[:space:]]+gatewayd' \
	"$src/systemd/gatewayd.tmpfiles" && ok "tmpfiles.d: /var/lib/gatewayd" ||
	fail "systemd/gatewayd.tmpfiles does not make /var/lib/gatewayd for gatewayd"

# systemd-analyze verify: no output at all is expected (man pages are not looked up:
# they are not installed here).
if out=$(systemd-analyze verify --man=no "$tmp/gatewayd.service" 2>&1) && [ -z "$out" ]; then
	ok "systemd-analyze verify"
else
	fail "systemd-analyze verify: $out"
fi

# systemd-analyze security --offline (systemd 252 and later): exposure <= 2.0.
if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
	out=$(systemd-analyze security --offline=yes "$tmp/gatewayd.service" 2>&1)
	level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for gatewayd.service: \([0-9.]*\).*/\1/p')
	if [ -z "$level" ]; then
		fail "systemd-analyze security printed no exposure level: $out"
	elif awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
		ok "systemd-analyze security: exposure $level (<= 2.0)"
	else
		printf '%s\n' "$out" | grep '✗' || true
		fail "systemd-analyze security: exposure $level, want 2.0 or lower"
	fi
else
	echo "skip: this systemd-analyze has no security --offline"
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
exit 0
