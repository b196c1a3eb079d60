#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# bench-profile.sh OUT CASE:ITERS...: run each case once more with -n ITERS,
# in a guest whose QEMU loads bench/profile's TCG plugin. The plugin writes
# each measured window to /out/prof/win.N as the benchmark leaves it; this
# moves the case's window to OUT/CASE/window (one per run: -n measures once).
# Environment: BENCH, BENCH_OPTS as for bench-cases.sh.
out=$1
shift
say() { echo "LAZYSWITCH-CASE: $*"; }

for ci in "$@"; do
	c=${ci%%:*}
	iters=${ci#*:}
	d=$out/$c
	mkdir -p "$d"
	say "$c: profiled run, $iters iterations"
	# Windows of an earlier run that failed are no one's.
	rm -f /out/prof/win.*
	if ! "$BENCH" $BENCH_OPTS -n "$iters" "$c" > "$d/bench.txt" 2> "$d/bench.err"; then
		echo "$c (failed) profiled run: $(tail -1 "$d/bench.err")" > "$d/status"
		say "$(cat "$d/status")"
		continue
	fi
	n=$(ls /out/prof | grep -c '^win\.[0-9]*$')
	if ls /out/prof | grep -q '\.tmp$'; then
		echo "$c (failed) a profile window was left half-written" > "$d/status"
	elif [ "$n" -eq 1 ]; then
		mv /out/prof/win.[0-9]* "$d/window"
		echo "$c ok" > "$d/status"
	else
		echo "$c (failed) $n profile windows, expected 1" > "$d/status"
	fi
	say "$(cat "$d/status")"
done
