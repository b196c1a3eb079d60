// SPDX-License-Identifier: GPL-2.0-only
/*
 * svm_next_rip_test: NRIP save, as L1 sees it through KVM's nested SVM.
 *
 * L2 runs a sequence of instructions that L1 intercepts, each plain and
 * with prefixes: CPUID, RDMSR/WRMSR, HLT, VMMCALL, PAUSE, INVD, RDTSC,
 * RDTSCP, IN/OUT (immediate and DX ports, byte and word), INTn. For each exit,
 * L1 reports the exit code, the saved RIP and control.next_rip, which must
 * be the address right after the instruction; IOIO also in exit_info_2.
 * A #UD intercept, which is no instruction intercept, must leave 0.
 *
 * L1 then injects #BP and #OF as exceptions and INTn as a software
 * interrupt, with next_rip past an instruction of that kind (plain and
 * with a prefix); L2's handler must see next_rip as its return address.
 *
 * This is what KVM relies on when it skips an instruction with next_rip
 * instead of decoding it, and when it re-injects a soft event. It needs
 * a CPU with NRIP save (on the lab's emulated CPU, the lab QEMU's patch).
 */
#include <stdio.h>
#include <string.h>

#include "kvm_util.h"
#include "processor.h"
#include "svm_util.h"
#include "test_util.h"

#define TEST_MSR	0x10	/* IA32_TSC: a read and a write, never executed */
#define TEST_PORT	0x80
#define SOFT_VECTOR	0x20
#define INTN_VECTOR	0x21	/* intercepted: never delivered */

enum kind {
	INTERCEPT,	/* an instruction intercept: next_rip is past it */
	NO_NEXT_RIP,	/* another exit: next_rip is 0 */
	INJECT,		/* L1 injects an event with next_rip past it */
};

struct nrip_case {
	const char *name;
	enum kind kind;
	uint32_t exit_code;	/* INTERCEPT, NO_NEXT_RIP */
	uint32_t event;		/* INJECT: EVTINJ vector and type */
	uint64_t info;		/* IOIO: exit_info_1; MSR: read 0, write 1 */
	const char *start, *end;
};

/*
 * L2's code: one labelled instruction per case. An injection's bytes are
 * never executed when the event returns to next_rip; a VMMCALL after it
 * brings L1 back.
 */
#define L2_INSN(name, bytes) \
	".global l2_" #name "\nl2_" #name ":\n\t" bytes "\n" \
	".global l2_" #name "_end\nl2_" #name "_end:\n\t"

asm(".pushsection .text\n"
    ".global l2_code\nl2_code:\n\t"
    "mov $" __stringify(TEST_MSR) ", %ecx\n\t"
    "mov $" __stringify(TEST_PORT) ", %edx\n\t"
    L2_INSN(cpuid, "cpuid")
    L2_INSN(cpuid_pfx, ".byte 0x2e, 0x3e, 0x0f, 0xa2")
    L2_INSN(rdmsr, "rdmsr")
    L2_INSN(rdmsr_pfx, ".byte 0x3e, 0x0f, 0x32")
    L2_INSN(wrmsr, "wrmsr")
    L2_INSN(wrmsr_pfx, ".byte 0x2e, 0x0f, 0x30")
    L2_INSN(hlt, "hlt")
    L2_INSN(hlt_pfx, ".byte 0x3e, 0xf4")
    L2_INSN(vmmcall, "vmmcall")
    L2_INSN(vmmcall_pfx, ".byte 0x3e, 0x0f, 0x01, 0xd9")
    L2_INSN(pause, "pause")
    L2_INSN(pause_pfx, ".byte 0x3e, 0xf3, 0x90")
    L2_INSN(invd, "invd")
    L2_INSN(invd_pfx, ".byte 0x3e, 0x0f, 0x08")
    L2_INSN(rdtsc, "rdtsc")
    L2_INSN(rdtsc_pfx, ".byte 0x2e, 0x3e, 0x0f, 0x31")
    L2_INSN(rdtscp, "rdtscp")
    L2_INSN(rdtscp_pfx, ".byte 0x3e, 0x0f, 0x01, 0xf9")
    L2_INSN(in_imm, "inb $" __stringify(TEST_PORT) ", %al")
    L2_INSN(in_imm_pfx, "inw $" __stringify(TEST_PORT) ", %ax")
    L2_INSN(in_dx, "inb %dx, %al")
    L2_INSN(out_dx_pfx, ".byte 0x3e\n\toutw %ax, %dx")
    L2_INSN(out_imm, "outb %al, $" __stringify(TEST_PORT))
    L2_INSN(int_exit, "int $" __stringify(INTN_VECTOR))
    L2_INSN(int_exit_pfx, ".byte 0x3e, 0xcd, " __stringify(INTN_VECTOR))
    L2_INSN(ud2, "ud2")
    L2_INSN(bp, "int3")
    L2_INSN(bp_back, "vmmcall")
    L2_INSN(bp_pfx, ".byte 0x3e, 0xcc")
    L2_INSN(bp_pfx_back, "vmmcall")
    L2_INSN(of, "int $4")
    L2_INSN(of_back, "vmmcall")
    L2_INSN(intn, "int $" __stringify(SOFT_VECTOR))
    L2_INSN(intn_back, "vmmcall")
    L2_INSN(intn_pfx, ".byte 0x2e, 0x3e, 0xcd, " __stringify(SOFT_VECTOR))
    L2_INSN(intn_pfx_back, "vmmcall")
    "ud2\n\t"
    ".popsection");

