// SPDX-License-Identifier: GPL-2.0
/*
 * User-return MSRs: KVM loads the guest's value lazily before VM-Enter, skips
 * any write whose value is already loaded, and restores the host's value only
 * when the CPU returns to userspace. Checked here, with the
 * kvm_uret_msr_set/kvm_uret_msr_restore tracepoints counted per MSR on the
 * test's CPU:
 *  - restore: a guest value set by the guest's WRMSR or by KVM_SET_MSRS is
 *    live in the guest (RDMSR, RDTSCP, RDPID), the host's value is back after
 *    every KVM_RUN, with exactly one load and one restore per KVM_RUN;
 *  - skip if unchanged: a guest value equal to the host's costs no write at
 *    all, neither on entry nor on return to userspace;
 *  - guest/idle/guest: a vCPU that halts, blocks (its thread switches out,
 *    the CPU accounts idle time) and is woken by an MSI, all inside one
 *    KVM_RUN, reloads nothing across the halts;
 *  - VMX: the SYSCALL MSRs (STAR, LSTAR, SYSCALL_MASK) are user-return MSRs
 *    there, read back through /dev/cpu/N/msr. SVM switches them with
 *    VMLOAD/VMSAVE instead, so that case SKIPs on AMD.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "apic.h"
#include "tracepoint_counter.h"

#define GUEST_TSC_AUX	0x5a5au
#define SET_MSRS_TSC_AUX 0x7b7bu
#define RUNS		20
#define IDLE_ROUNDS	5
#define IDLE_SLEEP_US	20000
#define IDLE_ATTEMPTS	3
#define WAKE_VECTOR	0xe0

static int test_cpu, waker_cpu = -1;
static uint32_t host_aux;

/* Counters of one MSR's loads and restores on test_cpu. */
struct uret_counts {
	int set_fd, restore_fd;
};

struct uret_delta {
	uint64_t sets, restores;
};

static int open_msr_counter(const char *event, uint32_t msr)
{
	char filter[32];
	int fd = kvm_tracepoint_counter(event, -1, test_cpu, false);

	if (fd < 0)
		return -1;
	snprintf(filter, sizeof(filter), "msr == 0x%x", msr);
	if (ioctl(fd, PERF_EVENT_IOC_SET_FILTER, filter)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* False, with errno set, when the tracepoints cannot be counted. */
static bool uret_counts_open(struct uret_counts *c, uint32_t msr)
{
	c->set_fd = open_msr_counter("kvm_uret_msr_set", msr);
	c->restore_fd = open_msr_counter("kvm_uret_msr_restore", msr);
	return c->set_fd >= 0 && c->restore_fd >= 0;
}

static void uret_counts_close(struct uret_counts *c)
{
	if (c->set_fd >= 0)
		close(c->set_fd);
	if (c->restore_fd >= 0)
		close(c->restore_fd);
}

static uint64_t counter_value(int fd)
{
	uint64_t v;

	TEST_ASSERT(read(fd, &v, sizeof(v)) == sizeof(v), "read counter");
	return v;
}

static struct uret_delta uret_snapshot(struct uret_counts *c)
{
	return (struct uret_delta){ counter_value(c->set_fd), counter_value(c->restore_fd) };
}

static struct uret_delta uret_since(struct uret_counts *c, struct uret_delta before)
{
	struct uret_delta now = uret_snapshot(c);

	return (struct uret_delta){ now.sets - before.sets, now.restores - before.restores };
}

static uint32_t host_tsc_aux(void)
{
	uint32_t aux;

	rdtscp(&aux);
	return aux;
}

static inline uint32_t guest_rdpid(void)
{
	uint64_t v;

	asm volatile("rdpid %0" : "=r"(v));
	return v;
}

/* The guest's TSC_AUX as RDMSR, RDTSCP and (if present) RDPID see it. */
static void guest_check_aux(uint32_t expected)
{
	uint32_t aux;

	GUEST_ASSERT_EQ(rdmsr(MSR_TSC_AUX), expected);
	rdtscp(&aux);
	GUEST_ASSERT_EQ(aux, expected);
	if (this_cpu_has(X86_FEATURE_RDPID))
		GUEST_ASSERT_EQ(guest_rdpid(), expected);
}

static void guest_wrmsr_code(void)
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
	for (i = 0; i <= RUNS; i++) {
		guest_check_aux(GUEST_TSC_AUX);
		GUEST_SYNC(i);
	}
	GUEST_DONE();
}

/* TSC_AUX comes from the host (KVM_SET_MSRS): the expected value too. */
static uint32_t expected_aux;

static void guest_check_code(void)
{
	int i;

	for (i = 0; i <= RUNS; i++) {
		guest_check_aux(expected_aux);
		GUEST_SYNC(i);
	}
	GUEST_DONE();
}

static void handle_ucall(struct kvm_vcpu *vcpu, uint64_t stage)
{
	struct ucall uc;

	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		TEST_ASSERT_EQ(uc.args[1], stage);
		break;
	case UCALL_DONE:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("unexpected exit %s", exit_reason_str(vcpu->run->exit_reason));
	}
}

