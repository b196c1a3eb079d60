#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-run.sh: boot a lab kernel in QEMU and run one command inside it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<USAGE
Usage: lab/vm-run.sh [-f FLAVOUR] [-t SECONDS] [-i SECONDS] [-m MIB] [-o DIR] [-q] [-M] -- COMMAND...

Boot build/FLAVOUR/bzImage with a busybox initramfs and run COMMAND (busybox
sh) inside. The build directory is shared read-only at /build, DIR read-write
at /out (the command's working directory). The full console goes to
DIR/console.log.

  -f FLAVOUR   baseline, patched or debug (default: patched)
  -t SECONDS   timeout for the whole boot (default: 600)
  -i SECONDS   stop the guest when its console has been silent this long
               (default: 900; 0 = never). A hung guest kernel never runs
               the timeouts inside it.
  -m MIB       guest memory (default: 4096)
  -o DIR       run directory (default: a new one under build/vm/)
  -q           show only TAP and lab lines of the console, not all of it
  -M           serve the QEMU monitor (HMP) on DIR/monitor.sock, for fault
               injection with stress/hmp.py (nmi, mce)

ACCEL=tcg (default): QEMU TCG, -cpu max (emulated AMD SVM + NPT).
ACCEL=kvm: KVM with -cpu host; needs /dev/kvm with nested virtualization.
ACCEL=auto: kvm when nested virtualization is available, else tcg.
TCG_THREADS=multi (default) or single: one host thread per vCPU, or one for
all (docs/reliability.md, section 2: QEMU's spurious fetch fault needs multi).

Exit status: COMMAND's status, or 124 timeout or silent console, 125 guest died before
COMMAND finished, 126 the kernel printed BUG/WARNING/Oops/panic or a
debug-kernel report (KASAN, lockdep, ...), 2 usage.

Examples:
  # run one upstream selftest on the patched kernel
  lab/vm-run.sh -- /build/patched/selftests/x86_64/cpuid_test
  # boot the baseline under KVM if nested virtualization is offered
  ACCEL=auto lab/vm-run.sh -f baseline -- uname -a
USAGE
}

flavour=patched timeout=600 idle=900 mem=4096 rundir= quiet=0 monitor=0
while getopts "f:t:i:m:o:qMh" opt; do
	case "$opt" in
	f) flavour=$OPTARG ;;
	t) timeout=$OPTARG ;;
	i) idle=$OPTARG ;;
	m) mem=$OPTARG ;;
	o) rundir=$OPTARG ;;
	q) quiet=1 ;;
	M) monitor=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "error: no command given (see -h)" >&2; exit 2; }
check_flavour "$flavour"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || { echo "error: bad timeout '$timeout' (whole seconds)" >&2; exit 2; }
[[ "$idle" =~ ^(0|[1-9][0-9]*)$ ]] || { echo "error: bad idle timeout '$idle' (whole seconds)" >&2; exit 2; }
[[ "$mem" =~ ^[1-9][0-9]*$ ]] || { echo "error: bad memory size '$mem' (MiB)" >&2; exit 2; }

kernel=$BUILD/$flavour/bzImage
initrd=$BUILD/initramfs.cpio.gz
[ -f "$kernel" ] || die "no $flavour kernel at $kernel (run 'make build')"
[ -f "$initrd" ] || die "no initramfs at $initrd (run 'make build')"

accel=$(resolve_accel)
qemu_path=$(qemu_bin)
qemu_line=$(qemu_id)
if [ "$accel" = kvm ]; then
	accel_args=(-accel kvm -cpu host)
else
	case "${TCG_THREADS:-multi}" in
	multi|single) ;;
	*) echo "error: TCG_THREADS must be multi or single, not '$TCG_THREADS'" >&2; exit 2 ;;
	esac
	accel_args=(-accel "tcg,thread=${TCG_THREADS:-multi}" -cpu max)
fi

if [ -z "$rundir" ]; then
	mkdir -p "$BUILD/vm"
	rundir=$(mktemp -d "$BUILD/vm/run.XXXXXX")
fi
mkdir -p "$rundir"
rundir=$(cd "$rundir" && pwd)
printf '%s\n' "$*" > "$rundir/cmd.sh"
console=$rundir/console.log
: > "$console"
echo "accel=$accel accel_opts=${accel_args[1]} cpu=${accel_args[3]} smp=2 mem=${mem}M flavour=$flavour" > "$rundir/vm.env"
printf 'qemu=%q\n' "$qemu_line" >> "$rundir/vm.env"
monitor_args=(-monitor none)
if [ "$monitor" = 1 ]; then
	rm -f "$rundir/monitor.sock"
	# Relative to QEMU's working directory, the run directory: a socket
	# path must fit in 108 bytes, and the run directory's may not.
	monitor_args=(-monitor "unix:monitor.sock,server=on,wait=off")
fi

