#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# run-selftests.sh DIR LIST: run, inside the guest, each test of LIST
# ("origin path timeout" lines; a path PATH:SUB runs PATH -t SUB) from DIR. TAP on stdout, one log per test in
# /out/logs. Judging the results is the host's job (selftests/ksft_summary.py).
dir=$1
list=$2
mkdir -p /out/logs
n=$(grep -c . "$list")
# Each test runs in its own cgroup, so whatever it forked dies with it.
cg=/sys/fs/cgroup/selftest
mkdir -p "$cg" 2>/dev/null
now() { cut -d' ' -f1 /proc/uptime; }

echo "TAP version 13"
echo "1..$n"
i=0
while read -r origin path tmo; do
	[ -n "$path" ] || continue
	i=$((i + 1))
	log=/out/logs/$(echo "$path" | tr / _).log
	echo "# [$i/$n] $path ($origin, timeout ${tmo}s)"
	t0=$(now)
	# PATH:SUB is subtest SUB of PATH (-t SUB).
	bin=${path%%:*}
	sub=${path#"$bin"}
	CG=$cg D="$dir/$(dirname "$bin")" T="$tmo" P="./$(basename "$bin")" S="${sub#:}" sh -c '
		echo $$ > "$CG/cgroup.procs" 2>/dev/null
		cd "$D" && exec timeout -s KILL "$T" "$P" ${S:+-t "$S"}' > "$log" 2>&1 < /dev/null
	rc=$?
	# busybox timeout leaves its watcher process behind: not the test's.
	left=0
	for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = timeout ] || left=$((left + 1))
	done
	[ "$left" -eq 0 ] || echo "# $path left $left processes behind; killing them"
	echo 1 > "$cg/cgroup.kill" 2>/dev/null
	w=0
	while grep -q . "$cg/cgroup.procs" 2>/dev/null && [ $w -lt 100 ]; do
		sleep 0.1
		w=$((w + 1))
	done
	dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	echo "# time $path ${dt}s rc=$rc"
	case $rc in
	0)	echo "ok $i $path" ;;
	4)	reason=$(grep -m1 -o '# SKIP.*' "$log" | sed -e 's/^# SKIP *//' -e 's/^- //')
		[ -n "$reason" ] || reason=$(grep -v '^\s*$' "$log" | tail -1)
		echo "ok $i $path # SKIP ${reason:-no reason printed}" ;;
	*)	if [ "$rc" = 137 ] && awk -v d="$dt" -v t="$tmo" 'BEGIN { exit !(d >= t) }'; then
			echo "not ok $i $path # TIMEOUT after ${tmo}s"
		else
			echo "not ok $i $path # exit status $rc"
		fi ;;
	esac
done < "$list"
