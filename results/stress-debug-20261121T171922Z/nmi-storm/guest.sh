T=/sys/kernel/tracing
svm=0; grep -q AuthenticAMD /proc/cpuinfo && svm=1
trace_exits() { [ $svm = 1 ] || return 0
	echo "exit_reason == $1" > $T/events/kvm/kvm_exit/filter && echo 1 > $T/events/kvm/kvm_exit/enable; }
count_exits() { if [ $svm = 1 ]; then echo "$1: $(grep -c kvm_exit $T/trace)"; else echo "$1: n/a"; fi; }
	trace_exits 0x61
	echo "LAZYSWITCH-NMIS-BEFORE: $(awk '/NMI:/ { s = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s }' /proc/interrupts)"
	(while :; do /build/debug/selftests/lazyswitch/xfeatures_switch_test > /dev/null || { echo LAZYSWITCH-XFEATURES-FAILED; exit 1; }
		[ -e /tmp/stop ] && exit 0; done) & loop=$!
	/build/debug/selftests/lazyswitch/state_storm_test -S -d 10; rc=$?
	touch /tmp/stop; wait $loop || rc=1
	echo "LAZYSWITCH-NMIS-AFTER: $(awk '/NMI:/ { s = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s }' /proc/interrupts)"
	grep NMI: /proc/interrupts
	count_exits LAZYSWITCH-NMI-EXITS
	exit $rc
