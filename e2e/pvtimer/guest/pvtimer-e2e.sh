#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# pvtimer-e2e.sh BOUND_US L2_TIMEOUT: runs inside the lab guest (L1), whose
# KVM has the paravirtual TSC-deadline timer.  Boots the same kernel as a
# nested guest (L2) under L1's KVM twice, with the pvtimer and with
# "no-kvm-pvtimer", and runs sleepcheck in it each time.  QEMU 7.2 has no
# option for KVM_CAP_X86_PVTIMER: pvtimer-optin.so, preloaded, enables it
# with a scan every PVTIMER_PERIOD_US on CPU 0, and L2 runs on CPU 1.
# KVM's pvtimer statistics are summed over the live VMs only, so they are
# read while L2 is up: before it starts, at L2-UP (boot done) and at
# L2-DONE (sleepcheck done); then L2 is stopped.  TAP on stdout; the
# consoles are kept in /out/l2-*.log.  /out/splat-pattern: the console
# lines (grep -E) that fail a run.
bound_us=${1:-1000000}
l2_timeout=${2:-180}
QR=/build/qemu-root
KERNEL=/build/patched/bzImage
INITRD=/build/l2/initramfs.cpio.gz
DBG=/sys/kernel/debug/kvm
STATS="pvtimer_syncs pvtimer_fallbacks pvtimer_late pvtimer_fires pvtimer_posted pvtimer_promises pvtimer_broken_promises"
# An emulated CPU cannot scan every 100 us: every 1 ms.
PVTIMER_PERIOD_US=1000
# L2 prints little, so its boot is not slowed by the emulated serial port.
L2_CMDLINE="console=ttyS0 quiet panic=-1 SLEEPCHECK_ARGS=-n,20,-b,$bound_us,50,1000,10000"

now() { cut -d' ' -f1 /proc/uptime; }
# secs_since T0: seconds (one decimal) from uptime T0 to now.
secs_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# stats: "name=value ..." of KVM's pvtimer statistics (all live VMs).
stats() {
	for s in $STATS; do
		printf '%s=%s ' "$s" "$(cat "$DBG/$s" 2>/dev/null || echo none)"
	done
}

# delta A B: per-statistic B - A, "name=+N ...".
delta() {
	echo "$1" "$2" | awk '{
		n = NF / 2
		for (i = 1; i <= n; i++) {
			split($i, a, "="); split($(i + n), b, "=")
			printf "%s=+%d ", a[1], b[2] - a[2]
		}
	}'
}

# stat_of STATS NAME: the value of NAME in a delta or stats line.
stat_of() {
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=+*//p"
}

# field LOG KEY: the value of "sleepcheck: ... KEY=value" in LOG (a serial
# console: lines end in CR LF).
field() {
	tr -d '\r' < "$1" | sed -n "s/^sleepcheck:.* $2=\([^ ]*\).*/\1/p" | head -1
}

# run_l2 NAME EXTRA_CMDLINE: boot L2 once; sets NAME_* variables.
run_l2() {
	name=$1 log=/out/l2-$1.log
	: > "$log"
	s0=$(stats)
	t0=$(now)
	PVTIMER_PERIOD_US=$PVTIMER_PERIOD_US PVTIMER_SCAN_CPU=$scan_cpu \
	taskset -c "$l2_cpu" "$QR/ld.so" --preload "$QR/pvtimer-optin.so" \
		--library-path "$QR/lib" "$QR/qemu-system-x86_64" \
		-L "$QR/fw" -nodefaults -no-reboot -display none -monitor none \
		-accel kvm -cpu host,migratable=off -smp 1 -m 256 \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-append "$L2_CMDLINE $2" -serial "file:$log" \
		> "/out/qemu-$name.log" 2>&1 < /dev/null &
	qpid=$!
	s_up='' up_s='' s_done='' state=timeout
	while [ "$(secs_since "$t0" | cut -d. -f1)" -lt "$l2_timeout" ]; do
		if [ -z "$s_up" ] && grep -q '^L2-UP:' "$log"; then
			s_up=$(stats)
			up_s=$(secs_since "$t0")
		fi
		if grep -q '^L2-DONE:' "$log"; then
			s_done=$(stats)
			state=done
			break
		fi
		kill -0 "$qpid" 2>/dev/null || { state=died; break; }
		sleep 0.2
	done
	wall=$(secs_since "$t0")
	kill "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	# A kernel warning or crash in L2 fails the run like one in L1 would.
	bad=$(tr -d '\r' < "$log" | grep -m1 -E -f /out/splat-pattern)
	[ -z "$bad" ] || [ "$state" != done ] || state="done, but L2 reported: $bad"
	[ -n "$s_up" ] || s_up=$s0
	[ -n "$s_done" ] || s_done=$(stats)
	eval "${name}_state=\$state ${name}_wall=\$wall ${name}_up=\$up_s"
	d_boot=$(delta "$s0" "$s_up")
	d_check=$(delta "$s_up" "$s_done")
	d_total=$(delta "$s0" "$s_done")
	eval "${name}_boot_delta=\$d_boot ${name}_check_delta=\$d_check ${name}_total_delta=\$d_total"
	l2_up=$(tr -d '\r' < "$log" | sed -n 's/^L2-UP: \([0-9.]*\)s.*/\1/p')
	echo "# $name: L2 $state after ${wall}s of L1 time (L2-UP at ${up_s:-never}s, L2's uptime then ${l2_up:-?}s; console $log)"
	grep -m1 '^pvtimer-optin:' "/out/qemu-$name.log" | sed "s/^/# $name: /"
	if [ "$state" != done ]; then
		echo "# $name: last L2 console lines:"
		tail -5 "$log" | tr -d '\r' | sed 's/^/#   /'
		grep -v '^$' "/out/qemu-$name.log" | tail -3 | sed 's/^/#   qemu: /'
	fi
}

