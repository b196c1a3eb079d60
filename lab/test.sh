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

stage "unit tests of the lab scripts"
unit=$(python3 "$REPO/lab/tests/run.py" 2>&1)
urc=$?
echo "$unit"
read -r pass fail < <(echo "$unit" | sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
[ -n "${pass:-}" ] || { pass=0; fail=1; }
[ "$urc" -eq 0 ] || [ "$fail" -gt 0 ] || fail=1
skip=0
failed=()
[ "$fail" -eq 0 ] || failed+=("unit tests of the lab scripts")

# tap NAME CMD...: run a TAP-printing command, show it, add its counts.
tap() {
	local name=$1 out rc p f s
	shift
	stage "$name"
	out=$("$@" 2>&1)
	rc=$?
	echo "$out"
	p=$(grep -cE '^ok [0-9]+' <<< "$out")
	s=$(grep -cE '^ok [0-9]+.*# *SKIP' <<< "$out")
	p=$((p - s)) f=0
	while read -r line; do
		f=$((f + 1))
		failed+=("$name: $line")
	done < <(grep -E '^not ok [0-9]+' <<< "$out")
	# A command that failed without saying which test failed is one failure.
	if [ "$f" -eq 0 ] && { [ "$rc" -ne 0 ] || [ $((p + s)) -eq 0 ]; }; then
		f=1
		failed+=("$name: exit status $rc, no test reported failing")
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

tap "BPF tools: unit tests" make -s --no-print-directory -C "$REPO/bpf" OUTPUT="$BUILD/bpf" \
	VMLINUX="$BUILD/patched/obj/vmlinux" check

for run in "$@"; do
	flavour=${run%%:*}
	filter=
	[ "$run" = "$flavour" ] || filter=${run#*:}
	TESTS=$filter "$REPO/selftests/run.sh" "$flavour"
	rc=$?
	sum=$RESULTS/test-$flavour-latest/summary.json
	if [ "$rc" -le 1 ] && [ -f "$sum" ]; then
		# Its counts, then a line per failed test.
		{
			read -r p f s
			while read -r line; do
				failed+=("$flavour selftests: $line")
			done
		} < <(python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))
c = run["counts"]
print(c["pass"], c["fail"] + c["not-run"], c["skip"] + c["xfail"])
for t in run["tests"]:
    if t["status"] in ("fail", "not-run"):
        print(t["test"], t["status"], t["detail"])' "$sum")
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
			failed+=("$flavour selftests: exit status $rc, no test reported failing")
		fi
	else
		p=0 f=1 s=0
		failed+=("$flavour selftests: no summary (selftest.sh exit status $rc)")
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
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
