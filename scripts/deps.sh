#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian 12 packages the lab needs. Quiet when all are present.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS="linux-source-6.12 quilt qemu-system-x86 busybox-static bash-static
build-essential bc bison flex libelf-dev libssl-dev dwarves cpio xz-utils
python3 rsync kmod ccache
clang llvm bpftool libbpf-dev zlib1g-dev libzstd-dev util-linux linux-perf"

missing=()
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
# npm fetches the pinned flame graph template; any npm will do (Debian's, or
# one that came with a nodejs from elsewhere).
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

[ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (run as root or apt-get install them)"
stage "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || die "apt-get update failed"
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
	die "apt-get install ${missing[*]} failed"
