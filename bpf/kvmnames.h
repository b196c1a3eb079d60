/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __KVMNAMES_H
#define __KVMNAMES_H

#include <stddef.h>

/* Values of kvm_exit's isa field (KVM_ISA_VMX, KVM_ISA_SVM). */
#define KN_ISA_VMX	1
#define KN_ISA_SVM	2

const char *isa_name(unsigned int isa);
/* VMX: the basic reason (low 16 bits) is named; SVM: the exit code. */
const char *exit_reason_name(unsigned int isa, unsigned int reason,
			     char *buf, size_t len);
const char *msr_name(unsigned int msr, char *buf, size_t len);
/* enum ks_msr_kind */
const char *msr_kind_name(unsigned int kind);

#endif /* __KVMNAMES_H */
