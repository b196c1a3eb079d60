#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# robustness.sh [-q]: the harness under failure, TAP on stdout. Each case
# must end with exactly one 'error:' line, leave nothing half-written in the
# results or build directory it used, leave no QEMU behind, and the next run
# must work without any cleanup:
#   hung guest       vm-run.sh -t 8 with a command that never ends
#   silent guest     vm-run.sh -i 10: a console silent for 10 s stops the guest
#   selftest resume  selftests/run.sh on fake selftests, one of which goes silent
#                    and one powers the guest off: each is recorded as failed
#                    and the tests after it run in a new VM
#   bench SIGINT     bench.sh (what 'make bench' runs last) interrupted while
#                    its guest runs, as Ctrl-C does (the whole process group)
#   bench SIGTERM    the same with 'kill PID'
#   bench recovers   the next bench run in the same directories
#   disk full        selftests/run.sh with RESULTS_DIR on a small tmpfs, full from
#                    the start and filled up during the run; then a run after
#                    the space is back
#   stress SIGINT    stress.sh interrupted while its first guest runs
# -q: the short form for 'make test' (the recovering bench run uses a guest
# that fails at once instead of a real benchmark case).
# The corrupted-patch case needs no VM: stress/tests/test_robustness.py.
set -uo pipefail
. "$(dirname "$0")/../lab/lib.sh"

quick=0
[ "${1:-}" = -q ] && quick=1
[ $# -le $quick ] || { echo "error: usage: $0 [-q]" >&2; exit 2; }
for fl in $FLAVOURS; do
	[ -f "$BUILD/$fl/bzImage" ] || die "no $fl kernel (run 'make build')"
done

work=$(mktemp -d "$BUILD/robustness.XXXXXX") || die "cannot write to $BUILD"
mnt=$work/small
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	rm -rf "$work"
}
trap cleanup EXIT

# Job control: every background job gets its own process group (a signal
# can reach all of it, as Ctrl-C does) and does not ignore SIGINT.
set -m
. "$REPO/lab/ktap.sh"
ktap_print_header
# drop_aborted FILE: remove the build/aborted/ copies this test's runs made.
drop_aborted() {
	local d
	for d in $(sed -n 's/^aborted run\(.s logs\)\{0,1\} kept in //p' "$1"); do
		case $d in "$BUILD"/aborted/?*) rm -rf "$d" ;; esac
	done
}
one_error() {	# one_error FILE [TEXT]: exactly one error line, containing TEXT
	[ "$(grep -c '^error:' "$1")" = 1 ] && grep '^error:' "$1" | grep -qF -- "${2:-error:}"
}
no_qemu_for() {	# no_qemu_for DIR: no QEMU process has DIR on its command line
	sleep 1
	! pgrep -f "qemu-system-x86_64.*$1" >/dev/null
}
# wait_for FILE PATTERN SECONDS: until FILE (a glob) has a line matching PATTERN.
wait_for() {
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		# shellcheck disable=SC2086
		grep -qs "$2" $1 && return 0
		sleep 0.2
	done
	return 1
}

# --- hung guest ------------------------------------------------------------
out=$work/hung
mkdir -p "$out"
start=$(date +%s)
"$REPO/lab/vm-run.sh" -q -t 8 -o "$out" -- 'sleep 600' > /dev/null 2> "$work/hung.err"
rc=$?
took=$(($(date +%s) - start))
ktap_test_result "hung guest: timed out after ${took}s, exit 124, one error line, no QEMU left" \
	'[ $rc = 124 ] && [ $took -lt 30 ] && one_error "$work/hung.err" "guest timed out after 8s" && no_qemu_for "$out"'
"$REPO/lab/vm-run.sh" -q -t 60 -o "$out" -- 'true' > /dev/null 2> "$work/hung2.err"
rc=$?
ktap_test_result "hung guest: the next boot in the same directory works" '[ $rc = 0 ]'

# --- silent guest ----------------------------------------------------------
start=$(date +%s)
"$REPO/lab/vm-run.sh" -q -t 300 -i 10 -o "$out" -- 'sleep 600' > /dev/null 2> "$work/idle.err"
rc=$?
took=$(($(date +%s) - start))
ktap_test_result "silent guest: stopped after ${took}s, exit 124, one error line, no QEMU left" \
	'[ $rc = 124 ] && [ $took -lt 120 ] && one_error "$work/idle.err" "console silent for 10s" && no_qemu_for "$out"'

