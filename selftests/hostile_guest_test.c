// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile guest against the interfaces the series touches: XSETBV with
 * illegal values, WRPKRU with every kind of key mask, WRMSR to XSS and
 * TSC_DEADLINE with boundary values, and RDMSR/WRMSR of random indices and
 * values in the KVM paravirtual MSR range, with the PV features hidden and
 * advertised. The guest must get #GP exactly where the architecture or the
 * KVM ABI says so, keep its own state, and the host's XCR0, PKRU and
 * TSC_AUX must be intact after every KVM_RUN.
 *
 * Inputs come from a fixed-seed generator; the seed is printed and -s SEED
 * replays a run. The pvtimer MSR (0x4b564d09) is left out here: its hostile
 * inputs are tested by the pvtimer selftest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "host_state.h"

#define DEFAULT_SEED		0x6c7a7377686f7374ull
#define RANDOM_INPUTS		400
#define SYNC_EVERY		50
#define TIMER_VECTOR		0xec
#define MSR_KVM_RANGE_BASE	0x4b564d00u
#define MSR_KVM_PVTIMER		0x4b564d09u	/* tested by the pvtimer selftest */
#define FAR_GPA_BIT		BIT_ULL(46)	/* beyond every memslot of this VM */
#define TIMER_SPIN_LIMIT	50000000ul
#define GUEST_TSC_AUX		0x5a5bu

enum stage { ST_XSETBV, ST_WRPKRU, ST_XSS, ST_TSC_DEADLINE, ST_KVM_MSRS_HIDDEN,
	     ST_KVM_MSRS_ADVERTISED, NR_STAGES };

static const char * const stage_name[NR_STAGES] = {
	"XSETBV", "WRPKRU", "WRMSR XSS", "WRMSR TSC_DEADLINE",
	"KVM MSRs, PV features hidden", "KVM MSRs, PV features advertised",
};

/* Shared with the guest. */
static uint64_t rng_state;
static int stage;
static uint64_t guest_xcr0, supported_xss, no_one_xcr0;
static bool guest_has_xsaves;
static uint64_t tries, gp_count;
static uint32_t timer_irqs, guest_tsc_aux;

/* xorshift64*: the same sequence in guest and host for a given seed. */
static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint8_t wrpkru_safe(uint32_t pkru, uint32_t ecx)
{
	return kvm_asm_safe(".byte 0x0f,0x01,0xef", "a" (pkru), "d" (0), "c" (ecx));
}

/* Count one hostile input, and hand control to the host now and then. */
static void tried(uint8_t vector)
{
	tries++;
	if (vector == GP_VECTOR)
		gp_count++;
	if (!(tries % SYNC_EVERY))
		GUEST_SYNC(tries);
}

static void expect_gp(uint8_t vector, const char *what, uint64_t arg, uint64_t i)
{
	__GUEST_ASSERT(vector == GP_VECTOR, "%s 0x%lx (input %lu): vector %u, expected #GP",
		       what, arg, i, vector);
	tried(vector);
}

static void expect_ok(uint8_t vector, const char *what, uint64_t arg, uint64_t i)
{
	__GUEST_ASSERT(!vector, "%s 0x%lx (input %lu): vector %u, expected no fault",
		       what, arg, i, vector);
	tried(vector);
}

/* One random set bit of a non-zero mask. */
static uint64_t random_bit_of(uint64_t mask)
{
	int k = rng_next() % __builtin_popcountll(mask);

	while (k--)
		mask &= mask - 1;
	return mask & -mask;
}

static void guest_xsetbv(void)
{
	uint64_t boundary[] = {
		0, XFEATURE_MASK_SSE, XFEATURE_MASK_FP | XFEATURE_MASK_YMM,
		guest_xcr0 | BIT_ULL(62), guest_xcr0 | BIT_ULL(63), ~0ull,
		guest_xcr0 & ~XFEATURE_MASK_FP,
	};
	uint64_t v, i;

	for (i = 0; i < ARRAY_SIZE(boundary); i++) {
		expect_gp(xsetbv_safe(0, boundary[i]), "XSETBV", boundary[i], i);
		GUEST_ASSERT_EQ(xgetbv(0), guest_xcr0);
	}
	/* XCR index 1 needs XGETBV1 from the guest's CPUID; 2 and up never exist. */
	expect_gp(xsetbv_safe(2, XFEATURE_MASK_FP), "XSETBV index 2, value", XFEATURE_MASK_FP, i++);
	for (; i < RANDOM_INPUTS; i++) {
		/*
		 * Every other input has FP clear, the rest a bit that neither KVM
		 * nor the CPU supports (so the CPU refuses it too where XSETBV
		 * does not exit).
		 */
		v = rng_next();
		if (i & 1)
			v &= ~XFEATURE_MASK_FP;
		else
			v |= random_bit_of(no_one_xcr0);
		expect_gp(xsetbv_safe(0, v), "XSETBV", v, i);
		GUEST_ASSERT_EQ(xgetbv(0), guest_xcr0);
	}
	/*
	 * A legal value still works; the host reads KVM's view of it to learn
	 * whether XSETBV exits at all.
	 */
	expect_ok(xsetbv_safe(0, XFEATURE_MASK_FP), "XSETBV", XFEATURE_MASK_FP, i);
}

