/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pvtimer protocol (MSR_KVM_PV_TIMER_EN, struct kvm_pv_timer) for
 * selftests/ and bench/: the guest side, and the host side's per-VM opt-in
 * (KVM_CAP_X86_PVTIMER). Headers without pvtimer (the baseline kernel's)
 * get the ABI from here.
 */
#ifndef LAZYSWITCH_PVTIMER_GUEST_H
#define LAZYSWITCH_PVTIMER_GUEST_H

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "processor.h"

#ifndef KVM_FEATURE_PV_TIMER
#define KVM_FEATURE_PV_TIMER	18
#define MSR_KVM_PV_TIMER_EN	0x4b564d09
struct kvm_pv_timer {
	__u64 expire_tsc;
	__u64 next_sync_tsc;
	__u64 pad[6];
};
#endif
#ifndef KVM_CAP_X86_PVTIMER
#define KVM_CAP_X86_PVTIMER	239
#endif
#define X86_FEATURE_KVM_PV_TIMER KVM_X86_CPU_FEATURE(0x40000001, 0, EAX, KVM_FEATURE_PV_TIMER)

/*
 * Enable the area at @gpa and wait a while (2^32 TSC cycles) for the host's
 * first promise.  A host that makes none (its TSC unstable) gets the MSR.
 */
static inline void pvtimer_guest_enable(struct kvm_pv_timer *area, uint64_t gpa)
{
	uint64_t start = rdtsc();

	wrmsr(MSR_KVM_PV_TIMER_EN, gpa | 1);
	while (!READ_ONCE(area->next_sync_tsc) && rdtsc() - start < (1ull << 32))
		cpu_relax();
}

/*
 * Arm @deadline (KVM's guest TSC) through the area if the host's promise
 * covers it, else through the MSR: store first, then read the promise and
 * the time (@now reads KVM's guest TSC), as msr.rst says.  Returns true if
 * it fell back.
 */
static inline bool pvtimer_guest_arm(struct kvm_pv_timer *area, uint64_t deadline,
				     uint64_t (*now)(void))
{
	uint64_t next_sync;

	WRITE_ONCE(area->expire_tsc, deadline);
	__sync_synchronize();
	next_sync = READ_ONCE(area->next_sync_tsc);
	if (deadline >= next_sync && next_sync > now())
		return false;
	/* The MSR takes it; KVM drops the area's copy then. */
	WRITE_ONCE(area->expire_tsc, 0);
	wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	return true;
}

/*
 * Host side.  A kernel with KVM_CAP_X86_PVTIMER offers pvtimer per VM; one
 * with the first version (a global scan, kvm.pvtimer_cpu) offers the CPUID
 * bit when the module parameter is set, and needs no opt-in.
 */
static inline bool pvtimer_host_has_cap(void)
{
	return kvm_check_cap(KVM_CAP_X86_PVTIMER) > 0;
}

static inline bool pvtimer_host_offers(void)
{
	return pvtimer_host_has_cap() || kvm_cpu_has(X86_FEATURE_KVM_PV_TIMER);
}

static inline const char *pvtimer_host_skip_reason(void)
{
	return "KVM offers no pvtimer (neither KVM_CAP_X86_PVTIMER nor "
	       "KVM_FEATURE_PV_TIMER: a kernel without the pvtimer patches)";
}

/* Opt @vm in with a scan every @period_us; returns the errno, or 0. */
static inline int pvtimer_vm_enable(struct kvm_vm *vm, uint64_t period_us)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_PVTIMER,
		.args = { period_us },
	};

	if (!pvtimer_host_has_cap())
		return 0;
	return __vm_ioctl(vm, KVM_ENABLE_CAP, &cap) ? errno : 0;
}

/*
 * The scan task starts with the caller's CPU affinity and scheduling
 * policy: start it on @cpu (-1: where the caller may run) as SCHED_FIFO 1,
 * as a VMM that dedicates a CPU to it would, so that a busy host does not
 * make it break its promises.  Without the privilege for SCHED_FIFO it
 * starts with the caller's policy.
 */
static inline int pvtimer_vm_enable_rt(struct kvm_vm *vm, uint64_t period_us, int cpu)
{
	struct sched_param fifo = { .sched_priority = 1 }, old_param;
	int old_policy = sched_getscheduler(0), r;
	cpu_set_t old, one;

	if (sched_getaffinity(0, sizeof(old), &old) || sched_getparam(0, &old_param))
		return errno;
	if (cpu >= 0) {
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			return errno;
	}
	sched_setscheduler(0, SCHED_FIFO, &fifo);
	r = pvtimer_vm_enable(vm, period_us);
	TEST_ASSERT(!sched_setscheduler(0, old_policy, &old_param) &&
		    !sched_setaffinity(0, sizeof(old), &old),
		    "restoring the scheduling policy and CPU affinity");
	return r;
}

/* What the kvm-pvtimer tasks of a process, or of all, have done so far. */
struct pvtimer_tasks {
	int nr;			/* tasks found */
	long switches;		/* voluntary context switches, summed */
	long ticks;		/* user + system CPU time in clock ticks, summed */
};

/* Add the task /proc/@pid/task/@tid if it is a kvm-pvtimer task. */
static inline void pvtimer_task_add(const char *pid, const char *tid,
				    struct pvtimer_tasks *t)
{
	char path[600], buf[512], *p;
	unsigned long ut, st;
	long v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/task/%s/stat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return;
	/* Fields 14 and 15, after the ")" that ends the name. */
	if (!fgets(buf, sizeof(buf), f) || !strstr(buf, "(kvm-pvtimer") ||
	    !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &st) != 2) {
		fclose(f);
		return;
	}
	fclose(f);
	t->nr++;
	t->ticks += ut + st;

	snprintf(path, sizeof(path), "/proc/%s/task/%s/status", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "voluntary_ctxt_switches: %ld", &v) == 1)
			t->switches += v;
	fclose(f);
}

/* Add the kvm-pvtimer tasks of process @pid. */
static inline void pvtimer_tasks_of(const char *pid, struct pvtimer_tasks *t)
{
	struct dirent *task;
	char path[300];
	DIR *tasks;

	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	tasks = opendir(path);
	if (!tasks)
		return;
	while ((task = readdir(tasks)))
		if (task->d_name[0] != '.')
			pvtimer_task_add(pid, task->d_name, t);
	closedir(tasks);
}

/* The kvm-pvtimer tasks of process @pid, or of every process if @pid is 0. */
static inline struct pvtimer_tasks pvtimer_tasks(pid_t pid)
{
	struct pvtimer_tasks t = {};
	struct dirent *p;
	char name[16];
	DIR *procs;

	if (pid) {
		snprintf(name, sizeof(name), "%d", pid);
		pvtimer_tasks_of(name, &t);
		return t;
	}
	procs = opendir("/proc");
	TEST_ASSERT(procs, "opendir /proc");
	while ((p = readdir(procs)))
		if (p->d_name[0] >= '0' && p->d_name[0] <= '9')
			pvtimer_tasks_of(p->d_name, &t);
	closedir(procs);
	return t;
}

#endif
