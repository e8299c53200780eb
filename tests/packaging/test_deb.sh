#!/bin/sh
# SPDX-License-Identifier: MIT
# test_deb: `make deb` builds the Debian package from the dist tarball; lintian finds
# no error in it; it installs; the files, conffiles, user and directories are where
# they belong; `gatewayd check` accepts the installed default configuration;
# /usr/sbin/gatewayd runs from the installed paths as the gatewayd user and proxies a
# request; a changed conffile survives a reinstallation; purge removes everything.
# Needs root and dpkg-buildpackage + debhelper (else exit 77, skipped); also skipped
# inside a package build, in sanitizer builds (the package does not depend on the
# build's flags), and when a gatewayd package is already installed (not ours).
# GW_KEEP=1 keeps the build folder.
set -u

src=${GW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${GW_BUILDDIR:-}
if [ -z "$build" ] && [ -n "${GATEWAYD:-}" ]; then
	build=$(cd "$(dirname "$GATEWAYD")/.." && pwd)
fi
python=${PYTHON3:-python3}

skip() { echo "SKIP: $*"; exit 77; }
[ -n "${GW_IN_PACKAGE_BUILD:-}" ] && skip "inside a package build"
[ "$(id -u)" -eq 0 ] || skip "needs root (installs and purges the package)"
# make distcheck marks its source tree read-only (root may write anyway: look at
# the mode bits); the package is built and installed from the real tree instead.
if [ -n "${GW_SRCDIR:-}" ] && [ "$(stat -c %A "$GW_SRCDIR" | cut -c3)" != w ]; then
	skip "read-only source tree (make distcheck)"
fi
for tool in dpkg-buildpackage dh lintian curl "$python"; do
	command -v "$tool" >/dev/null 2>&1 ||
		skip "$tool not found (packages: dpkg-dev debhelper lintian curl python3)"
done
[ -n "$build" ] && [ -f "$build/Makefile" ] || skip "no build folder (GW_BUILDDIR)"
if [ -n "${GATEWAYD:-}" ] && grep -q __asan_init "$GATEWAYD" 2>/dev/null; then
	skip "sanitizer build: the .deb is built with Debian's flags whatever this build's"
fi
if dpkg-query -W -f='${Status}' gatewayd 2>/dev/null | grep -q 'installed'; then
	skip "a gatewayd package is already installed here; not touching it"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-deb.XXXXXX") || exit 99
# Debian keeps a package's system user after purge; one this test made goes again.
user_existed=0
getent passwd gatewayd >/dev/null && user_existed=1
installed=0
gw_pid=
echo_pid=
cleanup() {
	for p in $gw_pid $echo_pid; do
		kill -KILL "$p" 2>/dev/null
	done
	if [ "$installed" = 1 ]; then
		dpkg --purge gatewayd >"$tmp/purge-on-exit.log" 2>&1 ||
			cat "$tmp/purge-on-exit.log"
	fi
	if [ "$user_existed" = 0 ] && getent passwd gatewayd >/dev/null; then
		userdel gatewayd 2>/dev/null
		getent group gatewayd >/dev/null && groupdel gatewayd 2>/dev/null
	fi
	if [ "${GW_KEEP:-0}" = 1 ]; then
		echo "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
die() { echo "FAIL: $*"; exit 1; }
free_port() {
	"$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- build
echo "# make deb (in $tmp/deb)"
t0=$(date +%s)
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL DEB_BUILD_OPTIONS="nocheck parallel=2" \
	make -C "$build" deb DEB_BUILD_DIR="$tmp/deb" >"$tmp/build.log" 2>&1; then
	tail -n 40 "$tmp/build.log"
	die "make deb failed"
fi
deb=$(ls "$tmp"/deb/gatewayd_*.deb 2>/dev/null | head -n 1)
[ -f "$deb" ] || die "make deb made no gatewayd_*.deb"
ok "make deb: $(basename "$deb") in $(($(date +%s) - t0))s"

# ---- lintian: errors fail, warnings are shown
lintian --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1
sed -n '/^[EWI]: /p' "$tmp/lintian.log"
if grep -q '^E: ' "$tmp/lintian.log"; then
	fail "lintian reports errors"
else
	ok "lintian: no error"
fi

# ---- install
if ! dpkg -i "$deb" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	installed=1
	die "dpkg -i failed"
fi
installed=1
ok "dpkg -i"

for f in /usr/sbin/gatewayd /etc/gatewayd/gatewayd.conf /etc/gatewayd/conf.d/example.yaml \
	/usr/lib/sysusers.d/gatewayd.conf /usr/lib/tmpfiles.d/gatewayd.conf \
	/usr/share/man/man8/gatewayd.8.gz /usr/share/man/man5/gatewayd.conf.5.gz \
	/usr/share/man/man5/gatewayd-resources.5.gz /etc/logrotate.d/gatewayd; do
	[ -f "$f" ] || fail "$f is not installed"
done
unit=$(dpkg -L gatewayd | grep '/systemd/system/gatewayd.service$')
[ -n "$unit" ] && grep -q '^ExecReload=/usr/sbin/gatewayd ' "$unit" || fail "no gatewayd.service with ExecReload"
[ -x /usr/sbin/gatewayd ] || fail "/usr/sbin/gatewayd is not executable"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' gatewayd)
for f in /etc/gatewayd/gatewayd.conf /etc/gatewayd/conf.d/example.yaml /etc/logrotate.d/gatewayd; do
	echo "$conffiles" | grep -q " $f " || fail "$f is not a conffile"
done
getent passwd gatewayd >/dev/null || fail "the gatewayd user was not created"
[ "$(stat -c %U /var/lib/gatewayd 2>/dev/null)" = gatewayd ] || fail "/var/lib/gatewayd is not gatewayd's"
[ "$(stat -c %U /run/gatewayd 2>/dev/null)" = gatewayd ] || fail "/run/gatewayd is not gatewayd's"
MANWIDTH=80 man gatewayd-resources 2>/dev/null | grep -q HTTPRoute || fail "man gatewayd-resources shows no HTTPRoute"
[ "$fails" -eq 0 ] && ok "files, conffiles, user, directories, man pages"

pkgver=$(dpkg-query -W -f='${Version}' gatewayd)
v=$(/usr/sbin/gatewayd version)
[ "$v" = "gatewayd ${pkgver%-*}" ] || fail "gatewayd version says \"$v\", the package is $pkgver"

# ---- gatewayd check on the installed default configuration (no -c, no GATEWAYD_CONF)
if out=$(env -u GATEWAYD_CONF /usr/sbin/gatewayd check 2>&1); then
	ok "gatewayd check on the installed configuration"
else
	fail "gatewayd check on the installed configuration: $out"
fi

# ---- run from the installed paths, as the gatewayd user, on free ports: the example
# ---- listens on 8080 for a backend on 9080, the admin listener on 9901.
port=$(free_port); admin=$(free_port); bport=$(free_port)
sed -i -e "s/port: 8080\$/port: $port/" -e "s/port: 9080\$/port: $bport/" /etc/gatewayd/conf.d/example.yaml
sed -i -e "s/^listen = 127.0.0.1:9901\$/listen = 127.0.0.1:$admin/" /etc/gatewayd/gatewayd.conf
grep -q "port: $port" /etc/gatewayd/conf.d/example.yaml && grep -q "127.0.0.1:$admin" /etc/gatewayd/gatewayd.conf ||
	die "the installed example no longer has port 8080, 9080 or 9901 to move"

"$python" "$src/tests/tools/echo_backend.py" --name deb --port "$bport" >"$tmp/echo.out" 2>"$tmp/echo.err" &
echo_pid=$!
for i in $(seq 1 100); do
	grep -q '^READY' "$tmp/echo.out" 2>/dev/null && break
	sleep 0.1
done
grep -q '^READY' "$tmp/echo.out" || die "the echo backend did not start: $(cat "$tmp/echo.err")"
setpriv --reuid=gatewayd --regid=gatewayd --init-groups \
	env -u GATEWAYD_CONF -u NOTIFY_SOCKET /usr/sbin/gatewayd run >"$tmp/gatewayd.out" 2>"$tmp/gatewayd.err" &
gw_pid=$!
ready=0
for i in $(seq 1 100); do
	if curl -fsS -m 1 -o /dev/null "http://127.0.0.1:$admin/readyz" 2>/dev/null; then
		ready=1
		break
	fi
	kill -0 "$gw_pid" 2>/dev/null || break
	sleep 0.1
done
if [ "$ready" != 1 ]; then
	cat "$tmp/gatewayd.err"
	die "the installed gatewayd did not become ready"
fi
ok "installed gatewayd runs as gatewayd ($(ps -o user= -p "$gw_pid"))"
body=$(curl -sS -m 5 "http://127.0.0.1:$port/api/x" 2>&1)
echo "$body" | grep -q '"name": *"deb"' && ok "a request reaches the backend through the installed gatewayd" ||
	fail "request through the installed gatewayd: $body"
gen=$(/usr/sbin/gatewayd reload 2>&1) && [ "$gen" = 2 ] && ok "gatewayd reload as root: generation 2" ||
	fail "gatewayd reload: $gen"
/usr/sbin/gatewayd status >/dev/null 2>&1 || fail "gatewayd status"
[ "$(stat -c %U /var/lib/gatewayd/data.mdb 2>/dev/null)" = gatewayd ] || fail "/var/lib/gatewayd/data.mdb is not gatewayd's"
kill -TERM "$gw_pid"
rc=0
wait "$gw_pid" || rc=$?
gw_pid=
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || fail "gatewayd exited $rc after SIGTERM"
kill -TERM "$echo_pid" 2>/dev/null
wait "$echo_pid" 2>/dev/null
echo_pid=

# ---- a changed conffile stays when the package is installed again
echo "; local change" >>/etc/gatewayd/gatewayd.conf
if dpkg -i "$deb" >"$tmp/reinstall.log" 2>&1 && tail -n 1 /etc/gatewayd/gatewayd.conf | grep -q "local change"; then
	ok "a changed conffile survives reinstallation"
else
	cat "$tmp/reinstall.log"
	fail "the changed /etc/gatewayd/gatewayd.conf did not survive dpkg -i"
fi

# ---- purge
if dpkg --purge gatewayd >"$tmp/purge.log" 2>&1; then
	installed=0
	for p in /usr/sbin/gatewayd /etc/gatewayd /var/lib/gatewayd "$unit"; do
		[ ! -e "$p" ] || fail "$p is still there after purge"
	done
	ok "dpkg --purge"
else
	cat "$tmp/purge.log"
	fail "dpkg --purge failed"
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
exit 0
