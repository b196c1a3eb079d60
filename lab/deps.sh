#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian 12 packages the lab needs. Quiet when all are present.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS="linux-source-6.12 quilt qemu-system-x86 busybox-static bash-static
build-essential bc bison flex libelf-dev libssl-dev dwarves cpio xz-utils
python3 rsync kmod ccache librsvg2-bin
clang llvm bpftool libbpf-dev zlib1g-dev libzstd-dev util-linux linux-perf"

# shellcheck disable=SC2086 # PKGS is a word list
mapfile -t missing < <(missing_packages $PKGS)
# npm fetches the pinned flame graph template; any npm will do (Debian's, or
# one that came with a nodejs from elsewhere).
command -v npm >/dev/null 2>&1 || missing+=(npm)
apt_install packages ${missing[@]+"${missing[@]}"}
