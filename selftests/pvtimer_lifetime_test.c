// SPDX-License-Identifier: GPL-2.0
/*
 * pvtimer_lifetime: the host must stop touching a VM's pvtimer areas once
 * the process that owns the VM's memory has exited, even while another
 * process still holds the VM and vCPU fds (inherited by fork here; SCM_RIGHTS
 * is the same).  Guest RAM is freed when its owner exits, so a scan that goes
 * on writing next_sync_tsc writes freed host memory: KASAN reports it on the
 * debug kernel, and this test fails on any kernel if a pvtimer scan task is
 * still running or the vCPU's promises still move after the owner is gone.
 *
 * The owner creates one VM with an in-kernel APIC, marks guest RAM
 * MADV_DONTFORK (so the holder shares none of it), enables pvtimer with
 * host-initiated writes only (the guest never runs), forks the holder and
 * exits.  The holder watches for a while, then closes the fds.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kvm_util.h"
#include "processor.h"
#include "pvtimer_guest.h"

#define NR_TESTS	2
#define HOLD_MS		1500

static void guest_code(void)
{
	GUEST_DONE();
}

/* The vCPU's pvtimer_promises stat, or -1 on a kernel without it. */
static long promises(int stats_fd, struct kvm_stats_header *h, struct kvm_stats_desc *desc)
{
	struct kvm_stats_desc *d;
	uint64_t v;
	int i;

	for (i = 0; i < h->num_desc; i++) {
		d = get_stats_descriptor(desc, i, h);
		if (!strcmp(d->name, "pvtimer_promises")) {
			read_stat_data(stats_fd, h, d, &v, 1);
			return v;
		}
	}
	return -1;
}

/*
 * The holder: everything it reports goes through a pipe to the test
 * process, which prints TAP.  Writes "switches-before switches-after
 * tasks-after promises-before promises-after".
 */
static void holder(int out, int go, int stats_fd)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *desc;
	struct pvtimer_tasks t0, t1;
	long p0, p1;
	char msg[160];

	read_stats_header(stats_fd, &h);
	desc = read_stats_descriptors(stats_fd, &h);

	/* The test process says when it has reaped the owner. */
	TEST_ASSERT(read(go, msg, 1) == 1, "waiting for the owner's exit");
	usleep(100 * 1000);
	t0 = pvtimer_tasks(0);
	p0 = promises(stats_fd, &h, desc);
	usleep(HOLD_MS * 1000);
	t1 = pvtimer_tasks(0);
	p1 = promises(stats_fd, &h, desc);
	snprintf(msg, sizeof(msg), "%ld %ld %d %ld %ld\n", t0.switches, t1.switches, t1.nr,
		 p0, p1);
	TEST_ASSERT(write(out, msg, strlen(msg)) == (ssize_t)strlen(msg), "pipe");
	free(desc);
	/* Exiting closes the last fds: the VM is destroyed here. */
	_exit(0);
}

/* The owner: create, enable, fork the holder, exit. */
static void owner(int out, int go)
{
	struct userspace_mem_region *region;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	vm_vaddr_t area_gva;
	int stats_fd, tries;
	long before;
	uint64_t gpa;
	pid_t pid;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	area_gva = vm_vaddr_alloc_page(vm);
	gpa = addr_gva2gpa(vm, area_gva);
	/* As a guest would before enabling: the page is present and written. */
	memset(addr_gpa2hva(vm, gpa), 0, sizeof(struct kvm_pv_timer));

	if (pvtimer_vm_enable(vm, 1000))
		exit(KSFT_FAIL);
	vcpu_set_msr(vcpu, MSR_KVM_PV_TIMER_EN, gpa | 1);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_KVM_PV_TIMER_EN), gpa | 1);

	/*
	 * The scan is live without the guest running: its task wakes every
	 * period (it writes next_sync_tsc too, unless the host TSC is unstable).
	 */
	before = pvtimer_tasks(0).switches;
	for (tries = 0; tries < 2000; tries++) {
		if (pvtimer_tasks(0).switches != before)
			break;
		usleep(1000);
	}
	TEST_ASSERT(tries < 2000, "no pvtimer scan ran within 2 s (%d kvm-pvtimer tasks)",
		    pvtimer_tasks(0).nr);

	region = memslot2region(vm, 0);
	TEST_ASSERT(!madvise(region->host_mem, region->mmap_size, MADV_DONTFORK),
		    "madvise(MADV_DONTFORK)");
	stats_fd = vcpu_get_stats_fd(vcpu);

	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid)
		holder(out, go, stats_fd);
	/* No kvm_vm_free(): the memslots stay, as when a VMM crashes. */
	_exit(0);
}

int main(int argc, char *argv[])
{
	long sw0, sw1, p0, p1;
	int pipefd[2], gofd[2], status, nr_tasks;
	char buf[160] = "";
	ssize_t n, len = 0;
	pid_t pid;

	ksft_print_header();
	ksft_set_plan(NR_TESTS);
	if (!pvtimer_host_offers())
		ksft_exit_skip("%s\n", pvtimer_host_skip_reason());

	TEST_ASSERT(!pipe(pipefd) && !pipe(gofd), "pipe");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		close(pipefd[0]);
		close(gofd[1]);
		owner(pipefd[1], gofd[0]);
	}
	close(pipefd[1]);
	close(gofd[0]);
	TEST_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
		    "the owner failed (status 0x%x)", status);
	TEST_ASSERT(write(gofd[1], "g", 1) == 1, "pipe");
	ksft_print_msg("owner exited; the holder keeps the VM and vCPU fds for %d ms\n", HOLD_MS);

	/* The holder closes its end when it exits, after writing. */
	while ((n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = 0;
	TEST_ASSERT(sscanf(buf, "%ld %ld %d %ld %ld", &sw0, &sw1, &nr_tasks, &p0, &p1) == 5,
		    "the holder reported nothing ('%s')", buf);

	ksft_test_result(sw1 == sw0,
			 "no pvtimer scan ran in %d ms after the owner exited: %d kvm-pvtimer "
			 "task(s) left, %ld context switches\n", HOLD_MS, nr_tasks, sw1 - sw0);
	if (p0 < 0)
		ksft_test_result_skip("promises: this kernel has no pvtimer_promises stat\n");
	else
		ksft_test_result(p1 == p0, "promises: the vCPU's pvtimer_promises stayed at %ld "
				 "after the owner exited (now %ld)\n", p0, p1);
	/* Destruction happens as the holder exits: give KASAN time to say so. */
	usleep(200 * 1000);
	ksft_finished();
}
