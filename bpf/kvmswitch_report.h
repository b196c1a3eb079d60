/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmswitch_report.h: kvmswitch's aggregation and output (table, JSON),
 * kept free of libbpf so that tests/unit.c can link it.
 */
#ifndef __KVMSWITCH_REPORT_H
#define __KVMSWITCH_REPORT_H

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

#endif /* __KVMSWITCH_REPORT_H */
