#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# stress.sh [-f FLAVOUR] [-d SECONDS] [-c CASES] [-q]: the kernel under fault injection
# and hostile input, one VM boot per case, TAP on stdout:
#   nmi-storm       QEMU monitor 'nmi' every 5 ms while exit-heavy guests run
#                   on every vCPU; NMIs counted in the guest before and after
#   mce-corrected   corrected machine-check errors (QEMU 'mce', UC=0) while
#                   guests spin on every vCPU; each must be logged by the host
#   mce-exception   an uncorrected, no-action #MC (UCNA) while a vCPU is in
#                   guest mode: was it taken on KVM's #MC intercept path?
#   migration-storm state_storm_test: SCHED_RR, 1 ms slices, affinity flips
#   hostile-guest   hostile_guest_test (fixed seed); on the debug flavour a
#                   kmemleak scan before and after
# -c "CASE...": only these cases. -q: the short form for 'make test' (4 s
# storms, 2 errors, no mce-exception probe, which under TCG takes a whole
# boot to end in a guest or host crash).
# Under TCG each boot runs with QEMU's exception log (-d int). A failed case
# whose log shows TCG's spurious instruction-fetch fault (tcg_fault.py,
# docs/reliability.md section 2), on either kernel, is run again, up to 4
# runs; the evidence of each lost run is kept. Any other failure counts.
# The run is recorded as results/stress-FLAVOUR-<time>/ once complete.
set -uo pipefail
. "$(dirname "$0")/../lab/lib.sh"

all_cases="nmi-storm mce-corrected mce-exception migration-storm hostile-guest"
flavour=patched seconds=10 quick=0 cases=
while getopts "f:d:c:qh" opt; do
	case "$opt" in
	f) flavour=$OPTARG ;;
	d) seconds=$OPTARG ;;
	c) cases=$OPTARG ;;
	q) quick=1 ;;
	h) sed -n '3,24s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "error: usage: $0 [-f FLAVOUR] [-d SECONDS] [-c CASES] [-q]" >&2; exit 2 ;;
	esac
done
for c in $cases; do
	[[ " $all_cases " == *" $c "* ]] || die "unknown case '$c' (known: $all_cases)"
done
if [ -z "$cases" ]; then
	cases=$all_cases
	[ "$quick" = 0 ] || cases=${cases/mce-exception /}
fi
check_flavour "$flavour"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "bad duration '$seconds' (whole seconds)"
[ "$quick" = 0 ] || [ "$seconds" -le 4 ] || seconds=4
need python3 python3
st=$BUILD/$flavour/selftests
for t in lazyswitch/state_storm_test lazyswitch/hostile_guest_test lazyswitch/xfeatures_switch_test; do
	[ -x "$st/$t" ] || die "no $t in $st (run 'make build-$flavour')"
done
[ -f "$BUILD/$flavour/bzImage" ] || die "no $flavour kernel (run 'make build-$flavour')"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS" || die "cannot create $RESULTS"
[ "$(free_mb "$RESULTS")" -ge 20 ] || die "no space: less than 20 MiB free for $RESULTS"
tmp=$(mktemp -d "$RESULTS/.incomplete-stress-$flavour.XXXXXX") || die "cannot write to $RESULTS"
# An interrupted run leaves nothing under results/; its logs go to build/aborted/.
vmpid=
keep_aborted() {
	# vm-run.sh stops its guest on TERM.
	[ -z "${vmpid:-}" ] || { kill "$vmpid" 2>/dev/null; wait "$vmpid" 2>/dev/null; }
	[ -z "${qlog:-}" ] || rm -f "$qlog"
	[ -n "${tmp:-}" ] && [ -d "$tmp" ] || return 0
	mkdir -p "$BUILD/aborted" && mv "$tmp" "$BUILD/aborted/" 2>/dev/null &&
		echo "aborted run kept in $BUILD/aborted/$(basename "$tmp")" >&2 || rm -rf "$tmp"
}
trap keep_aborted EXIT
trap 'echo "error: stress run interrupted" >&2; exit 130' INT
trap 'echo "error: stress run terminated" >&2; exit 143' TERM

