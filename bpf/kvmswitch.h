/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmswitch.h: map keys and values shared by kvmswitch.bpf.c, kvmswitch.c
 * and the report code (kvmswitch_report.c).
 */
#ifndef __KVMSWITCH_H
#define __KVMSWITCH_H

#define KS_COMM_LEN	16
#define KS_ANY_VCPU	0xffffffffu	/* vCPU not broken out, or not known */

/* kvm_exit's isa field. */
#define KS_ISA_VMX	1
#define KS_ISA_SVM	2

/* Where an MSR access happened, or which kind of event it is. */
enum ks_msr_kind {
	KS_WR_EXIT_ENTRY,	/* WRMSR in KVM_RUN, after kvm_exit (or before the first entry) */
	KS_WR_VMRUN,		/* WRMSR between kvm_entry and kvm_exit (vendor vcpu_run) */
	KS_WR_URET,		/* WRMSR inside kvm_on_user_return() */
	KS_WR_LOADPUT,		/* WRMSR inside kvm_arch_vcpu_load()/put() */
	KS_WR_ELSEWHERE,	/* any other WRMSR by the VM's threads */
	KS_RDMSR,		/* RDMSR (only with --read-msr) */
	KS_URET_SET,		/* user-return MSR loaded with the guest value */
	KS_URET_RESTORE,	/* user-return MSR restored to the host value */
	KS_MSR_KINDS,
};

struct ks_exit_key {
	__u32 tgid;
	__u32 vcpu;
	__u32 isa;
	__u32 reason;
};

struct ks_exit_val {
	__u64 exits;
	__u64 fastpath;		/* vendor vcpu_run returned != EXIT_FASTPATH_NONE */
	__u64 reenter;		/* ... and the run loop entered the guest again */
};

struct ks_msr_key {
	__u32 tgid;
	__u32 vcpu;
	__u32 msr;
	__u32 kind;		/* enum ks_msr_kind */
};

/* Per VM (tgid) and, with --per-vcpu, per vCPU. */
struct ks_vm_key {
	__u32 tgid;
	__u32 vcpu;
};

enum ks_switch_reg { KS_XCR0, KS_XSS, KS_PKRU, KS_SWITCH_REGS };

struct ks_vm_val {
	char comm[KS_COMM_LEN];
	__u64 entries;		/* kvm_entry */
	__u64 exits;		/* kvm_exit */
	__u64 kvm_runs;		/* kvm_userspace_exit: one per KVM_RUN ioctl */
	/*
	 * XCR0/XSS/PKRU switches: [reg][0 = host, 1 = guest].  "events" is
	 * how often KVM evaluated the switch (once per direction and per
	 * VM-Enter attempt for XCR0/XSS and PKRU with the unmodified code),
	 * "written" how often the register was really written.
	 */
	__u64 sw_events[KS_SWITCH_REGS][2];
	__u64 sw_written[KS_SWITCH_REGS][2];
};

#endif /* __KVMSWITCH_H */
