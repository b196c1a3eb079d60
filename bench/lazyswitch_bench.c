// SPDX-License-Identifier: GPL-2.0
/*
 * lazyswitch_bench: exit microbenchmarks for the kvm-lazyswitch series.
 *
 * One table drives everything, as in kvm-unit-tests' x86/vmexit.c: each case
 * has a guest loop that triggers one kind of exit per iteration, a check that
 * the loop did what it claims, and a reason to skip when KVM cannot run it.
 * Every case gets a fresh VM with one vCPU. The guest waits at a GUEST_SYNC
 * while the host sets the iteration count, runs its loop between two RDTSCs
 * and reports the cycles at the next GUEST_SYNC.
 *
 * Time is measured on the host: CLOCK_MONOTONIC around the KVM_RUN calls
 * that span one guest loop, including the userspace exits of the loop
 * (pio_user) and the one ucall exit that ends it. Exits come from the vCPU's
 * binary stats ("exits", minus the ending ucall exit); "irq_exits" (host
 * interrupts that hit the vCPU while in the guest) are printed separately,
 * as they are noise rather than part of the case. Guest TSC cycles are
 * printed only when the host CPU has an invariant TSC.
 *
 * Iterations double until one loop takes at least -t MS, then a measured
 * run uses that count; -n ITERS skips the calibration, -c stops after it.
 *
 * -C CPU pins the process to one host CPU: KVM's user-return MSRs hold
 * per-CPU host values (TSC_AUX is the CPU number, the guest's is 0), so
 * which writes an exit costs depends on the CPU. The xstate_* cases (and
 * every case with -X) give the guest xfeatures that differ from the host's
 * (XCR0 x87|SSE, PKRU 0xc with PKU), so KVM's XCR0 and PKRU switches have
 * something to write; every iteration then checks that the guest still sees
 * its own values.
 */
#include <errno.h>
#include <getopt.h>
#include <sys/sysinfo.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm_para.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "svm_util.h"
#include "vmx.h"
#include "host_state.h"
#include "pvtimer_guest.h"
#include "vcpu_stats.h"
#include "profile/markers.h"

#define BENCH_PORT		0x5a5	/* not the ucall port (0x1000) */
#define TIMER_VECTOR		0xec
#define IPI_VECTOR		0xed
#define BENCH_HYPERCALL		0x4c53	/* no KVM_HC_* has this number */
#define MIN_ITERS		8
#define MAX_ITERS		(1ull << 32)
#define STALL_SECONDS		10
#define L2_STACK_WORDS		64
#define XF_XCR0			(XFEATURE_MASK_FP | XFEATURE_MASK_SSE)
#define XF_PKRU			0xc	/* access- and write-disable for key 1 */

enum { STAGE_READY = 1, STAGE_DONE = 2, STAGE_TSC = 3 };

struct bench_case {
	const char *name;
	const char *svm_exit, *vmx_exit;
	/* Host: why the case cannot run here, or NULL. */
	const char *(*skip_reason)(void);
	/* Host: per-VM setup before the vCPU first runs. */
	void (*host_setup)(struct kvm_vm *vm, struct kvm_vcpu *vcpu);
	/* Host: after the TSC probe, before guest_setup runs. */
	void (*host_probed)(struct kvm_vm *vm, struct kvm_vcpu *vcpu);
	/* Guest: once, before the first loop. */
	void (*guest_setup)(void);
	/* Guest: the loop itself, ITERS exits of this case's kind. */
	void (*guest_loop)(uint64_t iters);
	/*
	 * Host: a userspace exit that belongs to the loop. Returns 1 if it was
	 * one (and correct), 0 if it is not this case's, -1 if it was wrong.
	 */
	int (*host_exit)(struct kvm_vcpu *vcpu, uint64_t nr);
	/* The loop sums timer lateness in timer_late_tsc. */
	bool timer_lateness;
	/* Host: what to say about a vCPU that stopped making progress. */
	void (*host_diag)(struct kvm_vm *vm, struct kvm_vcpu *vcpu, char *buf, size_t len);
	/* The guest's XCR0 and PKRU differ from the host's, as with -X. */
	bool xstate;
};

/* Shared with the guest. */
static int guest_case;
static uint64_t guest_iters;
static bool use_tsc_deadline;
static uint64_t timer_delta_tsc;	/* hlt, TSC-deadline mode: TSC cycles */
static uint32_t timer_delta_ns;		/* hlt, one-shot mode: TMICT at divide-by-1 */
/*
 * -d: how far ahead the hlt case arms the timer. Far enough that the vCPU
 * really blocks: with the timer expiring around the HLT (-d 0 or 10), a QEMU
 * that drops the STI shadow at VMRUN (Debian's 7.2; svm_int_shadow_test)
 * sometimes delivers it before the HLT, which then sleeps.
 */
static uint64_t opt_hlt_us = 1000;
/*
 * timer_msr and timer_pv arm further ahead unless -d says otherwise: a
 * pvtimer deadline inside the scan horizon (two scan periods, 2 ms with
 * the lab's TCG period) falls back to the MSR, and the case would measure
 * the MSR twice. The same default on both kernels keeps them comparable.
 */
#define TIMER_DEFAULT_US	5000
static bool opt_d_given;
/* timer_pv: the scan period (an emulated CPU cannot scan every 100 us) and CPU. */
static uint64_t opt_pv_period_us = 1000;
static int opt_scan_cpu = -1;
static uint64_t timer_irqs;
static uint64_t hlt_armed_tsc;		/* hlt: the guest's TSC when it last armed */
static uint64_t ipi_irqs;
static vm_vaddr_t nested_gva;		/* struct svm_test_data or struct vmx_pages */
static bool nested_svm;
static bool guest_tsc_agrees;		/* the guest's RDTSC matches KVM's guest TSC */
static int64_t guest_tsc_skew;		/* KVM's guest TSC - the guest's RDTSC, at most */
static uint64_t timer_late_tsc;		/* timer_*: lateness summed over the loop */
static uint64_t timer_irq_tsc;		/* the guest's RDTSC in the last timer interrupt */
static uint64_t timer_tsc_khz;
static bool opt_xf;			/* -X: every case as if xstate */
static bool guest_xf;			/* XCR0 is XF_XCR0 ... */
static bool guest_xf_pkru;		/* ... and PKRU is XF_PKRU */

