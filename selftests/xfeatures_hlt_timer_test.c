// SPDX-License-Identifier: GPL-2.0
/*
 * Guest and host XCR0/PKRU integrity across HLT exits woken by the guest's
 * TSC-deadline timer, and by an IPI pending at the HLT. A separate binary
 * from xfeatures_switch_test because Debian's QEMU 7.2 drops the STI shadow
 * at VMRUN (svm_int_shadow_test), so these HLTs sometimes sleep through an
 * interrupt already taken: the watchdog then fails this test alone, and the
 * known-failures list can say so.
 */
#define HLT_TIMER_ONLY
#include "xfeatures_switch_test.c"
