/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest side of the pvtimer protocol (MSR_KVM_PV_TIMER_EN, struct
 * kvm_pv_timer), shared by selftests/pvtimer_test.c and bench/. Headers
 * without pvtimer (the baseline kernel's) get the ABI from here.
 */
#ifndef LAZYSWITCH_PVTIMER_GUEST_H
#define LAZYSWITCH_PVTIMER_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm_para.h>

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
#define X86_FEATURE_KVM_PV_TIMER KVM_X86_CPU_FEATURE(0x40000001, 0, EAX, KVM_FEATURE_PV_TIMER)

/* Enable the area at @gpa and wait for the host's first promise. */
static inline void pvtimer_guest_enable(struct kvm_pv_timer *area, uint64_t gpa)
{
	wrmsr(MSR_KVM_PV_TIMER_EN, gpa | 1);
	while (!READ_ONCE(area->next_sync_tsc))
		cpu_relax();
}

/*
 * Arm @deadline (KVM's guest TSC, now @now) through the area if the host's
 * promise covers it, else through the MSR. Returns true if it fell back.
 */
static inline bool pvtimer_guest_arm(struct kvm_pv_timer *area, uint64_t deadline,
				     uint64_t now)
{
	uint64_t next_sync = READ_ONCE(area->next_sync_tsc);

	if (deadline >= next_sync && next_sync > now) {
		WRITE_ONCE(area->expire_tsc, deadline);
		return false;
	}
	/* An older deadline left in the area must not override the MSR's. */
	WRITE_ONCE(area->expire_tsc, 0);
	wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	return true;
}

#endif