/*
 * Run stages first..RUNS, checking the host's TSC_AUX after each KVM_RUN,
 * and count TSC_AUX loads and restores over them.
 */
static struct uret_delta run_stages(struct kvm_vcpu *vcpu, struct uret_counts *c, int first)
{
	struct uret_delta before = uret_snapshot(c);
	int i;

	for (i = first; i <= RUNS; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_EQ(host_tsc_aux(), host_aux);
		TEST_ASSERT_EQ(getppid() > 0, true);
		handle_ucall(vcpu, i);
	}
	return uret_since(c, before);
}

static void test_restore_guest_wrmsr(struct uret_counts *c)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct uret_delta d;
	int runs = RUNS;

	vm = vm_create_with_one_vcpu(&vcpu, guest_wrmsr_code);
	/* Stage 0 includes the guest's own WRMSR: warm-up, not counted. */
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(host_tsc_aux(), host_aux);
	handle_ucall(vcpu, 0);
	d = run_stages(vcpu, c, 1);
	kvm_vm_free(vm);

	TEST_ASSERT(d.sets == runs && d.restores == runs,
		    "guest TSC_AUX 0x%x: %lu loads and %lu restores for %d KVM_RUNs, expected %d each",
		    GUEST_TSC_AUX, d.sets, d.restores, runs, runs);
	ksft_test_result_pass("restore after guest WRMSR: host TSC_AUX 0x%x back after every "
			      "KVM_RUN, guest kept 0x%x; %lu loads, %lu restores for %d KVM_RUNs\n",
			      host_aux, GUEST_TSC_AUX, d.sets, d.restores, runs);
}

/*
 * A vCPU whose TSC_AUX comes from KVM_SET_MSRS: the loads and restores of
 * the ioctl (*ioctl_d) and of KVM_RUNs 0..RUNS (*runs_d).
 */
static void run_set_msrs(struct uret_counts *c, uint32_t aux, struct uret_delta *ioctl_d,
			 struct uret_delta *runs_d)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_check_code);
	expected_aux = aux;
	sync_global_to_guest(vm, expected_aux);

	/* KVM_SET_MSRS loads the value at once; the ioctl's return restores it. */
	*ioctl_d = uret_snapshot(c);
	vcpu_set_msr(vcpu, MSR_TSC_AUX, aux);
	*ioctl_d = uret_since(c, *ioctl_d);
	TEST_ASSERT_EQ(host_tsc_aux(), host_aux);
	*runs_d = run_stages(vcpu, c, 0);
	kvm_vm_free(vm);
}

static void test_restore_set_msrs(struct uret_counts *c)
{
	struct uret_delta ioctl_d, d;

	run_set_msrs(c, SET_MSRS_TSC_AUX, &ioctl_d, &d);
	TEST_ASSERT(ioctl_d.sets == 1 && ioctl_d.restores == 1,
		    "KVM_SET_MSRS(TSC_AUX): %lu loads, %lu restores, expected 1 each",
		    ioctl_d.sets, ioctl_d.restores);
	TEST_ASSERT(d.sets == RUNS + 1 && d.restores == RUNS + 1,
		    "%lu loads and %lu restores for %d KVM_RUNs, expected %d each",
		    d.sets, d.restores, RUNS + 1, RUNS + 1);
	ksft_test_result_pass("restore after KVM_SET_MSRS: guest saw 0x%x, host 0x%x back; "
			      "ioctl 1 load + 1 restore, then %lu loads, %lu restores for %d "
			      "KVM_RUNs\n", SET_MSRS_TSC_AUX, host_aux, d.sets, d.restores,
			      RUNS + 1);
}

static void test_skip_unchanged(struct uret_counts *c)
{
	struct uret_delta ioctl_d, d;

	run_set_msrs(c, host_aux, &ioctl_d, &d);
	TEST_ASSERT(!ioctl_d.sets && !ioctl_d.restores && !d.sets && !d.restores,
		    "guest TSC_AUX = host's 0x%x: KVM_SET_MSRS %lu loads, %lu restores; "
		    "%d KVM_RUNs %lu loads, %lu restores; expected none",
		    host_aux, ioctl_d.sets, ioctl_d.restores, RUNS + 1, d.sets, d.restores);
	ksft_test_result_pass("skip if unchanged: guest TSC_AUX = host's 0x%x, 0 loads and "
			      "0 restores over KVM_SET_MSRS and %d KVM_RUNs\n", host_aux, RUNS + 1);
}

