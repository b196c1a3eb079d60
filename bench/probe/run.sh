#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh [--tap] [FLAVOUR...]: boot each lab kernel (default: baseline
# patched) in QEMU (ACCEL as for make test) and print the probe's table of
# switch primitive costs from inside it. This is 'make probe'. With --tap,
# one TAP line per kernel instead: ok if the module loaded and every
# primitive was either timed or skipped with a reason.
set -uo pipefail
. "$(dirname "$0")/../../lab/lib.sh"
. "$REPO/lab/ktap.sh"

tap=0
[ "${1:-}" != --tap ] || { tap=1; shift; }
flavours=("$@")
[ ${#flavours[@]} -gt 0 ] || flavours=(baseline patched)
accel=$(resolve_accel) || exit 2
for fl in "${flavours[@]}"; do
	check_flavour "$fl"
done
[ "$tap" = 0 ] || { ktap_print_header; ktap_set_plan ${#flavours[@]}; }

# probe_in_guest FL OUT: the probe's table from FL's kernel into OUT/probe.txt.
probe_in_guest() {
	local fl=$1 out=$2
	[ -f "$BUILD/$fl/bzImage" ] || { echo "no $fl kernel (run 'make build')"; return 1; }
	[ -f "$BUILD/$fl/probe/lazyswitch_probe.ko" ] ||
		{ echo "no $BUILD/$fl/probe/lazyswitch_probe.ko (kernel built without CONFIG_MODULES?)"; return 1; }
	cp "$REPO/bench/probe/probe.sh" "$out/"
	"$REPO/lab/vm-run.sh" -q -f "$fl" -t 300 -o "$out" -- \
		"sh /out/probe.sh /build/$fl/probe/lazyswitch_probe.ko > /out/probe.txt" \
		> "$out/vm.out" 2>&1 ||
		{ echo "the guest run failed: $(grep -m1 -E '^error' "$out/vm.out" "$out/console.log" 2>/dev/null | cut -d: -f2-)"; return 1; }
}

failed=0
for fl in "${flavours[@]}"; do
	out=$(mktemp -d "$BUILD/probe-run.XXXXXX")
	[ "$tap" = 1 ] || stage "probe: $fl kernel, accel $accel"
	if ! why=$(probe_in_guest "$fl" "$out"); then
		failed=1
		if [ "$tap" = 1 ]; then
			ktap_test_fail "probe on $fl: $why (logs in $out)"
		else
			echo "error: probe on $fl: $why (logs in $out)" >&2
		fi
		continue
	fi
	timed=$(grep -c ' median=' "$out/probe.txt")
	skipped=$(grep ' skipped: ' "$out/probe.txt" | cut -d' ' -f1 | tr '\n' ' ')
	other=$(grep -vcE '^#| median=| skipped: .+' "$out/probe.txt")
	if [ "$tap" = 1 ]; then
		if [ "$timed" -gt 1 ] && [ "$other" -eq 0 ]; then
			ktap_test_pass "probe on $fl: $timed primitives timed${skipped:+, skipped: ${skipped% }}"
		else
			failed=1
			ktap_test_fail "probe on $fl: $timed timed, $other unexpected lines (see $out/probe.txt)"
			continue
		fi
	else
		echo "## $fl ($accel$([ "$accel" = tcg ] && echo ', TSC emulated: relative figures only'))"
		cat "$out/probe.txt"
	fi
	rm -rf "$out"
done
[ "$tap" = 0 ] || ktap_print_totals
exit $failed
