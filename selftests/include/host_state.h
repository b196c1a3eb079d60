/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host state KVM must give back after every KVM_RUN: XCR0, PKRU and the
 * user-return MSR TSC_AUX. Shared by the selftests that attack it.
 */
#ifndef LAZYSWITCH_HOST_STATE_H
#define LAZYSWITCH_HOST_STATE_H

#include <sys/sysinfo.h>

#include "test_util.h"
#include "processor.h"

static inline uint32_t rdpkru(void)
{
	uint32_t eax, edx;

	asm volatile(".byte 0x0f,0x01,0xee" : "=a" (eax), "=d" (edx) : "c" (0));
	return eax;
}

struct host_state {
	uint64_t xcr0;
	uint32_t pkru;
	bool pku, rdtscp;
};

static inline void host_state_save(struct host_state *h)
{
	h->xcr0 = xgetbv(0);
	h->pku = this_cpu_has(X86_FEATURE_OSPKE);
	h->pkru = h->pku ? rdpkru() : 0;
	h->rdtscp = this_cpu_has(X86_FEATURE_RDTSCP);
}

/*
 * Linux keeps the CPU number in TSC_AUX bits 11:0 (the node above them), so
 * the value changes with the CPU: checked against the guest's value (0: the
 * guest set none) and the CPU count, which holds whichever CPU the thread
 * runs on now.
 */
static inline void host_state_check(const struct host_state *h, uint32_t guest_tsc_aux,
				    const char *when)
{
	uint32_t aux;

	TEST_ASSERT(xgetbv(0) == h->xcr0, "%s: host XCR0 0x%lx, expected 0x%lx", when,
		    xgetbv(0), h->xcr0);
	if (h->pku)
		TEST_ASSERT(rdpkru() == h->pkru, "%s: host PKRU 0x%x, expected 0x%x", when,
			    rdpkru(), h->pkru);
	if (h->rdtscp) {
		rdtscp(&aux);
		TEST_ASSERT((!guest_tsc_aux || aux != guest_tsc_aux) &&
			    (aux & 0xfff) < (uint32_t)get_nprocs_conf(),
			    "%s: host TSC_AUX 0x%x is not a host CPU's (guest's is 0x%x)", when,
			    aux, guest_tsc_aux);
	}
}

#endif
