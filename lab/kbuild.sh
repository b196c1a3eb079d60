#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kbuild.sh FLAVOUR: configure and build build/FLAVOUR: bzImage, the UAPI
# headers and the KVM selftests (upstream plus selftests/ of this repo).
# Incremental: make decides what to rebuild; the config is regenerated only
# when kernel.config or the source changes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:-}
check_flavour "$flavour"
for t in gcc:build-essential make:build-essential bc:bc flex:flex bison:bison \
	pahole:dwarves cpio:cpio; do
	need "${t%%:*}" "${t#*:}"
done

fdir=$BUILD/$flavour
tree=$fdir/src
obj=$fdir/obj
frag=$REPO/kernel.config
kernel_lock
[ -f "$fdir/applied.sha" ] || die "$flavour tree is not prepared (run lab/tree.sh $flavour)"
mkdir -p "$obj"

# ccache makes the second flavour cheap: most objects are identical.
cc=gcc
if command -v ccache >/dev/null 2>&1 && [ "${CCACHE:-1}" != 0 ]; then
	cc="ccache gcc"
	export CCACHE_BASEDIR=$BUILD CCACHE_NOHASHDIR=1 CCACHE_DIR=${CCACHE_DIR:-$BUILD/ccache}
fi
kmake() {
	make -C "$tree" O="$obj" CC="$cc" HOSTCC=gcc LOCALVERSION="-lazyswitch-$flavour" \
		-j"$(nproc_build)" "$@"
}

# The debug flavour: the same config, then kernel-debug.config on top.
frags=$frag
[ "$flavour" != debug ] || frags="$frag $REPO/kernel-debug.config"
cfg_id=$( (cat $frags "$fdir/src.id") | sha256sum | cut -d' ' -f1)
if [ "$(cat "$obj/.lazyswitch-config" 2>/dev/null)" != "$cfg_id" ]; then
	stage "$flavour: configuring (allnoconfig + $(basename -a $frags | paste -sd+))"
	rm -f "$obj/.lazyswitch-config"
	kmake -s KCONFIG_ALLCONFIG="$frag" allnoconfig >/dev/null ||
		die "$flavour: allnoconfig failed"
	if [ "$flavour" = debug ]; then
		# olddefconfig keeps what allnoconfig chose, so options that
		# CONFIG_EXPERT makes visible are not switched off.
		cat "$REPO/kernel-debug.config" >> "$obj/.config"
		kmake -s olddefconfig >/dev/null 2>&1 || die "$flavour: olddefconfig failed"
	fi
	missing=$(cat $frags | grep -E '^CONFIG_[A-Z0-9_]+=' | while read -r l; do
		grep -qx "$l" "$obj/.config" || echo "${l%%=*}"; done)
	[ -z "$missing" ] || die "$flavour: config options not satisfied: $(echo $missing)"
	echo "$cfg_id" > "$obj/.lazyswitch-config"
fi

stage "$flavour: building bzImage"
start=$(date +%s)
log=$fdir/kbuild.log
if ! kmake bzImage > "$log" 2>&1; then
	grep -E 'error:|Error [0-9]' "$log" | head -5 >&2
	die "$flavour: kernel build failed (full log: $log)"
fi
kmake -s headers >> "$log" 2>&1 || die "$flavour: make headers failed (see $log)"
cp "$obj/arch/x86/boot/bzImage" "$fdir/bzImage.tmp" && publish "$fdir/bzImage"
stage "$flavour: kernel ready in $(($(date +%s) - start))s ($(strings "$obj/arch/x86/boot/bzImage" | grep -m1 -o '^6\.12[^ ]*'))"

stage "$flavour: building KVM selftests (static)"
st=$fdir/selftests
mkdir -p "$st"
smake() {
	make -C "$tree/tools/testing/selftests/kvm" -f "$REPO/selftests/kvm.mk" \
		OUTPUT="$st" KHDR_INCLUDES="-isystem $obj/usr/include" \
		USERLDFLAGS=-static LAZYSWITCH_SELFTESTS="$REPO/selftests" "$@"
}
if ! smake -j"$(nproc_build)" > "$fdir/selftests.log" 2>&1; then
	grep -E 'error:|Error [0-9]' "$fdir/selftests.log" | head -5 >&2
	die "$flavour: selftests build failed (full log: $fdir/selftests.log)"
fi
smake -s lazyswitch-list > "$st/tests.list.tmp" && publish "$st/tests.list"
stage "$flavour: $(wc -l < "$st/tests.list") selftests built"

# The exit microbenchmarks link with the same libkvm objects.
if ! make -C "$tree/tools/testing/selftests/kvm" -f "$REPO/bench/kvm.mk" \
	OUTPUT="$st" KHDR_INCLUDES="-isystem $obj/usr/include" \
	USERLDFLAGS=-static > "$fdir/bench.log" 2>&1; then
	grep -E 'error:|Error [0-9]' "$fdir/bench.log" | head -5 >&2
	die "$flavour: benchmark build failed (full log: $fdir/bench.log)"
fi
stage "$flavour: benchmark cases built ($st/bench/lazyswitch_bench)"

# The primitive-cost probe (bench/probe): an out-of-tree module built against
# this tree, still under the kernel lock. 'make modules' writes the tree's
# Module.symvers, which modpost needs for the module.
if grep -qx 'CONFIG_MODULES=y' "$obj/.config"; then
	pdir=$fdir/probe
	mkdir -p "$pdir"
	cp -p "$REPO/bench/probe/Kbuild" "$REPO/bench/probe/lazyswitch_probe.c" "$pdir/"
	if ! { kmake modules && kmake M="$pdir" modules; } > "$fdir/probe.log" 2>&1; then
		rm -f "$pdir/lazyswitch_probe.ko"
		grep -E 'error:|Error [0-9]' "$fdir/probe.log" | head -5 >&2
		die "$flavour: probe module build failed (full log: $fdir/probe.log)"
	fi
	stage "$flavour: probe module built ($pdir/lazyswitch_probe.ko)"
else
	stage "$flavour: no probe module: the kernel has no CONFIG_MODULES"
fi
