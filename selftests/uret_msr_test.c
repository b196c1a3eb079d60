// SPDX-License-Identifier: GPL-2.0
/*
 * User-return MSRs: the guest's value is loaded lazily before VM-Enter and
 * the host's is restored only when the CPU returns to userspace. Check that
 * the host always gets its value back (TSC_AUX, read with RDTSCP after every
 * KVM_RUN), that the guest keeps its own across exits, that a guest cannot
 * load bits 63:32, and that the kvm_uret_msr_set/kvm_uret_msr_restore
 * tracepoints pair up: one restore per return to userspace.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "tracepoint_counter.h"

#define GUEST_TSC_AUX	0x5a5au
#define RUNS		50

static void guest_code(void)
{
	uint8_t vector;
	int i;

	wrmsr(MSR_TSC_AUX, GUEST_TSC_AUX);
	/*
	 * Bits 63:32 of TSC_AUX: KVM refuses them with #GP for Intel-compatible
	 * guests and drops them for AMD ones. Either way none may stick.
	 */
	vector = wrmsr_safe(MSR_TSC_AUX, (1ull << 40) | GUEST_TSC_AUX);
	__GUEST_ASSERT(vector == GP_VECTOR || !vector, "WRMSR(TSC_AUX) gave vector %u", vector);
	for (i = 0; i < RUNS; i++) {
		GUEST_ASSERT_EQ(rdmsr(MSR_TSC_AUX), GUEST_TSC_AUX);
		GUEST_SYNC(i);
	}
	GUEST_DONE();
}

static uint32_t host_tsc_aux(void)
{
	uint32_t aux;

	rdtscp(&aux);
	return aux;
}

static uint64_t read_counter(int fd)
{
	uint64_t v;

	TEST_ASSERT(read(fd, &v, sizeof(v)) == sizeof(v), "read counter");
	return v;
}

int main(void)
{
	uint64_t sets, restores;
	int cpu = sched_getcpu(), set_fd, restore_fd, open_errno, i;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint32_t host_aux;
	cpu_set_t mask;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_RDTSCP));
	TEST_REQUIRE(this_cpu_has(X86_FEATURE_RDTSCP));

	/* One CPU, so the host's TSC_AUX is one known value. */
	CPU_ZERO(&mask);
	CPU_SET(cpu, &mask);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(mask), &mask), "sched_setaffinity");
	host_aux = host_tsc_aux();
	TEST_ASSERT(host_aux != GUEST_TSC_AUX, "host TSC_AUX equals the guest's 0x%x", host_aux);

	ksft_print_header();
	ksft_set_plan(2);

	/* Per CPU: a restore can run in whichever task next returns to userspace. */
	set_fd = kvm_tracepoint_counter("kvm_uret_msr_set", -1, cpu, false);
	restore_fd = kvm_tracepoint_counter("kvm_uret_msr_restore", -1, cpu, false);
	open_errno = set_fd < 0 || restore_fd < 0 ? errno : 0;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	for (i = 0; i <= RUNS; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_EQ(host_tsc_aux(), host_aux);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			TEST_ASSERT_EQ(uc.args[1], i);
			break;
		case UCALL_DONE:
			TEST_ASSERT_EQ(i, RUNS);
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("unexpected exit %s", exit_reason_str(vcpu->run->exit_reason));
		}
	}
	ksft_test_result_pass("host TSC_AUX 0x%x restored after each of %d KVM_RUNs, guest kept "
			      "0x%x, TSC_AUX bits 63:32 never stored\n", host_aux, RUNS + 1,
			      GUEST_TSC_AUX);
	kvm_vm_free(vm);

	if (set_fd < 0 || restore_fd < 0) {
		ksft_test_result_skip("user-return MSR counts: tracepoints kvm_uret_msr_set/"
				      "kvm_uret_msr_restore unavailable (%s)\n",
				      strerror(open_errno));
		ksft_finished();
	}
	sets = read_counter(set_fd);
	restores = read_counter(restore_fd);
	ksft_print_msg("CPU %d: %lu user-return MSR writes, %lu restores for %d KVM_RUNs\n",
		       cpu, sets, restores, RUNS + 1);
	/*
	 * Every KVM_RUN loads the guest's TSC_AUX and every return to userspace
	 * restores the host's, once. A write while the guest's value is already
	 * loaded needs no restore of its own: only the guest's one WRMSR that
	 * changes the value can be such a write.
	 */
	TEST_ASSERT(restores >= RUNS + 1, "%lu restores for %d KVM_RUNs", restores, RUNS + 1);
	TEST_ASSERT(sets >= restores && sets - restores <= 1,
		    "%lu writes but %lu restores", sets, restores);
	ksft_test_result_pass("one restore per KVM_RUN (%lu), %lu writes\n", restores, sets);
	ksft_finished();
}
