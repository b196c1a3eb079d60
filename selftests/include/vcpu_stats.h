/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a vCPU's binary stats by name, for selftests/ and bench/: the
 * 6.12 selftest library has vm_get_stat() but nothing for vCPUs.
 */
#ifndef LAZYSWITCH_VCPU_STATS_H
#define LAZYSWITCH_VCPU_STATS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"

struct vcpu_stats {
	int fd;
	struct kvm_stats_header header;
	struct kvm_stats_desc *desc;
};

static inline void vcpu_stats_open(struct kvm_vcpu *vcpu, struct vcpu_stats *s)
{
	s->fd = vcpu_get_stats_fd(vcpu);
	read_stats_header(s->fd, &s->header);
	s->desc = read_stats_descriptors(s->fd, &s->header);
}

static inline void vcpu_stats_close(struct vcpu_stats *s)
{
	free(s->desc);
	close(s->fd);
}

/* The first value of stat @name; a missing stat fails the test. */
static inline uint64_t vcpu_stats_read(struct vcpu_stats *s, const char *name)
{
	struct kvm_stats_desc *d;
	uint64_t v;
	int i;

	for (i = 0; i < s->header.num_desc; i++) {
		d = get_stats_descriptor(s->desc, i, &s->header);
		if (!strcmp(d->name, name)) {
			read_stat_data(s->fd, &s->header, d, &v, 1);
			return v;
		}
	}
	TEST_FAIL("no vCPU stat '%s'", name);
	return 0;
}

/* One read, for a test that reads a stat now and then. */
static inline uint64_t vcpu_stat(struct kvm_vcpu *vcpu, const char *name)
{
	struct vcpu_stats s;
	uint64_t v;

	vcpu_stats_open(vcpu, &s);
	v = vcpu_stats_read(&s, name);
	vcpu_stats_close(&s);
	return v;
}

#endif
