#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench-smoke.sh: 'make bench' end to end with one case, into a scratch
# results directory under build/, and check what it wrote. TAP on stdout.
set -uo pipefail
. "$(dirname "$0")/../../lab/lib.sh"
. "$REPO/lab/ktap.sh"

case=${SMOKE_CASE:-cpuid}
res=$BUILD/bench-smoke
rm -rf "$res"
mkdir -p "$res"
ktap_print_header
ktap_set_plan 7
"$REPO/bench/harness/bench-prep.sh" >&2 && RESULTS_DIR=$res CASES=$case "$REPO/bench/harness/bench.sh" >&2
rc=$?
run=$(find "$res" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | head -1)
ktap_test_result "make bench CASES=$case exits 0 and leaves one run directory" \
	'[ "$rc" -eq 0 ] && [ -n "$run" ] && [ -z "$(find "$res" -maxdepth 1 -name ".incomplete*")" ]'
ktap_test_result "summary.md has a $case row with both kernels' figures" \
	'[ -n "$run" ] && grep -qE "^\| $case \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|" "$run/summary.md"'
ktap_test_result "meta.json names both kernels and the accelerator" \
	'[ -n "$run" ] && python3 -c "import json,sys; m=json.load(open(sys.argv[1])); assert set(m[\"flavours\"])=={\"baseline\",\"patched\"} and m[\"accel\"] and all(v[\"kernel\"] for v in m[\"flavours\"].values())" "$run/meta.json"'
ktap_test_result "flame graphs (html, svg, folded) for both kernels and a differential svg, none over 2 MB" \
	'[ -n "$run" ] && for f in baseline.html patched.html baseline.svg patched.svg baseline.folded patched.folded diff.svg; do [ -s "$run/$case/$f" ] || exit 1; done && [ -z "$(find "$run" -size +2M)" ]'
ktap_test_result "charts (SVG and PNG) of exits and time per iteration, the time from 3 rounds per kernel" \
	'[ -n "$run" ] && for f in exits.svg exits.png time.svg time.png; do [ -s "$run/charts/$f" ] || exit 1; done && python3 -c "import json,sys; t=json.load(open(sys.argv[1]))[\"timings\"][sys.argv[2]]; assert len(t)==2 and all(len(v[\"rounds\"])==3 for v in t.values())" "$run/summary.json" "$case"'

# A guest that dies mid-run (here: powers off during calibration) must end
# the run with one error line and leave no run directory.
fake=$(mktemp -d "$BUILD/bench-smoke-fake.XXXXXX")
trap 'rm -rf "$fake"' EXIT
for fl in $FLAVOURS; do
	mkdir -p "$fake/$fl/selftests/bench"
	ln "$BUILD/$fl/bzImage" "$fake/$fl/bzImage"
	printf '#!/bin/sh\n[ "$1" = -l ] && { echo "cpuid x"; exit 0; }\npoweroff -f\n' \
		> "$fake/$fl/selftests/bench/lazyswitch_bench"
	chmod +x "$fake/$fl/selftests/bench/lazyswitch_bench"
done
ln "$BUILD/initramfs.cpio.gz" "$fake/initramfs.cpio.gz"
cp -al "$BUILD/bpf" "$BUILD/perf-root" "$BUILD/flamegraph" "$fake/"
link_emulator "$fake"
mkdir -p "$res/died"
err=$(BUILD_DIR=$fake RESULTS_DIR=$res/died CASES=cpuid "$REPO/bench/harness/bench.sh" 2>&1 >/dev/null)
drc=$?
echo "$err" | sed 's/^/# /'
ktap_test_result "a guest that dies mid-run fails the run with one error line and no run directory" \
	'[ "$drc" -ne 0 ] && [ "$(echo "$err" | grep -c "^error:")" -eq 1 ] && echo "$err" | grep -q "died mid-run" && [ -z "$(ls -A "$res/died")" ]'

# profile_has_path: both kernels' emulator profiles of $case were made and
# have instructions in every exit-path function bench_report.py requires.
profile_has_path() {
	local fl
	[ -n "$run" ] && [ -s "$run/$case/profile-diff.svg" ] || return 1
	for fl in $FLAVOURS; do
		python3 - "$run/$case/$fl.figures.json" <<'PY' || return 1
import json, sys
p = json.load(open(sys.argv[1])).get("profile", {})
sys.exit(not (p.get("status") == "ok" and not p.get("missing") and p.get("instructions_per_exit", 0) > 0))
PY
	done
}
accel=$(resolve_accel)
if [ "$QEMU" = lab ] && [ "$accel" = tcg ]; then
	ktap_test_result "the emulator profile of $case on both kernels has the exit path (vcpu_enter_guest, svm_vcpu_run, svm_vcpu_enter_exit, __svm_vcpu_run)" \
		profile_has_path
else
	ktap_test_skip "the emulator profile of $case on both kernels has the exit path" \
		"the emulator profile needs the lab QEMU under TCG (QEMU=$QEMU, accel $accel)"
fi
ktap_finished
