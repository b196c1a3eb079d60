/* SPDX-License-Identifier: GPL-2.0 */
/* kvm_exit_reason.bpf.h: the exit reason of a tp_btf/kvm_exit event. */
#ifndef __KVM_EXIT_REASON_BPF_H
#define __KVM_EXIT_REASON_BPF_H

/* kvm_exit's isa argument (KVM_ISA_VMX in arch/x86/kvm/trace.h). */
#define KVM_EXIT_ISA_VMX	1

/*
 * The exit reason as kvm_exit's TP_fast_assign gets it from the vendor
 * get_exit_info(): the VMCB's exit code (SVM) or vmx->exit_reason (VMX).
 * Read here with CO-RE so that kvm_exit can be a raw BTF tracepoint.
 */
static __always_inline __u32 exit_reason(struct kvm_vcpu *vcpu, __u32 isa)
{
	if (isa == KVM_EXIT_ISA_VMX) {
		struct vcpu_vmx *vmx = (void *)vcpu -
			bpf_core_field_offset(struct vcpu_vmx, vcpu);

		/* basic exit reason, drop the flags */
		return BPF_CORE_READ(vmx, exit_reason.full) & 0xffff;
	} else {
		struct vcpu_svm *svm = (void *)vcpu -
			bpf_core_field_offset(struct vcpu_svm, vcpu);

		return BPF_CORE_READ(svm, vmcb, control.exit_code);
	}
}

#endif /* __KVM_EXIT_REASON_BPF_H */
