/* SPDX-License-Identifier: GPL-2.0 */
/* kvmexitlat.h: map keys and values shared by kvmexitlat.bpf.c and kvmexitlat.c. */
#ifndef __KVMEXITLAT_H
#define __KVMEXITLAT_H

#define KL_SLOTS	40
#define KL_COMM_LEN	16
#define KL_ANY_VCPU	0xffffffffu

struct kl_key {
	__u32 tgid;
	__u32 vcpu;	/* KL_ANY_VCPU unless --per-vcpu or --vcpu */
	__u32 isa;	/* kvm_exit's isa: 1 VMX, 2 SVM */
	__u32 reason;	/* VMX basic exit reason or SVM exit code */
};

struct kl_hist {
	char comm[KL_COMM_LEN];
	__u64 count;
	__u64 ns_sum;
	__u64 ns[KL_SLOTS];
	__u64 cyc_count;	/* exits whose exit and entry ran on one CPU */
	__u64 cyc_sum;
	__u64 cycles[KL_SLOTS];
};

#endif /* __KVMEXITLAT_H */
