for d in /sys/devices/system/machinecheck/machinecheck*; do echo 1 > $d/check_interval; done
	/build/baseline/selftests/lazyswitch/state_storm_test -S -w spin -d 16; rc=$?
	sleep 3	# the last error's poll
	exit $rc
