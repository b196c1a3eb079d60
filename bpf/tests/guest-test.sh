#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# guest-test.sh BINDIR: the in-guest half of bpf/tests/vm-test.sh (busybox
# sh, run by lab/vm-run.sh in /out).  Runs the workload under kvmswitch,
# kvmexitlat and tracefs, the bad-input cases and the overhead loop, and
# leaves raw results in /out for the host to judge; prints only progress.
B=${1:-/build/bpf}
T=/sys/kernel/tracing
BENCH_CPUIDS=${BENCH_CPUIDS:-20000}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
EVENTS="kvm/kvm_exit kvm/kvm_entry kvm/kvm_userspace_exit msr/write_msr
	kvm/kvm_xfeatures_switch kvm/kvm_pkru_switch kvm/kvm_uret_msr_set
	kvm/kvm_uret_msr_restore"

say() { echo "# guest: $*"; }

# wait_for FILE PATTERN: up to 60 s
wait_for() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 300 ] && return 1
		grep -q 'error' "$1" 2>/dev/null && return 1
		sleep 0.2
	done
}

trace_start() {
	echo 0 > $T/tracing_on
	echo 16384 > $T/buffer_size_kb
	echo > $T/trace
	for e in $EVENTS; do
		[ -d $T/events/$e ] || continue
		echo "common_pid == $1" > $T/events/$e/filter
		echo 1 > $T/events/$e/enable
	done
	echo 1 > $T/tracing_on
}

trace_stop() {
	echo 0 > $T/tracing_on
	cat $T/trace > "$1"
	for e in $EVENTS; do
		[ -d $T/events/$e ] || continue
		echo 0 > $T/events/$e/enable
		echo 0 > $T/events/$e/filter
	done
	echo > $T/trace
}

# run_case NAME TOOL ARGS...: workload + tool + tracefs in one run.
run_case() {
	name=$1
	shift
	rm -f /tmp/go
	mkfifo /tmp/go
	exec 3<>/tmp/go
	$B/exit_workload -w <&3 > $name.wl 2>&1 &
	wp=$!
	if ! wait_for $name.wl '^ready'; then
		say "$name: workload did not start"; cat $name.wl
		exec 3>&-
		return 1
	fi
	trace_start $wp
	"$@" -p $wp --json > $name.json 2> $name.err &
	tp=$!
	if ! wait_for $name.err '^Tracing'; then
		say "$name: tool did not start"; cat $name.err
		echo go >&3
		wait $wp
		trace_stop $name.trace
		exec 3>&-
		return 1
	fi
	echo go >&3
	wait $wp
	echo "rc=$?" >> $name.wl
	kill -INT $tp
	wait $tp
	echo "rc=$?" >> $name.err
	trace_stop $name.trace
	exec 3>&-
	say "$name: done"
}

# bad NAME EXPECTED-RC-NONZERO COMMAND...: record rc and stderr
bad() {
	name=$1
	shift
	"$@" > bad-$name.out 2> bad-$name.err
	echo $? > bad-$name.rc
}

uname -r > kernel.txt
cat /sys/module/kvm_amd/parameters/nrips > nrips.txt 2>/dev/null || : > nrips.txt
# With AVIC or IPI virtualization an ICR write is no WRMSR exit.
cat /sys/module/kvm_amd/parameters/avic > avic.txt 2>/dev/null || : > avic.txt
cat /sys/module/kvm_intel/parameters/enable_ipiv > ipiv.txt 2>/dev/null || : > ipiv.txt
say "kernel $(cat kernel.txt)"

run_case count-tp $B/kvmswitch
run_case count-fb $B/kvmswitch --fallback
run_case lat $B/kvmexitlat

# Bad input and edge cases.
bad notvm $B/kvmswitch -p 1
bad nopid $B/kvmswitch -p 999999
bad interval $B/kvmswitch -i 0
bad interval2 $B/kvmswitch -i abc
KVMSWITCH_BTF=/nonexistent bad nobtf $B/kvmswitch -d 1
KVMSWITCH_HIDE_TP=all bad hidetp $B/kvmswitch -d 1 --json
bad empty $B/kvmswitch -d 1 --json
bad empty-table $B/kvmswitch -d 1
bad lat-notvm $B/kvmexitlat -p 1
bad lat-empty $B/kvmexitlat -d 1 --json
say "bad input: done"

# Overhead: CPUID exits/s with no tool, kvmswitch, kvmexitlat, in rounds.
: > bench.txt
r=0
while [ $r -lt "$BENCH_ROUNDS" ]; do
	r=$((r + 1))
	for mode in none kvmswitch kvmexitlat; do
		tp=
		if [ $mode != none ]; then
			$B/$mode --json > bench-$mode.json 2> bench-$mode.err &
			tp=$!
			wait_for bench-$mode.err '^Tracing' || say "bench: $mode did not start"
		fi
		$B/exit_workload -c $BENCH_CPUIDS -i 0 -o 0 > bench.wl 2>&1
		rate=$(sed -n 's/.*cpuid_exits_per_s=\([0-9]*\).*/\1/p' bench.wl)
		echo "round=$r mode=$mode cpuid_exits_per_s=${rate:-0}" >> bench.txt
		if [ -n "$tp" ]; then
			kill -INT $tp
			wait $tp
		fi
	done
done
say "bench: done"
cat bench.txt
