#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench-smoke.sh: 'make bench' end to end with one case, into a scratch
# results directory under build/, and check what it wrote. TAP on stdout.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

case=${SMOKE_CASE:-cpuid}
res=$BUILD/bench-smoke
rm -rf "$res"
mkdir -p "$res"
echo "TAP version 13"
echo "1..4"
"$REPO/scripts/bench-prep.sh" >&2 && RESULTS_DIR=$res CASES=$case "$REPO/scripts/bench.sh" >&2
rc=$?
run=$(find "$res" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | head -1)
ok() { if (eval "$2"); then echo "ok $1"; else echo "not ok $1"; fi; }
ok "1 make bench CASES=$case exits 0 and leaves one run directory" \
	'[ "$rc" -eq 0 ] && [ -n "$run" ] && [ -z "$(find "$res" -maxdepth 1 -name ".incomplete*")" ]'
ok "2 summary.md has a $case row with both kernels' figures" \
	'[ -n "$run" ] && grep -qE "^\| $case \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|" "$run/summary.md"'
ok "3 meta.json names both kernels and the accelerator" \
	'[ -n "$run" ] && python3 -c "import json,sys; m=json.load(open(sys.argv[1])); assert set(m[\"flavours\"])=={\"baseline\",\"patched\"} and m[\"accel\"] and all(v[\"kernel\"] for v in m[\"flavours\"].values())" "$run/meta.json"'
ok "4 flame graphs (html, svg, folded) for both kernels and a differential svg, none over 2 MB" \
	'[ -n "$run" ] && for f in baseline.html patched.html baseline.svg patched.svg baseline.folded patched.folded diff.svg; do [ -s "$run/$case/$f" ] || exit 1; done && [ -z "$(find "$run" -size +2M)" ]'