static void guest_wrpkru(void)
{
	/* Key 0 stays accessible: the guest's own pages use it. */
	uint32_t boundary[] = { 0, 0xfffffffc, 0x55555554, 0xaaaaaaa8, 0x0000000c, 0xc0000000 };
	uint32_t eax, ebx, ecx, edx, v;
	uint64_t i;

	for (i = 0; i < RANDOM_INPUTS; i++) {
		v = i < ARRAY_SIZE(boundary) ? boundary[i] : (uint32_t)rng_next() & ~3u;
		expect_ok(wrpkru_safe(v, 0), "WRPKRU", v, i);
		GUEST_ASSERT_EQ(rdpkru(), v);
		cpuid(1, &eax, &ebx, &ecx, &edx);	/* an exit to KVM */
		GUEST_ASSERT_EQ(rdpkru(), v);
		if (!(i % 16)) {
			/* ECX must be 0. */
			expect_gp(wrpkru_safe(0, 1 + (uint32_t)rng_next()), "WRPKRU ECX!=0, PKRU",
				  v, i);
			GUEST_ASSERT_EQ(rdpkru(), v);
		}
	}
	wrpkru(0);
}

static void guest_xss(void)
{
	uint64_t boundary[] = {
		0, XFEATURE_MASK_PT, XFEATURE_MASK_CET_USER, XFEATURE_MASK_CET_KERNEL,
		XFEATURE_MASK_LBR, BIT_ULL(62), BIT_ULL(63), ~0ull, supported_xss,
	};
	uint64_t v, i, val;

	for (i = 0; i < RANDOM_INPUTS; i++) {
		v = i < ARRAY_SIZE(boundary) ? boundary[i] : rng_next() >> (rng_next() % 64);
		/* Without XSAVES the MSR does not exist; with it, only KVM's bits. */
		if (!guest_has_xsaves || (v & ~supported_xss)) {
			expect_gp(wrmsr_safe(MSR_IA32_XSS, v), "WRMSR XSS", v, i);
		} else {
			expect_ok(wrmsr_safe(MSR_IA32_XSS, v), "WRMSR XSS", v, i);
			GUEST_ASSERT_EQ(rdmsr(MSR_IA32_XSS), v);
		}
		if (!guest_has_xsaves)
			expect_gp(rdmsr_safe(MSR_IA32_XSS, &val), "RDMSR XSS after", v, i);
	}
	if (guest_has_xsaves)
		wrmsr(MSR_IA32_XSS, 0);
}

static void guest_timer_handler(struct ex_regs *regs)
{
	WRITE_ONCE(timer_irqs, timer_irqs + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

static void guest_tsc_deadline(void)
{
	uint64_t boundary[] = {
		0, 1, BIT_ULL(63) - 1, BIT_ULL(63), ~0ull, rdtsc() + BIT_ULL(40),
	};
	uint64_t v, i, back, spin;
	uint32_t before;

	x2apic_enable();
	/* One-shot mode: the MSR ignores writes and reads as 0. */
	x2apic_write_reg(APIC_LVTT, TIMER_VECTOR);
	for (i = 0; i < ARRAY_SIZE(boundary); i++) {
		expect_ok(wrmsr_safe(MSR_IA32_TSC_DEADLINE, boundary[i]), "WRMSR TSC_DEADLINE (one-shot)",
			  boundary[i], i);
		GUEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_DEADLINE), 0);
	}

	x2apic_write_reg(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE | TIMER_VECTOR);
	asm volatile("sti");
	for (i = 0; i < RANDOM_INPUTS; i++) {
		v = i < ARRAY_SIZE(boundary) ? boundary[i] : rng_next() >> (rng_next() % 64);
		before = READ_ONCE(timer_irqs);
		expect_ok(wrmsr_safe(MSR_IA32_TSC_DEADLINE, v), "WRMSR TSC_DEADLINE", v, i);
		back = rdmsr(MSR_IA32_TSC_DEADLINE);
		/* Armed (reads back), or already expired (reads 0). */
		__GUEST_ASSERT(back == v || back == 0,
			       "TSC_DEADLINE 0x%lx (input %lu) reads back as 0x%lx", v, i, back);
		if (v == 1) {
			/* Long past: the interrupt must come. */
			for (spin = 0; READ_ONCE(timer_irqs) == before; spin++)
				__GUEST_ASSERT(spin < TIMER_SPIN_LIMIT,
					       "no timer interrupt for TSC_DEADLINE 1 (input %lu)", i);
			GUEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_DEADLINE), 0);
		}
		wrmsr(MSR_IA32_TSC_DEADLINE, 0);
	}
	asm volatile("cli");
}

