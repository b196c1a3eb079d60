// SPDX-License-Identifier: GPL-2.0
/*
 * Preemption and migration storm: one vCPU per host CPU, each vCPU thread
 * SCHED_RR with the shortest timeslice next to a SCHED_RR busy thread on the
 * same CPU, and a thread that moves every vCPU thread to another CPU with
 * sched_setaffinity() in a loop. KVM must switch XCR0, PKRU and the
 * user-return MSR TSC_AUX correctly however often the vCPU task is preempted
 * or migrated: the guest checks its own values after every exit and the
 * host its own after every KVM_RUN. The guests exit on CPUID (slow path)
 * and on x2APIC ICR writes to an absent APIC ID (fastpath, re-entering the
 * guest where the CPU has one), and the migrator also signals every vCPU
 * thread, so KVM_RUN returns -EINTR from the middle of all of it.
 *
 * -d SECONDS  how long (default 5)
 * -w spin     guests spin without exits between syncs instead of exiting on
 *             every iteration
 * -S          no storm: each vCPU thread pinned to its own CPU, no busy
 *             threads, no migration. With -w spin this keeps every CPU in
 *             guest mode nearly all the time, for faults injected from
 *             outside (stress/stress.sh: QEMU mce)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "host_state.h"
#include "apic.h"

#define GUEST_PKRU		0x0000000cu	/* key 1: access and write disabled */
#define GUEST_TSC_AUX_BASE	0x5a500u	/* + vCPU index: no host CPU has it */
#define CPUIDS_PER_SYNC		200
#define SPINS_PER_SYNC		20000000ul
#define RR_TIMESLICE		"/proc/sys/kernel/sched_rr_timeslice_ms"
#define MAX_VCPUS		64
#define ABSENT_APIC_ID		0x1000u		/* no vCPU has this x2APIC ID */

/* Shared with the guest. */
static uint64_t guest_xcr0;
static bool guest_pku, guest_rdtscp, guest_x2apic, spin_only, no_storm;

static void guest_check(uint32_t tsc_aux, uint64_t round)
{
	uint32_t aux;

	__GUEST_ASSERT(xgetbv(0) == guest_xcr0, "round %lu: guest XCR0 0x%lx, expected 0x%lx",
		       round, xgetbv(0), guest_xcr0);
	if (guest_pku)
		__GUEST_ASSERT(rdpkru() == GUEST_PKRU, "round %lu: guest PKRU 0x%x, expected 0x%x",
			       round, rdpkru(), GUEST_PKRU);
	if (guest_rdtscp) {
		rdtscp(&aux);
		__GUEST_ASSERT(aux == tsc_aux, "round %lu: guest TSC_AUX 0x%x, expected 0x%x",
			       round, aux, tsc_aux);
	}
}

static void guest_code(uint32_t tsc_aux)
{
	uint32_t eax, ebx, ecx, edx;
	uint64_t round, i;

	if (guest_pku)
		wrpkru(GUEST_PKRU);
	if (guest_rdtscp)
		wrmsr(MSR_TSC_AUX, tsc_aux);
	if (guest_x2apic)
		x2apic_enable();
	for (round = 0;; round++) {
		if (spin_only) {
			for (i = 0; i < SPINS_PER_SYNC; i++)
				asm volatile("" ::: "memory");
			guest_check(tsc_aux, round);
		} else {
			for (i = 0; i < CPUIDS_PER_SYNC; i++) {
				cpuid(1, &eax, &ebx, &ecx, &edx);
				guest_check(tsc_aux, round);
				if (!guest_x2apic)
					continue;
				x2apic_write_reg(APIC_ICR, ((uint64_t)ABSENT_APIC_ID << 32) |
						 APIC_DEST_PHYSICAL | APIC_DM_FIXED | 0xed);
				guest_check(tsc_aux, round);
			}
		}
		GUEST_SYNC(round);
	}
}

/* Host side. */
struct vcpu_worker {
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	pid_t tid;
	uint32_t tsc_aux;
	uint64_t runs, cpu_changes, eintr;
	long nivcsw;
};

static struct host_state host;
static struct vcpu_worker workers[MAX_VCPUS];
static volatile bool stop;
static int nr_cpus;
static uint64_t migrations_asked, signals_sent;

static void on_signal(int sig)
{
}

