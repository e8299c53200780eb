#!/bin/sh
# SPDX-License-Identifier: MIT
# test_rpm: `make rpm` builds the RPM from the dist tarball with rpmbuild (Debian's
# rpm package provides it), and the package holds the installed layout: the binary,
# the configuration files marked %config(noreplace), the unit, the sysusers file and
# the man pages. The package's own %check is skipped here: make check already ran.
# Skipped (exit 77) without rpmbuild, inside a package build or make distcheck, and
# in sanitizer builds.
set -u

build=${GW_BUILDDIR:-}
if [ -z "$build" ] && [ -n "${GATEWAYD:-}" ]; then
	build=$(cd "$(dirname "$GATEWAYD")/.." && pwd)
fi
skip() { echo "SKIP: $*"; exit 77; }
[ -n "${GW_IN_PACKAGE_BUILD:-}" ] && skip "inside a package build"
# make distcheck marks its source tree read-only; look at the mode bits, since
# root may write anyway.
if [ -n "${GW_SRCDIR:-}" ] && [ "$(stat -c %A "$GW_SRCDIR" | cut -c3)" != w ]; then
	skip "read-only source tree (make distcheck)"
fi
command -v rpmbuild >/dev/null 2>&1 || skip "rpmbuild not found (package: rpm)"
[ -n "$build" ] && [ -f "$build/Makefile" ] || skip "no build folder (GW_BUILDDIR)"
if [ -n "${GATEWAYD:-}" ] && grep -q __asan_init "$GATEWAYD" 2>/dev/null; then
	skip "sanitizer build: the package is built with its own flags whatever this build's"
fi

fail() { echo "FAIL: $*"; exit 1; }
# A private top dir, so that a parallel `make rpm` by hand is not disturbed; the
# build log lives there too, so the build folder stays clean for distclean.
top=$(mktemp -d "${TMPDIR:-/tmp}/gw-rpm.XXXXXX") || exit 99
trap 'rm -rf "$top"' EXIT
log=$top/build.log
make -C "$build" rpm RPM_TOPDIR="$top" RPMBUILD_FLAGS=--nocheck >"$log" 2>&1 ||
	{ tail -n 40 "$log"; fail "make rpm failed"; }
rpm=$(find "$top/RPMS" -name 'gatewayd-[0-9]*.rpm' | head -n 1)
[ -n "$rpm" ] || fail "no gatewayd .rpm under $top/RPMS"
echo "built $(basename "$rpm")"

files=$(rpm -qpl "$rpm" 2>/dev/null) || fail "rpm -qpl $rpm"
for f in /usr/sbin/gatewayd /etc/gatewayd/gatewayd.conf /etc/gatewayd/conf.d/example.yaml \
	/etc/logrotate.d/gatewayd; do
	echo "$files" | grep -qx "$f" || fail "$f missing from the package"
done
echo "$files" | grep -q '/gatewayd\.service$' || fail "systemd unit missing"
echo "$files" | grep -q 'sysusers.d/gatewayd\.conf$' || fail "sysusers file missing"
for m in gatewayd.8 gatewayd.conf.5 gatewayd-resources.5; do
	echo "$files" | grep -q "/man[58]/$m" || fail "man page $m missing"
done
configs=$(rpm -qpc "$rpm" 2>/dev/null)
echo "$configs" | grep -qx /etc/gatewayd/gatewayd.conf || fail "gatewayd.conf is not a %config file"
echo "$configs" | grep -qx /etc/logrotate.d/gatewayd || fail "the logrotate file is not a %config file"
echo "ok: $(echo "$files" | wc -l) files, configuration files: $(echo "$configs" | tr '\n' ' ')"
exit 0
