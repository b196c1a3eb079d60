#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# test.sh FLAVOUR: everything 'make test' runs, ending with the line
# "N passed, N failed, N skipped" (known failures count as skipped).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:-patched}
check_flavour "$flavour"

stage "unit tests of the lab scripts"
unit=$(python3 "$REPO/scripts/tests/run.py" 2>&1)
urc=$?
echo "$unit"
read -r upass ufail < <(echo "$unit" | sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
[ -n "${upass:-}" ] || { upass=0; ufail=1; }
[ "$urc" -eq 0 ] || [ "$ufail" -gt 0 ] || ufail=1

"$REPO/scripts/selftest.sh" "$flavour"
src=$?

sum=$RESULTS/test-$flavour-latest/summary.json
if [ "$src" -eq 0 ] || [ "$src" -eq 1 ] && [ -f "$sum" ]; then
	read -r kp kf ks < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
print(c["pass"], c["fail"] + c["not-run"], c["skip"] + c["xfail"])' "$sum")
	[ "$src" -eq 0 ] || [ "$kf" -gt 0 ] || kf=1
else
	kp=0 kf=1 ks=0
fi
echo "$((upass + kp)) passed, $((ufail + kf)) failed, $ks skipped"
[ $((ufail + kf)) -eq 0 ]