/* guest/idle/guest: the guest announces each halt, the waker ends it. */
static volatile uint32_t halt_round;
static volatile uint32_t wake_irqs;

static void guest_wake_handler(struct ex_regs *regs)
{
	wake_irqs++;
	x2apic_write_reg(APIC_EOI, 0);
}

static void guest_idle_code(void)
{
	uint32_t r;

	x2apic_enable();
	wrmsr(MSR_TSC_AUX, GUEST_TSC_AUX);
	GUEST_SYNC(0);
	for (r = 1; r <= IDLE_ROUNDS; r++) {
		halt_round = r;
		while (wake_irqs < r)
			asm volatile("sti; hlt; cli" ::: "memory");
		guest_check_aux(GUEST_TSC_AUX);
	}
	GUEST_SYNC(1);
	GUEST_DONE();
}

struct waker {
	struct kvm_vm *vm;
	volatile uint32_t *halt_round;
	int failed_round;
};

static void *waker_thread(void *arg)
{
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = WAKE_VECTOR };
	struct waker *w = arg;
	uint32_t r;
	int waited;

	for (r = 1; r <= IDLE_ROUNDS; r++) {
		for (waited = 0; *w->halt_round < r; waited++) {
			if (waited == 10000) {
				w->failed_round = r;
				return NULL;
			}
			usleep(1000);
		}
		/* Long past halt polling, so the vCPU thread blocks. */
		usleep(IDLE_SLEEP_US);
		if (__vm_ioctl(w->vm, KVM_SIGNAL_MSI, &msi) <= 0) {
			w->failed_round = r;
			return NULL;
		}
	}
	return NULL;
}

/* CPU cpu's idle time from /proc/stat, in USER_HZ ticks. */
static uint64_t cpu_idle_ticks(int cpu)
{
	unsigned long long user, nice, sys, idle;
	char line[256], name[16];
	FILE *f = fopen("/proc/stat", "r");
	uint64_t ticks = 0;

	TEST_ASSERT(f, "open /proc/stat");
	snprintf(name, sizeof(name), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, strlen(name)))
			continue;
		TEST_ASSERT(sscanf(line + strlen(name), "%llu %llu %llu %llu", &user, &nice, &sys,
				   &idle) == 4, "parse /proc/stat");
		ticks = idle;
		break;
	}
	fclose(f);
	return ticks;
}

static long thread_voluntary_switches(void)
{
	struct rusage ru;

	TEST_ASSERT(!getrusage(RUSAGE_THREAD, &ru), "getrusage");
	return ru.ru_nvcsw;
}

/*
 * One KVM_RUN in which the guest halts IDLE_ROUNDS times; returns the
 * user-return loads and restores it took.
 */
static struct uret_delta idle_attempt(struct uret_counts *c, long *switches, uint64_t *idle)
{
	struct waker w = {};
	struct kvm_vcpu *vcpu;
	struct uret_delta d;
	struct kvm_vm *vm;
	pthread_attr_t attr;
	pthread_t thread;
	cpu_set_t mask;

	vm = vm_create_with_one_vcpu(&vcpu, guest_idle_code);
	vm_install_exception_handler(vm, WAKE_VECTOR, guest_wake_handler);
	vcpu_run(vcpu);
	handle_ucall(vcpu, 0);

	w.vm = vm;
	w.halt_round = addr_gva2hva(vm, (vm_vaddr_t)&halt_round);
	/*
	 * Born on waker_cpu: a thread that ever returned to userspace on
	 * test_cpu would itself restore the host's TSC_AUX there.
	 */
	CPU_ZERO(&mask);
	CPU_SET(waker_cpu, &mask);
	TEST_ASSERT(!pthread_attr_init(&attr), "pthread_attr_init");
	TEST_ASSERT(!pthread_attr_setaffinity_np(&attr, sizeof(mask), &mask), "waker affinity");
	TEST_ASSERT(!pthread_create(&thread, &attr, waker_thread, &w), "pthread_create");
	pthread_attr_destroy(&attr);