/* The L2 guest of nested_cpuid, in assembly: L1 may clobber L2's GPRs on VMX. */
uint64_t l2_left;
uint32_t l2_done;
extern char l2_cpuid_loop[];
asm(".pushsection .text\n"
    "l2_cpuid_loop:\n"
    "1:	xor %eax, %eax\n"
    "	cpuid\n"
    "	decq l2_left(%rip)\n"
    "	jnz 1b\n"
    /* One more CPUID with l2_done set tells L1 the loop is over. */
    "	movl $1, l2_done(%rip)\n"
    "	xor %eax, %eax\n"
    "	cpuid\n"
    "	jmp 1b\n"
    ".popsection\n");

/* Guest side. */

/*
 * xstate_* and -X: load xfeatures the host does not have. Before the case's own setup, so
 * that nested_cpuid's L2 inherits L1's CR4 (PKE included).
 */
static void guest_xf_setup(void)
{
	__GUEST_ASSERT(get_cr4() & X86_CR4_OSXSAVE, "CR4.OSXSAVE is clear (CR4 0x%lx)",
		       get_cr4());
	xsetbv(0, XF_XCR0);
	if (guest_xf_pkru) {
		set_cr4(get_cr4() | X86_CR4_PKE);
		wrpkru(XF_PKRU);
	}
}

/* xstate_* and -X: after iteration I, the guest must still see its own XCR0 and PKRU. */
static inline void xf_check(uint64_t i)
{
	uint64_t xcr0;
	uint32_t pkru;

	if (!guest_xf)
		return;
	xcr0 = xgetbv(0);
	__GUEST_ASSERT(xcr0 == XF_XCR0, "XCR0 0x%lx after iteration %lu, expected 0x%llx",
		       xcr0, i + 1, XF_XCR0);
	if (!guest_xf_pkru)
		return;
	pkru = rdpkru();
	__GUEST_ASSERT(pkru == XF_PKRU, "PKRU 0x%x after iteration %lu, expected 0x%x",
		       pkru, i + 1, XF_PKRU);
}