static void set_rr(const char *who)
{
	struct sched_param sp = { .sched_priority = 1 };

	TEST_ASSERT(!sched_setscheduler(0, SCHED_RR, &sp), "SCHED_RR for %s", who);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu_worker *w = arg;
	struct rusage ru;
	struct ucall uc;
	int cpu, last_cpu = -1;

	w->tid = syscall(SYS_gettid);
	if (no_storm) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(w - workers, &set);
		TEST_ASSERT(!sched_setaffinity(0, sizeof(set), &set), "pin vCPU thread");
	} else {
		set_rr("a vCPU thread");
	}
	while (!stop) {
		bool intr = __vcpu_run(w->vcpu) < 0;

		TEST_ASSERT(!intr || errno == EINTR, "KVM_RUN: %s", strerror(errno));
		w->runs++;
		host_state_check(&host, w->tsc_aux, intr ? "after KVM_RUN returned -EINTR" :
				 "after KVM_RUN");
		cpu = sched_getcpu();
		w->cpu_changes += last_cpu >= 0 && cpu != last_cpu;
		last_cpu = cpu;
		if (intr) {
			/* A signal ended KVM_RUN from the middle of the loop: run on. */
			w->eintr++;
			continue;
		}
		switch (get_ucall(w->vcpu, &uc)) {
		case UCALL_SYNC:
			break;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("unexpected exit %s", exit_reason_str(w->vcpu->run->exit_reason));
		}
	}
	getrusage(RUSAGE_THREAD, &ru);
	w->nivcsw = ru.ru_nivcsw;
	return NULL;
}

/* A busy SCHED_RR neighbour: the vCPU thread loses the CPU every timeslice. */
static void *hog_thread(void *arg)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((long)arg, &set);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(set), &set), "pin hog to CPU %ld", (long)arg);
	set_rr("a busy thread");
	while (!stop)
		host_state_check(&host, 0, "in a busy thread");
	return NULL;
}