# QEMU's exception log of the current boot, under TCG. Its size is capped:
# a host kernel caught in a fault loop writes gigabytes.
qlog='' qlog_cap_mb=1024
if [ "$(resolve_accel)" = tcg ]; then
	mkdir -p "$BUILD/vm"
	if [ "$(free_mb "$BUILD/vm")" -ge $((qlog_cap_mb + 200)) ]; then
		qlog=$(mktemp "$BUILD/vm/stress-qemu-int.XXXXXX")
	else
		echo "# less than $((qlog_cap_mb + 200)) MiB free in $BUILD/vm: no QEMU exception log, so no failure can be put down to TCG"
	fi
fi
max_runs=4

# tcg_fault CASE: did TCG's spurious fetch fault end this boot? Prints its
# line; the line and the log around the fault are kept in the case's directory.
tcg_fault() {
	local why
	[ -n "$qlog" ] && [ -s "$qlog" ] &&
		why=$(python3 "$REPO/stress/tcg_fault.py" "$qlog" -o "$tmp/$1/tcg-fault.log") &&
		echo "$why" | tee "$tmp/$1/tcg-fault.txt"
}

g=/build/$flavour/selftests/lazyswitch
lost=0 again=
. "$REPO/lab/ktap.sh"
ktap_print_header
tap() {	# tap ok|fail|skip NAME TEXT
	local why mb
	if [ -n "$qlog" ] && [ -f "$qlog" ]; then
		mb=$(( $(stat -c %s "$qlog") >> 20 ))
		echo "# $2: QEMU exception log: $mb MiB"
		# QEMU goes on past the cap; only its log stops.
		[ "$1" != fail ] || [ "$mb" -lt "$qlog_cap_mb" ] ||
			set -- fail "$2" "$3; QEMU's exception log was cut at its $qlog_cap_mb MiB cap, so a later TCG fault would not be seen"
	fi
	if [ "$1" = fail ] && why=$(tcg_fault "$2"); then
		lost=$((lost + 1))
		if [ "$lost" -lt "$max_runs" ]; then
			mv "$tmp/$2" "$tmp/$2-tcg-fault-$lost"
			echo "# $2: run $lost lost to $why; evidence in $2-tcg-fault-$lost/; running it again"
			again=1
			return
		fi
		set -- fail "$2" "$3; all $max_runs runs ended by QEMU TCG's spurious fetch fault, the last: $why"
	elif [ "$1" = ok ] && [ "$lost" -gt 0 ]; then
		set -- ok "$2" "$3 (passed on run $((lost + 1)); $lost lost to QEMU TCG's spurious fetch fault, evidence in $2-tcg-fault-*/)"
	fi
	case $1 in
	ok) ktap_test_pass "$2: $3" ;;
	skip) ktap_test_skip "$2" "$3" ;;
	*) ktap_test_fail "$2: $3" ;;
	esac
	echo "$KTAP_LAST" >> "$tmp/tap.txt"
}

# boot CASE TIMEOUT GUEST_SCRIPT: one VM boot with the monitor, in the background.
boot() {
	local dir=$tmp/$1
	mkdir -p "$dir"
	printf '%s\n' "$3" > "$dir/guest.sh"
	[ -z "$qlog" ] || : > "$qlog"
	# The debug kernel boots in 30 s in an idle lab, 77 s beside a build.
	[ "$flavour" != debug ] || set -- "$1" $(($2 + 240)) "$3"
	(
		[ -z "$qlog" ] || { ulimit -f $((qlog_cap_mb * 1024)); export QEMU_EXTRA="${QEMU_EXTRA:-} -d int -D $qlog"; }
		exec "$REPO/lab/vm-run.sh" -M -f "$flavour" -t "$2" -o "$dir" -- "sh /out/guest.sh"
	) > "$dir/vm-run.log" 2>&1 &
	vmpid=$!
}

# wait_console CASE TEXT: until the guest prints TEXT (or dies: status 1).
wait_console() {
	while ! grep -q "$2" "$tmp/$1/console.log" 2>/dev/null; do
		kill -0 "$vmpid" 2>/dev/null || return 1
		sleep 0.2
	done
}