static bool kvm_msr_defined(uint32_t msr)
{
	return msr == MSR_KVM_WALL_CLOCK || msr == MSR_KVM_SYSTEM_TIME ||
	       (msr >= MSR_KVM_WALL_CLOCK_NEW && msr <= MSR_KVM_MIGRATION_CONTROL);
}

static uint32_t random_kvm_msr(void)
{
	uint32_t msr;

	do {
		msr = rng_next() % 16 ? MSR_KVM_RANGE_BASE + (rng_next() & 0xff) :
		      (rng_next() & 1 ? MSR_KVM_WALL_CLOCK : MSR_KVM_SYSTEM_TIME);
	} while (msr == MSR_KVM_PVTIMER);
	return msr;
}

/* With the PV features hidden (and enforced), every KVM MSR is #GP. */
static void guest_kvm_msrs_hidden(void)
{
	uint64_t i, v, val;
	uint32_t msr;

	for (i = 0; i < RANDOM_INPUTS; i++) {
		msr = random_kvm_msr();
		v = rng_next() | FAR_GPA_BIT;
		expect_gp(rdmsr_safe(msr, &val), "RDMSR", msr, i);
		expect_gp(wrmsr_safe(msr, v), "WRMSR", msr, i);
	}
}

static void guest_kvm_msrs_advertised(void)
{
	/* Reserved bits the ABI refuses with #GP whatever else is enabled. */
	static const struct { uint32_t msr; uint64_t val; } refused[] = {
		{ MSR_KVM_POLL_CONTROL, 2 }, { MSR_KVM_POLL_CONTROL, BIT_ULL(63) },
		{ MSR_KVM_POLL_CONTROL, ~0ull }, { MSR_KVM_ASYNC_PF_EN, 0x10 },
		{ MSR_KVM_ASYNC_PF_EN, 0x20 }, { MSR_KVM_STEAL_TIME, 0x2 },
		{ MSR_KVM_STEAL_TIME, 0x3e }, { MSR_KVM_PV_EOI_EN, 0x3 },
	};
	uint64_t i, v, val;
	uint8_t vector;
	uint32_t msr;

	for (i = 0; i < ARRAY_SIZE(refused); i++)
		expect_gp(wrmsr_safe(refused[i].msr, refused[i].val | FAR_GPA_BIT), "WRMSR",
			  refused[i].msr, i);
	for (; i < RANDOM_INPUTS; i++) {
		msr = random_kvm_msr();
		v = rng_next() | FAR_GPA_BIT;
		if (!kvm_msr_defined(msr)) {
			expect_gp(rdmsr_safe(msr, &val), "RDMSR", msr, i);
			expect_gp(wrmsr_safe(msr, v), "WRMSR", msr, i);
			continue;
		}
		/* Defined: accepted or refused by value, never another fault. */
		vector = wrmsr_safe(msr, v);
		__GUEST_ASSERT(!vector || vector == GP_VECTOR,
			       "WRMSR 0x%x <- 0x%lx (input %lu): vector %u", msr, v, i, vector);
		tried(vector);
		vector = rdmsr_safe(msr, &val);
		__GUEST_ASSERT(!vector || vector == GP_VECTOR,
			       "RDMSR 0x%x (input %lu): vector %u", msr, i, vector);
		tried(vector);
	}
	/* Switch off whatever got enabled (refusals are fine). */
	for (msr = MSR_KVM_WALL_CLOCK_NEW; msr <= MSR_KVM_MIGRATION_CONTROL; msr++)
		wrmsr_safe(msr, 0);
	wrmsr_safe(MSR_KVM_SYSTEM_TIME, 0);
}

