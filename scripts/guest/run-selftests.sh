#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# run-selftests.sh DIR LIST: run, inside the guest, each test of LIST
# ("origin path timeout" lines) from DIR. TAP on stdout, one log per test in
# /out/logs. Judging the results is the host's job (scripts/ksft_summary.py).
dir=$1
list=$2
mkdir -p /out/logs
n=$(grep -c . "$list")
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
	(cd "$dir/$(dirname "$path")" && exec timeout -s KILL "$tmo" "./$(basename "$path")") \
		> "$log" 2>&1 < /dev/null
	rc=$?
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