finish() {	# finish: the VM's exit status
	local rc=0
	wait "$vmpid" || rc=$?
	vmpid=
	return $rc
}

# The guest's kvm_exit events with one SVM exit code (AMD only: VMX reports
# NMIs and #MCs under one exception exit reason).
trace_exits_setup='T=/sys/kernel/tracing
svm=0; grep -q AuthenticAMD /proc/cpuinfo && svm=1
trace_exits() { [ $svm = 1 ] || return 0
	echo "exit_reason == $1" > $T/events/kvm/kvm_exit/filter && echo 1 > $T/events/kvm/kvm_exit/enable; }
count_exits() { if [ $svm = 1 ]; then echo "$1: $(grep -c kvm_exit $T/trace)"; else echo "$1: n/a"; fi; }'
nmi_sum="awk '/NMI:/ { s = 0; for (i = 2; i <= NF; i++) if (\$i ~ /^[0-9]+\$/) s += \$i; print s }' /proc/interrupts"

case_nmi_storm() {
	stage "$flavour: nmi-storm (${seconds}s, an NMI every 5 ms)"
	boot nmi-storm $((seconds * 10 + 120)) "$trace_exits_setup
	trace_exits 0x61
	echo \"LAZYSWITCH-NMIS-BEFORE: \$($nmi_sum)\"
	(while :; do $g/xfeatures_switch_test -t exits > /dev/null || { echo LAZYSWITCH-XFEATURES-FAILED; exit 1; }
		[ -e /tmp/stop ] && exit 0; done) & loop=\$!
	$g/state_storm_test -S -d $seconds; rc=\$?
	touch /tmp/stop; wait \$loop || rc=1
	echo \"LAZYSWITCH-NMIS-AFTER: \$($nmi_sum)\"
	grep NMI: /proc/interrupts
	count_exits LAZYSWITCH-NMI-EXITS
	exit \$rc"
	sent=0
	if wait_console nmi-storm '# guests running'; then
		sent=$(python3 "$REPO/stress/hmp.py" "$tmp/nmi-storm/monitor.sock" --every 5 \
			--for "$((seconds > 2 ? seconds - 1 : seconds))" nmi 2> "$tmp/nmi-storm/hmp.err" |
			sed -n 's/^hmp: \([0-9]*\) commands.*/\1/p')
	fi
	vmrc=0; finish || vmrc=$?
	c=$tmp/nmi-storm/console.log
	before=$(sed -n 's/^LAZYSWITCH-NMIS-BEFORE: //p' "$c" | tr -d '\r')
	after=$(sed -n 's/^LAZYSWITCH-NMIS-AFTER: //p' "$c" | tr -d '\r')
	inguest=$(sed -n 's/^LAZYSWITCH-NMI-EXITS: //p' "$c" | tr -d '\r')
	runs=$(sed -n 's/.*intact in guest and host over \([0-9]*\) KVM_RUNs.*/\1/p' "$c")
	if [ "$vmrc" != 0 ]; then
		tap fail nmi-storm "guests failed or the kernel complained (exit $vmrc; $(tail -1 "$tmp/nmi-storm/vm-run.log"))"
	elif [ -z "$before" ] || [ -z "$after" ] || [ "${sent:-0}" = 0 ]; then
		tap fail nmi-storm "no NMI count or none sent ($(head -1 "$tmp/nmi-storm/hmp.err" 2>/dev/null))"
	elif [ $((after - before)) -le 0 ]; then
		tap fail nmi-storm "$sent NMIs sent, none seen by the guest kernel"
	else
		tap ok nmi-storm "$sent NMIs sent, $((after - before)) seen by the host kernel, ${inguest:-?} of them exits from guest mode; guests correct over ${runs:-?} KVM_RUNs plus xfeatures_switch_test in a loop; no splat"
	fi
}