static void *migrator_thread(void *arg)
{
	struct vcpu_worker *w = arg;
	struct timespec pause = { .tv_nsec = 200000 };
	cpu_set_t set;
	uint64_t n;
	int i;

	/* Above the SCHED_RR threads it moves, so it always gets to run. */
	struct sched_param sp = { .sched_priority = 2 };

	TEST_ASSERT(!sched_setscheduler(0, SCHED_RR, &sp), "SCHED_RR for the migrator");
	for (n = 0; !stop; n++) {
		for (i = 0; i < nr_cpus; i++) {
			if (!w[i].tid)
				continue;
			CPU_ZERO(&set);
			CPU_SET((i + n) % nr_cpus, &set);
			if (!sched_setaffinity(w[i].tid, sizeof(set), &set))
				migrations_asked++;
			/* KVM_RUN returns -EINTR; vcpu_thread() counts it. */
			if (!pthread_kill(w[i].thread, SIGUSR1))
				signals_sent++;
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

/* Set the RR timeslice to 1 ms for the run; returns the old value or -1. */
static int rr_timeslice(int ms)
{
	FILE *f = fopen(RR_TIMESLICE, "r+");
	int old = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &old) != 1)
		old = -1;
	rewind(f);
	fprintf(f, "%d\n", ms);
	fclose(f);
	return old;
}

int main(int argc, char *argv[])
{
	struct vcpu_worker *w = workers;
	pthread_t hogs[MAX_VCPUS], migrator;
	struct kvm_vcpu *vcpus[MAX_VCPUS];
	struct kvm_xcrs xcrs = { .nr_xcrs = 1 };
	struct kvm_sregs sregs;
	uint64_t runs = 0, changes = 0, eintr = 0;
	long nivcsw = 0;
	int seconds = 5, opt, i, old_slice;
	struct kvm_vm *vm;
	char *end;

	while ((opt = getopt(argc, argv, "d:w:S")) != -1) {
		switch (opt) {
		case 'd':
			seconds = strtol(optarg, &end, 10);
			if (*end || seconds < 1) {
				fprintf(stderr, "error: bad duration '%s' (whole seconds >= 1)\n", optarg);
				exit(KSFT_FAIL);
			}
			break;
		case 'w':
			if (strcmp(optarg, "spin") && strcmp(optarg, "exits")) {
				fprintf(stderr, "error: unknown workload '%s' (spin or exits)\n", optarg);
				exit(KSFT_FAIL);
			}
			spin_only = !strcmp(optarg, "spin");
			break;
		case 'S':
			no_storm = true;
			break;
		default:
			fprintf(stderr, "usage: %s [-d SECONDS] [-w spin|exits] [-S]\n", argv[0]);
			exit(KSFT_FAIL);
		}
	}
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_XSAVE));
	TEST_REQUIRE(this_cpu_has(X86_FEATURE_OSXSAVE));
	nr_cpus = get_nprocs();
	TEST_REQUIRE(nr_cpus >= 2);	/* nowhere to migrate to otherwise */
	if (nr_cpus > MAX_VCPUS)
		nr_cpus = MAX_VCPUS;

	host_state_save(&host);
	guest_xcr0 = XFEATURE_MASK_FP | XFEATURE_MASK_SSE;
	if (guest_xcr0 == host.xcr0 && (kvm_cpu_supported_xcr0() & XFEATURE_MASK_YMM))
		guest_xcr0 |= XFEATURE_MASK_YMM;
	guest_pku = kvm_cpu_has(X86_FEATURE_PKU) && host.pku;
	guest_rdtscp = kvm_cpu_has(X86_FEATURE_RDTSCP) && host.rdtscp;
	guest_x2apic = kvm_cpu_has(X86_FEATURE_X2APIC);
	TEST_ASSERT(!sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = on_signal,
							     .sa_flags = SA_RESTART }, NULL),
		    "SIGUSR1 handler");

	vm = vm_create_with_vcpus(nr_cpus, guest_code, vcpus);
	sync_global_to_guest(vm, guest_xcr0);
	sync_global_to_guest(vm, guest_pku);
	sync_global_to_guest(vm, guest_rdtscp);
	sync_global_to_guest(vm, spin_only);
	sync_global_to_guest(vm, guest_x2apic);
	for (i = 0; i < nr_cpus; i++) {
		w[i].vcpu = vcpus[i];
		w[i].tsc_aux = guest_rdtscp ? GUEST_TSC_AUX_BASE + i : 0;
		vcpu_args_set(vcpus[i], 1, w[i].tsc_aux);
		vcpu_sregs_get(vcpus[i], &sregs);
		sregs.cr4 |= X86_CR4_OSXSAVE | (guest_pku ? X86_CR4_PKE : 0);
		vcpu_sregs_set(vcpus[i], &sregs);
		xcrs.xcrs[0].value = guest_xcr0;
		vcpu_xcrs_set(vcpus[i], &xcrs);
	}

	ksft_print_header();
	ksft_set_plan(1);
	old_slice = no_storm ? -1 : rr_timeslice(1);
	ksft_print_msg("%d vCPUs, %d s, guests %s; host XCR0 0x%lx, guest XCR0 0x%lx, PKRU %s, "
		       "TSC_AUX %s; %s\n", nr_cpus, seconds,
		       spin_only ? "spinning" : guest_x2apic ?
		       "exiting on CPUID and on ICR writes (fastpath with NRIP save)" : "exiting on CPUID",
		       host.xcr0, guest_xcr0,
		       guest_pku ? "0xc" : "unchecked (no PKU)",
		       guest_rdtscp ? "checked" : "unchecked (no RDTSCP)",
		       no_storm ? "no storm (one vCPU pinned per CPU)" :
		       old_slice >= 0 ? "SCHED_RR timeslice 1 ms" :
		       "SCHED_RR timeslice unchanged (sysctl not writable)");

	for (i = 0; i < nr_cpus; i++) {
		if (!no_storm)
			TEST_ASSERT(!pthread_create(&hogs[i], NULL, hog_thread, (void *)(long)i),
				    "hog");
		TEST_ASSERT(!pthread_create(&w[i].thread, NULL, vcpu_thread, &w[i]), "vCPU thread");
	}
	if (!no_storm)
		TEST_ASSERT(!pthread_create(&migrator, NULL, migrator_thread, w), "migrator");
	/* For scripts that inject faults once the guests run. */
	ksft_print_msg("guests running\n");
	sleep(seconds);
	stop = true;
	if (!no_storm)
		pthread_join(migrator, NULL);
	for (i = 0; i < nr_cpus; i++) {
		pthread_join(w[i].thread, NULL);
		if (!no_storm)
			pthread_join(hogs[i], NULL);
		runs += w[i].runs;
		eintr += w[i].eintr;
		changes += w[i].cpu_changes;
		nivcsw += w[i].nivcsw;
	}
	if (old_slice >= 0)
		rr_timeslice(old_slice);
	kvm_vm_free(vm);

	ksft_print_msg("%lu KVM_RUNs (%lu ended by a signal), %lu affinity changes, %lu signals, "
		       "%lu CPU changes seen between runs, %ld involuntary switches of vCPU "
		       "threads\n", runs, eintr, migrations_asked, signals_sent, changes, nivcsw);
	if (no_storm)
		ksft_test_result_pass("XCR0, PKRU and TSC_AUX intact in guest and host over %lu "
				      "KVM_RUNs (no storm)\n", runs);
	else if (!changes || !nivcsw || !eintr)
		/* Inconclusive, not failed: the state was intact, but not stormed. */
		ksft_test_result_skip("storm too weak to judge: %lu CPU changes between %lu "
				      "KVM_RUNs, %ld preemptions, %lu signals in KVM_RUN (state "
				      "was intact)\n", changes, runs, nivcsw, eintr);
	else
		ksft_test_result_pass("XCR0, PKRU and TSC_AUX intact in guest and host over %lu "
				      "KVM_RUNs, %lu migrations, %ld preemptions, %lu signals in "
				      "KVM_RUN\n", runs, changes, nivcsw, eintr);
	ksft_finished();
}
