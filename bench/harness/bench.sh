#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench.sh: record one benchmark run, baseline vs patched, into
# results/<date>-<accel>-<cpu>/. See 'bench/harness/bench.sh -h'.
set -euo pipefail
. "$(dirname "$0")/../../lab/lib.sh"

usage() {
	cat <<USAGE
Usage: bench/harness/bench.sh [-h]     (normally: make bench [CASES="..."] [ACCEL=..] [HOST=1])

Boot the baseline and then the patched kernel in the same accelerator and
run each exit benchmark case three times in each: calibrate, a clean timed
run, and a run with kvmswitch, kvmexitlat and 'perf record -g' attached.
Then more timed rounds, alternating the kernels, and under TCG with the lab
QEMU a boot of each with the emulator profiler.
Writes results/<date>-<accel>-<cpu>/ (meta.json, summary.md, summary.json,
one directory per case with the tools' JSON, folded stacks, flame graphs).
The run directory appears only when complete.

  CASES="a b"   only these cases (default: all; 'lazyswitch_bench -l' lists them)
  ACCEL=tcg|kvm|auto   as for make test (default tcg)
  HOST=1        no QEMU: run the cases and tools on the running kernel
                (root, /dev/kvm; for a host booted into the patched kernel)
  PROBE=x.ko    HOST=1 only: the bench/probe module built for the running
                kernel (in the guests, build/FLAVOUR/probe/ is used)
  ROUNDS=N      timed rounds per kernel, alternating (default 3; 1 to 9)
  BENCH_OPTS    lazyswitch_bench options for every run (default "-C 1":
                vCPU on CPU 1, whose TSC_AUX differs from the guest's; the
                xstate_* cases give the guest an XCR0/PKRU unlike the host's)
USAGE
}
[ "${1:-}" = "-h" ] && { usage; exit 0; }
[ $# -eq 0 ] || { echo "error: bench.sh takes no arguments (use CASES=...; see -h)" >&2; exit 2; }

host=${HOST:-0}
bench_opts=${BENCH_OPTS--C 1}
rounds=${ROUNDS:-3}
[[ "$host" =~ ^[01]$ ]] || { echo "error: HOST must be 0 or 1, not '$host'" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9]$ ]] || { echo "error: ROUNDS must be 1 to 9, not '$rounds'" >&2; exit 2; }
need python3 python3
need perf linux-perf
bench_rel=selftests/bench/lazyswitch_bench
probe_rel=probe/lazyswitch_probe.ko
bench_bin=$BUILD/patched/$bench_rel
template=$BUILD/flamegraph/node_modules/d3-flame-graph/dist/templates/d3-flamegraph-base.html
[ -x "$bench_bin" ] || die "missing $bench_bin (run 'make build')"
[ -f "$template" ] || die "missing the flame graph template $template (run 'make bench', which installs it)"
for t in kvmswitch kvmexitlat; do
	[ -x "$BUILD/bpf/$t" ] || die "missing BPF tool $BUILD/bpf/$t (run 'make -C bpf')"
done

known=$("$bench_bin" -l 2>/dev/null | awk '{ print $1 }' | tr '\n' ' ')
read -r -a cases <<< "${CASES:-$known}"
[ ${#cases[@]} -gt 0 ] || die "CASES is empty"
for c in "${cases[@]}"; do
	[[ " $known " == *" $c "* ]] ||
		{ echo "error: unknown case '$c' (known: ${known% })" >&2; exit 2; }
done

# The machine's CPU names the run (under TCG the emulated one is in meta.json).
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//')
if [ "$host" = 1 ]; then
	accel=host
	flavours=(host)
	[ "$(id -u)" -eq 0 ] || die "HOST=1 needs root (BPF tools and perf)"
	[ -w /dev/kvm ] || die "HOST=1 needs /dev/kvm on the running kernel"
else
	accel=$(resolve_accel)
	flavours=($FLAVOURS)
	for fl in "${flavours[@]}"; do
		[ -f "$BUILD/$fl/bzImage" ] || die "no $fl kernel (run 'make build')"
		[ -x "$BUILD/$fl/$bench_rel" ] || die "missing $BUILD/$fl/$bench_rel (run 'make build')"
	done
fi

# perf.data stays in build/; results/ gets only the small products.
mkdir -p "$RESULTS" "$BUILD" || die "cannot create $RESULTS or $BUILD"
[ "$(free_mb "$BUILD")" -ge 500 ] || die "no space: less than 500 MiB free for $BUILD"
[ "$(free_mb "$RESULTS")" -ge 50 ] || die "no space: less than 50 MiB free for $RESULTS"

stamp=$(date -u +%Y%m%dT%H%MZ)
slug=$(echo "$cpu" | tr 'A-Z' 'a-z' | sed -e 's/([^)]*)//g' -e 's/[^a-z0-9]\+/-/g' -e 's/^-//' -e 's/-$//' | cut -c1-40)
name=$stamp-$accel-$slug
work=$(mktemp -d "$BUILD/bench-work.XXXXXX")
tmp=$(mktemp -d "$RESULTS/.incomplete-bench.XXXXXX")
# An interrupted or failed run leaves nothing in results/; the logs of the
# guest go to build/aborted/.
cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ -n "${tmp:-}" ] && [ -d "$tmp" ]; then
		rm -rf "$tmp"
		if [ -d "$work" ]; then
			mkdir -p "$BUILD/aborted"
			find "$work" -name perf.data -delete 2>/dev/null
			mv "$work" "$BUILD/aborted/bench-$stamp" 2>/dev/null &&
				echo "aborted run's logs kept in $BUILD/aborted/bench-$stamp" >&2
		fi
	else
		rm -rf "$work"
	fi
	exit $rc
}
# killtree PID: PID and everything below it (the VM runner, QEMU, tools).
killtree() {
	local c
	for c in $(pgrep -P "$1"); do
		killtree "$c"
	done
	kill -TERM "$1" 2>/dev/null || true
}
stop_children() {
	local c
	for c in $(pgrep -P $$); do
		killtree "$c"
	done
}
trap cleanup EXIT
trap 'stop_children; echo "error: bench interrupted" >&2; exit 130' INT
trap 'stop_children; echo "error: bench terminated" >&2; exit 143' TERM

guest_script=$REPO/bench/harness/guest/bench-cases.sh

# calibrated FLAVOUR: " CASE:ITERS" for each case that ran on FLAVOUR, with
# the count it was calibrated to.
calibrated() {
	local c iters
	for c in "${cases[@]}"; do
		[ "$(cat "$work/$1/cases/$c/status" 2>/dev/null)" = "$c ok" ] || continue
		iters=$(awk -v c="$c" '$1 == c && $3 == "iters" { print $2 }' "$work/$1/cases/$c/bench.txt")
		[ -z "$iters" ] || printf ' %s:%s' "$c" "$iters"
	done
}

# rerun FLAVOUR DIR [PLUGIN]: boot FLAVOUR once more (or, for HOST=1, stay
# on this kernel) and run each case again with its calibrated count, into
# DIR/cases; with PLUGIN, QEMU loads it and the windows go to DIR/prof.
# A boot that fails is said in DIR/status and left out of the figures; only
# a kernel BUG/WARNING/Oops fails the benchmark, as in the first boot.
rerun() {
	local fl=$1 dir=$2 plugin=${3:-} list rc cmd
	mkdir -p "$dir/cases"
	list=$(calibrated "$fl")
	if [ -z "$list" ]; then
		echo "not made: no case ran on $fl" > "$dir/status"
		return
	fi
	cp "$REPO/bench/harness/guest/bench-rerun.sh" "$dir/bench-rerun.sh"
	set +e
	if [ "$host" = 1 ]; then
		# shellcheck disable=SC2086 # list is CASE:ITERS words
		(BENCH_OPTS=$bench_opts BENCH=$bench_bin sh "$dir/bench-rerun.sh" "$dir/cases" $list |
			sed -u -n "s/^LAZYSWITCH-CASE: \(.*(failed).*\)/[lazyswitch] bench: $fl: \1/p"
			exit "${PIPESTATUS[0]}") &
	else
		cmd="BENCH_OPTS='$bench_opts' BENCH=/build/$fl/$bench_rel"
		[ -z "$plugin" ] || { mkdir -p "$dir/prof"; cmd+=" WINDOWS=/out/prof"; }
		cmd+=" sh /out/bench-rerun.sh /out/cases$list"
		(QEMU_EXTRA="${QEMU_EXTRA:-}${plugin:+ -plugin $plugin,out=$dir/prof/win}" \
			"$REPO/lab/vm-run.sh" -q -f "$fl" -t $((120 + 120 * ${#cases[@]})) \
			-o "$dir" -- "$cmd" 2> "$dir/vm-run.err" |
			sed -u -n "s/^LAZYSWITCH-CASE: \(.*(failed).*\)/[lazyswitch] bench: $fl: \1/p"
			exit "${PIPESTATUS[0]}") &
	fi
	wait $!
	rc=$?
	set -e
	if [ "$rc" -eq 0 ]; then
		echo "ok" > "$dir/status"
	elif [ "$rc" -eq 126 ]; then
		# cleanup keeps the work directory, this boot's console with it.
		die "bench: the $fl kernel reported BUG/WARNING/Oops/panic in a rerun (console: $BUILD/aborted/bench-$stamp/${dir#"$work"/}/console.log)"
	else
		echo "not made: the $fl run ended with status $rc $(grep -m1 '^error:' "$dir/vm-run.err" 2>/dev/null)" > "$dir/status"
		stage "bench: $fl: $(cat "$dir/status")"
	fi
}

# profile_boot FLAVOUR: a boot whose QEMU loads the emulator profiler
# (bench/profile/), to count every instruction of each measured window, the
# IRQs-off world switch included.
profiler=$BUILD/profile/insn_profile.so
profile_boot() {
	local fl=$1 pdir=$work/$1-profile
	mkdir -p "$pdir"
	if [ "$QEMU" != lab ] || [ "$accel" != tcg ]; then
		echo "not made: the emulator profiler needs the lab QEMU under TCG (QEMU=$QEMU, accel $accel)" > "$pdir/status"
	elif ! [ -f "$profiler" ]; then
		echo "not made: no $profiler (bench/harness/bench-prep.sh builds it)" > "$pdir/status"
	else
		stage "bench: $fl: profiled boot (instructions counted by the emulator)"
		rerun "$fl" "$pdir" "$profiler"
	fi
}
start=$(date +%s)
qemu=none
[ "$host" = 1 ] || qemu=$(qemu_id)
stage "bench: ${#cases[@]} case(s) [${cases[*]}] on ${flavours[*]}, accel $accel, $cpu, QEMU: $qemu"
for fl in "${flavours[@]}"; do
	stage "bench: $fl: starting"
	t0=$(date +%s)
	out=$work/$fl
	mkdir -p "$out"
	if [ "$host" = 1 ]; then
		mkdir -p "$out/cases"
		set +e
		(BENCH_OPTS=$bench_opts BENCH=$bench_bin KVMSWITCH=$BUILD/bpf/kvmswitch \
			KVMEXITLAT=$BUILD/bpf/kvmexitlat PERF=perf \
			PROBE=${PROBE:-} PROBE_SH=$REPO/bench/probe/probe.sh \
			sh "$guest_script" "$out/cases" "${cases[@]}" |
			sed -u "s/^LAZYSWITCH-CASE: /[lazyswitch] bench: $fl: /"
			exit "${PIPESTATUS[0]}") &
		wait $!
		rc=$?
		set -e
	else
		cp "$guest_script" "$out/bench-cases.sh"
		cp "$REPO/bench/probe/probe.sh" "$out/probe.sh"
		mkdir -p "$out/cases"
		cmd="BENCH_OPTS='$bench_opts' BENCH=/build/$fl/$bench_rel KVMSWITCH=/build/bpf/kvmswitch"
		[ ! -f "$BUILD/$fl/$probe_rel" ] || cmd+=" PROBE=/build/$fl/$probe_rel PROBE_SH=/out/probe.sh"
		cmd+=" KVMEXITLAT=/build/bpf/kvmexitlat"
		cmd+=" PERF='/build/perf-root/ld.so --library-path /build/perf-root/lib /build/perf-root/perf'"
		cmd+=" sh /out/bench-cases.sh /out/cases ${cases[*]}"
		set +e
		# vm-run.sh's own error lines go to a file: this script says one.
		("$REPO/lab/vm-run.sh" -q -f "$fl" -t $((120 + 180 * ${#cases[@]})) -o "$out" -- "$cmd" 2> "$work/vm-run-$fl.err" |
			sed -u -n "s/^LAZYSWITCH-CASE: /[lazyswitch] bench: $fl: /p"
			exit "${PIPESTATUS[0]}") &
		wait $!
		rc=$?
		set -e
		case $rc in
		0) ;;
		124) die "bench: the $fl guest timed out (console: $BUILD/aborted/bench-$stamp/$fl/console.log)" ;;
		125) die "bench: the $fl guest died mid-run (console: $BUILD/aborted/bench-$stamp/$fl/console.log)" ;;
		126) die "bench: the $fl kernel reported BUG/WARNING/Oops/panic (console: $BUILD/aborted/bench-$stamp/$fl/console.log)" ;;
		*) die "bench: the $fl run failed with status $rc: $(sed -n 's/^error: //p' "$work/vm-run-$fl.err" | head -1)" ;;
		esac
	fi
	[ "$rc" -eq 0 ] || die "bench: the $fl run failed with status $rc"
	stage "bench: $fl: done in $(($(date +%s) - t0)) s"
done

# Emulated time swings from boot to boot: more timed rounds, alternating
# the kernels, so that the report can give a median and its spread.
# The order swaps every round, so that neither kernel always boots first.
for ((r = 2; r <= rounds; r++)); do
	order=("${flavours[@]}")
	[ $((r % 2)) -eq 1 ] || [ ${#order[@]} -ne 2 ] || order=("${flavours[1]}" "${flavours[0]}")
	for fl in "${order[@]}"; do
		stage "bench: $fl: timing round $r of $rounds"
		rerun "$fl" "$work/$fl-round$r"
	done
done
if [ "$host" = 0 ]; then
	for fl in "${flavours[@]}"; do
		profile_boot "$fl"
	done
fi

stage "bench: flame graphs and summary"
python3 "$REPO/bench/harness/bench_report.py" --work "$work" --out "$tmp" \
	--build "$BUILD" --template "$template" --accel "$accel" --cpu "$cpu" \
	--qemu "$qemu" --name "$name" --command "make bench CASES=\"${cases[*]}\" ACCEL=${ACCEL:-tcg} QEMU=$QEMU HOST=$host ROUNDS=$rounds BENCH_OPTS=\"$bench_opts\"" \
	--flavours "${flavours[*]}" --cases "${cases[*]}" ||
	die "bench: report failed"

final=$RESULTS/$name
[ ! -e "$final" ] || final=$RESULTS/$name-$$
mv "$tmp" "$final"
tmp=
readme=()
[ "$(realpath "$RESULTS")" != "$(realpath "$REPO/results")" ] || readme=(--readme "$REPO/README.md")
python3 "$REPO/bench/harness/bench_report.py" --index "$RESULTS" "${readme[@]}" ||
	echo "warning: results/README.md index not updated" >&2
cat "$final/summary.md"
stage "bench: run recorded in ${final#$REPO/} in $(($(date +%s) - start)) s"