case_mce_corrected() {
	stage "$flavour: mce-corrected (corrected errors while guests spin)"
	errors=$((quick ? 2 : 6))
	boot mce-corrected $((seconds * 10 + 120)) "for d in /sys/devices/system/machinecheck/machinecheck*; do echo 1 > \$d/check_interval; done
	$g/state_storm_test -S -w spin -d $((errors * 2 + 4)); rc=\$?
	sleep 3	# the last error's poll
	exit \$rc"
	injected=0
	if wait_console mce-corrected '# guests running'; then
		for i in $(seq "$errors"); do
			# MCi_STATUS VAL|EN, UC=0: a corrected error; QEMU only fills the bank.
			python3 "$REPO/stress/hmp.py" "$tmp/mce-corrected/monitor.sock" \
				"mce $((i % 2)) $((1 + i % 2)) 0x9000000000000000 0x0 0 0" \
				>> "$tmp/mce-corrected/hmp.log" 2>&1 && injected=$((injected + 1))
			sleep 2
		done
	fi
	vmrc=0; finish || vmrc=$?
	c=$tmp/mce-corrected/console.log
	logged=$(grep -c 'Hardware Error\]: CPU [0-9]*: Machine Check: 0 Bank [0-9]*: 9000000000000000' "$c")
	if [ "$vmrc" != 0 ]; then
		tap fail mce-corrected "guests failed or the kernel complained (exit $vmrc; $(tail -1 "$tmp/mce-corrected/vm-run.log"))"
	elif [ "$injected" != "$errors" ] || [ "$logged" != "$injected" ]; then
		tap fail mce-corrected "$injected of $errors errors injected, $logged logged by the host"
	else
		tap ok mce-corrected "$injected corrected errors injected while vCPUs spun in guest mode, $logged logged by the host's MCA poll (no #MC exception: QEMU raises one only for UC=1), guests correct, no splat"
	fi
}

case_mce_exception() {
	stage "$flavour: mce-exception (UCNA #MC while a vCPU is in guest mode)"
	boot mce-exception 120 "$trace_exits_setup
	trace_exits 0x52
	$g/state_storm_test -S -w spin -d 8; rc=\$?
	count_exits LAZYSWITCH-MC-EXITS
	exit \$rc"
	if wait_console mce-exception '# guests running'; then
		sleep 2
		# VAL|UC|EN, PCC=0, S=0, AR=0 (UCNA); MCG_STATUS RIPV|MCIP.
		python3 "$REPO/stress/hmp.py" "$tmp/mce-exception/monitor.sock" \
			"mce 1 2 0xb000000000000000 0x5 0 0" > "$tmp/mce-exception/hmp.log" 2>&1
	fi
	vmrc=0; finish || vmrc=$?
	c=$tmp/mce-exception/console.log
	mcexits=$(sed -n 's/^LAZYSWITCH-MC-EXITS: //p' "$c" | tr -d '\r')
	rip=$(sed -n 's/.*Hardware Error\]: RIP /RIP /p' "$c" | head -1)
	if [ "$vmrc" = 0 ] && [ "${mcexits:-0}" != 0 ] && [ "$mcexits" != n/a ]; then
		tap ok mce-exception "the #MC exited from guest mode ($mcexits #MC intercepts) and the host handled it without a crash or warning"
	elif grep -q "Unhandled exception '0x12'" "$c"; then
		tap skip mce-exception "QEMU TCG delivered the #MC into the L2 guest through its own IDT (the guest died on vector 0x12), not as an SVM #MC intercept to KVM: KVM's #MC path cannot be reached this way (console: mce-exception/console.log in the run directory)"
	elif grep -q 'Fatal local machine check\|Fatal machine check' "$c"; then
		tap skip mce-exception "the #MC reached the host outside guest mode (${rip:-RIP unknown}), where an uncorrected error on AMD is fatal by design; KVM's #MC intercept was not involved (console: mce-exception/console.log in the run directory)"
	else
		tap fail mce-exception "unexplained outcome (VM exit $vmrc, ${mcexits:-no} #MC intercepts; console: $c)"
	fi
}

