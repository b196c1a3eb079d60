#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# probe.sh KO [CPU]: load the lazyswitch_probe module KO, print its table
# (cycles per primitive, see lazyswitch_probe.c) for CPU (default: the CPU
# this runs on), and unload it. Runs in the lab guest (busybox) or natively.
ko=$1
cpu=${2:-}
[ -f "$ko" ] || { echo "error: no probe module at '$ko'" >&2; exit 2; }
f=/sys/kernel/debug/lazyswitch_probe
grep -q " /sys/kernel/debug debugfs " /proc/mounts ||
	{ echo "error: debugfs is not mounted at /sys/kernel/debug" >&2; exit 1; }
insmod "$ko" || { echo "error: insmod $ko failed" >&2; exit 1; }
if [ -n "$cpu" ]; then
	taskset -c "$cpu" cat "$f"
else
	cat "$f"
fi
rc=$?
rmmod lazyswitch_probe || echo "warning: rmmod lazyswitch_probe failed" >&2
[ $rc -eq 0 ] || echo "error: reading $f failed" >&2
exit $rc
