#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ramdisk.sh FLAVOUR: the LAVA ramdisk of a built flavour, in
# build/lava/artifacts/FLAVOUR/ with its kernel. The lab initramfs's
# busybox and bash, an init that runs from the kernel command line, and
# what runs there: this project's selftests, the benchmark and the BPF
# tools, so the job needs no share from the dispatcher.
set -euo pipefail
. "$(dirname "$0")/../lab/lib.sh"

fl=${1:-}
check_flavour "$fl"
fdir=$BUILD/$fl
st=$fdir/selftests
out=$BUILD/lava/artifacts/$fl
for f in "$fdir/bzImage" "$st/tests.list" "$st/bench/lazyswitch_bench" \
	"$BUILD/bpf/kvmswitch" "$BUILD/bpf/kvmexitlat" "$fdir/applied.sha"; do
	[ -f "$f" ] || die "no $f (run 'make build tools')"
done
[ -x /bin/busybox ] || die "missing /bin/busybox (Debian package: busybox-static)"
[ -x /bin/bash-static ] || die "missing /bin/bash-static (Debian package: bash-static)"

root=$(mktemp -d)
trap 'rm -rf "$root" "$out/ramdisk.cpio.gz.tmp"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,usr/bin} "$root/lazyswitch/bench"
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp /bin/bash-static "$root/bin/bash"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
install -m 755 "$REPO/lava/guest/init" "$root/init"
l=$root/lazyswitch
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
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -6) > "$out/ramdisk.cpio.gz.tmp"
mv "$out/ramdisk.cpio.gz.tmp" "$out/ramdisk.cpio.gz"
ln -f "$fdir/bzImage" "$out/bzImage"
