#!/bin/sh
# SPDX-License-Identifier: MIT
# install-deps.sh: install the Debian 12 packages needed to build gatewayd and run
# its tests (make check, make distcheck, the demo). Idempotent; run as root (uses
# sudo when run as another user and sudo exists).
set -eu

PACKAGES="
build-essential
autoconf
automake
pkg-config
libev-dev
libyaml-dev
liblmdb-dev
lmdb-utils
libinih-dev
libmbedtls-dev
libpcre2-dev
libc-ares-dev
libnghttp2-dev
nghttp2-client
libcmocka-dev
clang
curl
valgrind
wrk
python3
prometheus
ca-certificates
systemd
groff-base
man-db
dpkg-dev
cmake
debhelper
lintian
rpm
openssl
dnsmasq-base
testssl.sh
"

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -- "$0" "$@"
	fi
	echo "install-deps.sh: run as root (sudo not found)" >&2
	exit 1
fi

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps.sh: every package is installed already"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $missing
# prometheus is here for promtool (tests/integration/test_metrics.py runs `promtool
# check metrics`); its package also enables and starts the server on :9090, which a
# build machine does not need.
case " $missing " in
*" prometheus "*)
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl disable --now prometheus.service >/dev/null 2>&1 || true
	fi
	;;
esac
echo "install-deps.sh: installed:$missing"
