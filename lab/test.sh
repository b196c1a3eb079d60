#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# test.sh RUN...: everything 'make test' runs, ending with the line
# "N passed, N failed, N skipped" (known failures count as skipped).
# A RUN is FLAVOUR or FLAVOUR:REGEX (only the selftests matching REGEX).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || set -- patched
for run in "$@"; do
	check_flavour "${run%%:*}"
done

. "$REPO/lab/ktap.sh"
pass=0 fail=0 skip=0
failed=()
stage_out=$(mktemp "${TMPDIR:-/tmp}/lazyswitch-stage.XXXXXX")
trap 'rm -f "$stage_out"' EXIT

# tap NAME CMD...: run a test stage, show its output, and add up the
# "# Totals:" line it ends with (lab/ktap.sh). Its failures are named by
# its "not ok" lines, or, for the judged selftests, by "# FAILED:" lines.
tap() {
	local name=$1 out rc p f s line nok=0 have=1 names=()
	shift
	stage "$name"
	# Shown as it comes (a stage can run for minutes), kept to be added up.
	"$@" 2>&1 | tee "$stage_out"
	rc=${PIPESTATUS[0]}
	out=$(< "$stage_out")
	read -r p f s < <(ktap_read_totals <<< "$out") || { have=0 p=0 f=0 s=0; }
	while IFS= read -r line; do
		case $line in
		"# FAILED: "*) names+=("${line#\# FAILED: }") ;;
		"not ok "*) [ "$judged" = 1 ] || { names+=("$line"); nok=$((nok + 1)); } ;;
		esac
	done <<< "$out"
	if [ "$have" = 0 ]; then
		# It died before its totals: its failures so far, and the death.
		f=$((nok + 1))
		names+=("no totals line (exit status $rc)")
	elif [ "$f" -eq 0 ]; then
		# Nothing failed by its own count; only its exit status can say so.
		names=()
		if [ "$rc" -ne 0 ] || [ $((p + s)) -eq 0 ]; then
			f=1
			names+=("exit status $rc, no test reported failing")
		fi
	elif [ ${#names[@]} -lt "$f" ]; then
		names+=("$((f - ${#names[@]})) more failed")
	fi
	for line in ${names[@]+"${names[@]}"}; do
		failed+=("$name: $line")
	done
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}
judged=0

tap "unit tests of every component's scripts" python3 "$REPO/lab/tests/run.py"
tap "BPF tools: unit tests" make -s --no-print-directory -C "$REPO/bpf" OUTPUT="$BUILD/bpf" \
	VMLINUX="$BUILD/patched/obj/vmlinux" check

# The selftests' judge names the failed tests; their raw TAP has known
# failures as "not ok" too.
judged=1
for run in "$@"; do
	flavour=${run%%:*}
	filter=${TESTS:-}
	[ "$run" = "$flavour" ] || filter=${run#*:}
	tap "$flavour selftests" env TESTS="$filter" "$REPO/selftests/run.sh" "$flavour"
done
judged=0
for run in "$@"; do
	flavour=${run%%:*}
	# The BPF tools are tested on the two kernels they compare.
	[ "$flavour" = debug ] && continue
	tap "BPF tools in the $flavour guest" "$REPO/bpf/tests/vm-test.sh" "$flavour"
done
[[ " $* " =~ \ patched[\ :] ]] && tap "pvtimer end to end: a nested guest with and without it" "$REPO/e2e/pvtimer/pvtimer-e2e.sh"
# shellcheck disable=SC2046
tap "switch-primitive probe (bench/probe) in each kernel" "$REPO/bench/probe/run.sh" --tap \
	$(for run in "$@"; do [ "${run%%:*}" = debug ] || echo "${run%%:*}"; done)
tap "benchmark harness: one case, both kernels" "$REPO/bench/harness/bench-smoke.sh"
# After the selftests and the bench smoke: the LAVA job is checked against them.
[[ " $* " =~ \ patched[\ :] ]] && [[ " $* " =~ \ baseline[\ :] ]] &&
	tap "LAVA: the jobs, one run by LAVA's dispatcher, imported" "$REPO/lava/lava-smoke.sh"
tap "harness robustness, short form" "$REPO/stress/robustness.sh" -q
for run in "$@"; do
	flavour=${run%%:*}
	case $flavour in
	patched|debug) tap "fault injection and hostile guest on $flavour, short form" \
		"$REPO/stress/stress.sh" -q -f "$flavour" ;;
	esac
done

if [ ${#failed[@]} -gt 0 ]; then
	stage "what failed"
	printf '#   %s\n' "${failed[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
