#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-test.sh FLAVOUR: integration test of kvmswitch and kvmexitlat on a lab
# kernel.  Builds the tools and the workload (make -C bpf), boots FLAVOUR
# with lab/vm-run.sh, runs tests/guest-test.sh inside and judges the
# results here: TAP on stdout, exit status 1 if any test failed.
#
# Environment: BUILD (default <repo>/build), BENCH_CPUIDS, BENCH_ROUNDS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
flavour=${1:-}
case "$flavour" in
baseline|patched) ;;
*) echo "usage: $0 baseline|patched" >&2; exit 2 ;;
esac
build=${BUILD:-${BUILD_DIR:-$repo/build}}
export BUILD_DIR=$build
out=$build/bpf
run=$build/vm/bpf-$flavour

# The kernel whose BTF and selftest library the tools and workload use.
make -s -C "$repo/bpf" OUTPUT="$out" VMLINUX="$build/patched/obj/vmlinux" \
	KTREE="$build/patched/src" KHDR="$build/patched/obj/usr/include" all workload
rm -rf "$run"
mkdir -p "$run"
cp "$here/guest-test.sh" "$run/"
start=$(date +%s)
vmrc=0
BENCH_CPUIDS=${BENCH_CPUIDS:-20000} BENCH_ROUNDS=${BENCH_ROUNDS:-3} \
"$repo/lab/vm-run.sh" -f "$flavour" -t 900 -q -o "$run" -- \
	"BENCH_CPUIDS=${BENCH_CPUIDS:-20000} BENCH_ROUNDS=${BENCH_ROUNDS:-3}" \
	sh /out/guest-test.sh /build/bpf >&2 || vmrc=$?
echo "# $flavour: VM run took $(($(date +%s) - start))s (exit $vmrc, results in $run)"

python3 "$here/judge.py" "$run" "$flavour" "$vmrc"
