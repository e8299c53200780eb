#!/bin/sh
# SPDX-License-Identifier: MIT
# test_layout: what ships agrees with the code. The man pages render without warnings,
# gatewayd.conf(5) and both gatewayd.conf files list every key of the settings table,
# gatewayd-resources(5) names every kind the decoder knows, the installed
# gatewayd.conf passes `gatewayd check` with the example conf.d, and the YAML examples
# of gatewayd-resources(5) pass it too. Exit 0 pass, 1 fail, 77 skip.
set -u

src=${GW_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
gatewayd=${GATEWAYD:-}
fails=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gw-layout.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

mans="doc/gatewayd.8 doc/gatewayd.conf.5 doc/gatewayd-resources.5"

# 1. The man pages, as groff and man(1) render them.
if command -v groff >/dev/null 2>&1; then
	for m in $mans; do
		out=$(groff -ww -man -z "$src/$m" 2>&1)
		if [ -n "$out" ]; then fail "groff -ww -man -z $m: $out"; else ok "groff: $m"; fi
	done
else
	echo "skip: groff not found"
fi
if command -v man >/dev/null 2>&1; then
	for m in $mans; do
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$src/$m" 2>&1 >/dev/null)
		if [ -n "$out" ]; then fail "man -l $m: $out"; else ok "man -l: $m"; fi
	done
fi

# 2. Every key of the settings table (src/settings/settings.c) is documented and
# appears in both gatewayd.conf files.
keys=$(sed -n 's/^[[:space:]]*{"\([a-z]*\)", "\([a-z_]*\)", SET_.*/\1 \2/p' "$src/src/settings/settings.c")
if [ -z "$keys" ]; then
	fail "no keys found in src/settings/settings.c (has set_keys[] changed shape?)"
fi
echo "$keys" | {
	n=0
	while read -r section key; do
		[ -n "$key" ] || continue
		grep -q "^\.SH \[$section\]" "$src/doc/gatewayd.conf.5" ||
			{ echo "FAIL: gatewayd.conf(5) has no section [$section]"; n=$((n + 1)); }
		grep -Eq "^\.B[IR]? $key( |\$)" "$src/doc/gatewayd.conf.5" ||
			{ echo "FAIL: gatewayd.conf(5) does not describe [$section] $key"; n=$((n + 1)); }
		for f in etc/gatewayd/gatewayd.conf packaging/gatewayd.conf; do
			grep -q "^$key =" "$src/$f" ||
				{ echo "FAIL: $f does not list [$section] $key"; n=$((n + 1)); }
		done
	done
	exit "$n"
} || fails=$((fails + 1))
[ -n "$keys" ] && ok "settings keys: $(echo "$keys" | wc -l) checked"

# 3. Every kind the decoder knows (src/gwapi/decode.c, dkinds[]) is in
# gatewayd-resources(5).
kinds=$(sed -n 's/^[[:space:]]*{ [A-Z_"a-z0-9.]*, "\([A-Za-z]*\)", {.*/\1/p' "$src/src/gwapi/decode.c")
if [ -z "$kinds" ]; then
	fail "no kinds found in src/gwapi/decode.c (has dkinds[] changed shape?)"
fi
for k in $kinds; do
	grep -q "$k" "$src/doc/gatewayd-resources.5" || fail "gatewayd-resources(5) does not name kind $k"
done
[ -n "$kinds" ] && ok "kinds: $(echo $kinds | wc -w) checked"

# 4. gatewayd check: the installed gatewayd.conf with the example conf.d, and the
# YAML examples of gatewayd-resources(5).
if [ -z "$gatewayd" ] || [ ! -x "$gatewayd" ]; then
	echo "skip: GATEWAYD is not set to an executable; gatewayd check not run"
else
	mkdir -p "$tmp/etc/conf.d"
	cp "$src/packaging/gatewayd.conf" "$tmp/etc/gatewayd.conf"
	cp "$src/etc/gatewayd/conf.d/example.yaml" "$tmp/etc/conf.d/"
	if out=$("$gatewayd" -c "$tmp/etc/gatewayd.conf" check 2>&1); then
		ok "gatewayd check: packaging/gatewayd.conf + etc/gatewayd/conf.d"
	else
		fail "gatewayd check with packaging/gatewayd.conf: $out"
	fi
	# Each .EX block that starts with "apiVersion:" is a complete example.
	awk -v dir="$tmp" '
		/^\.EX/ { n++; inb = 1; first = 1; next }
		/^\.EE/ { inb = 0; next }
		inb {
			if (first && $0 !~ /^apiVersion:/) { inb = 0; next }
			if (first) { system("mkdir -p " dir "/ex" n) }
			first = 0
			gsub(/\\-/, "-"); gsub(/\\&/, "")
			print > (dir "/ex" n "/example.yaml")
		}' "$src/doc/gatewayd-resources.5"
	nex=0
	for d in "$tmp"/ex*; do
		[ -d "$d" ] || continue
		nex=$((nex + 1))
		if out=$(GATEWAYD_CONF=/nonexistent "$gatewayd" check "$d" 2>&1); then
			ok "gatewayd check: example $(basename "$d") of gatewayd-resources(5)"
		else
			fail "example $(basename "$d") of gatewayd-resources(5) does not pass check: $out"
		fi
	done
	[ "$nex" -ge 2 ] || fail "expected at least 2 YAML examples in gatewayd-resources(5), found $nex"
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
exit 0
