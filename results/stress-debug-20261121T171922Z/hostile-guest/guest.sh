K=/sys/kernel/debug/kmemleak
	if [ -w $K ]; then echo scan > $K; echo clear > $K; fi
	/build/debug/selftests/lazyswitch/hostile_guest_test; rc=$?
	if [ -w $K ]; then
		# An object must be unreferenced in two scans, and older than 5 s.
		sleep 6; echo scan > $K; echo scan > $K
		echo "LAZYSWITCH-LEAKS: $(grep -c '^unreferenced object' $K)"
		cat $K
	fi
	exit $rc
