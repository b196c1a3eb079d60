// SPDX-License-Identifier: GPL-2.0
/*
 * pvtimer-optin.so: preloaded into a VMM that predates KVM_CAP_X86_PVTIMER
 * (QEMU 7.2), it opts every VM the VMM creates in to the paravirtual timer,
 * as a VMM with a pvtimer option would.  The scan period is
 * PVTIMER_PERIOD_US (default 1000); PVTIMER_SCAN_CPU, if set, is the CPU the
 * scan task starts on, as SCHED_FIFO 1 (it inherits the caller's policy).
 * One line on stderr says what was done.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>

#ifndef KVM_CAP_X86_PVTIMER
#define KVM_CAP_X86_PVTIMER	239
#endif

typedef int (*ioctl_fn)(int, unsigned long, ...);

static void opt_in(ioctl_fn real_ioctl, int vm_fd)
{
	const char *period = getenv("PVTIMER_PERIOD_US");
	const char *cpu = getenv("PVTIMER_SCAN_CPU");
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_PVTIMER };
	struct sched_param fifo = { .sched_priority = 1 }, old_param;
	int old_policy = sched_getscheduler(0);
	cpu_set_t old, one;
	int r, err;

	cap.args[0] = period ? strtoull(period, NULL, 10) : 1000;
	if (cpu) {
		sched_getaffinity(0, sizeof(old), &old);
		sched_getparam(0, &old_param);
		CPU_ZERO(&one);
		CPU_SET(atoi(cpu), &one);
		sched_setaffinity(0, sizeof(one), &one);
		sched_setscheduler(0, SCHED_FIFO, &fifo);
	}
	r = real_ioctl(vm_fd, KVM_ENABLE_CAP, &cap);
	err = errno;
	if (cpu) {
		sched_setscheduler(0, old_policy, &old_param);
		sched_setaffinity(0, sizeof(old), &old);
	}
	if (r)
		fprintf(stderr, "pvtimer-optin: KVM_CAP_X86_PVTIMER refused: %s\n", strerror(err));
	else
		fprintf(stderr, "pvtimer-optin: KVM_CAP_X86_PVTIMER enabled, scan every %llu us "
			"on CPU %s%s\n", (unsigned long long)cap.args[0], cpu ? cpu : "any",
			cpu ? ", SCHED_FIFO 1" : "");
}

int ioctl(int fd, unsigned long request, ...)
{
	static ioctl_fn real_ioctl;
	va_list ap;
	void *arg;
	int r, err;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real_ioctl)
		real_ioctl = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
	r = real_ioctl(fd, request, arg);
	if (request == KVM_CREATE_VM && r >= 0) {
		err = errno;
		opt_in(real_ioctl, r);
		errno = err;
	}
	return r;
}
