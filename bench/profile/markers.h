/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The measured window's markers, shared by the benchmark that executes them
 * (bench/lazyswitch_bench.c) and the plugin that watches for them
 * (insn_profile.c): NOPs no compiler emits, nopl 0x4c5a5301(%rax) and
 * nopl 0x4c5a5302(%rax) (0f 1f 80 + disp32).
 */
#ifndef LAZYSWITCH_PROFILE_MARKERS_H
#define LAZYSWITCH_PROFILE_MARKERS_H

#define PROFILE_MARKER_START	0x0f, 0x1f, 0x80, 0x01, 0x53, 0x5a, 0x4c
#define PROFILE_MARKER_STOP	0x0f, 0x1f, 0x80, 0x02, 0x53, 0x5a, 0x4c

#endif