# report NAME: the figures of one run as TAP comments.
report() {
	log=/out/l2-$1.log
	eval "bd=\$${1}_boot_delta cd=\$${1}_check_delta"
	echo "# $1: stats delta during boot:       $bd"
	echo "# $1: stats delta during sleepcheck: $cd"
	tr -d '\r' < "$log" | grep -E '^L2-DMESG: .*(kvm-guest|TSC deadline)|^L2-INFO' |
		sed "s/^/# $1: /"
	tr -d '\r' < "$log" | grep -E '^sleepcheck: (hypervisor|tsc_agrees|sleep_us|loc_delta|result)' |
		sed "s/^sleepcheck: /# $1: /"
}

# The lab's TAP printer, copied beside this script.
. "$(dirname "$0")/ktap.sh"

T1="L2 detects pvtimer"
T2="L2 timers accurate with pvtimer"
T3="L2 timers accurate without pvtimer (reference)"
T4="no-kvm-pvtimer leaves the stats still"

ktap_print_header
ktap_set_plan 4
why=
[ -c /dev/kvm ] || why="L1 has no /dev/kvm"
[ -n "$why" ] || [ -x "$QR/qemu-system-x86_64" ] || why="no $QR (e2e/pvtimer/l2-prep.sh)"
[ -n "$why" ] || [ -f "$INITRD" ] || why="no $INITRD (e2e/pvtimer/l2-prep.sh)"
if [ -n "$why" ]; then
	for t in "$T1" "$T2" "$T3" "$T4"; do ktap_test_skip "$t" "$why"; done
	ktap_print_totals
	exit 0
fi
offered=
if ! [ -d "$DBG" ]; then
	offered="no $DBG (debugfs)"
elif ! [ -r "$DBG/pvtimer_promises" ]; then
	offered="this kernel's KVM has no per-VM pvtimer (no $DBG/pvtimer_promises)"
fi
# L2's vCPU runs away from the pvtimer scan's CPU.
scan_cpu=0 l2_cpu=1
echo "# L1: $(uname -r), pvtimer scan every ${PVTIMER_PERIOD_US} us on CPU $scan_cpu, L2 on CPU $l2_cpu, oversleep bound ${bound_us}us, L2 timeout ${l2_timeout}s"


# Without a constant TSC (QEMU TCG), KVM takes its vCPUs' TSC rate from the
# early calibration.  If the refined one is further from it than
# kvm.tsc_tolerance_ppm (vm-run.sh sets 10000), KVM without TSC scaling
# leaves L2's TSC multiplier at 0 and L2's deadlines never fire: sleepcheck
# then reports RDTSC and RDMSR(IA32_TSC) disagreeing, and the checks skip.
if ! grep -qw constant_tsc /proc/cpuinfo; then
	early=$(dmesg | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' | head -1)
	refined=$(dmesg | sed -n 's/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' | tail -1)
	ppm=$(awk -v e="${early:-0}" -v r="${refined:-0}" 'BEGIN { if (r > 0) { d = (e - r) / r * 1e6; printf "%d", d < 0 ? -d : d } else print "unknown" }')
	echo "# L1 TSC: no constant_tsc; calibration early ${early:-?} MHz, refined ${refined:-none} MHz: ${ppm} ppm apart; kvm.tsc_tolerance_ppm=$(cat /sys/module/kvm/parameters/tsc_tolerance_ppm)"
fi

echo "# booting L2 with the pvtimer"
run_l2 pv ""
echo "# booting L2 with no-kvm-pvtimer"
run_l2 ref no-kvm-pvtimer
report pv
report ref

pv_log=/out/l2-pv.log ref_log=/out/l2-ref.log
pv_setup=$(grep -c 'kvm-guest: setup PV timer' "$pv_log")
ref_setup=$(grep -c 'kvm-guest: setup PV timer' "$ref_log")
pv_bit=$(field "$pv_log" pv_timer)
ref_bit=$(field "$ref_log" pv_timer)
pv_syncs=$(stat_of "$pv_total_delta" pvtimer_syncs)

# TSC-deadline timers are meaningless when L2's RDTSC is not KVM's guest TSC.
tsc_why=
for r in pv ref; do
	eval "log=\$${r}_log"
	if [ "$(field "$log" tsc_agrees)" = 0 ]; then
		tsc_why="L2's RDTSC disagrees with KVM's guest TSC: RDMSR(0x10) lies $(field "$log" tsc_skew_cycles) cycles outside the RDTSCs around it in the $r run"
	fi
done

# Every check needs an L2 run.  When even the reference L2 did not finish,
# the cause is the TSC (measured above) or slow emulation, not the pvtimer.
if [ "$pv_state" = timeout ] && [ "$ref_state" = timeout ]; then
	why=${tsc_why:-"neither L2 finished within ${l2_timeout}s (L2-UP at ${pv_up:-never}s / ${ref_up:-never}s): too slow here"}
	for t in "$T1" "$T2" "$T3" "$T4"; do ktap_test_skip "$t" "$why"; done
	ktap_print_totals
	exit 0
fi

# not_done TITLE RUN STATE: an L2 that did not finish fails the check,
# unless its timers could not work (TSC disagreement); one that warned or
# crashed fails it.
not_done() {
	case "$3" in
	timeout|died)
		if [ -n "$tsc_why" ]; then
			ktap_test_skip "$1" "$tsc_why"
			return
		fi ;;
	esac
	ktap_test_fail "$1" "the $2 L2: $3"
}

