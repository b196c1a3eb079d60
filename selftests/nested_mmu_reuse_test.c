// SPDX-License-Identifier: GPL-2.0
/*
 * Nested MMU reuse: L1 runs L2, and L2 does CPUID exits to L1, each a pair
 * of nested transitions (VMRUN, #VMEXIT) that L0 KVM emulates. KVM calls
 * kvm_init_mmu() on every transition but rebuilds an MMU context only when
 * its role changed, and keeps L1's and L2's roots cached. Counted here from
 * kprobe events (tracefs) on the vCPU thread, after a warm-up:
 *  - kvm_init_mmu(): the calls, to show the path is taken;
 *  - update_permission_bitmask(): every context (re)initialization that
 *    computes paging metadata, which all role-change paths do;
 *  - kvm_mmu_load(): roots built after an unload.
 * With nested NPT (L1 gives L2 its own NPT), L0 switches between its TDP
 * context and the shadow-NPT context: 0 reinitializations and 0 root loads
 * per transition. Without nested NPT, L2 shares L1's TDP context and the
 * guest-mode bit of its role flips on every transition, so it is
 * reinitialized each time; that count is reported and checked too.
 * L2 checks its state: L1's CPUID answer (RAX, memory), its other GPRs and
 * its stack; L1 checks L2's memory writes. VMX (nested EPT) is not covered: SKIP there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "svm_util.h"

#define WARMUP_ROUNDS	8
#define ROUNDS		64
#define L2_STACK_WORDS	256
#define CPUID_MAGIC	0x4c324c31u

#define TRACEFS		"/sys/kernel/tracing"
#define KPROBE_GROUP	"lazyswitch_nmmu"

enum probe { P_INIT_MMU, P_REINIT, P_ROOT_LOAD, NR_PROBES };

static const char * const probe_symbol[NR_PROBES] = {
	"kvm_init_mmu", "update_permission_bitmask", "kvm_mmu_load",
};

static int probe_fd[NR_PROBES] = { -1, -1, -1 };
static char probe_event[NR_PROBES][64];

/* Shared by L1 and L2 (same address space: L2 runs on L1's page tables). */
static volatile uint32_t l2_round;
static volatile uint64_t l1_answer;
static bool use_npt;

static void l2_guest_code(void)
{
	uint32_t eax, ebx, ecx, edx, i;
	volatile uint64_t canary = 0xc0ffee00c0ffee00ull;

	for (i = 0; i < WARMUP_ROUNDS + ROUNDS; i++) {
		l2_round = i;
		eax = CPUID_MAGIC;
		ebx = ~i;
		ecx = i ^ CPUID_MAGIC;
		edx = i * 3;
		asm volatile("cpuid" : "+a"(eax), "+b"(ebx), "+c"(ecx), "+d"(edx));
		/* L1 answers in RAX and memory; the other GPRs must come back. */
		GUEST_ASSERT_EQ(eax, i);
		GUEST_ASSERT_EQ(l1_answer, ~(uint64_t)i);
		GUEST_ASSERT_EQ(ebx, ~i);
		GUEST_ASSERT_EQ(ecx, i ^ CPUID_MAGIC);
		GUEST_ASSERT_EQ(edx, i * 3);
		GUEST_ASSERT_EQ(canary, 0xc0ffee00c0ffee00ull);
	}
	vmmcall();
}

static void l1_guest_code(struct svm_test_data *svm, uint64_t ncr3)
{
	uint64_t l2_stack[L2_STACK_WORDS];
	struct vmcb *vmcb = svm->vmcb;
	uint32_t i;

	generic_svm_setup(svm, l2_guest_code, &l2_stack[L2_STACK_WORDS]);
	vmcb->control.intercept |= 1ull << INTERCEPT_CPUID;
	if (use_npt) {
		vmcb->control.nested_ctl |= SVM_NESTED_CTL_NP_ENABLE;
		vmcb->control.nested_cr3 = ncr3;
	}
	for (i = 0; i < WARMUP_ROUNDS + ROUNDS; i++) {
		if (i == WARMUP_ROUNDS)
			GUEST_SYNC(1);
		run_guest(vmcb, svm->vmcb_gpa);
		__GUEST_ASSERT(vmcb->control.exit_code == SVM_EXIT_CPUID,
			       "round %u: exit code 0x%lx, expected CPUID", i,
			       (unsigned long)vmcb->control.exit_code);
		GUEST_ASSERT_EQ(vmcb->save.rax, CPUID_MAGIC);
		GUEST_ASSERT_EQ(l2_round, i);
		vmcb->save.rax = i;
		l1_answer = ~(uint64_t)i;
		/* No NRIP save under emulation: step over the 2-byte CPUID. */
		vmcb->save.rip += 2;
	}
	GUEST_SYNC(2);
	run_guest(vmcb, svm->vmcb_gpa);
	GUEST_ASSERT_EQ(vmcb->control.exit_code, SVM_EXIT_VMMCALL);
	GUEST_DONE();
}

