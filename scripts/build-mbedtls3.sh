#!/bin/sh
# SPDX-License-Identifier: MIT
# build-mbedtls3.sh [PREFIX]: build mbedTLS 3.6 (TLS 1.3) from Debian 13 (trixie)'s
# source package into PREFIX (default /opt/mbedtls-3.6), as shared libraries, so
# gatewayd can be built against it with configure --with-mbedtls=PREFIX.
#
# The source comes from Debian's archive through `apt-get source`, with a temporary
# sources list (a deb-src line for trixie on the mirror this machine's apt sources
# already name) and temporary list/cache directories: the system's apt state is left
# exactly as it was. Needs apt-get, dpkg-source (dpkg-dev), cmake, python3 and a C
# compiler (scripts/install-deps.sh installs them). Idempotent: does nothing when
# PREFIX already holds a 3.6 build (FORCE=1 rebuilds). Run as root for /opt.
#
# Configuration: upstream's default mbedtls_config.h (which in 3.6 already enables
# MBEDTLS_SSL_PROTO_TLS1_2, MBEDTLS_SSL_PROTO_TLS1_3, MBEDTLS_SSL_SESSION_TICKETS,
# MBEDTLS_SSL_TICKET_C, MBEDTLS_SSL_ALPN, MBEDTLS_SSL_SERVER_NAME_INDICATION and
# MBEDTLS_PSA_CRYPTO_C), plus the same five options Debian's own debian/rules sets, so
# the result matches trixie's libmbedtls-dev:
#   MBEDTLS_THREADING_C, MBEDTLS_THREADING_PTHREAD  gatewayd's worker threads share
#       one ssl_config, ticket key context and RNG (and 3.6's PSA core needs a mutex)
#   MBEDTLS_DEPRECATED_WARNING  use of a deprecated 3.x API warns (an error under
#       --enable-werror), as with Debian's headers
#   MBEDTLS_CMAC_C, MBEDTLS_SSL_DTLS_SRTP  unused by gatewayd, kept to match Debian
set -eu

prefix=${1:-/opt/mbedtls-3.6}
suite=trixie
want=3.6.
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

say() { printf 'build-mbedtls3.sh: %s\n' "$*"; }
die() { say "error: $*" >&2; exit 1; }

# Prints the version string of the mbedTLS 3.x headers under $1, or nothing.
installed_version() {
	sed -n 's/^#define MBEDTLS_VERSION_STRING  *"\(.*\)"/\1/p' \
		"$1/include/mbedtls/build_info.h" 2>/dev/null | head -n1
}

print_usage_line() {
	say "configure with: configure --with-mbedtls=$prefix"
}

have=$(installed_version "$prefix")
case "$have" in
"$want"*)
	if [ "${FORCE:-0}" != 1 ] && [ -e "$prefix/lib/libmbedtls.so" ] &&
		[ -e "$prefix/lib/libmbedx509.so" ] && [ -e "$prefix/lib/libmbedcrypto.so" ]; then
		say "mbedTLS $have is already installed in $prefix (FORCE=1 rebuilds)"
		print_usage_line
		exit 0
	fi
	;;
esac

for tool in apt-get dpkg-source cmake python3 cc make; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "$tool not found: run scripts/install-deps.sh first"
done

# "URI SUITE" for every enabled deb/deb-src entry of the machine's apt sources, from
# one-line .list files and deb822 .sources files alike.
apt_entries() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" || $1 == "deb-src" {
			i = 2
			if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
			print $i, $(i + 1)
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# A stanza ends at a blank line; continuation lines start with white space.
		awk 'function flush(   n, m, i, j, u, s) {
				if (types ~ /deb/ && tolower(enabled) != "no") {
					n = split(uris, u, /[ \t]+/); m = split(suites, s, /[ \t]+/)
					for (i = 1; i <= n; i++) for (j = 1; j <= m; j++)
						if (u[i] != "" && s[j] != "") print u[i], s[j]
				}
				types = uris = suites = enabled = last = ""
			}
			/^#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]/ { if (last == "u") uris = uris " " $0; else if (last == "s") suites = suites " " $0; next }
			{
				key = tolower($1); sub(/^[^:]*:[ \t]*/, ""); last = ""
				if (key == "types:") types = $0
				else if (key == "uris:") { uris = $0; last = "u" }
				else if (key == "suites:") { suites = $0; last = "s" }
				else if (key == "enabled:") enabled = $0
			}
			END { flush() }' "$f"
	done
}