static void guest_timer_handler(struct ex_regs *regs)
{
	WRITE_ONCE(timer_irq_tsc, rdtsc());
	WRITE_ONCE(timer_irqs, timer_irqs + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

static void guest_ipi_handler(struct ex_regs *regs)
{
	WRITE_ONCE(ipi_irqs, ipi_irqs + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

static void guest_cpuid_loop(uint64_t iters)
{
	uint32_t eax, ebx, ecx, edx;
	uint64_t i;

	for (i = 0; i < iters; i++) {
		cpuid(0, &eax, &ebx, &ecx, &edx);
		xf_check(i);
	}
}

static void guest_vmcall_loop(uint64_t iters)
{
	uint64_t i, ret;

	for (i = 0; i < iters; i++) {
		ret = kvm_hypercall(BENCH_HYPERCALL, 0, 0, 0, 0);
		__GUEST_ASSERT(ret == (uint64_t)-KVM_ENOSYS,
			       "hypercall 0x%x returned %ld, expected -KVM_ENOSYS",
			       BENCH_HYPERCALL, (long)ret);
		xf_check(i);
	}
}

static void guest_timer_setup(void)
{
	x2apic_enable();
	if (use_tsc_deadline) {
		x2apic_write_reg(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE | TIMER_VECTOR);
	} else {
		x2apic_write_reg(APIC_TDCR, 0xb);	/* divide by 1 */
		x2apic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	}
}

/*
 * Arm the timer a little ahead, halt with interrupts enabled only for the
 * HLT, and check that the timer interrupt is what ended it.
 */
static void guest_hlt_loop(uint64_t iters)
{
	uint64_t i, base = READ_ONCE(timer_irqs);

	for (i = 0; i < iters; i++) {
		if (use_tsc_deadline) {
			uint64_t tsc = rdtsc();

			WRITE_ONCE(hlt_armed_tsc, tsc);
			wrmsr(MSR_IA32_TSC_DEADLINE, tsc + timer_delta_tsc);
		} else {
			x2apic_write_reg(APIC_TMICT, timer_delta_ns);
		}
		asm volatile("sti; hlt; cli" ::: "memory");
		__GUEST_ASSERT(READ_ONCE(timer_irqs) == base + i + 1,
			       "HLT %lu of %lu ended with %lu timer interrupts, expected %lu",
			       i + 1, iters, READ_ONCE(timer_irqs) - base, i + 1);
		xf_check(i);
	}
}

/* Re-arm a deadline that never comes: about 2^50 cycles away. */
static void guest_tscdeadline_loop(uint64_t iters)
{
	uint64_t i, far = rdtsc() + (1ull << 50), base = READ_ONCE(timer_irqs);

	for (i = 0; i < iters; i++) {
		wrmsr(MSR_IA32_TSC_DEADLINE, far + (i & 1));
		xf_check(i);
	}
	wrmsr(MSR_IA32_TSC_DEADLINE, 0);
	__GUEST_ASSERT(READ_ONCE(timer_irqs) == base,
		       "%lu timer interrupts from a deadline 2^50 cycles away",
		       READ_ONCE(timer_irqs) - base);
}

static struct kvm_pv_timer pv_area __aligned(64);
static uint64_t pv_area_gpa;

/* Deadlines are KVM's guest TSC, which the guest's RDTSC may lag (TCG). */
static uint64_t guest_kvm_tsc(void)
{
	return rdtsc() + guest_tsc_skew;
}

static void guest_pv_timer_setup(void)
{
	guest_timer_setup();
	pvtimer_guest_enable(&pv_area, pv_area_gpa);
}

/*
 * One deadline timer_delta_tsc ahead per iteration, armed through the MSR
 * or the pvtimer area, then a busy wait (no HLT) for its interrupt.
 */
static void guest_timer_loop(uint64_t iters, bool pv)
{
	uint64_t i, now, deadline, base = READ_ONCE(timer_irqs), late = 0;

	asm volatile("sti");
	for (i = 0; i < iters; i++) {
		now = guest_kvm_tsc();
		deadline = now + timer_delta_tsc;
		if (pv)
			pvtimer_guest_arm(&pv_area, deadline, guest_kvm_tsc);
		else
			wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
		while (READ_ONCE(timer_irqs) == base + i)
			cpu_relax();
		late += READ_ONCE(timer_irq_tsc) + guest_tsc_skew > deadline ?
			READ_ONCE(timer_irq_tsc) + guest_tsc_skew - deadline : 0;
		xf_check(i);
	}
	asm volatile("cli");
	WRITE_ONCE(timer_late_tsc, late);
}

static void guest_timer_msr_loop(uint64_t iters)
{
	guest_timer_loop(iters, false);
}

static void guest_timer_pv_loop(uint64_t iters)
{
	guest_timer_loop(iters, true);
}

/*
 * Fixed, physical, no shorthand, to our own APIC ID: the ICR write KVM's
 * fastpath handles. Interrupts stay enabled, so each IPI is taken (and
 * EOI'd, one more WRMSR) right after the write that sent it.
 */
static void guest_self_ipi_loop(uint64_t iters)
{
	uint64_t icr = (x2apic_read_reg(APIC_ID) << 32) | APIC_DEST_PHYSICAL |
		       APIC_DM_FIXED | IPI_VECTOR;
	uint64_t i, base = READ_ONCE(ipi_irqs);

	asm volatile("sti" ::: "memory");
	for (i = 0; i < iters; i++) {
		wrmsr(APIC_BASE_MSR + (APIC_ICR >> 4), icr);
		xf_check(i);
	}
	asm volatile("cli" ::: "memory");
	__GUEST_ASSERT(READ_ONCE(ipi_irqs) == base + iters,
		       "%lu self-IPIs sent, %lu received", iters, READ_ONCE(ipi_irqs) - base);
}

/*
 * An IPI to another APIC ID that no vCPU has: the fastpath sends it (to
 * nobody) and, with no request pending, re-enters the guest at once. It is
 * the ICR write of an IPI to another vCPU, without a second vCPU's noise.
 */
#define ABSENT_APIC_ID		0x1000u

static void guest_ipi_absent_loop(uint64_t iters)
{
	uint64_t icr = ((uint64_t)ABSENT_APIC_ID << 32) | APIC_DEST_PHYSICAL |
		       APIC_DM_FIXED | IPI_VECTOR;
	uint64_t i;

	for (i = 0; i < iters; i++) {
		wrmsr(APIC_BASE_MSR + (APIC_ICR >> 4), icr);
		xf_check(i);
	}
}

/*
 * HLT with an interrupt pending: a self-IPI while IF=0, then STI; HLT. The
 * HLT exit finds the IPI pending, and handle_fastpath_hlt() re-enters.
 */
static void guest_hlt_pending_loop(uint64_t iters)
{
	uint64_t icr = (x2apic_read_reg(APIC_ID) << 32) | APIC_DEST_PHYSICAL |
		       APIC_DM_FIXED | IPI_VECTOR;
	uint64_t i, base = READ_ONCE(ipi_irqs);

	for (i = 0; i < iters; i++) {
		wrmsr(APIC_BASE_MSR + (APIC_ICR >> 4), icr);
		asm volatile("sti; hlt; cli" ::: "memory");
		xf_check(i);
	}
	__GUEST_ASSERT(READ_ONCE(ipi_irqs) == base + iters,
		       "%lu HLTs with an IPI pending, %lu IPIs taken", iters,
		       READ_ONCE(ipi_irqs) - base);
}

static void guest_pio_loop(uint64_t iters)
{
	uint64_t i;

	for (i = 0; i < iters; i++) {
		outl(BENCH_PORT, (uint32_t)i);
		xf_check(i);
	}
}

static void guest_xapic_setup(void)
{
	xapic_enable();
	xapic_write_reg(APIC_LVTT, APIC_LVT_MASKED | TIMER_VECTOR);
	xapic_write_reg(APIC_TMICT, 0);
}

/*
 * TMCCT is a register that no APIC virtualization (APICv, AVIC) reads
 * without an exit, so every read goes to KVM's APIC emulation.
 */
static void guest_mmio_loop(uint64_t iters)
{
	uint64_t i, bad = 0;

	for (i = 0; i < iters; i++) {
		bad += xapic_read_reg(APIC_TMCCT) != 0;
		xf_check(i);
	}
	__GUEST_ASSERT(!bad, "%lu of %lu TMCCT reads of a stopped timer were not 0", bad, iters);
}

static bool vmx_launched;

static void guest_nested_setup(void)
{
	static unsigned long l2_stack[L2_STACK_WORDS];

	if (nested_svm) {
		struct svm_test_data *svm = (void *)nested_gva;

		generic_svm_setup(svm, l2_cpuid_loop, &l2_stack[L2_STACK_WORDS]);
		svm->vmcb->control.intercept |= BIT_ULL(INTERCEPT_CPUID);
	} else {
		struct vmx_pages *vmx = (void *)nested_gva;

		GUEST_ASSERT(prepare_for_vmx_operation(vmx));
		GUEST_ASSERT(load_vmcs(vmx));
		prepare_vmcs(vmx, l2_cpuid_loop, &l2_stack[L2_STACK_WORDS]);
	}
}

/* Run L2 to its next exit; true if that exit was a CPUID (then skipped). */
static bool l1_run_l2_to_cpuid(void)
{
	uint64_t reason;

	if (nested_svm) {
		struct svm_test_data *svm = (void *)nested_gva;
		struct vmcb *vmcb = svm->vmcb;

		run_guest(vmcb, svm->vmcb_gpa);
		reason = vmcb->control.exit_code;
		if (reason != SVM_EXIT_CPUID)
			return false;
		vmcb->save.rip += 2;
		return true;
	}

	if (!vmx_launched) {
		GUEST_ASSERT(!vmlaunch());
		vmx_launched = true;
	} else {
		GUEST_ASSERT(!vmresume());
	}
	reason = vmreadz(VM_EXIT_REASON);
	if (reason != EXIT_REASON_CPUID)
		return false;
	vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) + vmreadz(VM_EXIT_INSTRUCTION_LEN));
	return true;
}

static void guest_nested_loop(uint64_t iters)
{
	uint64_t cpuids = 0;

	WRITE_ONCE(l2_left, iters);
	WRITE_ONCE(l2_done, 0);
	for (;;) {
		__GUEST_ASSERT(l1_run_l2_to_cpuid(), "L2 exit 0x%lx to L1, expected CPUID",
			       nested_svm ? ((struct svm_test_data *)nested_gva)->vmcb->control.exit_code
					  : vmreadz(VM_EXIT_REASON));
		if (READ_ONCE(l2_done))
			break;
		xf_check(cpuids);
		cpuids++;
	}
	__GUEST_ASSERT(cpuids == iters, "L1 intercepted %lu CPUIDs of L2, expected %lu",
		       cpuids, iters);
}

/* Host side: feature checks and setup. */

static const char *skip_no_tsc_deadline(void)
{
	if (!kvm_has_cap(KVM_CAP_TSC_DEADLINE_TIMER))
		return "KVM does not offer the TSC-deadline timer (no KVM_CAP_TSC_DEADLINE_TIMER)";
	if (!kvm_cpu_has(X86_FEATURE_X2APIC))
		return "KVM does not offer x2APIC to guests";
	return NULL;
}

static const char *skip_no_x2apic(void)
{
	return kvm_cpu_has(X86_FEATURE_X2APIC) ? NULL : "KVM does not offer x2APIC to guests";
}

static const char *skip_no_nested(void)
{
	if (kvm_cpu_has(X86_FEATURE_SVM) || kvm_cpu_has(X86_FEATURE_VMX))
		return NULL;
	return "nested virtualization unavailable (KVM offers neither SVM nor VMX to guests; "
	       "kvm_amd/kvm_intel nested=0?)";
}

static void setup_hlt(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	uint64_t khz = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);

	if (kvm_has_cap(KVM_CAP_TSC_DEADLINE_TIMER)) {
		TEST_ASSERT((int64_t)khz > 0, "KVM_GET_TSC_KHZ failed");
		vcpu_set_cpuid_feature(vcpu, X86_FEATURE_TSC_DEADLINE_TIMER);
	}
	timer_delta_tsc = khz * opt_hlt_us / 1000;
	/* TMICT 0 would stop the timer: 1 ns is "at once". */
	timer_delta_ns = opt_hlt_us ? opt_hlt_us * 1000 : 1;
	sync_global_to_guest(vm, timer_delta_tsc);
	sync_global_to_guest(vm, timer_delta_ns);
	vm_install_exception_handler(vm, TIMER_VECTOR, guest_timer_handler);
}

/*
 * A deadline is a guest TSC value, so TSC-deadline mode needs the guest's
 * RDTSC to agree with KVM's idea of the guest TSC. Under nested QEMU TCG it
 * need not (the guest reads the outer TSC without KVM's offset): the timer
 * then fires seconds late, so use the one-shot timer instead.
 */
static void probed_hlt(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	use_tsc_deadline = kvm_has_cap(KVM_CAP_TSC_DEADLINE_TIMER) && guest_tsc_agrees;
	sync_global_to_guest(vm, use_tsc_deadline);
	fprintf(stderr, "# hlt: %s timer, %lu us ahead%s\n",
		use_tsc_deadline ? "TSC-deadline" : "one-shot", opt_hlt_us,
		kvm_has_cap(KVM_CAP_TSC_DEADLINE_TIMER) && !guest_tsc_agrees ?
		" (TSC-deadline offered, but the guest's TSC disagrees with KVM's)" : "");
}

static void diag_hlt(struct kvm_vm *vm, struct kvm_vcpu *vcpu, char *buf, size_t len)
{
	struct kvm_mp_state mp;

	sync_global_from_guest(vm, timer_irqs);
	sync_global_from_guest(vm, hlt_armed_tsc);
	vcpu_mp_state_get(vcpu, &mp);
	snprintf(buf, len, "; %lu timer interrupts, mp_state %u, guest TSC at the last arm "
		 "%lu, KVM's guest TSC now %lu, TSC_DEADLINE %lu", timer_irqs, mp.mp_state,
		 hlt_armed_tsc, vcpu_get_msr(vcpu, MSR_IA32_TSC),
		 vcpu_get_msr(vcpu, MSR_IA32_TSC_DEADLINE));
}

static void setup_tscdeadline(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	use_tsc_deadline = true;
	sync_global_to_guest(vm, use_tsc_deadline);
	vcpu_set_cpuid_feature(vcpu, X86_FEATURE_TSC_DEADLINE_TIMER);
	vm_install_exception_handler(vm, TIMER_VECTOR, guest_timer_handler);
}

static const char *skip_no_pvtimer(void)
{
	const char *why = skip_no_tsc_deadline();

	if (!why && !pvtimer_host_has_cap())
		why = "KVM has no KVM_CAP_X86_PVTIMER (a kernel without the pvtimer patches)";
	return why;
}

static void setup_timer(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	uint64_t us = opt_d_given ? opt_hlt_us : TIMER_DEFAULT_US;

	timer_tsc_khz = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);
	TEST_ASSERT((int64_t)timer_tsc_khz > 0, "KVM_GET_TSC_KHZ failed");
	timer_delta_tsc = timer_tsc_khz * us / 1000;
	sync_global_to_guest(vm, timer_delta_tsc);
	fprintf(stderr, "# timer: deadlines %lu us ahead\n", us);
	setup_tscdeadline(vm, vcpu);
	pv_area_gpa = addr_gva2gpa(vm, (vm_vaddr_t)&pv_area);
	sync_global_to_guest(vm, pv_area_gpa);
}