static void guest_code(void)
{
	/* A TSC_AUX unlike any host CPU's, so a leak to the host shows. */
	if (guest_tsc_aux)
		wrmsr(MSR_TSC_AUX, guest_tsc_aux);
	switch (stage) {
	case ST_XSETBV:
		guest_xsetbv();
		break;
	case ST_WRPKRU:
		guest_wrpkru();
		break;
	case ST_XSS:
		guest_xss();
		break;
	case ST_TSC_DEADLINE:
		guest_tsc_deadline();
		break;
	case ST_KVM_MSRS_HIDDEN:
		guest_kvm_msrs_hidden();
		break;
	case ST_KVM_MSRS_ADVERTISED:
		guest_kvm_msrs_advertised();
		break;
	}
	GUEST_DONE();
}

/* Host side. */
static struct host_state host;

static uint64_t seed;
static uint64_t total_tries, total_gp;

/* Run one stage in a fresh VM; optionally return KVM's view of the guest XCR0 after it. */
static void run_stage(int st, uint64_t *xcr0_seen_by_kvm)
{
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs = { .nr_xcrs = 1 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t runs = 0;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_install_exception_handler(vm, TIMER_VECTOR, guest_timer_handler);
	if (st == ST_TSC_DEADLINE)
		vcpu_set_cpuid_feature(vcpu, X86_FEATURE_TSC_DEADLINE_TIMER);
	if (st == ST_KVM_MSRS_HIDDEN) {
		vcpu_enable_cap(vcpu, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);
		vcpu_clear_cpuid_entry(vcpu, KVM_CPUID_FEATURES);
	}

	vcpu_sregs_get(vcpu, &sregs);
	sregs.cr4 |= X86_CR4_OSXSAVE | (st == ST_WRPKRU ? X86_CR4_PKE : 0);
	vcpu_sregs_set(vcpu, &sregs);
	xcrs.xcrs[0].value = guest_xcr0;
	vcpu_xcrs_set(vcpu, &xcrs);

	stage = st;
	rng_state = seed ^ (0x9e3779b97f4a7c15ull * (st + 1));
	tries = gp_count = 0;
	sync_global_to_guest(vm, stage);
	sync_global_to_guest(vm, rng_state);
	sync_global_to_guest(vm, tries);
	sync_global_to_guest(vm, gp_count);
	sync_global_to_guest(vm, guest_xcr0);
	sync_global_to_guest(vm, no_one_xcr0);
	sync_global_to_guest(vm, supported_xss);
	sync_global_to_guest(vm, guest_has_xsaves);
	sync_global_to_guest(vm, guest_tsc_aux);

	for (;;) {
		vcpu_run(vcpu);
		runs++;
		host_state_check(&host, guest_tsc_aux, stage_name[st]);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			continue;
		case UCALL_DONE:
			break;
		case UCALL_ABORT:
			ksft_print_msg("replay with: hostile_guest_test -s 0x%lx\n", seed);
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("%s: unexpected exit %s (seed 0x%lx)", stage_name[st],
				  exit_reason_str(vcpu->run->exit_reason), seed);
		}
		break;
	}
	sync_global_from_guest(vm, tries);
	sync_global_from_guest(vm, gp_count);
	if (xcr0_seen_by_kvm) {
		vcpu_xcrs_get(vcpu, &xcrs);
		*xcr0_seen_by_kvm = xcrs.xcrs[0].value;
	}
	total_tries += tries;
	total_gp += gp_count;
	ksft_print_msg("%s: %lu inputs, %lu #GP, %lu KVM_RUNs\n", stage_name[st], tries, gp_count,
		       runs);
	kvm_vm_free(vm);
}

static void usage(const char *name)
{
	printf("usage: %s [-s SEED]\n  -s SEED  replay the inputs of that seed (default 0x%llx)\n",
	       name, DEFAULT_SEED);
}