# --- selftest resume ---------------------------------------------------------
hb=$work/hang-build
mkdir -p "$hb/patched/selftests/t" "$work/hang-results"
ln "$BUILD/patched/bzImage" "$hb/patched/bzImage"
ln "$BUILD/initramfs.cpio.gz" "$hb/initramfs.cpio.gz"
cp "$BUILD/patched/source.env" "$BUILD/patched/applied.sha" "$hb/patched/"
link_emulator "$hb"
printf '#!/bin/sh\nexit 0\n' > "$hb/patched/selftests/t/first"
printf '#!/bin/sh\nsleep 600\n' > "$hb/patched/selftests/t/silent"
printf '#!/bin/sh\npoweroff -f\nsleep 60\n' > "$hb/patched/selftests/t/poweroff"
printf '#!/bin/sh\nexit 0\n' > "$hb/patched/selftests/t/last"
chmod +x "$hb"/patched/selftests/t/*
printf 'fake t/first 60\nfake t/silent 600\nfake t/poweroff 60\nfake t/last 60\n' \
	> "$hb/patched/selftests/tests.list"
BUILD_DIR=$hb RESULTS_DIR=$work/hang-results SELFTEST_IDLE=10 \
	"$REPO/selftests/run.sh" patched > "$work/resume.out" 2>&1
rc=$?
sum=$work/hang-results/test-patched-latest/summary.json
ktap_test_result "selftest resume: the silent and the powered-off test fail, the others pass, in 3 boots" \
	'[ $rc = 1 ] && python3 - "$sum" <<"PY"
import json, sys
s = json.load(open(sys.argv[1]))
st = {t["test"]: (t["status"], t["detail"]) for t in s["tests"]}
assert st["t/first"][0] == "pass" and st["t/last"][0] == "pass", st
assert st["t/silent"][0] == "fail" and "guest hung" in st["t/silent"][1], st
assert st["t/poweroff"][0] == "fail" and "guest died" in st["t/poweroff"][1], st
assert s["meta"]["boots"] == "3", s["meta"]
PY'
[ -f "$sum" ] || sed 's/^/# /' "$work/resume.out"

# --- make bench interrupted ------------------------------------------------
# A build directory whose benchmark never returns: the guest runs until killed.
fake=$work/build
res=$work/results
mkdir -p "$res"
for fl in $FLAVOURS; do
	mkdir -p "$fake/$fl/selftests/bench"
	ln "$BUILD/$fl/bzImage" "$fake/$fl/bzImage"
	printf '#!/bin/sh\n[ "$1" = -l ] && { echo "cpuid x"; exit 0; }\necho LAZYSWITCH-BENCH-HANGS > /dev/console\nsleep 600\n' \
		> "$fake/$fl/selftests/bench/lazyswitch_bench"
	chmod +x "$fake/$fl/selftests/bench/lazyswitch_bench"
done
ln "$BUILD/initramfs.cpio.gz" "$fake/initramfs.cpio.gz"
link_emulator "$fake"
if [ -d "$BUILD/bpf" ] && [ -d "$BUILD/flamegraph" ]; then
	cp -al "$BUILD/bpf" "$BUILD/flamegraph" "$fake/"
	[ ! -d "$BUILD/perf-root" ] || cp -al "$BUILD/perf-root" "$fake/"
	have_tools=1
else
	have_tools=0
fi

# interrupt_bench SIGNAL: start bench.sh in its own process group, signal it
# once the guest runs the benchmark; sets rc and writes $work/bench-SIGNAL.err.
interrupt_bench() {
	local sig=$1 pid target
	BUILD_DIR=$fake RESULTS_DIR=$res CASES=cpuid "$REPO/bench/harness/bench.sh" \
		> /dev/null 2> "$work/bench-$sig.err" &
	pid=$!
	if wait_for "$fake/bench-work.*/*/console.log" LAZYSWITCH-BENCH-HANGS 90; then
		# Ctrl-C reaches the whole foreground process group, 'kill' one PID.
		target=$pid
		[ "$sig" = INT ] && target=-$pid
		kill -"$sig" -- "$target"
	else
		kill -TERM -- -"$pid"
	fi
	rc=0
	wait "$pid" || rc=$?
}

if [ "$have_tools" = 1 ]; then
	for sig in INT TERM; do
		interrupt_bench $sig
		[ "$sig" = INT ] && want=130 || want=143
		ktap_test_result "bench SIG$sig mid-run: exit $want, one error line, nothing in results/, no QEMU left" \
			'[ $rc = $want ] && one_error "$work/bench-$sig.err" && [ -z "$(ls -A "$res")" ] && no_qemu_for "$fake"'
		sed 's/^/# /' "$work/bench-$sig.err"
	done
	# The next run: a guest that fails at once (quick), or real benchmarks.
	if [ "$quick" = 1 ]; then
		for fl in $FLAVOURS; do
			printf '#!/bin/sh\n[ "$1" = -l ] && { echo "cpuid x"; exit 0; }\npoweroff -f\n' \
				> "$fake/$fl/selftests/bench/lazyswitch_bench"
		done
		BUILD_DIR=$fake RESULTS_DIR=$res CASES=cpuid "$REPO/bench/harness/bench.sh" > /dev/null 2> "$work/bench-next.err"
		rc=$?
		ktap_test_result "bench after the interrupts: the next run gets as far as its guest (which dies on purpose) and says so in one line" \
			'[ $rc != 0 ] && one_error "$work/bench-next.err" "died mid-run" && [ -z "$(ls -A "$res")" ]'
	else
		for fl in $FLAVOURS; do
			rm -f "$fake/$fl/selftests/bench/lazyswitch_bench"
			ln "$BUILD/$fl/selftests/bench/lazyswitch_bench" "$fake/$fl/selftests/bench/"
		done
		BUILD_DIR=$fake RESULTS_DIR=$res CASES=cpuid "$REPO/bench/harness/bench.sh" > /dev/null 2> "$work/bench-next.err"
		rc=$?
		runs=$(find "$res" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | wc -l)
		ktap_test_result "bench after the interrupts: the next run (case cpuid, both kernels) completes with one run directory" \
			'[ $rc = 0 ] && [ $runs = 1 ] && [ -z "$(find "$res" -maxdepth 1 -name ".incomplete*")" ]'
	fi