/* The scan runs beside the vCPU, SCHED_FIFO: on -S, or another CPU. */
static void setup_timer_pv(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	int cpu = opt_scan_cpu, self = sched_getcpu(), r;

	setup_timer(vm, vcpu);
	if (cpu < 0) {
		/* The process is pinned to one CPU: take any other. */
		cpu = self ? 0 : 1;
		if (cpu >= get_nprocs_conf())
			cpu = self;
	}
	r = pvtimer_vm_enable_rt(vm, opt_pv_period_us, cpu);
	TEST_ASSERT(!r, "KVM_ENABLE_CAP(KVM_CAP_X86_PVTIMER, %lu us) with the scan on CPU %d: %s",
		    opt_pv_period_us, cpu, strerror(r));
	fprintf(stderr, "# timer_pv: scan every %lu us on CPU %d\n", opt_pv_period_us, cpu);
}

static void setup_self_ipi(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	vm_install_exception_handler(vm, IPI_VECTOR, guest_ipi_handler);
}

static void setup_mmio(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);
}

static void setup_nested(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	nested_svm = kvm_cpu_has(X86_FEATURE_SVM);
	if (nested_svm)
		vcpu_alloc_svm(vm, &nested_gva);
	else
		vcpu_alloc_vmx(vm, &nested_gva);
	sync_global_to_guest(vm, nested_svm);
	sync_global_to_guest(vm, nested_gva);
	fprintf(stderr, "# nested_cpuid: nested %s\n", nested_svm ? "SVM" : "VMX");
}