static bool write_tracefs(const char *file, const char *text)
{
	char path[320];
	int fd, n;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		return false;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (int)strlen(text);
}

static void remove_probes(void)
{
	char cmd[320];
	int p;

	for (p = 0; p < NR_PROBES; p++) {
		if (probe_fd[p] >= 0)
			close(probe_fd[p]);
		probe_fd[p] = -1;
		if (probe_event[p][0]) {
			snprintf(cmd, sizeof(cmd), "-:%s/%s\n", KPROBE_GROUP, probe_event[p]);
			write_tracefs("kprobe_events", cmd);
			probe_event[p][0] = 0;
		}
	}
}

/* NULL on success, else why the kprobe counters are unavailable. */
static const char *open_probes(void)
{
	struct perf_event_attr attr = { .type = PERF_TYPE_TRACEPOINT, .size = sizeof(attr) };
	static char why[320];
	char cmd[320], path[320];
	FILE *f;
	int p, id;

	for (p = 0; p < NR_PROBES; p++) {
		snprintf(probe_event[p], sizeof(probe_event[p]), "%s_%d", probe_symbol[p],
			 getpid());
		snprintf(cmd, sizeof(cmd), "p:%s/%s %s\n", KPROBE_GROUP, probe_event[p],
			 probe_symbol[p]);
		if (!write_tracefs("kprobe_events", cmd)) {
			snprintf(why, sizeof(why), "cannot add a kprobe on %s through "
				 TRACEFS "/kprobe_events (%s)", probe_symbol[p], strerror(errno));
			probe_event[p][0] = 0;
			return why;
		}
		snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/id", KPROBE_GROUP,
			 probe_event[p]);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%d", &id) != 1) {
			snprintf(why, sizeof(why), "no id for kprobe event %s", probe_event[p]);
			if (f)
				fclose(f);
			return why;
		}
		fclose(f);
		attr.config = id;
		/* This thread only: L0's nested transitions run in the vCPU thread. */
		probe_fd[p] = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
		if (probe_fd[p] < 0) {
			snprintf(why, sizeof(why), "perf_event_open on kprobe %s: %s",
				 probe_symbol[p], strerror(errno));
			return why;
		}
	}
	return NULL;
}

static void read_probes(uint64_t *v)
{
	int p;

	for (p = 0; p < NR_PROBES; p++)
		TEST_ASSERT(read(probe_fd[p], &v[p], sizeof(v[p])) == sizeof(v[p]), "read counter");
}

static void run_until_sync(struct kvm_vcpu *vcpu, uint64_t stage)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		TEST_ASSERT_EQ(uc.args[1], stage);
		break;
	case UCALL_DONE:
		TEST_ASSERT_EQ(stage, 3);
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("unexpected ucall %lu", uc.cmd);
	}
}

#define NPT_FLAGS	(PTE_PRESENT_MASK | PTE_WRITABLE_MASK | PTE_USER_MASK)
#define NPT_GIBS	4

/* An identity NPT for the low NPT_GIBS GiB, 2 MiB pages; returns its root GPA. */
static uint64_t build_identity_npt(struct kvm_vm *vm)
{
	vm_vaddr_t gva = vm_vaddr_alloc_pages(vm, 2 + NPT_GIBS);
	uint64_t *pml4 = addr_gva2hva(vm, gva), *pdpt = addr_gva2hva(vm, gva + 4096), *pd;
	uint64_t pdpt_gpa = addr_gva2gpa(vm, gva + 4096), pd_gpa;
	int g, i;

	/* Allocated last, so every GPA the test uses is below it. */
	TEST_ASSERT(addr_gva2gpa(vm, gva + (1 + NPT_GIBS) * 4096) < (uint64_t)NPT_GIBS << 30,
		    "guest memory reaches beyond the %d GiB the NPT maps", NPT_GIBS);
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = pdpt_gpa | NPT_FLAGS;
	for (g = 0; g < NPT_GIBS; g++) {
		pd = addr_gva2hva(vm, gva + (2 + g) * 4096);
		pd_gpa = addr_gva2gpa(vm, gva + (2 + g) * 4096);
		for (i = 0; i < 512; i++)
			pd[i] = ((uint64_t)g << 30 | (uint64_t)i << 21) | NPT_FLAGS |
				PTE_LARGE_MASK;
		pdpt[g] = pd_gpa | NPT_FLAGS;
	}
	return addr_gva2gpa(vm, gva);
}