else
	for c in "bench SIGINT mid-run" "bench SIGTERM mid-run" "bench after the interrupts"; do
		ktap_test_skip "$c" "the BPF tools or the flame graph template are not built (run 'make tools' and 'make bench' once)"
	done
fi

# --- disk full -------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	for c in "disk full from the start" "disk filled during the run" "disk full: the next run"; do
		ktap_test_skip "$c" "mounting a small tmpfs needs root"
	done
else
	mkdir -p "$mnt"
	mount -t tmpfs -o size=1m tmpfs "$mnt" || die "cannot mount a tmpfs on $mnt"
	RESULTS_DIR=$mnt TESTS=uret_msr_test "$REPO/selftests/run.sh" patched > /dev/null 2> "$work/full1.err"
	rc=$?
	ktap_test_result "disk full from the start: selftests/run.sh refuses in one line, writes nothing" \
		'[ $rc != 0 ] && one_error "$work/full1.err" "no space" && [ -z "$(ls -A "$mnt")" ]'
	mount -o remount,size=24m "$mnt"
	RESULTS_DIR=$mnt TESTS=uret_msr_test "$REPO/selftests/run.sh" patched > /dev/null 2> "$work/full2.err" &
	pid=$!
	# Fill the disk once the guest is up, while the test runs.
	if wait_for "$mnt/.incomplete-test-patched.*/console.log" LAZYSWITCH-UP 90; then
		dd if=/dev/zero of="$mnt/filler" bs=1M count=64 2>/dev/null
	fi
	rc=0
	wait $pid || rc=$?
	rm -f "$mnt/filler"
	ktap_test_result "disk filled during the run: one error line, no run recorded, nothing half-written" \
		'[ $rc != 0 ] && one_error "$work/full2.err" "filled up" && [ -z "$(ls -A "$mnt")" ]'
	sed 's/^/# /' "$work/full2.err"
	drop_aborted "$work/full2.err"
	RESULTS_DIR=$mnt TESTS=uret_msr_test "$REPO/selftests/run.sh" patched > /dev/null 2> "$work/full3.err"
	rc=$?
	ktap_test_result "disk full: the next run, with space again, records its run" \
		'[ $rc = 0 ] && [ -L "$mnt/test-patched-latest" ] && [ -s "$mnt/test-patched-latest/summary.json" ] && [ -z "$(find "$mnt" -maxdepth 1 -name ".incomplete*")" ]'
	umount "$mnt"
fi

# --- stress run interrupted ------------------------------------------------
sres=$work/stress-results
mkdir -p "$sres"
if [ -x "$BUILD/patched/selftests/lazyswitch/state_storm_test" ]; then
	RESULTS_DIR=$sres "$REPO/stress/stress.sh" -q -f patched > /dev/null 2> "$work/stress.err" &
	pid=$!
	wait_for "$sres/.incomplete-stress-patched.*/nmi-storm/console.log" '# guests running' 90 &&
		kill -INT -- -"$pid"
	rc=0
	wait $pid || rc=$?
	ktap_test_result "stress SIGINT mid-run: exit 130, one error line, nothing in results/, no QEMU left" \
		'[ $rc = 130 ] && one_error "$work/stress.err" "interrupted" && [ -z "$(ls -A "$sres")" ] && no_qemu_for "$sres"'
	sed 's/^/# /' "$work/stress.err"
	drop_aborted "$work/stress.err"
	if [ "$quick" = 0 ]; then
		RESULTS_DIR=$sres "$REPO/stress/stress.sh" -q -f patched > "$work/stress2.out" 2>&1
		rc=$?
		ktap_test_result "stress after the interrupt: the next run completes and is recorded" \
			'[ $rc = 0 ] && [ -L "$sres/stress-patched-latest" ] && [ -z "$(find "$sres" -maxdepth 1 -name ".incomplete*")" ]'
		grep -E '^(not ok|error:)' "$work/stress2.out" | sed 's/^/# /'
	fi
else
	ktap_test_skip "stress SIGINT mid-run" "no state_storm_test in $BUILD/patched (run 'make build')"
fi
ktap_finished plan