/* The guest writes the low 32 bits of its loop counter. */
static int pio_exit(struct kvm_vcpu *vcpu, uint64_t nr)
{
	struct kvm_run *run = vcpu->run;
	uint32_t data;

	if (run->exit_reason != KVM_EXIT_IO || run->io.port != BENCH_PORT)
		return 0;
	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 || run->io.count != 1)
		return -1;
	memcpy(&data, (char *)run + run->io.data_offset, sizeof(data));
	return data == (uint32_t)nr ? 1 : -1;
}

/* The kinds of exit that also run as an xstate_* case. */
#define CPUID_CASE							\
	.svm_exit = "CPUID (0x72)", .vmx_exit = "CPUID (10)",		\
	.guest_loop = guest_cpuid_loop
#define IPI_ABSENT_CASE							\
	.svm_exit = "WRMSR (0x7c) ICR to an absent APIC ID, fastpath with NRIPS: re-enters", \
	.vmx_exit = "WRMSR (32) ICR to an absent APIC ID, fastpath: re-enters", \
	.skip_reason = skip_no_x2apic,					\
	.guest_setup = x2apic_enable,					\
	.guest_loop = guest_ipi_absent_loop
#define HLT_PENDING_CASE						\
	.svm_exit = "WRMSR (0x7c) self-IPI + HLT (0x78) with it pending, fastpath with " \
		    "NRIPS: re-enters; + VINTR + WRMSR EOI",		\
	.vmx_exit = "WRMSR (32) self-IPI + HLT (12) with it pending, fastpath: re-enters; " \
		    "+ interrupt window + WRMSR EOI (fewer with APICv)",	\
	.skip_reason = skip_no_x2apic,					\
	.host_setup = setup_self_ipi,					\
	.guest_setup = x2apic_enable,					\
	.guest_loop = guest_hlt_pending_loop

static const struct bench_case cases[] = {
	{
		.name = "cpuid",
		CPUID_CASE,
	}, {
		.name = "vmcall",
		.svm_exit = "VMMCALL (0x81)", .vmx_exit = "VMCALL (18)",
		.guest_loop = guest_vmcall_loop,
	}, {
		.name = "hlt",
		.svm_exit = "WRMSR (0x7c) arm + HLT (0x78) + WRMSR EOI",
		.vmx_exit = "WRMSR (32) arm + HLT (12) + WRMSR EOI (none with APICv)",
		.skip_reason = skip_no_x2apic,
		.host_setup = setup_hlt,
		.host_probed = probed_hlt,
		.guest_setup = guest_timer_setup,
		.guest_loop = guest_hlt_loop,
		.host_diag = diag_hlt,
	}, {
		.name = "wrmsr_tscdeadline",
		.svm_exit = "WRMSR (0x7c), slow path", .vmx_exit = "WRMSR (32), fastpath with the preemption timer",
		.skip_reason = skip_no_tsc_deadline,
		.host_setup = setup_tscdeadline,
		.guest_setup = guest_timer_setup,
		.guest_loop = guest_tscdeadline_loop,
	}, {
		.name = "timer_msr",
		.svm_exit = "WRMSR (0x7c) arm + the expiry's interrupt",
		.vmx_exit = "WRMSR (32) arm + the expiry's interrupt (none with posted timer interrupts)",
		.skip_reason = skip_no_tsc_deadline,
		.host_setup = setup_timer,
		.guest_setup = guest_timer_setup,
		.guest_loop = guest_timer_msr_loop,
		.timer_lateness = true,
	}, {
		.name = "timer_pv",
		.svm_exit = "the expiry's interrupt; WRMSR (0x7c) only for deadlines inside the scan horizon",
		.vmx_exit = "the expiry's interrupt (none with APICv); WRMSR (32) only inside the horizon",
		.skip_reason = skip_no_pvtimer,
		.host_setup = setup_timer_pv,
		.guest_setup = guest_pv_timer_setup,
		.guest_loop = guest_timer_pv_loop,
		.timer_lateness = true,
	}, {
		.name = "x2apic_self_ipi",
		.svm_exit = "WRMSR (0x7c) ICR, fastpath with NRIPS; + WRMSR EOI",
		.vmx_exit = "WRMSR (32) ICR, fastpath; + WRMSR EOI (none with APICv)",
		.skip_reason = skip_no_x2apic,
		.host_setup = setup_self_ipi,
		.guest_setup = x2apic_enable,
		.guest_loop = guest_self_ipi_loop,
	}, {
		.name = "x2apic_ipi_absent",
		IPI_ABSENT_CASE,
	}, {
		.name = "hlt_pending",
		HLT_PENDING_CASE,
	}, {
		.name = "pio_user",
		.svm_exit = "IOIO (0x7b), KVM_EXIT_IO", .vmx_exit = "I/O (30), KVM_EXIT_IO",
		.guest_loop = guest_pio_loop,
		.host_exit = pio_exit,
	}, {
		.name = "mmio",
		.svm_exit = "NPF (0x400) on the xAPIC page, in-kernel emulation",
		.vmx_exit = "APIC_ACCESS (44) or EPT_MISCONFIG (49), in-kernel emulation",
		.host_setup = setup_mmio,
		.guest_setup = guest_xapic_setup,
		.guest_loop = guest_mmio_loop,
	}, {
		.name = "nested_cpuid",
		.svm_exit = "L2 CPUID reflected to L1, L1 VMRUN (0x80) [+ VMLOAD/VMSAVE]",
		.vmx_exit = "L2 CPUID reflected to L1, L1 VMRESUME (24) + VMREAD/VMWRITE",
		.skip_reason = skip_no_nested,
		.host_setup = setup_nested,
		.guest_setup = guest_nested_setup,
		.guest_loop = guest_nested_loop,
	}, {
		.name = "xstate_cpuid",
		CPUID_CASE,
		.xstate = true,
	}, {
		.name = "xstate_ipi_absent",
		IPI_ABSENT_CASE,
		.xstate = true,
	}, {
		.name = "xstate_hlt_pending",
		HLT_PENDING_CASE,
		.xstate = true,
	},
};

#define NR_CASES ARRAY_SIZE(cases)