#define L2_SYM(name) extern const char l2_##name[], l2_##name##_end[]
L2_SYM(cpuid); L2_SYM(cpuid_pfx); L2_SYM(rdmsr); L2_SYM(rdmsr_pfx);
L2_SYM(wrmsr); L2_SYM(wrmsr_pfx); L2_SYM(hlt); L2_SYM(hlt_pfx);
L2_SYM(vmmcall); L2_SYM(vmmcall_pfx); L2_SYM(pause); L2_SYM(pause_pfx);
L2_SYM(invd); L2_SYM(invd_pfx); L2_SYM(rdtsc); L2_SYM(rdtsc_pfx);
L2_SYM(rdtscp); L2_SYM(rdtscp_pfx); L2_SYM(in_imm); L2_SYM(in_imm_pfx);
L2_SYM(in_dx); L2_SYM(out_dx_pfx); L2_SYM(out_imm); L2_SYM(ud2);
L2_SYM(int_exit); L2_SYM(int_exit_pfx);
L2_SYM(bp); L2_SYM(bp_back); L2_SYM(bp_pfx); L2_SYM(bp_pfx_back);
L2_SYM(of); L2_SYM(of_back); L2_SYM(intn); L2_SYM(intn_back);
L2_SYM(intn_pfx); L2_SYM(intn_pfx_back);
extern const char l2_code[];

/* IOIO exit_info_1: port, size and direction (APM vol. 2, 15.10.2) */
#define IOIO_IN		1
#define IOIO_SZ8	(1 << 4)
#define IOIO_SZ16	(1 << 5)
#define IOIO_IMM(p)	((uint64_t)(p) << 16)
/* Port, size, STR, REP and direction; not address size or segment */
#define IOIO_MASK	0xffff007du