	/* One KVM_RUN: enter, IDLE_ROUNDS halts and wake-ups, GUEST_SYNC(1). */
	*switches = thread_voluntary_switches();
	*idle = cpu_idle_ticks(test_cpu);
	d = uret_snapshot(c);
	vcpu_run(vcpu);
	d = uret_since(c, d);
	*idle = cpu_idle_ticks(test_cpu) - *idle;
	*switches = thread_voluntary_switches() - *switches;
	TEST_ASSERT_EQ(host_tsc_aux(), host_aux);
	pthread_join(thread, NULL);
	TEST_ASSERT(!w.failed_round, "waker: round %d failed (guest never halted or MSI refused)",
		    w.failed_round);
	handle_ucall(vcpu, 1);
	vcpu_run(vcpu);
	handle_ucall(vcpu, 2);
	kvm_vm_free(vm);

	TEST_ASSERT(*switches >= IDLE_ROUNDS,
		    "vCPU thread blocked only %ld times for %d halts: halts never went idle",
		    *switches, IDLE_ROUNDS);
	TEST_ASSERT(*idle > 0, "CPU %d accounted no idle time over %d halts of %d us",
		    test_cpu, IDLE_ROUNDS, IDLE_SLEEP_US);
	return d;
}

static void test_guest_idle_guest(struct uret_counts *c)
{
	struct uret_delta d;
	uint64_t idle;
	long switches;
	int attempt;

	if (waker_cpu < 0) {
		ksft_test_result_skip("guest/idle/guest: needs a second CPU for the waker, so "
				      "the vCPU's CPU can go idle\n");
		return;
	}
	if (!kvm_cpu_has(X86_FEATURE_X2APIC) || !kvm_has_cap(KVM_CAP_SIGNAL_MSI)) {
		ksft_test_result_skip("guest/idle/guest: KVM offers no x2APIC or KVM_SIGNAL_MSI "
				      "to wake the halted guest\n");
		return;
	}

	/*
	 * Any other task that returns to userspace on test_cpu while the vCPU
	 * is halted restores the host's value, and KVM then loads the guest's
	 * again: that adds a pair.  Such a run is reported and tried again; an
	 * implementation that restored across idle would add one every halt.
	 */
	for (attempt = 1;; attempt++) {
		d = idle_attempt(c, &switches, &idle);
		if ((d.sets == 1 && d.restores == 1) || attempt == IDLE_ATTEMPTS)
			break;
		ksft_print_msg("guest/idle/guest: attempt %d: %lu loads and %lu restores (a task "
			       "returning to userspace on CPU %d adds a pair); again\n",
			       attempt, d.sets, d.restores, test_cpu);
	}
	TEST_ASSERT(d.sets == 1 && d.restores == 1,
		    "%lu loads and %lu restores across one KVM_RUN with %d halts, expected 1 each "
		    "(%d attempts)", d.sets, d.restores, IDLE_ROUNDS, attempt);
	ksft_test_result_pass("guest/idle/guest: %d halts (vCPU thread blocked %ld times, CPU %d "
			      "idle %lu ticks) in one KVM_RUN: 1 load, 1 restore, guest TSC_AUX "
			      "kept (attempt %d)\n", IDLE_ROUNDS, switches, test_cpu, idle, attempt);
}

/* VMX: the SYSCALL MSRs, loaded only for a 64-bit guest with EFER.SCE. */
static const uint32_t syscall_msrs[] = { MSR_STAR, MSR_LSTAR, MSR_SYSCALL_MASK };
#define NR_SYSCALL_MSRS ARRAY_SIZE(syscall_msrs)
static uint64_t guest_syscall_values[NR_SYSCALL_MSRS];

static void guest_syscall_msrs_code(void)
{
	int i, r;

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	for (i = 0; i < NR_SYSCALL_MSRS; i++)
		wrmsr(syscall_msrs[i], guest_syscall_values[i]);
	for (r = 0; r <= RUNS; r++) {
		for (i = 0; i < NR_SYSCALL_MSRS; i++)
			GUEST_ASSERT_EQ(rdmsr(syscall_msrs[i]), guest_syscall_values[i]);
		GUEST_SYNC(r);
	}
	GUEST_DONE();
}

static bool read_cpu_msr(int fd, uint32_t msr, uint64_t *value)
{
	return pread(fd, value, sizeof(*value), msr) == sizeof(*value);
}

