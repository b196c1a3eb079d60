/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counting perf events on kvm:* tracepoints, shared by this project's
 * selftests. A kernel without a tracepoint gives -1 with errno ENOENT, so a
 * test can SKIP and say which tracepoint is missing.
 */
#ifndef LAZYSWITCH_TRACEPOINT_COUNTER_H
#define LAZYSWITCH_TRACEPOINT_COUNTER_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

static inline int kvm_tracepoint_id(const char *event)
{
	static const char * const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[256];
	FILE *f;
	int i, id;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/events/kvm/%s/id", roots[i], event);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%d", &id) != 1)
			id = -1;
		fclose(f);
		return id;
	}
	return -1;
}

/* pid and cpu as for perf_event_open(): this thread (0, -1) or one CPU (-1, N). */
static inline int kvm_tracepoint_counter(const char *event, pid_t pid, int cpu, bool disabled)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.disabled = disabled,
	};
	int id = kvm_tracepoint_id(event);

	if (id < 0) {
		errno = ENOENT;
		return -1;
	}
	attr.config = id;
	return syscall(SYS_perf_event_open, &attr, pid, cpu, -1, 0);
}

#endif
