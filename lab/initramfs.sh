#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# initramfs.sh OUT [INIT [TREE]]: a busybox initramfs (plus static bash for
# script tests) whose /init is INIT (default: the lab guest's, lab/guest/init),
# with the directory TREE copied into its root (the LAVA ramdisk's payload).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=${1:-$BUILD/initramfs.cpio.gz}
init=${2:-$REPO/lab/guest/init}
tree=${3:-}
[ -x /bin/busybox ] || die "missing /bin/busybox (Debian package: busybox-static)"
! readelf -d /bin/busybox 2>/dev/null | grep -q NEEDED ||
	die "/bin/busybox is not static (Debian package: busybox-static)"
[ -x /bin/bash-static ] || die "missing /bin/bash-static (Debian package: bash-static)"

root=$(mktemp -d)
trap 'rm -rf "$root" "$out.tmp"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,usr/bin}
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp /bin/bash-static "$root/bin/bash"
install -m 755 "$init" "$root/init"
install -m 644 "$REPO/lab/guest/mounts.sh" "$root/mounts.sh"
[ -z "$tree" ] || cp -a "$tree/." "$root/"
# Script tests ask whoami whether they need sudo.
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
publish "$out"
