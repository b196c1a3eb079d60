# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the kvm-lazyswitch lab scripts. Sourced, not run.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$REPO/build}
PATCHES=${PATCHES_DIR:-$REPO/patches}
RESULTS=${RESULTS_DIR:-$REPO/results}
# The two kernels every comparison (bench, test) is between. The debug
# flavour (the patched series plus kernel-debug.config) is built on demand.
FLAVOURS="baseline patched"
# The emulator of lab runs: the lab QEMU (qemu/: NRIP save, as hardware has
# it), or Debian's own with QEMU=system.
QEMU=${QEMU:-lab}
# The series line that closes the instrumentation-only head of the series,
# and the one after which patches are the debug flavour's only (checks).
BASELINE_MARK='# === baseline ends here'
DEBUG_MARK='# === debug flavour only'

# Console lines that fail a run: crashes, warnings, and what the debug
# flavour's checkers print (KASAN, lockdep, atomic sleep, RCU, list, SLUB).
SPLAT_PATTERN='BUG:|WARNING:|Oops|KASAN|lockdep is turned off|turning off the locking correctness validator|Kernel panic|kernel BUG at|general protection fault|UBSAN:|INFO: possible|possible circular locking|sleeping function called from invalid context|suspicious RCU usage|detected stall|list_(add|del) corruption|Poison overwritten|Redzone overwritten|Object padding overwritten|BUG [^ ]+ \(.*\): '

die() {
	echo "error: $*" >&2
	exit 1
}

stage() {
	echo "[lazyswitch] $*"
}

# need TOOL PACKAGE: fail with the Debian package that provides TOOL.
need() {
	command -v "$1" >/dev/null 2>&1 ||
		die "missing tool '$1' (Debian package: $2; run 'make deps')"
}

check_flavour() {
	case "$1" in
	baseline|patched|debug) ;;
	*) die "unknown flavour '$1' (expected: baseline, patched or debug)" ;;
	esac
}

# kernel_lock: hold $BUILD/.kernel.lock until this script exits, so only
# one process prepares or builds a kernel tree at a time (2 cores).
kernel_lock() {
	mkdir -p "$BUILD"
	exec 9>"$BUILD/.kernel.lock"
	if ! flock -n 9; then
		stage "waiting for another kernel build to finish"
		flock 9
	fi
}

nproc_build() {
	echo $(($(nproc) + 1))
}

# series_for FLAVOUR: the patch names of that flavour, one per line.
# patched stops at the debug-only mark; debug is the whole series.
series_for() {
	local flavour=$1 series=${SERIES:-$REPO/series}

	[ -f "$series" ] || die "no series file at $series"
	grep -q "^$BASELINE_MARK" "$series" ||
		die "series has no '$BASELINE_MARK' line marking the baseline"
	awk -v fl="$flavour" -v mark="$BASELINE_MARK" -v dmark="$DEBUG_MARK" '
		index($0, mark) == 1 { if (fl == "baseline") exit; next }
		index($0, dmark) == 1 { if (fl != "debug") exit; next }
		/^[ \t]*#/ || NF == 0 { next }
		{ print $1 }' "$series"
}

# Nested virtualization is detected, never assumed.
kvm_nested() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	local p
	for p in /sys/module/kvm_intel/parameters/nested /sys/module/kvm_amd/parameters/nested; do
		[ -r "$p" ] && grep -qE '^(Y|1)$' "$p" && return 0
	done
	return 1
}

# resolve_accel: print tcg or kvm for $ACCEL (tcg|kvm|auto), or fail.
resolve_accel() {
	case "${ACCEL:-tcg}" in
	tcg) echo tcg ;;
	kvm) kvm_nested || die "ACCEL=kvm but /dev/kvm offers no nested virtualization (kvm_intel/kvm_amd nested=0 or absent)"
	     echo kvm ;;
	auto) if kvm_nested; then echo kvm; else echo tcg; fi ;;
	*) echo "error: ACCEL must be tcg, kvm or auto, not '${ACCEL}'" >&2; exit 2 ;;
	esac
}

# free_mb DIR: whole MiB free on DIR's filesystem (df -m rounds up).
free_mb() {
	df -Pk "$1" | awk 'NR == 2 { print int($4 / 1024) }'
}

# missing_packages PKG...: those of the Debian packages that are not installed.
missing_packages() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"
	done
}

# apt_install WHAT PKG...: install PKG... as root, or fail naming them.
apt_install() {
	local what=$1
	shift
	[ $# -gt 0 ] || return 0
	[ "$(id -u)" -eq 0 ] || die "missing $what: $* (run as root or apt-get install them)"
	stage "installing $*"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || die "apt-get update failed"
	apt-get install -y -q --no-install-recommends "$@" >/dev/null ||
		die "apt-get install $* failed"
}

# Atomically publish a file: write to NAME.tmp, then call publish NAME.
publish() {
	mv -f "$1.tmp" "$1"
}

# link_emulator DIR: give a fake build directory (the harness's own tests)
# this build's lab QEMU, and its emulator profiler if there is one.
link_emulator() {
	[ "$QEMU" != lab ] || ln -sfn "$BUILD/qemu" "$1/qemu"
	[ ! -d "$BUILD/profile" ] || ln -sfn "$BUILD/profile" "$1/profile"
}

# qemu_bin: the path of the emulator that QEMU names.
qemu_bin() {
	case "$QEMU" in
	lab)
		local q=$BUILD/qemu/bin/qemu-system-x86_64
		[ -x "$q" ] || die "no lab QEMU at $q (run 'make qemu', or set QEMU=system for Debian's)"
		echo "$q" ;;
	system)
		need qemu-system-x86_64 qemu-system-x86
		command -v qemu-system-x86_64 ;;
	*)
		echo "error: QEMU must be lab or system, not '$QEMU'" >&2
		exit 2 ;;
	esac
}

# qemu_id: one line saying which emulator runs: its version, and for the
# lab QEMU the Debian source version and the sha256 of its patches.
qemu_id() {
	local q
	q=$(qemu_bin) || exit $?
	if [ "$QEMU" = lab ]; then
		python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print("lab QEMU %s (Debian %s + %d patch(es), sha256 %s)" % (j["version"].split()[-1],
      j["deb_version"], len(j["patches"]), j["patch_sha256"][:16]))' \
			"$(dirname "$q")/qemu.json"
	else
		echo "system $("$q" --version | head -1)"
	fi
}