#define X(n, k, code, info) { #n, k, code, 0, info, l2_##n, l2_##n##_end }
#define INJ(n, ev) { #n " injected", INJECT, 0, ev, 0, l2_##n, l2_##n##_end }
static const struct nrip_case cases[] = {
	X(cpuid, INTERCEPT, SVM_EXIT_CPUID, 0),
	X(cpuid_pfx, INTERCEPT, SVM_EXIT_CPUID, 0),
	X(rdmsr, INTERCEPT, SVM_EXIT_MSR, 0),
	X(rdmsr_pfx, INTERCEPT, SVM_EXIT_MSR, 0),
	X(wrmsr, INTERCEPT, SVM_EXIT_MSR, 1),
	X(wrmsr_pfx, INTERCEPT, SVM_EXIT_MSR, 1),
	X(hlt, INTERCEPT, SVM_EXIT_HLT, 0),
	X(hlt_pfx, INTERCEPT, SVM_EXIT_HLT, 0),
	X(vmmcall, INTERCEPT, SVM_EXIT_VMMCALL, 0),
	X(vmmcall_pfx, INTERCEPT, SVM_EXIT_VMMCALL, 0),
	X(pause, INTERCEPT, SVM_EXIT_PAUSE, 0),
	X(pause_pfx, INTERCEPT, SVM_EXIT_PAUSE, 0),
	X(invd, INTERCEPT, SVM_EXIT_INVD, 0),
	X(invd_pfx, INTERCEPT, SVM_EXIT_INVD, 0),
	X(rdtsc, INTERCEPT, SVM_EXIT_RDTSC, 0),
	X(rdtsc_pfx, INTERCEPT, SVM_EXIT_RDTSC, 0),
	X(rdtscp, INTERCEPT, SVM_EXIT_RDTSCP, 0),
	X(rdtscp_pfx, INTERCEPT, SVM_EXIT_RDTSCP, 0),
	X(in_imm, INTERCEPT, SVM_EXIT_IOIO, IOIO_IMM(TEST_PORT) | IOIO_SZ8 | IOIO_IN),
	X(in_imm_pfx, INTERCEPT, SVM_EXIT_IOIO, IOIO_IMM(TEST_PORT) | IOIO_SZ16 | IOIO_IN),
	X(in_dx, INTERCEPT, SVM_EXIT_IOIO, IOIO_IMM(TEST_PORT) | IOIO_SZ8 | IOIO_IN),
	X(out_dx_pfx, INTERCEPT, SVM_EXIT_IOIO, IOIO_IMM(TEST_PORT) | IOIO_SZ16),
	X(out_imm, INTERCEPT, SVM_EXIT_IOIO, IOIO_IMM(TEST_PORT) | IOIO_SZ8),
	X(int_exit, INTERCEPT, SVM_EXIT_SWINT, 0),
	X(int_exit_pfx, INTERCEPT, SVM_EXIT_SWINT, 0),
	X(ud2, NO_NEXT_RIP, SVM_EXIT_EXCP_BASE + UD_VECTOR, 0),
	INJ(bp, BP_VECTOR | SVM_EVTINJ_TYPE_EXEPT),
	X(bp_back, INTERCEPT, SVM_EXIT_VMMCALL, 0),
	INJ(bp_pfx, BP_VECTOR | SVM_EVTINJ_TYPE_EXEPT),
	X(bp_pfx_back, INTERCEPT, SVM_EXIT_VMMCALL, 0),
	INJ(of, OF_VECTOR | SVM_EVTINJ_TYPE_EXEPT),
	X(of_back, INTERCEPT, SVM_EXIT_VMMCALL, 0),
	INJ(intn, SOFT_VECTOR | SVM_EVTINJ_TYPE_SOFT),
	X(intn_back, INTERCEPT, SVM_EXIT_VMMCALL, 0),
	INJ(intn_pfx, SOFT_VECTOR | SVM_EVTINJ_TYPE_SOFT),
	X(intn_pfx_back, INTERCEPT, SVM_EXIT_VMMCALL, 0),
};
#define NR_CASES ARRAY_SIZE(cases)

/* Where L2's handler of an injected event returned to, and how often. */
static volatile uint64_t handler_rip, handler_calls;

static void soft_event_handler(struct ex_regs *regs)
{
	handler_rip = regs->rip;
	handler_calls++;
}

static bool has_rdtscp;

