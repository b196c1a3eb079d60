#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tree.sh FLAVOUR: prepare build/FLAVOUR/src, a hardlinked copy of the
# pristine 6.12 source with FLAVOUR's part of the series applied by quilt.
#
# Only files the series touches (now or before) get a new inode and mtime,
# so editing one patch rebuilds only what depends on the files it changes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:-}
check_flavour "$flavour"
need quilt quilt
kernel_lock

# --- the pristine source --------------------------------------------------
makefile_version() {
	awk -F' *= *' '$1=="VERSION"{v=$2} $1=="PATCHLEVEL"{p=$2}
		$1=="SUBLEVEL"{s=$2} $1=="EXTRAVERSION"{e=$2}
		END { if (v != "") printf "%s.%s.%s%s\n", v, p, s, e }' "$1/Makefile"
}

if [ -n "${KSRC:-}" ]; then
	[ -f "$KSRC/Makefile" ] && [ -d "$KSRC/arch/x86/kvm" ] ||
		die "KSRC=$KSRC is not a Linux source tree"
	src=$(cd "$KSRC" && pwd)
	kver=$(makefile_version "$src")
	case "$kver" in
	6.12|6.12.*) ;;
	*) die "KSRC=$KSRC is Linux ${kver:-unknown}, not 6.12.y" ;;
	esac
	[ ! -e "$src/.config" ] && [ ! -d "$src/include/config" ] ||
		die "KSRC=$KSRC is not clean (run 'make mrproper' there)"
	[ ! -d "$src/.pc" ] || die "KSRC=$KSRC has quilt patches applied (.pc exists)"
	origin="KSRC=$src"
	if git -C "$src" rev-parse HEAD >/dev/null 2>&1; then
		origin="$origin git $(git -C "$src" describe --always --dirty 2>/dev/null)"
	fi
else
	tarball=/usr/src/linux-source-6.12.tar.xz
	debver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) ||
		die "linux-source-6.12 is not installed (run 'make deps' or set KSRC)"
	[ -f "$tarball" ] || die "$tarball is missing (reinstall linux-source-6.12)"
	src=$BUILD/src/linux-source-6.12
	if [ "$(cat "$BUILD/src/version" 2>/dev/null)" != "$debver" ]; then
		stage "extracting Debian linux-source-6.12 $debver"
		rm -rf "$BUILD/src"
		mkdir -p "$BUILD/src.tmp"
		tar -C "$BUILD/src.tmp" -xf "$tarball" || { rm -rf "$BUILD/src.tmp"; die "cannot extract $tarball"; }
		echo "$debver" > "$BUILD/src.tmp/version"
		mv "$BUILD/src.tmp" "$BUILD/src"
	fi
	kver=$(makefile_version "$src")
	origin="Debian linux-source-6.12 $debver"
fi

# --- the flavour tree -----------------------------------------------------
fdir=$BUILD/$flavour
tree=$fdir/src
src_id="$src $kver $origin"
mkdir -p "$fdir"
if [ "$(cat "$fdir/src.id" 2>/dev/null)" != "$src_id" ]; then
	stage "$flavour: new source tree from $origin"
	rm -rf "$tree" "$fdir/obj" "$fdir/selftests" "$fdir/src.id" "$fdir/applied.sha"
	cp -al "$src" "$tree.tmp" 2>/dev/null || cp -a --reflink=auto "$src" "$tree.tmp" ||
		die "cannot copy $src to $tree"
	mv "$tree.tmp" "$tree"
	echo "$src_id" > "$fdir/src.id"
fi
printf 'kernel_version=%q\nsource=%q\n' "$kver" "$origin" > "$fdir/source.env"

# The quilt directory: this flavour's series and links to the patches.
qdir=$fdir/quilt
rm -rf "$qdir"
mkdir -p "$qdir"
patches=$(series_for "$flavour")
for p in $patches; do
	[ -f "$PATCHES/$p" ] || die "series names patches/$p, which does not exist"
	ln -s "$PATCHES/$p" "$qdir/$p"
done
printf '%s\n' $patches > "$qdir/series"
ln -sfn ../quilt "$tree/patches"

want=$( (printf '%s\n' $patches; for p in $patches; do cat "$PATCHES/$p"; done) |
	sha256sum | cut -d' ' -f1)
[ "$(cat "$fdir/applied.sha" 2>/dev/null)" = "$want" ] && exit 0

# Files quilt has backed up are exactly the files the applied patches touch.
touched_files() {
	[ -d "$tree/.pc" ] || return 0
	(cd "$tree/.pc" && find . -mindepth 2 -type f ! -name '.*' | cut -d/ -f3-)
}

# Return the tree to pristine without trusting quilt's state: relink each
# file any applied patch touched, drop files the patches created.
unapply_all() {
	local f
	touched_files | sort -u | while read -r f; do
		rm -f "$tree/$f"
		if [ -e "$src/$f" ]; then
			ln "$src/$f" "$tree/$f" 2>/dev/null || cp -a "$src/$f" "$tree/$f"
		fi
	done
	rm -rf "$tree/.pc"
}

before=$(touched_files)
rm -f "$fdir/applied.sha"
unapply_all

if [ -n "$patches" ]; then
	stage "$flavour: applying $(echo $patches | wc -w) patches (quilt push -a --fuzz=0)"
	log=$fdir/quilt-push.log
	if ! (cd "$tree" && quilt --quiltrc "$REPO/.quiltrc" push -a --fuzz=0) > "$log" 2>&1; then
		bad=$(sed -n "s/^Patch \(patches\/\)\{0,1\}\(.*\) does not apply.*/\2/p" "$log" | tail -1)
		files=$(sed -n -e 's/.*rejects in file \(.*\)$/\1/p' \
			-e 's/^can.t find file to patch.*/(missing file)/p' "$log" | sort -u | tr '\n' ' ')
		unapply_all
		die "patch ${bad:-?} does not apply to $kver${files:+: ${files% }} (see $log)"
	fi
fi

# Give every file the series touches now, or touched before, a private inode
# and a fresh mtime, so make rebuilds what depends on it and nothing else.
{ echo "$before"; touched_files; } | sort -u | while read -r f; do
	[ -n "$f" ] && [ -e "$tree/$f" ] || continue
	cp -p "$tree/$f" "$tree/$f.lzs" && mv -f "$tree/$f.lzs" "$tree/$f" && touch "$tree/$f"
done
echo "$want" > "$fdir/applied.sha"
