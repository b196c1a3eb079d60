#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# bench-rerun.sh OUT CASE:ITERS...: run each case once more with -n ITERS,
# the count bench-cases.sh calibrated: a timing round, or a profiled run.
# With WINDOWS=DIR the guest's QEMU loads bench/profile's TCG plugin, which
# writes each measured window to DIR/win.N as the benchmark leaves it; the
# case's window moves to OUT/CASE/window (one per run: -n measures once).
# Environment: BENCH, BENCH_OPTS as for bench-cases.sh.
out=$1
shift
say() { echo "LAZYSWITCH-CASE: $*"; }

for ci in "$@"; do
	c=${ci%%:*}
	iters=${ci#*:}
	d=$out/$c
	mkdir -p "$d"
	say "$c: ${WINDOWS:+profiled }run, $iters iterations"
	# Windows of an earlier run that failed are no one's.
	[ -z "${WINDOWS:-}" ] || rm -f "$WINDOWS"/win.*
	if ! "$BENCH" $BENCH_OPTS -n "$iters" "$c" > "$d/bench.txt" 2> "$d/bench.err"; then
		echo "$c (failed) rerun: $(tail -1 "$d/bench.err")" > "$d/status"
		say "$(cat "$d/status")"
		continue
	fi
	if [ -z "${WINDOWS:-}" ]; then
		echo "$c ok" > "$d/status"
		continue
	fi
	n=$(ls "$WINDOWS" | grep -c '^win\.[0-9]*$')
	if ls "$WINDOWS" | grep -q '\.tmp$'; then
		echo "$c (failed) a profile window was left half-written" > "$d/status"
	elif [ "$n" -eq 1 ]; then
		mv "$WINDOWS"/win.[0-9]* "$d/window"
		echo "$c ok" > "$d/status"
	else
		echo "$c (failed) $n profile windows, expected 1" > "$d/status"
	fi
	say "$(cat "$d/status")"
done