int main(int argc, char *argv[])
{
	const struct kvm_cpuid_entry2 *xss_leaf;
	uint64_t xcr0_seen_by_kvm;
	char *end;
	int opt;

	seed = DEFAULT_SEED;
	while ((opt = getopt(argc, argv, "s:h")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoull(optarg, &end, 0);
			if (!*optarg || *end) {
				fprintf(stderr, "error: bad seed '%s'\n", optarg);
				exit(KSFT_FAIL);
			}
			break;
		case 'h':
			usage(argv[0]);
			exit(KSFT_PASS);
		default:
			usage(argv[0]);
			exit(KSFT_FAIL);
		}
	}
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_XSAVE));
	TEST_REQUIRE(this_cpu_has(X86_FEATURE_OSXSAVE));

	host_state_save(&host);
	if (kvm_cpu_has(X86_FEATURE_RDTSCP))
		guest_tsc_aux = GUEST_TSC_AUX;
	/* Unlike the host's, so KVM has to switch XCR0 on every entry and exit. */
	guest_xcr0 = XFEATURE_MASK_FP | XFEATURE_MASK_SSE;
	if (guest_xcr0 == host.xcr0 && (kvm_cpu_supported_xcr0() & XFEATURE_MASK_YMM))
		guest_xcr0 |= XFEATURE_MASK_YMM;
	no_one_xcr0 = ~(kvm_cpu_supported_xcr0() | this_cpu_supported_xcr0());
	guest_has_xsaves = kvm_cpu_has(X86_FEATURE_XSAVES);
	xss_leaf = get_cpuid_entry(kvm_get_supported_cpuid(), 0xd, 1);
	supported_xss = xss_leaf->ecx | ((uint64_t)xss_leaf->edx << 32);

	ksft_print_header();
	ksft_set_plan(NR_STAGES);
	ksft_print_msg("seed 0x%lx (replay: hostile_guest_test -s 0x%lx); host XCR0 0x%lx "
		       "PKRU %s, guest XCR0 0x%lx, guest XSAVES %s, KVM XSS 0x%lx\n", seed, seed,
		       host.xcr0, host.pku ? "checked" : "absent", guest_xcr0,
		       guest_has_xsaves ? "yes" : "no", supported_xss);

	run_stage(ST_XSETBV, &xcr0_seen_by_kvm);
	if (xcr0_seen_by_kvm == XFEATURE_MASK_FP)
		ksft_test_result_pass("XSETBV: %lu XSETBVs, the illegal ones #GP from KVM, XCR0 intact\n",
				      tries);
	else
		ksft_test_result_skip("XSETBV: the CPU does not exit on XSETBV (e.g. QEMU TCG's "
				      "SVM), so KVM never saw these %lu XSETBVs; the illegal ones got #GP "
				      "from the CPU and guest and host state stayed intact\n", tries);

	if (kvm_cpu_has(X86_FEATURE_PKU) && host.pku) {
		run_stage(ST_WRPKRU, NULL);
		ksft_test_result_pass("WRPKRU: %lu values kept across exits, ECX!=0 #GP, host PKRU "
				      "intact\n", tries);
	} else {
		ksft_test_result_skip("WRPKRU: KVM or the host offers no PKU\n");
	}

	run_stage(ST_XSS, NULL);
	ksft_test_result_pass("XSS: %lu accesses, %lu #GP (%s)\n", tries, gp_count,
			      guest_has_xsaves ? "bits KVM does not support" :
			      "no XSAVES in the guest, so every access");

	if (kvm_cpu_has(X86_FEATURE_X2APIC) && kvm_has_cap(KVM_CAP_TSC_DEADLINE_TIMER)) {
		run_stage(ST_TSC_DEADLINE, NULL);
		ksft_test_result_pass("TSC_DEADLINE: %lu boundary and random deadlines, no fault, "
				      "past deadline fired\n", tries);
	} else {
		ksft_test_result_skip("TSC_DEADLINE: KVM offers no x2APIC or TSC-deadline timer\n");
	}

	if (kvm_has_cap(KVM_CAP_ENFORCE_PV_FEATURE_CPUID)) {
		run_stage(ST_KVM_MSRS_HIDDEN, NULL);
		ksft_test_result_pass("KVM MSRs, PV features hidden: %lu random accesses, all #GP\n",
				      tries);
	} else {
		ksft_test_result_skip("KVM MSRs, PV features hidden: no "
				      "KVM_CAP_ENFORCE_PV_FEATURE_CPUID\n");
	}

	run_stage(ST_KVM_MSRS_ADVERTISED, NULL);
	ksft_test_result_pass("KVM MSRs, PV features advertised: %lu accesses, %lu #GP, "
			      "reserved bits refused\n", tries, gp_count);

	ksft_print_msg("total: %lu hostile inputs, %lu #GP, seed 0x%lx\n", total_tries, total_gp,
		       seed);
	ksft_finished();
}
