# SPDX-License-Identifier: GPL-2.0
# Build glue for bpf/tests/exit_workload.c on the KVM selftest library:
#   make -C <tree>/tools/testing/selftests/kvm -f <repo>/bpf/tests/workload.mk \
#        OUTPUT=... WORKLOAD_SRC=.../exit_workload.c WORKLOAD_BIN=... workload
# (bpf/Makefile's "workload" target does this.)  libkvm is built in OUTPUT
# with the tree's own flags, as selftests/kvm.mk does for our selftests.

include Makefile

workload: $(WORKLOAD_BIN)

$(WORKLOAD_BIN): $(WORKLOAD_SRC) $(LIBKVM_OBJS)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@

.PHONY: workload
