# SPDX-License-Identifier: MIT
# tests/bench/lib.sh: what run.sh and tls.sh share: logging, the processes they start
# (every pid in $WORK/pids; only those are ever signalled), and CPU/RSS readings of a
# process tree. Sourced after OUT and WORK are set.

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

alive() { [[ -r /proc/$1/stat ]] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
tree() {  # pids of $1 and its descendants
	local all=("$1") i=0 k
	while ((i < ${#all[@]})); do
		for k in $(cat /proc/"${all[$i]}"/task/*/children 2>/dev/null); do all+=("$k"); done
		((i++))
	done
	echo "${all[@]}"
}
cpu_ticks() { local t=0 p f; for p in $(tree "$1"); do
	f=$(cut -d')' -f2- /proc/"$p"/stat 2>/dev/null) || continue
	set -- $f; t=$((t + ${12} + ${13})); done; echo $t; }
rss_kb() { local t=0 p v; for p in $(tree "$1"); do
	v=$(awk '/^VmRSS:/{print $2}' /proc/"$p"/status 2>/dev/null); t=$((t + ${v:-0})); done; echo $t; }
start() {  # start NAME CMD...: background, pid recorded
	local name=$1; shift
	"$@" >>"$OUT/raw/$name.log" 2>&1 </dev/null &
	echo $! >"$WORK/pids/$name"
	LASTPID=$!
}
stop() {
	local f=$WORK/pids/$1 pid i p kids
	[[ -s $f ]] || return 0
	pid=$(<"$f"); kids=$(tree "$pid")
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
	for p in $kids; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
	wait "$pid" 2>/dev/null
	rm -f "$f"
}
cleanup() {
	local f
	for f in "$WORK"/pids/*; do [[ -e $f ]] && stop "$(basename "$f")"; done
	rm -rf "$WORK"
}