static void run_case(bool npt)
{
	uint64_t before[NR_PROBES], warm[NR_PROBES], after[NR_PROBES], ncr3 = 0, d[NR_PROBES];
	const char *name = npt ? "nested NPT" : "no nested NPT";
	int transitions = 2 * ROUNDS, p;
	struct kvm_vcpu *vcpu;
	vm_vaddr_t svm_gva;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	vcpu_alloc_svm(vm, &svm_gva);
	if (npt)
		ncr3 = build_identity_npt(vm);
	use_npt = npt;
	sync_global_to_guest(vm, use_npt);
	vcpu_args_set(vcpu, 2, svm_gva, ncr3);

	read_probes(before);
	run_until_sync(vcpu, 1);
	read_probes(warm);
	run_until_sync(vcpu, 2);
	read_probes(after);
	run_until_sync(vcpu, 3);
	kvm_vm_free(vm);

	for (p = 0; p < NR_PROBES; p++)
		d[p] = after[p] - warm[p];
	ksft_print_msg("%s: warm-up (%d rounds): %lu kvm_init_mmu, %lu reinit, %lu root loads; "
		       "measured %d transitions: %lu kvm_init_mmu, %lu reinit, %lu root loads\n",
		       name, WARMUP_ROUNDS, warm[P_INIT_MMU] - before[P_INIT_MMU],
		       warm[P_REINIT] - before[P_REINIT], warm[P_ROOT_LOAD] - before[P_ROOT_LOAD],
		       transitions, d[P_INIT_MMU], d[P_REINIT], d[P_ROOT_LOAD]);

	/* The counters see the path: kvm_init_mmu() runs on every transition. */
	TEST_ASSERT(d[P_INIT_MMU] >= transitions, "%s: only %lu kvm_init_mmu calls for %d "
		    "transitions: the kprobe does not see the path", name, d[P_INIT_MMU],
		    transitions);
	TEST_ASSERT(warm[P_REINIT] > before[P_REINIT], "%s: no context initialization seen "
		    "even in the warm-up: the update_permission_bitmask kprobe misses it", name);
	if (npt) {
		TEST_ASSERT(!d[P_REINIT] && !d[P_ROOT_LOAD], "%s: %lu reinitializations and %lu "
			    "root loads in %d transitions, expected 0", name, d[P_REINIT],
			    d[P_ROOT_LOAD], transitions);
		ksft_test_result_pass("%s: 0 MMU reinitializations, 0 root loads in %d nested "
				      "transitions (%lu kvm_init_mmu calls)\n", name,
				      transitions, d[P_INIT_MMU]);
	} else {
		TEST_ASSERT(d[P_REINIT] == transitions && !d[P_ROOT_LOAD],
			    "%s: %lu reinitializations and %lu root loads in %d transitions, "
			    "expected one reinitialization per transition and 0 root loads",
			    name, d[P_REINIT], d[P_ROOT_LOAD], transitions);
		ksft_test_result_pass("%s: L2 shares L1's TDP context, its role's guest_mode "
				      "flips: %lu reinitializations (1 per transition), 0 root "
				      "loads in %d transitions\n", name, d[P_REINIT], transitions);
	}
}

int main(void)
{
	const char *why;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SVM) || kvm_cpu_has(X86_FEATURE_VMX));
	if (!kvm_cpu_has(X86_FEATURE_SVM))
		ksft_exit_skip("nested VMX (EPT) MMU reuse is not covered; this test drives "
			       "nested SVM\n");

	ksft_print_header();
	ksft_set_plan(2);
	/* A failed assertion exits: the kprobe events must not outlive the test. */
	atexit(remove_probes);
	why = open_probes();
	if (why)
		ksft_exit_skip("%s\n", why);
	if (kvm_cpu_has(X86_FEATURE_NPT))
		run_case(true);
	else
		ksft_test_result_skip("nested NPT: KVM offers no NPT to L1\n");
	run_case(false);
	ksft_finished();
}
