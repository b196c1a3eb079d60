// SPDX-License-Identifier: GPL-2.0-only
/*
 * svm_int_shadow_test: the interrupt shadow across VMRUN and #VMEXIT, as L1
 * sees it through KVM's nested SVM.
 *
 * KVM keeps a guest's STI or MOV SS shadow in control.int_state: a #VMEXIT
 * that lands in the shadow (e.g. a host interrupt between STI and HLT)
 * records it there, and the next VMRUN must start the guest inside it. If
 * VMRUN drops it, an interrupt that KVM holds for the guest's window is
 * delivered between STI and HLT, and the HLT then sleeps with nothing left
 * to wake it.
 *
 * L1 starts L2 with IF=1 and a virtual interrupt pending (V_IRQ, VINTR
 * intercepted), with and without the shadow in int_state: without it the
 * VINTR exit comes before L2's first instruction, with it one instruction
 * later. L1 also checks that STI; HLT exits at the HLT with the shadow set.
 */
#include <stdio.h>

#include "kvm_util.h"
#include "processor.h"
#include "svm_util.h"
#include "test_util.h"

#define VIRQ_VECTOR	0x30
#define RFLAGS_IF	BIT(9)	/* not in the selftests' processor.h */

/* Two runs of L2 code: NOPs under a pending V_IRQ, and STI; HLT. */
asm(".pushsection .text\n"
    ".global l2_nops\nl2_nops:\n\t"
    "nop\n\tnop\n\tnop\n\tvmmcall\n\t"
    ".global l2_sti_hlt\nl2_sti_hlt:\n\t"
    "sti\n\t"
    ".global l2_hlt\nl2_hlt:\n\t"
    "hlt\n\tvmmcall\n\t"
    ".popsection");
extern char l2_nops[], l2_sti_hlt[], l2_hlt[];

enum { CASE_NO_SHADOW, CASE_SHADOW, CASE_SHADOW_SAVED, NR_CASES };

static void run_with_virq(struct svm_test_data *svm, uint32_t int_state)
{
	struct vmcb *vmcb = svm->vmcb;

	vmcb->save.rip = (uint64_t)l2_nops;
	vmcb->save.rflags = X86_EFLAGS_FIXED | RFLAGS_IF;
	vmcb->control.int_state = int_state;
	vmcb->control.int_vector = VIRQ_VECTOR;
	vmcb->control.int_ctl = V_IRQ_MASK | V_INTR_PRIO_MASK | V_IGN_TPR_MASK;
	vmcb->control.intercept |= BIT_ULL(INTERCEPT_VINTR);
	run_guest(vmcb, svm->vmcb_gpa);
	vmcb->control.intercept &= ~BIT_ULL(INTERCEPT_VINTR);
	vmcb->control.int_ctl = 0;
}

static void l1_guest_code(struct svm_test_data *svm)
{
	unsigned long l2_stack[64];
	struct vmcb *vmcb = svm->vmcb;

	generic_svm_setup(svm, l2_nops, &l2_stack[ARRAY_SIZE(l2_stack)]);

	run_with_virq(svm, 0);
	GUEST_SYNC_ARGS(CASE_NO_SHADOW, vmcb->control.exit_code, vmcb->save.rip, 0, 0);

	run_with_virq(svm, SVM_INTERRUPT_SHADOW_MASK);
	GUEST_SYNC_ARGS(CASE_SHADOW, vmcb->control.exit_code, vmcb->save.rip, 0, 0);

	vmcb->save.rip = (uint64_t)l2_sti_hlt;
	vmcb->save.rflags = X86_EFLAGS_FIXED;
	vmcb->control.int_state = 0;
	vmcb->control.intercept |= BIT_ULL(INTERCEPT_HLT);
	run_guest(vmcb, svm->vmcb_gpa);
	GUEST_SYNC_ARGS(CASE_SHADOW_SAVED, vmcb->control.exit_code, vmcb->save.rip,
			vmcb->control.int_state, 0);
	GUEST_DONE();
}

static void judge(uint64_t which, uint64_t code, uint64_t rip, uint64_t int_state)
{
	uint64_t start = (uint64_t)l2_nops;

	switch (which) {
	case CASE_NO_SHADOW:
		if (code != SVM_EXIT_VINTR || rip != start)
			ksft_test_result_fail("no shadow: exit 0x%lx at 0x%lx, want VINTR before "
					      "the first instruction, at 0x%lx\n", code, rip, start);
		else
			ksft_test_result_pass("no shadow: VINTR before L2's first instruction\n");
		break;
	case CASE_SHADOW:
		if (code != SVM_EXIT_VINTR || rip != start + 1)
			ksft_test_result_fail("shadow in int_state: exit 0x%lx at 0x%lx (+%ld), want "
					      "VINTR after one instruction, at 0x%lx: VMRUN dropped "
					      "the interrupt shadow\n", code, rip, rip - start,
					      start + 1);
		else
			ksft_test_result_pass("shadow in int_state: VINTR after one instruction\n");
		break;
	case CASE_SHADOW_SAVED:
		if (code != SVM_EXIT_HLT || rip != (uint64_t)l2_hlt ||
		    !(int_state & SVM_INTERRUPT_SHADOW_MASK))
			ksft_test_result_fail("STI; HLT: exit 0x%lx at 0x%lx, int_state 0x%lx, want "
					      "HLT at 0x%lx in the shadow\n", code, rip, int_state,
					      (uint64_t)l2_hlt);
		else
			ksft_test_result_pass("STI; HLT: the #VMEXIT saved the shadow\n");
		break;
	default:
		TEST_FAIL("case %lu out of range", which);
	}
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	vm_vaddr_t svm_gva;
	struct ucall uc;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM));
	ksft_print_header();
	ksft_set_plan(NR_CASES);

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	vcpu_alloc_svm(vm, &svm_gva);
	vcpu_args_set(vcpu, 1, svm_gva);

	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			judge(uc.args[1], uc.args[2], uc.args[3], uc.args[4]);
			break;
		case UCALL_DONE:
			kvm_vm_free(vm);
			ksft_finished();
			return 0;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("unexpected exit %u outside a ucall", vcpu->run->exit_reason);
		}
	}
}