static void l1_guest_code(struct svm_test_data *svm, uint64_t iopm_gpa)
{
	unsigned long l2_stack[64];
	struct vmcb *vmcb = svm->vmcb;
	int i;

	generic_svm_setup(svm, (void *)l2_code, &l2_stack[ARRAY_SIZE(l2_stack)]);
	vmcb->control.intercept |= BIT_ULL(INTERCEPT_CPUID) | BIT_ULL(INTERCEPT_MSR_PROT) |
				   BIT_ULL(INTERCEPT_HLT) | BIT_ULL(INTERCEPT_PAUSE) |
				   BIT_ULL(INTERCEPT_INVD) | BIT_ULL(INTERCEPT_RDTSC) |
				   BIT_ULL(INTERCEPT_RDTSCP) | BIT_ULL(INTERCEPT_IOIO_PROT) |
				   BIT_ULL(INTERCEPT_INTn);
	vmcb->control.intercept_exceptions |= BIT(UD_VECTOR);
	vmcb->control.iopm_base_pa = iopm_gpa;
	/* Read and write of TEST_MSR: two bits per MSR, from 0 */
	((uint8_t *)svm->msr)[TEST_MSR / 4] |= 3 << (TEST_MSR % 4 * 2);

	for (i = 0; i < NR_CASES; i++) {
		const struct nrip_case *c = &cases[i];
		uint64_t extra = 0;

		/*
		 * Resume L2 where it would have gone on: past the previous
		 * case, even if next_rip was wrong. The first run sets up ECX
		 * and EDX, which L2 keeps: no intercepted instruction runs.
		 */
		vmcb->save.rip = i ? (uint64_t)cases[i - 1].end : (uint64_t)l2_code;
		if (!has_rdtscp && c->exit_code == SVM_EXIT_RDTSCP) {
			/* No RDTSCP: the host reports a skip; resume past it */
			GUEST_SYNC_ARGS(i, 0, 0, 0, 0);
			continue;
		}
		/* An injected INTn is no INTn instruction: keep it unintercepted. */
		if (c->kind == INJECT)
			vmcb->control.intercept &= ~BIT_ULL(INTERCEPT_INTn);
		else
			vmcb->control.intercept |= BIT_ULL(INTERCEPT_INTn);
		vmcb->control.event_inj = 0;
		if (c->kind == INJECT) {
			vmcb->control.event_inj = c->event | SVM_EVTINJ_VALID;
			vmcb->control.next_rip = (uint64_t)c->end;
			handler_rip = 0;
			handler_calls = 0;
		}
		run_guest(vmcb, svm->vmcb_gpa);
		if (c->kind == INJECT) {
			/* Reported with the VMMCALL that follows */
			GUEST_SYNC_ARGS(i, vmcb->control.exit_code, handler_calls,
					vmcb->save.rip, handler_rip);
			continue;
		}
		if (c->exit_code == SVM_EXIT_IOIO)
			extra = vmcb->control.exit_info_2;
		else if (c->exit_code == SVM_EXIT_MSR)
			extra = vmcb->control.exit_info_1;
		GUEST_SYNC_ARGS(i, vmcb->control.exit_code, vmcb->save.rip,
				vmcb->control.next_rip, extra);
		if (c->exit_code == SVM_EXIT_IOIO)
			GUEST_SYNC_ARGS(i, vmcb->control.exit_info_1, 0, 0, 0);
	}
	GUEST_DONE();
}

