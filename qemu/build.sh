#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build.sh: build the lab QEMU, build/qemu/bin/qemu-system-x86_64:
# Debian's pinned qemu source (qemu/source.env) with qemu/patches/*.patch,
# x86_64-softmmu only. Rebuilt only when the pin, the patches or this
# script change; objects come from ccache. Published whole, with
# build/qemu/qemu.json saying what it is.
set -euo pipefail
. "$(dirname "$0")/../lab/lib.sh"

QDIR=$REPO/qemu
. "$QDIR/source.env"
out=$BUILD/qemu
# The features the lab uses: TCG, KVM for ACCEL=kvm, 9p for build/ and the
# run directory. Firmware is Debian's (qemu-system-data, seabios, ipxe): a
# prefix outside /usr keeps QEMU from looking for it next to the binary.
CONFIGURE_ARGS="--prefix=/opt/lazyswitch-qemu --target-list=x86_64-softmmu --without-default-features --enable-plugins
--enable-tcg --enable-kvm --enable-virtfs --enable-cap-ng --enable-attr
--enable-fdt=system --disable-docs --disable-tools --disable-user
--disable-werror --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu"
BUILD_DEPS="dpkg-dev meson ninja-build pkg-config python3 libglib2.0-dev
libpixman-1-dev libcap-ng-dev libattr1-dev libfdt-dev ccache"

mapfile -t patches < <(find "$QDIR/patches" -name '*.patch' | sort)
[ ${#patches[@]} -gt 0 ] || die "no patches in $QDIR/patches"
want=$( (echo "$QEMU_DEB_VERSION $QEMU_DSC_SHA256 $CONFIGURE_ARGS"
	cat "$0" "${patches[@]}") | sha256sum | cut -d' ' -f1)
if [ -x "$out/bin/qemu-system-x86_64" ] &&
	[ "$(cat "$out/stamp" 2>/dev/null)" = "$want" ]; then
	exit 0
fi

# shellcheck disable=SC2086 # BUILD_DEPS is a word list
mapfile -t missing < <(missing_packages $BUILD_DEPS)
apt_install "build dependencies for the lab QEMU" ${missing[@]+"${missing[@]}"}

# deb-src entries for the Debian bookworm suites the deb entries use: the
# same mirrors and options (Signed-By must match, or apt refuses both).
srcs=$(apt-cache showsrc qemu 2>/dev/null || true)
if ! grep -q '^Version:' <<< "$srcs"; then
	[ "$(id -u)" -eq 0 ] ||
		die "apt has no deb-src for qemu: add deb-src lines for bookworm and bookworm-security (or run as root)"
	list=/etc/apt/sources.list.d/lazyswitch-deb-src.sources
	python3 "$REPO/qemu/apt_deb_src.py" /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list > "$list.tmp" || { rm -f "$list.tmp"; exit 1; }
	publish "$list"
	stage "qemu: added deb-src entries ($list); apt-get update"
	apt-get update -q >/dev/null || die "apt-get update failed"
fi

stage "qemu: source $QEMU_DEB_VERSION"
rm -rf "$out/dl" "$out/src"
mkdir -p "$out/dl"
(cd "$out/dl" && apt-get source -q --download-only "qemu=$QEMU_DEB_VERSION") >/dev/null 2>"$out/dl.log" ||
	die "qemu source $QEMU_DEB_VERSION is not on the mirror: pick a version from 'apt-cache showsrc qemu' and set it with its .dsc sha256 in qemu/source.env"
dsc=$(find "$out/dl" -name 'qemu_*.dsc')
echo "$QEMU_DSC_SHA256  $dsc" | sha256sum -c --quiet - 2>/dev/null ||
	die "$(basename "$dsc") does not match QEMU_DSC_SHA256 in qemu/source.env"
dpkg-source -q -x "$dsc" "$out/src" >/dev/null 2>"$out/dl.log" || die "dpkg-source -x $dsc failed (see $out/dl.log)"
rm -rf "$out/dl"
for p in "${patches[@]}"; do
	patch -d "$out/src" -p1 -F0 -s --dry-run < "$p" >/dev/null ||
		die "qemu patch $(basename "$p") does not apply to $QEMU_DEB_VERSION"
	patch -d "$out/src" -p1 -F0 -s < "$p" >/dev/null
done

# configure hands meson its compiler: ccache goes in there. The kernels'
# cache, with paths relative to build/.
cc=gcc
if [ "${CCACHE:-1}" != 0 ]; then
	cc="ccache gcc"
	export CCACHE_BASEDIR=$BUILD CCACHE_NOHASHDIR=1 CCACHE_DIR=${CCACHE_DIR:-$BUILD/ccache}
fi
rm -rf "$out/obj"
mkdir -p "$out/obj"
stage "qemu: configure"
# shellcheck disable=SC2086 # CONFIGURE_ARGS is a word list
(cd "$out/obj" && CC="$cc" ../src/configure $CONFIGURE_ARGS) > "$out/configure.log" 2>&1 ||
	die "qemu configure failed (see $out/configure.log)"
stage "qemu: build (qemu-system-x86_64, -j$(nproc_build))"
ninja -C "$out/obj" -j"$(nproc_build)" qemu-system-x86_64 > "$out/build.log" 2>&1 ||
	die "qemu build failed (see $out/build.log)"

rm -rf "$out/bin.tmp"
mkdir -p "$out/bin.tmp"
cp "$out/obj/qemu-system-x86_64" "$out/bin.tmp/"
"$out/bin.tmp/qemu-system-x86_64" -cpu help > /dev/null || die "the built qemu-system-x86_64 does not run"
patch_sha=$(cat "${patches[@]}" | sha256sum | cut -d' ' -f1)
{
	printf '{"deb_version": "%s", "dsc_sha256": "%s", ' "$QEMU_DEB_VERSION" "$QEMU_DSC_SHA256"
	printf '"patches": [%s], ' "$(for p in "${patches[@]}"; do printf '"%s"\n' "$(basename "$p")"; done | paste -sd, -)"
	printf '"patch_sha256": "%s", "version": "%s"}\n' "$patch_sha" \
		"$("$out/bin.tmp/qemu-system-x86_64" --version | head -1)"
} > "$out/bin.tmp/qemu.json"
rm -rf "$out/bin"
mv "$out/bin.tmp" "$out/bin"
echo "$want" > "$out/stamp"
stage "qemu: $(cat "$out/bin/qemu.json")"
