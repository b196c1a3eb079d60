/* SPDX-License-Identifier: GPL-2.0 */
/*
 * helpers.h: what both tools print and parse (helpers.c), free of libbpf
 * and of either tool's data layout.
 */
#ifndef __HELPERS_H
#define __HELPERS_H

#include <stdio.h>
#include <linux/types.h>

/* log2 histograms (kvmexitlat): slot i counts 2^(i-1) <= v < 2^i. */
void print_log2_hist(FILE *f, const __u64 *slots, int nslots,
		     const char *unit);
void json_log2_hist(FILE *f, const __u64 *slots, int nslots);
void json_string(FILE *f, const char *s);

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

#endif /* __HELPERS_H */
