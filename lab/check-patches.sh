#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-patches.sh: the series as a maintainer would check it.
#  - quilt push -a --fuzz=0 on a fresh copy of the source, then quilt pop -a;
#  - checkpatch.pl --strict on every patch;
#  - with EACH=1, every patch compiled on its own (arch/x86/kvm/ and the
#    guest side in arch/x86/kernel/) with KVM built in and as modules
#    (KVM_WERROR=y).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need quilt quilt

"$REPO/lab/tree.sh" patched >/dev/null
src=$BUILD/patched/src
work=$(mktemp -d "$BUILD/check.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Every patch, the debug flavour's own included.
patches=$(series_for debug)
fails=0

stage "quilt push -a --fuzz=0 / pop -a on a fresh tree"
# A fresh hardlinked copy of the pristine source with its own quilt state.
pristine=$(cut -d' ' -f1 "$BUILD/patched/src.id")
cp -al "$pristine" "$work/tree"
mkdir "$work/quilt"
for p in $patches; do
	ln -s "$PATCHES/$p" "$work/quilt/$p"
done
printf '%s\n' $patches > "$work/quilt/series"
ln -s "$work/quilt" "$work/tree/patches"
if [ -n "$patches" ]; then
	(cd "$work/tree" && quilt --quiltrc "$REPO/.quiltrc" push -a --fuzz=0 -q) ||
		die "series does not apply with --fuzz=0"
	(cd "$work/tree" && quilt --quiltrc "$REPO/.quiltrc" pop -a -q >/dev/null) || die "quilt pop -a failed"
fi
echo "ok: $(echo $patches | wc -w) patches push and pop cleanly"

stage "checkpatch.pl --strict"
for p in $patches; do
	if out=$("$src/scripts/checkpatch.pl" --strict --no-tree -q "$PATCHES/$p" 2>&1); then
		echo "ok: $p"
	else
		echo "FAIL: $p"
		echo "$out" | sed 's/^/    /'
		fails=$((fails + 1))
	fi
done

if [ "${EACH:-0}" = 1 ]; then
	kernel_lock
	for mode in y m; do
		obj=$work/obj-$mode
		mkdir -p "$obj"
		frag=$work/frag-$mode
		cp "$REPO/kernel.config" "$frag"
		printf 'CONFIG_WERROR=y\nCONFIG_KVM_WERROR=y\n' >> "$frag"  # KVM_WERROR needs WERROR without EXPERT
		if [ "$mode" = m ]; then
			printf 'CONFIG_KVM=m\nCONFIG_KVM_AMD=m\nCONFIG_KVM_INTEL=m\n' >> "$frag"
		fi
		make -s -C "$work/tree" O="$obj" KCONFIG_ALLCONFIG="$frag" allnoconfig >/dev/null
		n=0
		for p in $patches; do
			n=$((n + 1))
			(cd "$work/tree" && quilt --quiltrc "$REPO/.quiltrc" push -q >/dev/null)
			# KVM, and the guest side of the series (kvm.o, the APIC timer).
			if make -s -C "$work/tree" O="$obj" -j"$(nproc_build)" arch/x86/kvm/ \
				arch/x86/kernel/kvm.o arch/x86/kernel/apic/apic.o > "$work/log" 2>&1 &&
				! grep -q 'warning:' "$work/log"; then
				echo "ok: KVM=$mode builds at $n/$(echo $patches | wc -w) $p"
			else
				echo "FAIL: KVM=$mode does not build cleanly at $p"
				grep -E 'error|warning' "$work/log" | head -5 | sed 's/^/    /'
				fails=$((fails + 1))
			fi
		done
		(cd "$work/tree" && quilt --quiltrc "$REPO/.quiltrc" pop -a -q >/dev/null) || true
	done
fi
[ "$fails" -eq 0 ] || die "$fails patch check(s) failed"
