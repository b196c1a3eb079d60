# SPDX-License-Identifier: GPL-2.0
# kvm-lazyswitch: the lab. See README.md; 'make help' lists the targets.
SHELL := /bin/bash
.DELETE_ON_ERROR:
.SUFFIXES:
.NOTPARALLEL:

BUILD ?= $(CURDIR)/build
export BUILD_DIR := $(BUILD)
INITRAMFS := $(BUILD)/initramfs.cpio.gz

.PHONY: help deps build build-baseline build-patched build-debug test test-baseline \
	test-stress test-debug bench probe tools unit check-patches clean qemu lava

help:
	@echo "make test           build both kernels + selftests; the full suite on patched,"
	@echo "                    this project's selftests on baseline too"
	@echo "make test-baseline  the same on the baseline (instrumentation only) kernel"
	@echo "make test-stress    NMI storm, machine checks, preemption/migration storm and"
	@echo "                    hostile guest on patched and baseline; harness robustness"
	@echo "make test-debug     the debug kernel (series + KASAN, lockdep, ...): full suite"
	@echo "                    and the stress cases, no splat allowed"
	@echo "make bench          build both kernels and the tools, run every benchmark case on"
	@echo "                    both, record results/<date>-<accel>-<cpu>/ (CASES=\"cpuid hlt\", HOST=1)"
	@echo "make lava           LAVA jobs of the built kernels (qemu and bare metal), validated,"
	@echo "                    in build/lava/jobs/; lava/lava.sh run runs one (docs/lava.md)"
	@echo "make probe          boot each kernel and print what each switch primitive costs"
	@echo "                    (bench/probe: VMSAVE/VMLOAD, WRMSR, XSETBV, WRPKRU, LTR)"
	@echo "make tools          the BPF tools kvmswitch and kvmexitlat (build/bpf/)"
	@echo "make build          build both flavours (kernel, headers, selftests)"
	@echo "make build-debug    the debug flavour (kernel-debug.config on top)"
	@echo "make qemu           the lab QEMU: Debian's 7.2 with NRIP save for TCG (qemu/)"
	@echo "make unit           the unit tests of every component's scripts"
	@echo "make check-patches  quilt push --fuzz=0 + checkpatch --strict on the series"
	@echo "make deps           install the Debian packages the lab needs"
	@echo "make clean          remove build/ (results/ is kept)"
	@echo "Variables: KSRC=<6.12 tree> ACCEL=tcg|kvm|auto QEMU=lab|system TESTS=<regex>"

deps:
	@lab/deps.sh

build-baseline build-patched build-debug: build-%: deps
	@lab/tree.sh $*
	@lab/kbuild.sh $*
	@$(MAKE) -s $(INITRAMFS)

# The lab QEMU (Debian's, with qemu/patches: NRIP save), the emulator of
# every lab run unless QEMU=system; HOST=1 runs none.
qemu: deps
	@qemu/build.sh

QEMU ?= lab
LAB_QEMU := $(if $(filter lab,$(QEMU)),$(if $(filter 1,$(HOST)),,qemu),)
build: build-baseline build-patched $(LAB_QEMU)

$(INITRAMFS): lab/guest/init lab/guest/mounts.sh lab/initramfs.sh
	@lab/initramfs.sh $@

# The full suite on the patched kernel, and this project's own selftests on
# the baseline too, so the two kernels' counts are compared in every run.
# The debug kernel runs this project's selftests and the short stress form
# (docs/reliability.md says why this subset).
test: build build-debug
	@e2e/pvtimer/l2-prep.sh
	@lab/test.sh patched baseline:^lazyswitch/ debug:^lazyswitch/

test-baseline: build-baseline $(LAB_QEMU)
	@lab/test.sh baseline

# Fault injection and hostile input on both kernels, then the harness
# under failure. Each prints TAP; the run fails if any case failed.
test-stress: build
	@rc=0; for fl in patched baseline; do stress/stress.sh -f $$fl || rc=1; done; \
	stress/robustness.sh || rc=1; exit $$rc

# The whole suite and the stress cases on the debug kernel.
test-debug: build-debug $(LAB_QEMU)
	@rc=0; selftests/run.sh debug || rc=1; stress/stress.sh -f debug || rc=1; exit $$rc

unit:
	@python3 lab/tests/run.py

# The BPF tools, built once for both kernels (CO-RE).
tools: deps
	@$(MAKE) -s --no-print-directory -C bpf OUTPUT=$(BUILD)/bpf VMLINUX=$(BUILD)/patched/obj/vmlinux

bench: build tools
	@bench/harness/bench-prep.sh
	@bench/harness/bench.sh

# The same tests and benchmark as LAVA jobs (lava/, docs/lava.md).
lava: build tools
	@lava/lava.sh jobs

# The primitive-cost probe (bench/probe/lazyswitch_probe.c) in each kernel.
probe: build
	@bench/probe/run.sh

check-patches: deps
	@lab/check-patches.sh

clean:
	rm -rf $(BUILD)
