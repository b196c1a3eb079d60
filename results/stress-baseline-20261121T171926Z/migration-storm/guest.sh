/build/baseline/selftests/lazyswitch/state_storm_test -d 10
