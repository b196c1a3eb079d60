/* SPDX-License-Identifier: GPL-2.0 */
/*
 * report.h: user-space aggregation and output for kvmswitch and
 * kvmexitlat, kept free of libbpf so that tests/unit.c can link it.
 */
#ifndef __REPORT_H
#define __REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>
#include "kvmswitch.h"

struct ks_exit_rec {
	struct ks_exit_key k;
	struct ks_exit_val v;
};

struct ks_msr_rec {
	struct ks_msr_key k;
	__u64 count;
};

struct ks_vm_rec {
	struct ks_vm_key k;
	struct ks_vm_val v;
};

/* One interval's worth of map contents; the printers sort it in place. */
struct ks_snapshot {
	struct ks_vm_rec *vms;
	size_t nvms;
	struct ks_exit_rec *exits;
	size_t nexits;
	struct ks_msr_rec *msrs;
	size_t nmsrs;
};

struct ks_meta {
	const char *xf_source;		/* "tracepoint", "fentry:...", "none" */
	const char *uret_source;
	const char *fastpath_source;
	const char *reenter_source;	/* what counts as a fastpath re-entry */
	double interval_s;		/* length of the interval */
	long long timestamp;		/* seconds since the epoch */
	bool per_vcpu;
	bool read_msr;
};

/* Per (tgid, vcpu) totals, derived from a snapshot. */
struct ks_group {
	__u32 tgid, vcpu;
	char comm[KS_COMM_LEN];
	__u64 exits, entries, fastpath, reenter, kvm_runs;
	__u64 msr_writes, msr_reads, uret_set, uret_restore;
	__u64 sw_events[KS_SWITCH_REGS][2];
	__u64 sw_written[KS_SWITCH_REGS][2];
	__u64 reloads;		/* registers really written by the switch code */
};

/*
 * Fill @groups (capacity @max) with one entry per (tgid, vcpu) found in
 * @s, sorted by tgid then vcpu.  Returns the number of groups.
 */
size_t ks_aggregate(struct ks_snapshot *s, struct ks_group *groups, size_t max);
void ks_print_table(FILE *f, struct ks_snapshot *s, const struct ks_meta *m);
void ks_print_json(FILE *f, struct ks_snapshot *s, const struct ks_meta *m);

/* log2 histograms (kvmexitlat): slot i counts 2^(i-1) <= v < 2^i. */
void print_log2_hist(FILE *f, const __u64 *slots, int nslots,
		     const char *unit);
void json_log2_hist(FILE *f, const __u64 *slots, int nslots);
void json_string(FILE *f, const char *s);

/* Helpers shared by the tools. */
/* Parse a positive number of seconds (integer); -1 on error. */
long parse_seconds(const char *arg);
/*
 * 1 if /proc/@pid/fd has an anon_inode:kvm-vm, 0 if not, -1 (errno set)
 * if the process does not exist or can't be inspected.
 */
int pid_is_vm(const char *procfs, int pid);
/* -p and --vcpu values: exit 2 with one "@tool: error:" line if invalid. */
int parse_pid(const char *tool, const char *arg);
long parse_vcpu(const char *tool, const char *arg);
/*
 * Root, and (if @pid) a live process with a KVM VM: 0, or 1 after one
 * "@tool: error:" line.
 */
int check_target(const char *tool, int pid);

#endif /* __REPORT_H */