/* One TAP line for case i, from what L1 reported. */
static void judge(int i, uint64_t code, uint64_t a, uint64_t b, uint64_t extra)
{
	const struct nrip_case *c = &cases[i];
	uint64_t end = (uint64_t)c->end, start = (uint64_t)c->start;
	unsigned int len = end - start;

	if (c->kind == INJECT) {
		/* a: handler calls, b: RIP at the VMMCALL, extra: handler's RIP */
		if (code != SVM_EXIT_VMMCALL || a != 1 || b != end || extra != end)
			ksft_test_result_fail("%s: exit 0x%lx, %lu handler calls, returned to 0x%lx, "
					      "want 1 call returning to next_rip 0x%lx (+%u)\n",
					      c->name, code, a, extra, end, len);
		else
			ksft_test_result_pass("%s: the handler returned to next_rip (+%u)\n",
					      c->name, len);
		return;
	}
	/* a: saved RIP, b: next_rip */
	if (code != c->exit_code || a != start) {
		ksft_test_result_fail("%s: exit 0x%lx at 0x%lx, want exit 0x%x at 0x%lx\n",
				      c->name, code, a, c->exit_code, start);
	} else if (c->kind == NO_NEXT_RIP) {
		if (b)
			ksft_test_result_fail("%s: next_rip 0x%lx, want 0\n", c->name, b);
		else
			ksft_test_result_pass("%s: no instruction intercept, next_rip 0\n", c->name);
	} else if (b != end) {
		ksft_test_result_fail("%s: next_rip 0x%lx, want 0x%lx (+%u)\n",
				      c->name, b, end, len);
	} else if (c->exit_code == SVM_EXIT_IOIO && extra != end) {
		ksft_test_result_fail("%s: exit_info_2 0x%lx, want 0x%lx\n", c->name, extra, end);
	} else if (c->exit_code == SVM_EXIT_MSR && extra != c->info) {
		ksft_test_result_fail("%s: exit_info_1 %lu, want %lu\n", c->name, extra, c->info);
	} else {
		ksft_test_result_pass("%s: next_rip +%u\n", c->name, len);
	}
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	vm_vaddr_t svm_gva, iopm;
	struct ucall uc;
	bool io_pending = false;
	uint64_t io_args[5] = {};
	int failed = 0;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM));
	ksft_print_header();
	if (!kvm_cpu_has(X86_FEATURE_NRIPS)) {
		ksft_print_msg("KVM offers L1 no NRIP save: the host CPU has none "
			       "(kvm_amd nrips=0; QEMU's TCG before the lab's patch)\n");
		ksft_exit_skip("no NRIP save to check\n");
	}
	ksft_set_plan(NR_CASES);

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	vm_install_exception_handler(vm, BP_VECTOR, soft_event_handler);
	vm_install_exception_handler(vm, OF_VECTOR, soft_event_handler);
	vm_install_exception_handler(vm, SOFT_VECTOR, soft_event_handler);
	vcpu_alloc_svm(vm, &svm_gva);
	/* The I/O permission map is 12 KiB; every port is intercepted. */
	iopm = vm_vaddr_alloc_pages(vm, 3);
	memset(addr_gva2hva(vm, iopm), 0xff, 3 * getpagesize());
	has_rdtscp = kvm_cpu_has(X86_FEATURE_RDTSCP);
	sync_global_to_guest(vm, has_rdtscp);
	vcpu_args_set(vcpu, 2, svm_gva, addr_gva2gpa(vm, iopm));

	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC: {
			int i = uc.args[1];
			const struct nrip_case *c;

			TEST_ASSERT(i >= 0 && i < NR_CASES, "case %d out of range", i);
			c = &cases[i];
			if (!has_rdtscp && c->exit_code == SVM_EXIT_RDTSCP) {
				ksft_test_result_skip("%s: the CPU has no RDTSCP\n", c->name);
				break;
			}
			if (io_pending) {
				/* The second report of an IOIO case: exit_info_1 */
				io_pending = false;
				TEST_ASSERT(io_args[0] == i, "IOIO report of case %d, then of %d",
					    (int)io_args[0], i);
				if (io_args[1] == c->exit_code && (uc.args[2] & IOIO_MASK) != c->info) {
					ksft_test_result_fail("%s: exit_info_1 0x%lx, want 0x%lx in 0x%x\n",
							      c->name, uc.args[2], c->info, IOIO_MASK);
					break;
				}
				judge(i, io_args[1], io_args[2], io_args[3], io_args[4]);
				break;
			}
			if (c->kind == INTERCEPT && c->exit_code == SVM_EXIT_IOIO) {
				memcpy(io_args, &uc.args[1], sizeof(io_args));
				io_pending = true;
				break;
			}
			judge(i, uc.args[2], uc.args[3], uc.args[4], uc.args[5]);
			break;
		}
		case UCALL_DONE:
			kvm_vm_free(vm);
			failed = ksft_get_fail_cnt();
			ksft_print_msg("%zu cases, %d failed\n", NR_CASES, failed);
			ksft_finished();
			return 0;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("unexpected exit %u (port 0x%x) outside a ucall",
				  vcpu->run->exit_reason, vcpu->run->io.port);
		}
	}
}