static void guest_main(void)
{
	const struct bench_case *c = &cases[guest_case];
	uint64_t t0, t1;

	GUEST_SYNC_ARGS(STAGE_TSC, rdtsc(), 0, 0, 0);
	if (guest_xf)
		guest_xf_setup();
	if (c->guest_setup)
		c->guest_setup();
	for (;;) {
		GUEST_SYNC(STAGE_READY);
		t0 = rdtsc();
		c->guest_loop(READ_ONCE(guest_iters));
		t1 = rdtsc();
		GUEST_SYNC_ARGS(STAGE_DONE, t1 - t0, 0, 0, 0);
	}
}

/* Host side: stats, watchdog, runs. */

static volatile sig_atomic_t ticks;

static void tick_handler(int sig)
{
	ticks++;
}

static void watchdog(bool on)
{
	struct itimerval it = {};

	if (on)
		it.it_interval.tv_sec = it.it_value.tv_sec = 1;
	TEST_ASSERT(!setitimer(ITIMER_REAL, &it, NULL), "setitimer");
}

struct sample {
	uint64_t ns, cycles, exits, irq_exits;
};

struct bench {
	const struct bench_case *c;
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct vcpu_stats stats;
	char err[512];
};

static bool failf(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->err, sizeof(b->err), fmt, ap);
	va_end(ap);
	return false;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Run the vCPU to its next GUEST_SYNC, passing the case's own userspace exits
 * to host_exit (counted in *user). A vCPU whose exit count stands still for
 * STALL_SECONDS (e.g. a halted vCPU whose timer interrupt was lost) fails.
 */
static bool run_to_sync(struct bench *b, uint64_t want_stage, uint64_t *user, uint64_t *cycles)
{
	struct kvm_run *run = b->vcpu->run;
	uint64_t last_exits = vcpu_stats_read(&b->stats, "exits");
	int stalled = 0, r;
	struct ucall uc;

	for (;;) {
		r = __vcpu_run(b->vcpu);
		if (r == -1 && errno == EINTR) {
			uint64_t e = vcpu_stats_read(&b->stats, "exits");

			stalled = e == last_exits ? stalled + 1 : 0;
			last_exits = e;
			if (stalled >= STALL_SECONDS) {
				char diag[256] = "";

				if (b->c->host_diag)
					b->c->host_diag(b->vm, b->vcpu, diag, sizeof(diag));
				return failf(b, "vCPU made no progress for %d s (lost interrupt?)%s",
					     STALL_SECONDS, diag);
			}
			continue;
		}
		if (r)
			return failf(b, "KVM_RUN failed: %s", strerror(errno));
		if (b->c->host_exit) {
			r = b->c->host_exit(b->vcpu, *user);
			if (r > 0) {
				++*user;
				continue;
			}
			if (r < 0)
				return failf(b, "userspace exit %lu of the loop carried the wrong data",
					     *user + 1);
		}
		switch (get_ucall(b->vcpu, &uc)) {
		case UCALL_SYNC:
			if (uc.args[1] != want_stage)
				return failf(b, "guest at stage %lu, expected %lu", uc.args[1],
					     want_stage);
			if (cycles)
				*cycles = uc.args[2];
			return true;
		case UCALL_ABORT:
			return failf(b, "guest assertion at %s:%lu: %s",
				     (const char *)uc.args[GUEST_FILE], uc.args[GUEST_LINE],
				     uc.buffer);
		default:
			return failf(b, "unexpected exit %s", exit_reason_str(run->exit_reason));
		}
	}
}

/* One guest loop of ITERS iterations; the vCPU waits at STAGE_READY before and after. */
/*
 * The measured window, for bench/profile/insn_profile.c (a QEMU TCG plugin
 * that counts the instructions of this vCPU in between).
 */
static inline void profile_window_start(void)
{
	asm volatile(".byte " __stringify(PROFILE_MARKER_START) ::: "memory");
}

static inline void profile_window_stop(void)
{
	asm volatile(".byte " __stringify(PROFILE_MARKER_STOP) ::: "memory");
}

static bool measure(struct bench *b, uint64_t iters, struct sample *s)
{
	uint64_t exits, irq_exits, t0, user = 0;
	bool ok;

	guest_iters = iters;
	sync_global_to_guest(b->vm, guest_iters);

	watchdog(true);
	irq_exits = vcpu_stats_read(&b->stats, "irq_exits");
	exits = vcpu_stats_read(&b->stats, "exits");
	t0 = now_ns();
	profile_window_start();
	ok = run_to_sync(b, STAGE_DONE, &user, &s->cycles);
	profile_window_stop();
	s->ns = now_ns() - t0;
	/* Less the exit of the ucall that ended the loop. */
	s->exits = vcpu_stats_read(&b->stats, "exits") - exits - 1;
	s->irq_exits = vcpu_stats_read(&b->stats, "irq_exits") - irq_exits;
	ok = ok && run_to_sync(b, STAGE_READY, &user, NULL);
	watchdog(false);
	if (!ok)
		return false;
	if (b->c->host_exit && user != iters)
		return failf(b, "%lu userspace exits for %lu iterations", user, iters);
	return true;
}

/*
 * xstate_* and -X: the selftest library leaves CR4.OSXSAVE clear, and with it clear KVM
 * switches neither XCR0 nor XSS. The guest sets XCR0, CR4.PKE and PKRU itself,
 * but XCR0 is also set here: QEMU TCG's SVM does not intercept XSETBV, so
 * there the guest's XSETBV changes the outer XCR0 without KVM knowing, and
 * KVM loads its own idea of the guest's XCR0 (0x1 after reset) at each entry.
 */
static void setup_xf(struct bench *b)
{
	struct kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs[0] = { .xcr = 0, .value = XF_XCR0 } };
	struct kvm_sregs sregs;

	vcpu_sregs_get(b->vcpu, &sregs);
	sregs.cr4 |= X86_CR4_OSXSAVE;
	vcpu_sregs_set(b->vcpu, &sregs);
	vcpu_xcrs_set(b->vcpu, &xcrs);
	sync_global_to_guest(b->vm, guest_xf);
	sync_global_to_guest(b->vm, guest_xf_pkru);
}

