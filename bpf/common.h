/* SPDX-License-Identifier: GPL-2.0 */
/* common.h: kernel feature checks shared by kvmswitch and kvmexitlat. */
#ifndef __COMMON_H
#define __COMMON_H

#include <stdbool.h>

/*
 * Load the kernel's BTF: /sys/kernel/btf/vmlinux, or the file named by
 * $KVMSWITCH_BTF (a test hook), plus the split BTF of the kvm, kvm_amd and
 * kvm_intel modules if they are loaded.  Prints an error and returns -1
 * when there is no BTF.
 */
int kbtf_open(const char *tool);
void kbtf_close(void);
/* A FUNC that fentry/fexit can attach to. */
bool kbtf_has_func(const char *name);
/*
 * The tracepoint kvm:@name (or msr:@name), known from its btf_trace_*
 * typedef.  $KVMSWITCH_HIDE_TP (a test hook) lists names, separated by
 * commas, to treat as missing; "all" hides the series' four tracepoints.
 */
bool kbtf_has_tp(const char *name);

/* Host XCR0 as loaded by the kernel (XGETBV(0)), 0 without OSXSAVE. */
unsigned long long host_xcr0(void);
/* The kernel enabled protection keys (CPUID.7.0:ECX.OSPKE). */
bool host_pku(void);

/* Print a libbpf message: warnings always, debug output only if verbose. */
void set_libbpf_verbose(bool verbose);

#endif /* __COMMON_H */
