T=/sys/kernel/tracing
svm=0; grep -q AuthenticAMD /proc/cpuinfo && svm=1
trace_exits() { [ $svm = 1 ] || return 0
	echo "exit_reason == $1" > $T/events/kvm/kvm_exit/filter && echo 1 > $T/events/kvm/kvm_exit/enable; }
count_exits() { if [ $svm = 1 ]; then echo "$1: $(grep -c kvm_exit $T/trace)"; else echo "$1: n/a"; fi; }
	trace_exits 0x52
	/build/patched/selftests/lazyswitch/state_storm_test -S -w spin -d 8; rc=$?
	count_exits LAZYSWITCH-MC-EXITS
	exit $rc