static bool bench_init(struct bench *b, int idx)
{
	uint64_t user = 0, tsc0, tsc1, guest_tsc;

	b->c = &cases[idx];
	b->vm = vm_create_with_one_vcpu(&b->vcpu, guest_main);
	guest_case = idx;
	sync_global_to_guest(b->vm, guest_case);
	guest_xf = opt_xf || b->c->xstate;
	if (guest_xf)
		setup_xf(b);
	if (b->c->host_setup)
		b->c->host_setup(b->vm, b->vcpu);

	vcpu_stats_open(b->vcpu, &b->stats);

	watchdog(true);
	tsc0 = vcpu_get_msr(b->vcpu, MSR_IA32_TSC);
	if (!run_to_sync(b, STAGE_TSC, &user, &guest_tsc))
		goto fail;
	tsc1 = vcpu_get_msr(b->vcpu, MSR_IA32_TSC);
	guest_tsc_agrees = guest_tsc >= tsc0 && guest_tsc <= tsc1;
	guest_tsc_skew = guest_tsc_agrees ? 0 : tsc0 - guest_tsc;
	sync_global_to_guest(b->vm, guest_tsc_skew);
	if (!guest_tsc_agrees && b->c->host_probed)
		fprintf(stderr, "# %s: guest RDTSC %lu, KVM's guest TSC %lu..%lu around it\n",
			b->c->name, guest_tsc, tsc0, tsc1);
	sync_global_to_guest(b->vm, guest_tsc_agrees);
	if (b->c->host_probed)
		b->c->host_probed(b->vm, b->vcpu);
	if (!run_to_sync(b, STAGE_READY, &user, NULL))
		goto fail;
	watchdog(false);
	return true;
fail:
	watchdog(false);
	return false;
}

static void bench_free(struct bench *b)
{
	vcpu_stats_close(&b->stats);
	kvm_vm_free(b->vm);
}

/* Options. */
static uint64_t opt_iters;
static uint64_t opt_min_ms = 200;
static bool opt_calibrate_only;
static bool print_cycles;

/* What an xstate_* case (or -X) gives the guest; XSAVE is checked before. */
static void xf_note(const char *name)
{
	if (!guest_xf_pkru)
		fprintf(stderr, "# %s: guest xfeatures: XCR0 0x%llx, PKRU not set (no PKU in "
			"the guest CPUID)\n", name, XF_XCR0);
	else
		fprintf(stderr, "# %s: guest xfeatures: XCR0 0x%llx, PKRU 0x%x\n", name, XF_XCR0,
			XF_PKRU);
}

/* Returns 0 (measured or skipped) or 1 (failed). */
static int run_case(int idx, struct sample *out, uint64_t *out_iters)
{
	const struct bench_case *c = &cases[idx];
	const char *why = c->skip_reason ? c->skip_reason() : NULL;
	struct bench b = {};
	struct sample s = {};
	uint64_t iters = opt_iters;
	bool ok;

	if (!why && (opt_xf || c->xstate) && !kvm_cpu_has(X86_FEATURE_XSAVE))
		why = opt_xf ? "-X: KVM does not offer XSAVE to guests" :
			       "KVM does not offer XSAVE to guests";
	if (why) {
		printf("%s (skipped) %s\n", c->name, why);
		return 0;
	}
	fprintf(stderr, "# %s: %s\n", c->name, opt_iters ? "measuring" : "calibrating");
	if (opt_xf || c->xstate)
		xf_note(c->name);
	ok = bench_init(&b, idx);
	if (ok && !iters) {
		for (iters = MIN_ITERS; ; iters *= 2) {
			ok = measure(&b, iters, &s);
			if (!ok || s.ns >= opt_min_ms * 1000000 || iters >= MAX_ITERS)
				break;
		}
	}
	if (ok && !opt_calibrate_only)
		ok = measure(&b, iters, &s);
	if (!ok) {
		printf("%s (failed) %s\n", c->name, b.err);
		bench_free(&b);
		return 1;
	}
	printf("%s %lu iters\n", c->name, iters);
	if (!opt_calibrate_only) {
		printf("%s %.1f ns/iter\n", c->name, (double)s.ns / iters);
		printf("%s %.3f exits/iter\n", c->name, (double)s.exits / iters);
		printf("%s %.3f irq_exits/iter\n", c->name, (double)s.irq_exits / iters);
		if (print_cycles)
			printf("%s %.0f cycles/iter\n", c->name, (double)s.cycles / iters);
		if (c->timer_lateness) {
			sync_global_from_guest(b.vm, timer_late_tsc);
			printf("%s %.1f late_ns/iter\n", c->name,
			       (double)timer_late_tsc * 1000000 / timer_tsc_khz / iters);
		}
	}
	fflush(stdout);
	if (out)
		*out = s;
	if (out_iters)
		*out_iters = iters;
	bench_free(&b);
	return 0;
}

static int find_case(const char *name)
{
	int i;

	for (i = 0; i < NR_CASES; i++)
		if (!strcmp(cases[i].name, name))
			return i;
	return -1;
}

/*
 * Self-check for make test: N CPUIDs must give N exits, bar host
 * interrupts that hit the vCPU (irq_exits) and at most 1% more.
 */
static int self_check(void)
{
	struct sample s = {};
	uint64_t iters;
	double per;

	if (!opt_iters)
		opt_iters = 1000;
	if (run_case(find_case("cpuid"), &s, &iters))
		return 1;
	per = (double)(s.exits - s.irq_exits) / iters;
	if (per < 1.0 || per > 1.01) {
		printf("selfcheck FAIL cpuid %.4f exits/iter without irq_exits, want [1.00, 1.01]\n",
		       per);
		return 1;
	}
	printf("selfcheck ok cpuid %.4f exits/iter without irq_exits (%.4f with)\n", per,
	       (double)s.exits / iters);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lazyswitch_bench [-t MS | -n ITERS] [-c] [-d US] [-C CPU] [-p US] [-S CPU]\n"
		"                        [-X] [-s] [-l] [CASE...]\n"
		"Exit microbenchmarks for KVM: one kind of exit per guest-loop iteration.\n"
		"\n"
		"  -t MS     calibrate until one guest loop takes MS ms (default %lu)\n"
		"  -n ITERS  fixed iteration count, no calibration\n"
		"  -d US     hlt, timer_msr, timer_pv: arm the timer US microseconds ahead\n"
		"            (default: hlt 1000, timer_* %d, beyond the pvtimer's scan horizon)\n"
		"  -C CPU    pin to this host CPU (default: the one it started on); the host's\n"
		"            TSC_AUX is its CPU number, so KVM writes it on exits off CPU 0\n"
		"  -p US     timer_pv: the pvtimer scan period (default %lu; 100 on hardware)\n"
		"  -S CPU    timer_pv: the CPU of the scan task (default: the first CPU\n"
		"            that is not the vCPU's)\n"
		"  -X        every case as its xstate_* variant: guest xfeatures unlike the\n"
		"            host's, XCR0 0x3 (x87|SSE) and, with PKU, PKRU 0xc; every\n"
		"            iteration checks the guest still sees them\n"
		"  -c        calibrate only: print 'CASE ITERS iters' per case\n"
		"  -s        self-check: -n 1000 (or -n) cpuid must give 1.00-1.01 exits/iter\n"
		"  -l        list the cases and the exits they trigger\n"
		"\n"
		"Output: 'CASE VALUE UNIT' lines (iters, ns/iter, exits/iter, irq_exits/iter,\n"
		"and cycles/iter with an invariant TSC), 'CASE (skipped) REASON', or\n"
		"'CASE (failed) REASON'. Exit status 1 if a case failed, 2 on usage errors.\n"
		"\n"
		"Examples:\n"
		"  # every case, calibrated to 200 ms loops\n"
		"  lazyswitch_bench\n"
		"  # the iteration counts a tracing run should use\n"
		"  lazyswitch_bench -c cpuid hlt\n"
		"  # a fixed count, e.g. with tracing attached\n"
		"  lazyswitch_bench -n 65536 cpuid\n"
		"  # on CPU 1, with XCR0 and PKRU for KVM to switch\n"
		"  lazyswitch_bench -C 1 -n 1000 xstate_cpuid xstate_ipi_absent\n", opt_min_ms, TIMER_DEFAULT_US,
		opt_pv_period_us);
}