static void test_vmx_syscall_msrs(void)
{
	struct uret_counts c[NR_SYSCALL_MSRS];
	uint64_t host_values[NR_SYSCALL_MSRS], v;
	struct uret_delta before[NR_SYSCALL_MSRS], d;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	char path[64];
	int fd, i, r;

	if (!host_cpu_is_intel) {
		ksft_test_result_skip("VMX SYSCALL MSRs: not a VMX host; SVM switches STAR/LSTAR/"
				      "CSTAR/SFMASK with VMLOAD/VMSAVE, not as user-return MSRs\n");
		return;
	}
	snprintf(path, sizeof(path), "/dev/cpu/%d/msr", test_cpu);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		ksft_test_result_skip("VMX SYSCALL MSRs: cannot open %s (%s)\n", path,
				      strerror(errno));
		return;
	}
	for (i = 0; i < NR_SYSCALL_MSRS; i++) {
		TEST_ASSERT(read_cpu_msr(fd, syscall_msrs[i], &host_values[i]),
			    "read MSR 0x%x through %s", syscall_msrs[i], path);
		TEST_ASSERT(uret_counts_open(&c[i], syscall_msrs[i]),
			    "count MSR 0x%x: %s", syscall_msrs[i], strerror(errno));
	}
	/* Canonical, valid, and unlike the host's. */
	guest_syscall_values[0] = host_values[0] ^ (0x8ull << 32);
	guest_syscall_values[1] = host_values[1] ^ 0x1000;
	guest_syscall_values[2] = host_values[2] ^ (1ull << 18);	/* EFLAGS.AC */

	vm = vm_create_with_one_vcpu(&vcpu, guest_syscall_msrs_code);
	sync_global_to_guest(vm, guest_syscall_values);
	vcpu_run(vcpu);
	handle_ucall(vcpu, 0);
	for (i = 0; i < NR_SYSCALL_MSRS; i++)
		before[i] = uret_snapshot(&c[i]);
	for (r = 1; r <= RUNS; r++) {
		vcpu_run(vcpu);
		for (i = 0; i < NR_SYSCALL_MSRS; i++) {
			TEST_ASSERT(read_cpu_msr(fd, syscall_msrs[i], &v), "read MSR");
			TEST_ASSERT(v == host_values[i], "MSR 0x%x is 0x%lx after KVM_RUN, host's "
				    "is 0x%lx", syscall_msrs[i], v, host_values[i]);
		}
		handle_ucall(vcpu, r);
	}
	kvm_vm_free(vm);
	for (i = 0; i < NR_SYSCALL_MSRS; i++) {
		d = uret_since(&c[i], before[i]);
		TEST_ASSERT(d.sets == RUNS && d.restores == RUNS,
			    "MSR 0x%x: %lu loads, %lu restores for %d KVM_RUNs, expected %d each",
			    syscall_msrs[i], d.sets, d.restores, RUNS, RUNS);
		uret_counts_close(&c[i]);
	}
	close(fd);
	ksft_test_result_pass("VMX SYSCALL MSRs: STAR, LSTAR, SYSCALL_MASK host values back "
			      "after every KVM_RUN; one load and one restore each per KVM_RUN\n");
}

int main(void)
{
	struct uret_counts c;
	cpu_set_t allowed;
	int cpu;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_RDTSCP));
	TEST_REQUIRE(this_cpu_has(X86_FEATURE_RDTSCP));

	/* One CPU for the vCPU, so the host's TSC_AUX is one known value. */
	TEST_ASSERT(!sched_getaffinity(0, sizeof(allowed), &allowed), "sched_getaffinity");
	test_cpu = sched_getcpu();
	for (cpu = 0; cpu < CPU_SETSIZE && waker_cpu < 0; cpu++)
		if (cpu != test_cpu && CPU_ISSET(cpu, &allowed))
			waker_cpu = cpu;
	kvm_pin_this_task_to_pcpu(test_cpu);
	host_aux = host_tsc_aux();
	TEST_ASSERT(host_aux != GUEST_TSC_AUX && host_aux != SET_MSRS_TSC_AUX,
		    "host TSC_AUX 0x%x equals a guest test value", host_aux);

	ksft_print_header();
	ksft_set_plan(5);
	ksft_print_msg("CPU %d, host TSC_AUX 0x%x, waker CPU %d\n", test_cpu, host_aux, waker_cpu);

	if (!uret_counts_open(&c, MSR_TSC_AUX)) {
		ksft_print_msg("tracepoints kvm_uret_msr_set/kvm_uret_msr_restore cannot be "
			       "counted: %s\n", strerror(errno));
		ksft_exit_skip("user-return MSR counts need the kvm_uret_msr_* tracepoints\n");
	}
	test_restore_guest_wrmsr(&c);
	test_restore_set_msrs(&c);
	test_skip_unchanged(&c);
	test_guest_idle_guest(&c);
	uret_counts_close(&c);
	test_vmx_syscall_msrs();
	ksft_finished();
}
