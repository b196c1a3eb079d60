# SPDX-License-Identifier: GPL-2.0
# Build glue: run as
#   make -C <tree>/tools/testing/selftests/kvm -f <repo>/selftests/kvm.mk \
#        OUTPUT=... LAZYSWITCH_SELFTESTS=<repo>/selftests
# It builds the tree's own KVM selftests unchanged, and every *.c in
# LAZYSWITCH_SELFTESTS against the same libkvm objects and flags, so a new
# test file needs no Makefile edit.

include Makefile

# The shared test library: headers for this project's selftests, and for
# the benchmark.
CFLAGS += -I$(LAZYSWITCH_SELFTESTS)/include

LAZYSWITCH_SRCS := $(sort $(wildcard $(LAZYSWITCH_SELFTESTS)/*.c))
LAZYSWITCH_PROGS := $(patsubst $(LAZYSWITCH_SELFTESTS)/%.c,$(OUTPUT)/lazyswitch/%,$(LAZYSWITCH_SRCS))
LAZYSWITCH_TIMEOUT := $(shell sed -n 's/^timeout=//p' settings)
-include $(LAZYSWITCH_PROGS:=.d)

$(shell mkdir -p $(OUTPUT)/lazyswitch)

all: $(LAZYSWITCH_PROGS) lazyswitch-scripts

$(OUTPUT)/lazyswitch/%: $(LAZYSWITCH_SELFTESTS)/%.c $(LIBKVM_OBJS)
	$(CC) $(CFLAGS) $(CPPFLAGS) -MF $@.d $(LDFLAGS) $(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@

# Script tests find their helper binaries next to themselves.
lazyswitch-scripts: $(TEST_PROGS)
	$(foreach s,$(TEST_PROGS),cp -p $(s) $(OUTPUT)/$(s);)

# One line per test: origin, path below OUTPUT, timeout in seconds. A test
# whose source declares "lazyswitch-subtests: A B" is listed once per
# subtest, as PATH:A and PATH:B; the runner passes it -t A, -t B.
lazyswitch-list:
	@$(foreach t,$(TEST_GEN_PROGS) $(TEST_PROGS),echo "upstream $(patsubst $(OUTPUT)/%,%,$(t)) $(LAZYSWITCH_TIMEOUT)";)
	@for src in $(LAZYSWITCH_SRCS); do \
		t=lazyswitch/$$(basename $$src .c); \
		subs=$$(sed -n 's/^ \* lazyswitch-subtests: *\([a-z0-9_ -]*[a-z0-9_-]\) *$$/\1/p' $$src); \
		for s in $${subs:-""}; do echo "lazyswitch $$t$${s:+:$$s} $(LAZYSWITCH_TIMEOUT)"; done; \
	done

.PHONY: lazyswitch-scripts lazyswitch-list
