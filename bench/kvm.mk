# SPDX-License-Identifier: GPL-2.0
# Build glue for the exit microbenchmark: run as
#   make -C <tree>/tools/testing/selftests/kvm -f <repo>/bench/kvm.mk \
#        OUTPUT=<selftests output> KHDR_INCLUDES="-isystem <obj>/usr/include" \
#        USERLDFLAGS=-static
# It builds only $(OUTPUT)/bench/lazyswitch_bench, with the flags of the
# tree's KVM selftests and against the libkvm objects already in OUTPUT
# (make rebuilds one only if its source is newer). No upstream test is built.

LAZYSWITCH_BENCH_DIR := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

include Makefile

CFLAGS += -I$(LAZYSWITCH_BENCH_DIR)/../selftests/include

BENCH_PROG := $(OUTPUT)/bench/lazyswitch_bench

.DEFAULT_GOAL := bench
.DELETE_ON_ERROR:

bench: $(BENCH_PROG)

$(shell mkdir -p $(OUTPUT)/bench)
-include $(BENCH_PROG).d

$(BENCH_PROG): $(LAZYSWITCH_BENCH_DIR)/lazyswitch_bench.c $(LIBKVM_OBJS)
	$(CC) $(CFLAGS) -Werror $(CPPFLAGS) -MF $@.d $(LDFLAGS) $(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@

bench-clean:
	$(RM) $(BENCH_PROG) $(BENCH_PROG).d

.PHONY: bench bench-clean
