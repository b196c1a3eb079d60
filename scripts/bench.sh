#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench.sh: boot both flavours and record what the benchmark would run on.
# The benchmark cases themselves are not written yet: this says so in its
# output and in results/bench-<time>/status, and measures nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
tmp=$(mktemp -d "$RESULTS/.incomplete-bench.XXXXXX")
trap '[ -n "${tmp:-}" ] && rm -rf "$tmp"' EXIT
for fl in $FLAVOURS; do
	stage "bench: booting the $fl kernel"
	mkdir -p "$tmp/$fl"
	"$REPO/scripts/vm-run.sh" -q -f "$fl" -t 300 -o "$tmp/$fl" -- \
		'uname -r > /out/uname; grep -m1 flags /proc/cpuinfo > /out/cpuflags; dmesg | grep -i -e kvm -e svm > /out/kvm-dmesg; true' >/dev/null ||
		die "bench: the $fl kernel did not boot (see above)"
	stage "bench: $fl $(cat "$tmp/$fl/uname"), $(grep -c . "$tmp/$fl/kvm-dmesg") KVM boot lines"
done
msg="no benchmark cases exist yet (exit microbenchmarks, BPF counts and flame graphs are still to be written): nothing was measured"
echo "$msg" > "$tmp/status"
mv "$tmp" "$RESULTS/bench-$stamp"
tmp=
stage "bench: $msg"
stage "bench: boot records in results/bench-$stamp"
