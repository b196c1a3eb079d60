// SPDX-License-Identifier: GPL-2.0
/*
 * exit_workload: a one-vCPU guest that makes an exactly known number of
 * exits, so that kvmswitch's counts can be checked (bpf/tests/vm-test.sh).
 *
 * The guest sets TSC_AUX (if it has RDTSCP), does GUEST_SYNC(0), then CPUIDS CPUID instructions,
 * ICRS x2APIC ICR writes to an APIC ID no vCPU has (each a WRMSR exit that
 * the fastpath handles and, with nothing pending, re-enters from; with -i 0
 * or without x2APIC, none), GUEST_SYNC(1), OUTS single-byte OUTs to port 0x80 (not claimed by any
 * in-kernel device, so each one is a KVM_EXIT_IO to this program) and
 * GUEST_DONE().  Each ucall is one more port I/O exit.  With -w the host
 * stops after GUEST_SYNC(0), prints "ready PID" and waits for a line on
 * stdin, so a tracer can attach to a VM that already exists: from then on
 * the VM makes exactly CPUIDS CPUID exits, OUTS + 2 port I/O exits and
 * OUTS + 2 KVM_RUNs (plus whatever other exits the CPU needs, e.g. NPF).
 *
 * The time from resuming the vCPU to GUEST_SYNC(1) gives the CPUID exit
 * rate, printed as "cpuid_exits_per_s".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"

#define OUT_PORT	0x80

#define GUEST_TSC_AUX	0x5a5au

static uint64_t nr_cpuids = 1000;
static uint64_t nr_outs = 100;
static uint64_t nr_icrs = 100;
static bool set_tsc_aux;

static void guest_code(void)
{
	uint32_t a, b, c, d;
	uint64_t i;

	/*
	 * A guest TSC_AUX that differs from the host's makes every KVM_RUN
	 * load it (user-return MSR) and every return to userspace restore it.
	 */
	if (set_tsc_aux)
		wrmsr(MSR_TSC_AUX, GUEST_TSC_AUX);
	GUEST_SYNC(0);
	for (i = 0; i < nr_cpuids; i++)
		asm volatile("cpuid"
			     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(0), "c"(0)
			     : "memory");
	if (nr_icrs)
		x2apic_enable();
	for (i = 0; i < nr_icrs; i++)
		x2apic_write_reg(APIC_ICR, (0x1000ull << 32) | APIC_DEST_PHYSICAL |
				 APIC_DM_FIXED | 0xed);
	GUEST_SYNC(1);
	for (i = 0; i < nr_outs; i++)
		asm volatile("outb %%al, %%dx"
			     : : "a"((uint8_t)i), "d"((uint16_t)OUT_PORT));
	GUEST_DONE();
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(const char *prog)
{
	printf("Usage: %s [-c CPUIDS] [-i ICRS] [-o OUTS] [-w]\n"
	       "  -c N  CPUID exits after the first sync (default 1000)\n"
	       "  -i N  then x2APIC ICR writes to an absent APIC ID (default 100)\n"
	       "  -o N  port 0x80 OUT exits after the second sync (default 100)\n"
	       "  -w    print \"ready PID\" after the first sync and wait for a\n"
	       "        line on stdin\n", prog);
}

/* Run until a ucall; count and skip the OUTs to OUT_PORT on the way. */
static uint64_t run_to_ucall(struct kvm_vcpu *vcpu, struct ucall *uc,
			     uint64_t *outs)
{
	uint64_t runs = 0;

	for (;;) {
		struct kvm_run *run = vcpu->run;

		vcpu_run(vcpu);
		runs++;
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == OUT_PORT) {
			TEST_ASSERT(run->io.direction == KVM_EXIT_IO_OUT &&
				    run->io.size == 1 && run->io.count == 1,
				    "unexpected I/O to port 0x%x", OUT_PORT);
			(*outs)++;
			continue;
		}
		switch (get_ucall(vcpu, uc)) {
		case UCALL_SYNC:
		case UCALL_DONE:
			return runs;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(*uc);
		default:
			TEST_FAIL("unexpected exit %s",
				  exit_reason_str(run->exit_reason));
		}
	}
}

int main(int argc, char *argv[])
{
	uint64_t runs = 0, outs = 0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool wait = false;
	struct ucall uc;
	double t0, t1;
	char line[64];
	int opt;

	while ((opt = getopt(argc, argv, "c:i:o:wh")) != -1) {
		switch (opt) {
		case 'c':
			nr_cpuids = strtoull(optarg, NULL, 0);
			break;
		case 'i':
			nr_icrs = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			nr_outs = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			wait = true;
			break;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 2;
		}
	}

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	if (!kvm_cpu_has(X86_FEATURE_X2APIC))
		nr_icrs = 0;
	sync_global_to_guest(vm, nr_cpuids);
	sync_global_to_guest(vm, nr_icrs);
	sync_global_to_guest(vm, nr_outs);
	set_tsc_aux = kvm_cpu_has(X86_FEATURE_RDTSCP);
	sync_global_to_guest(vm, set_tsc_aux);

	run_to_ucall(vcpu, &uc, &outs);
	TEST_ASSERT(uc.cmd == UCALL_SYNC && uc.args[1] == 0, "expected GUEST_SYNC(0)");
	if (wait) {
		printf("ready %d\n", getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			TEST_FAIL("stdin closed before the go line");
	}

	t0 = now();
	runs += run_to_ucall(vcpu, &uc, &outs);
	t1 = now();
	TEST_ASSERT(uc.cmd == UCALL_SYNC && uc.args[1] == 1, "expected GUEST_SYNC(1)");
	runs += run_to_ucall(vcpu, &uc, &outs);
	TEST_ASSERT(uc.cmd == UCALL_DONE, "expected GUEST_DONE");
	TEST_ASSERT(outs == nr_outs, "saw %lu OUTs, expected %lu", outs, nr_outs);

	printf("workload pid=%d cpuid=%lu icrs=%lu outs=%lu ucalls=2 kvm_runs=%lu "
	       "tsc_aux=%d cpuid_s=%.6f cpuid_exits_per_s=%.0f\n", getpid(),
	       nr_cpuids, nr_icrs, outs, runs, set_tsc_aux, t1 - t0,
	       (t1 > t0) ? nr_cpuids / (t1 - t0) : 0.0);
	kvm_vm_free(vm);
	return 0;
}
