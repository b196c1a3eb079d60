#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# bench-cases.sh OUT CASE...: run each benchmark case three times on this
# kernel: calibrate, a clean timed run, and a traced run with kvmswitch,
# kvmexitlat and perf attached (the tools cost time, so the figures of time
# come from the clean run and the counts from the traced one). Runs inside
# the lab guest, or natively for 'make bench HOST=1'.
# Environment: BENCH, KVMSWITCH, KVMEXITLAT (paths), PERF (a command),
# BENCH_OPTS (lazyswitch_bench options for every run; PERF empty: no
# perf record), PROBE and PROBE_SH
# (the probe module and bench/probe/probe.sh; no probe if PROBE is empty).
# One "LAZYSWITCH-CASE: ..." progress line per stage goes to stdout.
out=$1
shift
now() { cut -d' ' -f1 /proc/uptime; }
say() { echo "LAZYSWITCH-CASE: $*"; }

# attached LOG PID: wait until a BPF tool says it is tracing, or has died.
attached() {
	i=0
	while ! grep -q '^Tracing' "$1" 2>/dev/null; do
		kill -0 "$2" 2>/dev/null || return 1
		i=$((i + 1))
		[ $i -le 1200 ] || return 1
		sleep 0.1
	done
}

stop() {
	for p in "$@"; do
		kill -INT "$p" 2>/dev/null
	done
	for p in "$@"; do
		wait "$p"
	done
}

# perf's event: cycles where there is a PMU (NMI-sampled on Intel, so it
# sees IRQs-off code); else cpu-clock, an hrtimer that never samples it.
# perf record itself falls back to cpu-clock: ask what it recorded.
event=cpu-clock
[ -n "${PERF:-}" ] || event=none
probe=${TMPDIR:-/tmp}/lazyswitch-perf-probe.$$
if [ -n "${PERF:-}" ] && $PERF record -q -e cycles -o "$probe" true > /dev/null 2>&1 &&
	$PERF evlist -i "$probe" 2>/dev/null | grep -qx 'cycles'; then
	event=cycles
fi
rm -f "$probe"
echo "$event" > "$out/perf_event"
cat /proc/kallsyms > "$out/kallsyms"
uname -r > "$out/uname"
grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//' > "$out/cpu"
# Whether SVM can take the fastpath at all (empty on Intel: VMX always can).
cat /sys/module/kvm_amd/parameters/nrips > "$out/nrips" 2>/dev/null || : > "$out/nrips"
# What each switch primitive costs on this kernel (bench/probe), on the
# CPU the vCPU is pinned to (-C N in BENCH_OPTS), if any.
if [ -n "${PROBE:-}" ]; then
	pcpu=$(echo " $BENCH_OPTS " | sed -n 's/.* -C \([0-9][0-9]*\) .*/\1/p')
	say "probe: timing the switch primitives${pcpu:+ on CPU $pcpu}"
	sh "$PROBE_SH" "$PROBE" $pcpu > "$out/probe.tmp" 2> "$out/probe.err" &&
		mv "$out/probe.tmp" "$out/probe.txt"
	rm -f "$out/probe.tmp"
	if [ -s "$out/probe.txt" ]; then
		say "probe: $(grep -c ' median=' "$out/probe.txt") primitives timed"
	else
		say "probe: failed: $(tail -1 "$out/probe.err")"
	fi
fi
for c in "$@"; do
	d=$out/$c
	mkdir -p "$d"
	t0=$(now)
	say "$c: calibrating"
	"$BENCH" $BENCH_OPTS -c "$c" > "$d/calibrate.txt" 2> "$d/calibrate.err"
	iters=$(awk -v c="$c" '$1 == c && $3 == "iters" { print $2 }' "$d/calibrate.txt")
	if [ -z "$iters" ]; then
		why=$(grep -m1 "^$c (" "$d/calibrate.txt")
		[ -n "$why" ] || why="$c (failed) calibration printed no iteration count (see calibrate.err)"
		echo "$why" > "$d/status"
		say "$why"
		continue
	fi
	say "$c: timed run, $iters iterations"
	if ! "$BENCH" $BENCH_OPTS -n "$iters" "$c" > "$d/bench.txt" 2> "$d/bench.err"; then
		echo "$c (failed) timed run: $(tail -1 "$d/bench.err")" > "$d/status"
		say "$(cat "$d/status")"
		continue
	fi

	say "$c: traced run (kvmswitch, kvmexitlat${PERF:+, perf})"
	"$KVMSWITCH" --json > "$d/kvmswitch.json" 2> "$d/kvmswitch.err" &
	ks=$!
	"$KVMEXITLAT" --json > "$d/kvmexitlat.json" 2> "$d/kvmexitlat.err" &
	kl=$!
	# perf starts disabled and acknowledges 'enable', so no sample of the
	# run is lost to its start-up time. FIFOs live in local /tmp, not 9p.
	fifo=${TMPDIR:-/tmp}/lazyswitch-perf.$$
	rm -f "$fifo.ctl" "$fifo.ack"
	mkfifo "$fifo.ctl" "$fifo.ack"
	pf=
	if [ -n "${PERF:-}" ]; then
		$PERF record -q -D -1 --control "fifo:$fifo.ctl,$fifo.ack" \
			-e "$event" -F 997 --call-graph dwarf -a -o "$d/perf.data" 2> "$d/perf.err" &
		pf=$!
	fi
	if ! attached "$d/kvmswitch.err" $ks || ! attached "$d/kvmexitlat.err" $kl; then
		stop $ks $kl $pf
		echo "$c (failed) a BPF tool did not attach: $(tail -qn1 "$d/kvmswitch.err" "$d/kvmexitlat.err" | tr '\n' ' ')" > "$d/status"
		say "$(cat "$d/status")"
		continue
	fi
	if [ -n "$pf" ] && ! timeout 120 sh -c 'echo enable > "$1" && read -r a < "$2" && [ "$a" = ack ]' \
		sh "$fifo.ctl" "$fifo.ack"; then
		stop $ks $kl $pf
		echo "$c (failed) perf record did not start: $(tail -n1 "$d/perf.err")" > "$d/status"
		say "$(cat "$d/status")"
		continue
	fi
	"$BENCH" $BENCH_OPTS -n "$iters" "$c" > "$d/traced.txt" 2> "$d/traced.err"
	rc=$?
	stop $ks $kl $pf
	rm -f "$fifo.ctl" "$fifo.ack"
	if [ $rc -ne 0 ]; then
		echo "$c (failed) traced run: $(tail -1 "$d/traced.err")" > "$d/status"
	else
		echo "$c ok" > "$d/status"
	fi
	say "$(cat "$d/status") in $(echo "$(now) $t0" | awk '{ printf "%.1f", $1 - $2 }') s"
done
