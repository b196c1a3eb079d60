#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench-prep.sh: what 'make bench' needs besides the kernels and tools:
#  - build/flamegraph: the pinned d3-flame-graph template (npm ci from
#    bench/flamegraph/package-lock.json; offline once installed);
#  - build/perf-root: the host's perf with its shared libraries, so the
#    busybox guest can run it (ld.so --library-path).
# Both are redone only when their inputs change.
set -euo pipefail
. "$(dirname "$0")/../../lab/lib.sh"

# perf checks this md5 before it uses a template.
TEMPLATE_MD5=143e0d06ba69b8370b9848dcd6ae3f36
fg=$BUILD/flamegraph
tpl=$fg/node_modules/d3-flame-graph/dist/templates/d3-flamegraph-base.html
lock=$REPO/bench/flamegraph/package-lock.json
if ! [ -f "$tpl" ] || ! cmp -s "$lock" "$fg/package-lock.json"; then
	need npm npm
	stage "bench: installing the flame graph template (npm ci, d3-flame-graph 4.1.3)"
	rm -rf "$fg.tmp"
	mkdir -p "$fg.tmp"
	cp "$REPO/bench/flamegraph/package.json" "$lock" "$fg.tmp/"
	(cd "$fg.tmp" && npm ci --ignore-scripts --no-audit --no-fund > npm.log 2>&1) ||
		die "npm ci failed (log: $fg.tmp/npm.log)"
	rm -rf "$fg"
	mv "$fg.tmp" "$fg"
fi
[ "$(md5sum < "$tpl" | cut -d' ' -f1)" = "$TEMPLATE_MD5" ] ||
	die "$tpl is not d3-flame-graph 4.1.3's template (md5 differs)"

need perf linux-perf
perf=$(command -v perf)
pr=$BUILD/perf-root
if ! [ -x "$pr/perf" ] || ! cmp -s "$perf" "$pr/perf"; then
	stage "bench: copying $(perf version) and its libraries for the guest"
	rm -rf "$pr.tmp"
	mkdir -p "$pr.tmp/lib"
	cp "$perf" "$pr.tmp/perf"
	ldd "$perf" | awk '$3 ~ /^\// { print $3 }' | xargs -r cp -L -t "$pr.tmp/lib/"
	cp -L "$(ldd "$perf" | awk '/ld-linux/ { print $1 }')" "$pr.tmp/ld.so"
	"$pr.tmp/ld.so" --library-path "$pr.tmp/lib" "$pr.tmp/perf" version > /dev/null ||
		die "the copied perf does not run"
	rm -rf "$pr"
	mv "$pr.tmp" "$pr"
fi

# The emulator profiler (bench/profile/): a TCG plugin, built against the
# plugin header of the lab QEMU's own source. Debian's QEMU and HOST=1
# runs have no lab QEMU source: there the profile is not made. A profiler
# that cannot be built leaves the benchmark to run without it.
if [ "$QEMU" = lab ] && [ "${HOST:-0}" != 1 ]; then
	so=$BUILD/profile/insn_profile.so
	src=$REPO/bench/profile/insn_profile.c
	hdr=$BUILD/qemu/src/include/qemu/qemu-plugin.h
	if ! [ -f "$hdr" ]; then
		echo "warning: no $hdr (make qemu): no emulator profile" >&2
		rm -f "$so"
	elif ! [ -f "$so" ] || [ "$src" -nt "$so" ] || [ "$hdr" -nt "$so" ] ||
		[ "$(dirname "$src")/markers.h" -nt "$so" ]; then
		stage "bench: building the emulator profiler (TCG plugin)"
		mkdir -p "$BUILD/profile"
		rm -f "$so"
		# shellcheck disable=SC2046 # pkg-config prints several flags
		if gcc -O2 -Wall -Werror -shared -fPIC $(pkg-config --cflags glib-2.0) \
			-I"$(dirname "$hdr")" -o "$so.tmp" "$src"; then
			mv "$so.tmp" "$so"
		else
			echo "warning: the emulator profiler did not build: no emulator profile" >&2
		fi
	fi
fi