case_migration_storm() {
	stage "$flavour: migration-storm (${seconds}s)"
	boot migration-storm $((seconds * 10 + 120)) "$g/state_storm_test -d $seconds"
	vmrc=0; finish || vmrc=$?
	c=$tmp/migration-storm/console.log
	line=$(grep -m1 -E '^(ok|not ok) 1 ' "$c" | tr -d '\r')
	if [ "$vmrc" = 0 ] && [ -n "$line" ]; then
		tap ok migration-storm "${line#ok 1 }"
	else
		tap fail migration-storm "exit $vmrc: ${line:-no result} ($(tail -1 "$tmp/migration-storm/vm-run.log"))"
	fi
}

case_hostile_guest() {
	stage "$flavour: hostile-guest"
	# kmemleak's scans on the debug kernel are slow.
	local budget=$((seconds * 10 + 180))
	[ "$flavour" != debug ] || budget=$((budget + 120))
	boot hostile-guest $budget "K=/sys/kernel/debug/kmemleak
	# kmemleak (debug kernel): forget what boot left, check what the test leaves.
	leakcheck=0
	if [ -w \$K ] && echo scan > \$K && echo clear > \$K; then leakcheck=1; fi
	$g/hostile_guest_test; rc=\$?
	if [ \$leakcheck = 1 ]; then
		# An object must be unreferenced in two scans, and older than 5 s.
		sleep 6
		if echo scan > \$K && echo scan > \$K; then
			echo \"LAZYSWITCH-LEAKS: \$(grep -c '^unreferenced object' \$K)\"
			cat \$K
		else
			echo 'LAZYSWITCH-LEAKS: scan failed'
		fi
	fi
	# lockdep switches itself off after its first report.
	[ ! -r /proc/lockdep_stats ] ||
		echo \"LAZYSWITCH-DEBUG-LOCKS: \$(awk '/debug_locks:/ { print \$2 }' /proc/lockdep_stats)\"
	exit \$rc"
	vmrc=0; finish || vmrc=$?
	c=$tmp/hostile-guest/console.log
	total=$(grep -m1 -o 'total: [0-9]* hostile inputs, [0-9]* #GP, seed 0x[0-9a-f]*' "$c")
	leaks=$(sed -n 's/^LAZYSWITCH-LEAKS: //p' "$c" | tr -d '\r')
	locks=$(sed -n 's/^LAZYSWITCH-DEBUG-LOCKS: //p' "$c" | tr -d '\r')
	if [ "$vmrc" != 0 ]; then
		tap fail hostile-guest "exit $vmrc ($(tail -1 "$tmp/hostile-guest/vm-run.log")); replay with the seed printed in $c"
	elif [ "$flavour" = debug ] && ! [[ "$leaks" =~ ^[0-9]+$ && "$locks" = 1 ]]; then
		tap fail hostile-guest "$total; the debug checks did not run (kmemleak: '${leaks:-absent}', lockdep debug_locks: '${locks:-absent}')"
	elif [ -n "$leaks" ] && [ "$leaks" != 0 ]; then
		tap fail hostile-guest "$total; kmemleak: $leaks unreferenced objects (see $c)"
	else
		tap ok hostile-guest "$total; ${leaks:+kmemleak: 0 leaks, lockdep still on; }no crash, no splat"
	fi
}

# (The cases use $c for their console.)
for name in $cases; do
	lost=0
	while :; do
		again=
		case_${name//-/_}
		[ -n "$again" ] || break
	done
done

# A disk that filled up during the run leaves truncated logs: record nothing.
[ "$(free_mb "$RESULTS")" -gt 0 ] || die "$RESULTS filled up during the run; nothing recorded"
echo "1..$KTAP_N" >> "$tmp/tap.txt"
dest=$RESULTS/stress-$flavour-$stamp
mv "$tmp" "$dest" || die "cannot record the run in $dest"
tmp=
ln -sfn "stress-$flavour-$stamp" "$RESULTS/stress-$flavour-latest.tmp" &&
	mv -T "$RESULTS/stress-$flavour-latest.tmp" "$RESULTS/stress-$flavour-latest"
stage "$flavour: $((KTAP_N - KTAP_FAIL)) of $KTAP_N stress cases passed or skipped; recorded in $dest"
ktap_finished plan
