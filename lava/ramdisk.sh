#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ramdisk.sh FLAVOUR: the LAVA ramdisk of a built flavour, in
# build/lava/artifacts/FLAVOUR/ with its kernel: the lab initramfs
# (lab/initramfs.sh) with an init that runs from the kernel command line,
# and what runs there: this project's selftests, the benchmark and the BPF
# tools, so the job needs no share from the dispatcher.
set -euo pipefail
. "$(dirname "$0")/../lab/lib.sh"

fl=${1:-}
check_flavour "$fl"
fdir=$BUILD/$fl
st=$fdir/selftests
out=$BUILD/lava/artifacts/$fl
for f in "$fdir/bzImage" "$fdir/obj/.config" "$st/tests.list" "$st/bench/lazyswitch_bench" \
	"$BUILD/bpf/kvmswitch" "$BUILD/bpf/kvmexitlat" "$fdir/applied.sha"; do
	[ -f "$f" ] || die "no $f (run 'make build tools')"
done

# The lab initramfs's parts, this init, and the payload under /lazyswitch.
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
l=$tree/lazyswitch
mkdir -p "$l/bench"
cp "$REPO/lava/guest/run-lava.sh" "$REPO/lava/guest/kvmswitch-figures.awk" \
	"$REPO/selftests/guest/run-selftests.sh" "$REPO/bench/harness/guest/bench-cases.sh" "$l/"
awk '$1 == "lazyswitch"' "$st/tests.list" > "$l/tests.list"
while read -r _ path _; do
	mkdir -p "$l/selftests/$(dirname "${path%%:*}")"
	cp -n "$st/${path%%:*}" "$l/selftests/${path%%:*}"
done < "$l/tests.list"
cp "$st/bench/lazyswitch_bench" "$l/bench/"
cp "$BUILD/bpf/kvmswitch" "$BUILD/bpf/kvmexitlat" "$l/"
cut -d' ' -f1 "$fdir/applied.sha" > "$l/series_sha"
sha256sum < "$fdir/obj/.config" | cut -d' ' -f1 > "$l/config_sha256"
mkdir -p "$out"
"$REPO/lab/initramfs.sh" "$out/ramdisk.cpio.gz" "$REPO/lava/guest/init" "$tree"
ln -f "$fdir/bzImage" "$out/bzImage"