# kvm.tsc_tolerance_ppm: under TCG the kernel's TSC calibration is refined
# after KVM has taken its snapshot of tsc_khz, sometimes by more than KVM's
# default 250 ppm. Without TSC scaling (none under TCG) KVM then cannot set
# the guest TSC rate, leaves the multiplier at 0 and every guest's TSC, as
# KVM sees it, stands still: TSC-deadline timers fire seconds late. 1%
# keeps the guest TSC at the host's rate instead.
kcmdline_lab="kvm.tsc_tolerance_ppm=10000"
# The debug kernel interprets the i440FX's ACPI PCI routing method (_PRT, a
# 128-step AML loop) so slowly under TCG that it hits the AML loop timeout
# and the virtio devices get no IRQ: the boot never reaches /init. Q35's _PRT
# returns a fixed table. (pci=noacpi is no way out: with it the kernel came
# up without its local APIC, on one CPU.)
machine_args=()
[ "$flavour" = debug ] && machine_args=(-machine q35)

qemu=("$qemu_path" -nodefaults -no-reboot -display none "${monitor_args[@]}"
	"${accel_args[@]}" ${machine_args[@]+"${machine_args[@]}"} -smp 2 -m "$mem"
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 panic=-1 loglevel=5 $kcmdline_lab ${KCMDLINE_EXTRA:-}"
	-serial "file:$console"
	-fsdev "local,id=fsbuild,path=$BUILD,security_model=none,readonly=on"
	-device virtio-9p-pci,fsdev=fsbuild,mount_tag=build
	-fsdev "local,id=fsout,path=$rundir,security_model=none"
	-device virtio-9p-pci,fsdev=fsout,mount_tag=out
	${QEMU_EXTRA:-})

start=$(date +%s.%N)
(cd "$rundir" && exec timeout --kill-after=10 "$timeout" "${qemu[@]}") < /dev/null > "$rundir/qemu.log" 2>&1 &
qpid=$!
# QEMU is a background job, so it does not get the terminal's SIGINT: stop
# it whenever this script ends early.
trap 'kill $qpid ${wpid:-} 2>/dev/null' EXIT
trap 'echo "error: interrupted; guest stopped" >&2; exit 130' INT
trap 'echo "error: terminated; guest stopped" >&2; exit 143' TERM
if [ "$quiet" = 1 ]; then
	tail -n +1 -F --pid=$qpid "$console" 2>/dev/null |
		grep --line-buffered -E '^(ok |not ok |#|TAP|1\.\.|LAZYSWITCH|\[lazyswitch\])' &
else
	tail -n +1 -F --pid=$qpid "$console" 2>/dev/null &
fi
tpid=$!
# The watchdog: a console that stops growing means the guest kernel hung.
wpid=
if [ "$idle" -gt 0 ]; then
	(
		last=-1 quiet_s=0 step=5
		while kill -0 $qpid 2>/dev/null; do
			sleep $step
			size=$(stat -c %s "$console" 2>/dev/null || echo 0)
			if [ "$size" != "$last" ]; then
				last=$size quiet_s=0
			else
				quiet_s=$((quiet_s + step))
			fi
			if [ "$quiet_s" -ge "$idle" ]; then
				: > "$rundir/console-idle"
				kill $qpid 2>/dev/null
				break
			fi
		done
	) &
	wpid=$!
fi
qrc=0
wait $qpid || qrc=$?
if [ -n "$wpid" ]; then
	kill $wpid 2>/dev/null || true
	wait $wpid 2>/dev/null || true
fi
wait $tpid 2>/dev/null || true
trap - EXIT
elapsed=$(echo "$(date +%s.%N) - $start" | bc)

up=$(sed -n 's/^LAZYSWITCH-UP: \([0-9.]*\)s.*/\1/p' "$console" | head -1)
echo "boot_to_command_s=${up:-none} wall_s=$elapsed" >> "$rundir/vm.env"
rc=$(sed -n 's/^LAZYSWITCH-EXIT: \([0-9]*\).*/\1/p' "$console" | tail -1)

# Debug-kernel reports too: lockdep and KASAN headers carry BUG:/WARNING:,
# the rest are matched by name.
bad=$(grep -nE "$SPLAT_PATTERN" "$console" | head -20 || true)
if [ -n "$bad" ]; then
	echo "error: the $flavour kernel reported problems (console: $console):" >&2
	echo "$bad" >&2
	exit 126
fi
if [ -e "$rundir/console-idle" ]; then
	rm -f "$rundir/console-idle"
	echo "error: guest console silent for ${idle}s; guest stopped as hung (console: $console)" >&2
	exit 124
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "error: guest timed out after ${timeout}s (console: $console)" >&2
	exit 124
fi
if [ -z "$rc" ]; then
	qerr=$(grep -v '^$' "$rundir/qemu.log" | tail -1 || true)
	echo "error: guest died before the command finished (qemu exit $qrc${qerr:+: $qerr}; console: $console)" >&2
	tail -5 "$console" >&2
	exit 125
fi
exit "$rc"
