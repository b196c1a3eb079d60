/* SPDX-License-Identifier: GPL-2.0 */
/*
 * common.h: what kvmswitch and kvmexitlat share besides helpers.c: the
 * common options, the run loop, kernel feature checks, libbpf logging.
 */
#ifndef __COMMON_H
#define __COMMON_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>

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
bool svm_nrips(void);

/* Print a libbpf message: warnings always, debug output only if verbose. */
void set_libbpf_verbose(bool verbose);

/*
 * The options of both tools: -p, --vcpu, --per-vcpu, -i, -d, --json, -v,
 * -h and the positional [interval] [count].  A tool's argp takes
 * tool_argp_children; its struct tool_args goes in as the child's input
 * (state->child_inputs[0] at ARGP_KEY_INIT, or argp_parse()'s input when
 * the tool has no parser).  A bad value exits 2 after one "@tool: error:"
 * line.
 */
struct tool_args {
	const char *tool;		/* set by the tool: name in messages */
	const char *per_vcpu_doc;	/* set by the tool: --per-vcpu help */
	int pid;			/* 0: any process */
	long vcpu;			/* -1: any vCPU */
	bool per_vcpu;
	long interval;			/* 0: one report, at the end */
	long duration;			/* 0: until a signal */
	long count;			/* 0: no limit */
	bool json;
	bool verbose;
};
extern const struct argp tool_argp;
/* A tool's argp .children: tool_argp alone. */
extern const struct argp_child tool_argp_children[];

/* Let SIGINT and SIGTERM end tool_run() instead of the process. */
void tool_catch_signals(void);
/*
 * Call @report every a->interval seconds, a->count times at most, until
 * a->duration has passed or a signal came; then once more for the rest of
 * the run, unless the count was reached or the rest is empty.
 */
void tool_run(const struct tool_args *a, void (*report)(void *ctx, double secs),
	      void *ctx);

/*
 * Move every entry of map @fd into a new array of @rsz-byte records, the
 * key first and the value in the last @vsz bytes, and delete it from the
 * map.  Returns the array (for free()) and its length in *@n; NULL if out
 * of memory or if @ksz is over 64 bytes.
 */
void *dump_map(int fd, size_t ksz, size_t vsz, size_t rsz, size_t *n);

#endif /* __COMMON_H */
