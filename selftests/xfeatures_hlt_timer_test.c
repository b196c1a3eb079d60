// SPDX-License-Identifier: GPL-2.0
/*
 * Guest and host XCR0/PKRU integrity across HLT exits woken by the guest's
 * TSC-deadline timer. A separate binary from xfeatures_switch_test because,
 * under nested QEMU TCG, the timer interrupt of a halted vCPU is sometimes
 * never delivered (on the baseline kernel too): the watchdog then fails this
 * test alone, and the known-failures list can say so.
 */
#define HLT_TIMER_ONLY
#include "xfeatures_switch_test.c"
