#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# l2-prep.sh: what the nested-guest test (e2e/pvtimer/pvtimer-e2e.sh) needs in
# build/, besides the kernels:
#  - build/qemu-root: the host's qemu-system-x86_64 with its shared
#    libraries (run in the busybox guest with ld.so --library-path), the
#    firmware a -kernel boot loads (passed with -L), and pvtimer-optin.so,
#    preloaded so that QEMU 7.2 opts its VM in to pvtimer;
#  - build/l2/initramfs.cpio.gz: busybox, e2e/pvtimer/guest/l2-init as /init and
#    a static e2e/pvtimer/guest/sleepcheck.
# Each is redone only when its inputs change, and published whole.
set -euo pipefail
. "$(dirname "$0")/../../lab/lib.sh"

# What QEMU opens for '-kernel' on the pc machine: SeaBIOS, the option ROM
# that boots the kernel over fw_cfg DMA, and the TPR patching ROM (KVM).
FIRMWARE="bios-256k.bin linuxboot_dma.bin kvmvapic.bin"

need qemu-system-x86_64 qemu-system-x86
need gcc build-essential
need cpio cpio
[ -x /bin/busybox ] || die "missing /bin/busybox (Debian package: busybox-static)"
! readelf -d /bin/busybox 2>/dev/null | grep -q NEEDED ||
	die "/bin/busybox is not static (Debian package: busybox-static)"

# find_firmware NAME: where this host's QEMU finds NAME.
find_firmware() {
	local d
	for d in /usr/share/qemu /usr/share/seabios /usr/lib/ipxe/qemu; do
		[ -f "$d/$1" ] && { readlink -f "$d/$1"; return; }
	done
	die "no firmware file $1 for QEMU (Debian packages: qemu-system-x86, seabios)"
}

# stamp FILE...: one line that changes when any of the files does.
stamp() {
	md5sum "$@" | md5sum | cut -d' ' -f1
}

qemu=$(readlink -f "$(command -v qemu-system-x86_64)")
mapfile -t libs < <(ldd "$qemu" | awk '$3 ~ /^\// { print $3 }')
loader=$(ldd "$qemu" | awk '/ld-linux/ { print $1 }')
fw=()
for f in $FIRMWARE; do
	fw+=("$(find_firmware "$f")")
done
qr=$BUILD/qemu-root
optin=$REPO/e2e/pvtimer/guest/pvtimer-optin.c
want=$(stamp "$0" "$qemu" "$loader" "$optin" "${libs[@]}" "${fw[@]}")
if [ "$(cat "$qr/stamp" 2>/dev/null)" != "$want" ]; then
	stage "l2: copying $("$qemu" --version | head -1) with ${#libs[@]} libraries and its firmware for the guest"
	rm -rf "$qr.tmp"
	mkdir -p "$qr.tmp/lib" "$qr.tmp/fw"
	cp "$qemu" "$qr.tmp/qemu-system-x86_64"
	cp -L -t "$qr.tmp/lib/" "${libs[@]}"
	cp -L "$loader" "$qr.tmp/ld.so"
	for f in "${fw[@]}" ; do
		cp -L "$f" "$qr.tmp/fw/"
	done
	gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o "$qr.tmp/pvtimer-optin.so" "$optin" -ldl ||
		die "pvtimer-optin.so does not build"
	"$qr.tmp/ld.so" --preload "$qr.tmp/pvtimer-optin.so" --library-path "$qr.tmp/lib" \
		"$qr.tmp/qemu-system-x86_64" --version > /dev/null ||
		die "the copied qemu-system-x86_64 does not run"
	echo "$want" > "$qr.tmp/stamp"
	rm -rf "$qr"
	mv "$qr.tmp" "$qr"
fi

l2=$BUILD/l2
src=$REPO/e2e/pvtimer/guest/sleepcheck.c
init=$REPO/e2e/pvtimer/guest/l2-init
want=$(stamp "$src" "$init" /bin/busybox "$0")
if [ "$(cat "$l2/stamp" 2>/dev/null)" != "$want" ] || ! [ -f "$l2/initramfs.cpio.gz" ]; then
	stage "l2: building sleepcheck and the L2 initramfs"
	rm -rf "$l2.tmp"
	mkdir -p "$l2.tmp/root"/{bin,dev,proc,sys,tmp}
	gcc -O2 -Wall -Wextra -Werror -static -o "$l2.tmp/sleepcheck" "$src" ||
		die "sleepcheck does not build"
	cp /bin/busybox "$l2.tmp/root/bin/busybox"
	ln -s busybox "$l2.tmp/root/bin/sh"
	cp "$l2.tmp/sleepcheck" "$l2.tmp/root/bin/sleepcheck"
	install -m 755 "$init" "$l2.tmp/root/init"
	(cd "$l2.tmp/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$l2.tmp/initramfs.cpio.gz"
	rm -rf "$l2.tmp/root"
	echo "$want" > "$l2.tmp/stamp"
	rm -rf "$l2"
	mv "$l2.tmp" "$l2"
fi