# 1: CPUID bit, the guest's line and KVM taking deadlines from the area.
if [ -n "$offered" ]; then
	ktap_test_skip "$T1" "$offered"
elif [ "$pv_state" != done ]; then
	not_done "$T1" pvtimer "$pv_state"
elif [ "$pv_bit" != 1 ]; then
	ktap_test_fail "$T1" "CPUID 0x40000001.EAX bit 18 is not set in L2 (kvm_features=$(field "$pv_log" kvm_features))"
elif [ "$pv_setup" -eq 0 ]; then
	ktap_test_fail "$T1" "CPUID bit 18 set, but L2 printed no 'kvm-guest: setup PV timer'"
elif [ "${pv_syncs:-0}" -le 0 ] && [ -n "$tsc_why" ]; then
	# With KVM's TSC behind L2's, next_sync_tsc is always past for L2.
	ktap_test_skip "$T1" "no deadline taken from the area (pvtimer_syncs +0) because $tsc_why"
elif [ "${pv_syncs:-0}" -le 0 ]; then
	ktap_test_fail "$T1" "L2 set up the pvtimer, but KVM took no deadline from the area (pvtimer_syncs +${pv_syncs:-none})"
else
	ktap_test_pass "$T1"
fi

# 2 and 3: sleepcheck's verdict, from a run where the timer was in use.
accuracy() {
	title=$1 run=$2 precondition=$3
	eval "state=\$${run}_state log=\$${run}_log"
	if [ -n "$precondition" ]; then
		ktap_test_skip "$title" "$precondition"
	elif [ -n "$tsc_why" ]; then
		ktap_test_skip "$title" "$tsc_why"
	elif [ "$state" != done ]; then
		not_done "$title" "$run" "$state"
	elif [ "$(field "$log" result)" != ok ]; then
		ktap_test_fail "$title" "sleepcheck: $(tr -d '\r' < "$log" | sed -n 's/^sleepcheck: result=fail reason=//p')"
	elif ! [ "$(field "$log" loc_delta)" -gt 0 ] 2>/dev/null; then
		ktap_test_fail "$title" "no local timer interrupt in L2 during sleepcheck"
	else
		ktap_test_pass "$title"
	fi
}
pv_pre=$offered
[ -n "$pv_pre" ] || [ "$pv_setup" -gt 0 ] || pv_pre="L2 did not set up the pvtimer (see test 1)"
accuracy "$T2" pv "$pv_pre"
accuracy "$T3" ref ""

# 4: with the feature offered but refused, nothing moves at all.
if [ -n "$offered" ]; then
	ktap_test_skip "$T4" "$offered"
elif [ "$ref_state" != done ]; then
	not_done "$T4" no-kvm-pvtimer "$ref_state"
elif [ "$ref_bit" != 1 ]; then
	ktap_test_skip "$T4" "KVM did not offer the pvtimer to L2 (CPUID bit 18 clear), so no-kvm-pvtimer changed nothing"
elif [ "$ref_setup" -ne 0 ]; then
	ktap_test_fail "$T4" "L2 set up the pvtimer despite no-kvm-pvtimer"
elif [ -n "$(echo "$ref_total_delta" | awk '{ for (i = 1; i <= NF; i++) if ($i !~ /=\+0$/) print $i }')" ]; then
	ktap_test_fail "$T4" "stats moved: $ref_total_delta"
elif ! [ "$(field "$ref_log" loc_delta)" -gt 0 ] 2>/dev/null; then
	ktap_test_fail "$T4" "no local timer interrupt in L2: nothing could have moved"
else
	ktap_test_pass "$T4"
fi
ktap_print_totals
