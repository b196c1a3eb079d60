#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# pvtimer-e2e.sh: end-to-end test of the paravirtual TSC-deadline timer.
# Boots the patched kernel (L1) with lab/vm-run.sh, whose KVM offers the
# pvtimer, and inside it runs e2e/pvtimer/guest/pvtimer-e2e.sh: the same kernel
# as a nested guest (L2), with and without the pvtimer, each time measuring
# its sleeps (e2e/pvtimer/guest/sleepcheck.c) and KVM's pvtimer statistics.
# TAP on stdout; the run (consoles, TAP) in build/vm/pvtimer-e2e/.
#
# Environment: ACCEL (as for vm-run.sh), PVTIMER_BOUND_US (the oversleep
# that fails a sleep; default 1000000 under TCG, 5000 under KVM),
# PVTIMER_L2_TIMEOUT (seconds per L2 run, default 180).
set -euo pipefail
. "$(dirname "$0")/../../lab/lib.sh"

flavour=patched
kernel=$BUILD/$flavour/bzImage
[ -f "$kernel" ] || die "no $flavour kernel at $kernel (run 'make build')"
accel=$(resolve_accel)
# Under TCG on a shared 2-core host, L2's sleeps overshoot by up to 130 ms
# now and then, with or without the pvtimer; a lost deadline or one armed
# against the wrong TSC is late by seconds, or forever.
if [ "$accel" = tcg ]; then bound_default=1000000; else bound_default=5000; fi
bound_us=${PVTIMER_BOUND_US:-$bound_default}
l2_timeout=${PVTIMER_L2_TIMEOUT:-180}
[[ "$bound_us" =~ ^[1-9][0-9]*$ ]] || die "PVTIMER_BOUND_US must be a whole number of microseconds, not '$bound_us'"
[[ "$l2_timeout" =~ ^[1-9][0-9]*$ ]] || die "PVTIMER_L2_TIMEOUT must be whole seconds, not '$l2_timeout'"

"$REPO/e2e/pvtimer/l2-prep.sh" >&2

run=$BUILD/vm/pvtimer-e2e
rm -rf "$run"
mkdir -p "$run"
cp "$REPO/e2e/pvtimer/guest/pvtimer-e2e.sh" "$REPO/lab/ktap.sh" "$run/"
echo "$SPLAT_PATTERN" > "$run/splat-pattern"
stage "pvtimer e2e: booting L1 ($flavour, $accel), then L2 twice (up to ${l2_timeout}s each)" >&2
start=$(date +%s)
vmrc=0
ACCEL=$accel "$REPO/lab/vm-run.sh" -f "$flavour" -t $((2 * l2_timeout + 120)) -q -o "$run" -- \
	sh /out/pvtimer-e2e.sh "$bound_us" "$l2_timeout" ">" /out/tap.txt > "$run/vm-run.out" 2>&1 || vmrc=$?
# Kernel messages share L1's console, so the TAP comes from its own file.
cat "$run/tap.txt" 2>/dev/null || true
echo "# L1 run took $(($(date +%s) - start))s (vm-run.sh exit $vmrc; run in $run)"
if [ "$vmrc" -ne 0 ]; then
	sed 's/^/# /' "$run/vm-run.out" | tail -8
	exit "$vmrc"
fi