codenames='buster|bullseye|bookworm|trixie|forky|sid|oldstable|stable|testing|unstable'
entries=$(apt_entries)
mirror=$(printf '%s\n' "$entries" | awk -v re="^($codenames)\$" '$2 ~ re { print $1; exit }')
security=$(printf '%s\n' "$entries" |
	awk -v re="^($codenames)(-security|/updates)\$" '$2 ~ re { print $1; exit }')
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d/}"
mirror=${mirror%/}
security=${security%/}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mbedtls3.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/src" "$tmp/build"

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
opts=""
[ -f "$keyring" ] && opts=" [signed-by=$keyring]"
{
	echo "deb-src$opts $mirror $suite main"
	echo "deb-src$opts $mirror $suite-updates main"
	[ -z "$security" ] || echo "deb-src$opts $security $suite-security main"
} >"$tmp/sources.list"
say "temporary apt sources:"
sed 's/^/    /' "$tmp/sources.list"

# apt drops root to the _apt user for downloads: let it write where it downloads.
if id _apt >/dev/null 2>&1; then
	chmod 755 "$tmp" && chown -R _apt "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/src"
fi
set -- -o "Dir::Etc::sourcelist=$tmp/sources.list" -o Dir::Etc::sourceparts=/nonexistent \
	-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -q
apt-get "$@" update || die "apt-get update of the $suite sources failed"
version=$(apt-cache "$@" showsrc mbedtls 2>/dev/null |
	awk '/^Version:/ { print $2 }' | sort -V | tail -n1)
[ -n "$version" ] || die "no mbedtls source package in $suite"
case "$version" in
"$want"*) ;;
*) die "$suite has mbedtls $version, not ${want}x" ;;
esac
say "fetching mbedtls $version from $suite"
(cd "$tmp/src" && apt-get "$@" source "mbedtls=$version") ||
	die "apt-get source mbedtls=$version failed"
srcdir=$(find "$tmp/src" -mindepth 1 -maxdepth 1 -type d -name 'mbedtls-*' | head -n1)
if [ -z "$srcdir" ] || [ ! -f "$srcdir/scripts/config.py" ]; then
	die "unpacked source tree not found in $tmp/src"
fi

say "configuring (the options Debian's debian/rules sets)"
for opt in MBEDTLS_THREADING_C MBEDTLS_THREADING_PTHREAD MBEDTLS_DEPRECATED_WARNING \
	MBEDTLS_CMAC_C MBEDTLS_SSL_DTLS_SRTP; do
	(cd "$srcdir" && python3 scripts/config.py set "$opt") || die "config.py set $opt failed"
done
# What gatewayd relies on must be on (upstream's defaults, checked, not assumed).
for opt in MBEDTLS_SSL_PROTO_TLS1_2 MBEDTLS_SSL_PROTO_TLS1_3 MBEDTLS_SSL_SESSION_TICKETS \
	MBEDTLS_SSL_TICKET_C MBEDTLS_SSL_ALPN MBEDTLS_SSL_SERVER_NAME_INDICATION \
	MBEDTLS_PSA_CRYPTO_C MBEDTLS_X509_CRT_PARSE_C; do
	(cd "$srcdir" && python3 scripts/config.py get "$opt" >/dev/null) ||
		die "$opt is not enabled in $version's mbedtls_config.h"
done

start=$(date +%s)
cmake -S "$srcdir" -B "$tmp/build" \
	-DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_INSTALL_PREFIX="$prefix" \
	-DCMAKE_INSTALL_LIBDIR=lib \
	-DCMAKE_INSTALL_RPATH="$prefix/lib" \
	-DUSE_SHARED_MBEDTLS_LIBRARY=ON \
	-DUSE_STATIC_MBEDTLS_LIBRARY=OFF \
	-DENABLE_PROGRAMS=OFF \
	-DENABLE_TESTING=OFF \
	-DGEN_FILES=OFF \
	-DMBEDTLS_FATAL_WARNINGS=OFF >"$tmp/cmake.out" 2>&1 ||
	{ cat "$tmp/cmake.out"; die "cmake configure failed"; }
cmake --build "$tmp/build" -j "$jobs" >"$tmp/build.out" 2>&1 ||
	{ tail -n 60 "$tmp/build.out"; die "build failed"; }
cmake --install "$tmp/build" >"$tmp/install.out" 2>&1 ||
	{ cat "$tmp/install.out"; die "install into $prefix failed"; }
printf 'mbedtls %s from Debian %s (apt-get source), built by gatewayd scripts/build-mbedtls3.sh\n' \
	"$version" "$suite" >"$prefix/BUILD-INFO"

have=$(installed_version "$prefix")
case "$have" in
"$want"*) ;;
*) die "installed headers in $prefix say version '$have'" ;;
esac
say "installed mbedTLS $have (Debian $version) in $prefix in $(($(date +%s) - start))s"
print_usage_line
