# SPDX-License-Identifier: GPL-2.0
# kvm-lazyswitch: the lab. See README.md; 'make help' lists the targets.
SHELL := /bin/bash
.DELETE_ON_ERROR:
.SUFFIXES:
.NOTPARALLEL:

BUILD ?= $(CURDIR)/build
export BUILD_DIR := $(BUILD)
INITRAMFS := $(BUILD)/initramfs.cpio.gz

.PHONY: help deps build build-baseline build-patched test test-baseline \
	bench tools unit check-patches clean

help:
	@echo "make test           build both kernels + selftests; the full suite on patched,"
	@echo "                    this project's selftests on baseline too"
	@echo "make test-baseline  the same on the baseline (instrumentation only) kernel"
	@echo "make bench          build both kernels and the tools, run every benchmark case on"
	@echo "                    both, record results/<date>-<accel>-<cpu>/ (CASES=\"cpuid hlt\", HOST=1)"
	@echo "make tools          the BPF tools kvmswitch and kvmexitlat (build/bpf/)"
	@echo "make build          build both flavours (kernel, headers, selftests)"
	@echo "make unit           unit tests of the lab scripts only"
	@echo "make check-patches  quilt push --fuzz=0 + checkpatch --strict on the series"
	@echo "make deps           install the Debian packages the lab needs"
	@echo "make clean          remove build/ (results/ is kept)"
	@echo "Variables: KSRC=<6.12 tree> ACCEL=tcg|kvm|auto TESTS=<regex>"

deps:
	@scripts/deps.sh

build-baseline build-patched: build-%: deps
	@scripts/tree.sh $*
	@scripts/kbuild.sh $*
	@$(MAKE) -s $(INITRAMFS)

build: build-baseline build-patched

$(INITRAMFS): scripts/guest/init scripts/initramfs.sh
	@scripts/initramfs.sh $@

# The full suite on the patched kernel, and this project's own selftests on
# the baseline too, so the two kernels' counts are compared in every run.
test: build
	@scripts/test.sh patched baseline:^lazyswitch/

test-baseline: build-baseline
	@scripts/test.sh baseline

unit:
	@python3 scripts/tests/run.py

# The BPF tools, built once for both kernels (CO-RE).
tools: deps
	@$(MAKE) -s --no-print-directory -C bpf OUTPUT=$(BUILD)/bpf VMLINUX=$(BUILD)/patched/obj/vmlinux

bench: build tools
	@scripts/bench-prep.sh
	@scripts/bench.sh

check-patches: deps
	@scripts/check-patches.sh

clean:
	rm -rf $(BUILD)