static void list_cases(void)
{
	int i;

	for (i = 0; i < NR_CASES; i++)
		printf("%-18s SVM: %s; VMX: %s%s\n", cases[i].name, cases[i].svm_exit,
		       cases[i].vmx_exit,
		       cases[i].xstate ? "; guest XCR0 and PKRU unlike the host's" : "");
}

/* A CPU number in our allowed set. */
static bool parse_cpu(const char *s, int *cpu)
{
	cpu_set_t allowed;
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || *s == '-' || v >= CPU_SETSIZE)
		return false;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) || !CPU_ISSET(v, &allowed))
		return false;
	*cpu = v;
	return true;
}

/*
 * The selftest library's constructor prints its random seed on stdout. Send
 * it to stderr, so stdout has only 'CASE VALUE UNIT' lines: this runs before
 * that constructor, main() restores stdout.
 */
static int saved_stdout = -1;

static void __attribute__((constructor(101))) seed_line_to_stderr(void)
{
	saved_stdout = dup(STDOUT_FILENO);
	if (saved_stdout >= 0)
		dup2(STDERR_FILENO, STDOUT_FILENO);
}

static void restore_stdout(void)
{
	if (saved_stdout < 0)
		return;
	fflush(stdout);
	dup2(saved_stdout, STDOUT_FILENO);
	close(saved_stdout);
	saved_stdout = -1;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && *s && !*end && *v;
}

int main(int argc, char *argv[])
{
	struct sigaction sa = { .sa_handler = tick_handler, .sa_flags = SA_RESTART };
	bool selected[NR_CASES] = {}, any = false, check = false;
	int opt, i, failed = 0, cpu = -1;

	restore_stdout();
	while ((opt = getopt(argc, argv, "t:n:d:C:p:S:Xcslh")) != -1) {
		switch (opt) {
		case 't':
			if (!parse_u64(optarg, &opt_min_ms)) {
				printf("error: bad -t '%s' (milliseconds, > 0)\n", optarg);
				return 2;
			}
			break;
		case 'n':
			if (!parse_u64(optarg, &opt_iters) || opt_iters > MAX_ITERS) {
				printf("error: bad -n '%s' (1..%llu)\n", optarg, MAX_ITERS);
				return 2;
			}
			break;
		case 'd':
			if (!parse_u64(optarg, &opt_hlt_us) && strcmp(optarg, "0")) {
				printf("error: bad -d '%s' (microseconds)\n", optarg);
				return 2;
			}
			if (opt_hlt_us > 1000000) {
				printf("error: -d %s is over 1 s\n", optarg);
				return 2;
			}
			opt_d_given = true;
			break;
		case 'C':
			if (!parse_cpu(optarg, &cpu)) {
				printf("error: bad -C '%s' (a CPU number this process may run on)\n",
				       optarg);
				return 2;
			}
			break;
		case 'p':
			if (!parse_u64(optarg, &opt_pv_period_us) || opt_pv_period_us < 10 ||
			    opt_pv_period_us > 100000) {
				printf("error: bad -p '%s' (10..100000 microseconds)\n", optarg);
				return 2;
			}
			break;
		case 'S':
			if (!parse_cpu(optarg, &opt_scan_cpu)) {
				printf("error: bad -S '%s' (a CPU number this process may run on)\n",
				       optarg);
				return 2;
			}
			break;
		case 'X':
			opt_xf = true;
			break;
		case 'c':
			opt_calibrate_only = true;
			break;
		case 's':
			check = true;
			break;
		case 'l':
			list_cases();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (opt_calibrate_only && opt_iters) {
		printf("error: -c and -n exclude each other\n");
		return 2;
	}
	for (i = optind; i < argc; i++) {
		int idx = find_case(argv[i]);

		if (idx < 0) {
			int j;

			printf("error: unknown case '%s' (known:", argv[i]);
			for (j = 0; j < NR_CASES; j++)
				printf(" %s", cases[j].name);
			printf(")\n");
			return 2;
		}
		selected[idx] = any = true;
	}

	/*
	 * Stay on one CPU: steadier numbers, one TSC for the timer cases, and
	 * the same user-return MSR writes on every exit.
	 */
	if (cpu < 0)
		cpu = sched_getcpu();
	kvm_pin_this_task_to_pcpu(cpu);
	fprintf(stderr, "# pinned to CPU %d\n", cpu);
	guest_xf_pkru = kvm_cpu_has(X86_FEATURE_PKU);
	TEST_ASSERT(!sigaction(SIGALRM, &sa, NULL), "sigaction");
	print_cycles = this_cpu_has(X86_FEATURE_INVTSC);
	if (!print_cycles)
		fprintf(stderr, "# no invariant TSC on this CPU: cycles/iter not printed\n");

	if (check)
		return self_check();

	for (i = 0; i < NR_CASES; i++)
		if (!any || selected[i])
			failed |= run_case(i, NULL, NULL);
	return failed;
}
