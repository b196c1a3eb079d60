// SPDX-License-Identifier: GPL-2.0
/*
 * sleepcheck: how accurately does this machine sleep?
 *
 * For each duration, N absolute clock_nanosleep(CLOCK_MONOTONIC) calls; the
 * oversleep of each is the time of return minus the target.  A return before
 * the target is a broken timer; an oversleep beyond the bound is a timer that
 * fired far too late (e.g. a TSC deadline computed from a TSC the hypervisor
 * disagrees with).  Also prints the KVM paravirtual features seen in CPUID,
 * whether the guest's RDTSC agrees with RDMSR(IA32_TSC) (which KVM answers
 * with its own view of the guest TSC), and the timer interrupts (LOC of
 * /proc/interrupts) taken during the run.
 *
 * Output: "sleepcheck: key=value ..." lines, then "sleepcheck: result=ok" or
 * "sleepcheck: result=fail reason=...".  Exit 0 ok, 1 fail, 2 usage.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_DURATIONS	8
#define MAX_ITERS	10000
#define MSR_IA32_TSC	0x10
#define KVM_CPUID_SIGNATURE	0x40000000
#define KVM_CPUID_FEATURES	0x40000001
#define KVM_FEATURE_PV_TIMER	18
#define TSC_SAMPLES	5

static void usage(FILE *f)
{
	fprintf(f,
"Usage: sleepcheck [-n ITERS] [-b BOUND_US] [DURATION_US...]\n"
"Sleep ITERS times (default 20) for each DURATION_US (default 50 1000 10000)\n"
"with absolute clock_nanosleep(CLOCK_MONOTONIC); report oversleep\n"
"min/median/max per duration. Fails if a sleep returns before its target or\n"
"oversleeps more than BOUND_US (default 20000).\n");
}

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Print the LOC line of /proc/interrupts and return its total. */
static long long local_timer_irqs(const char *when)
{
	char line[4096];
	long long total = -1, v;
	FILE *f = fopen("/proc/interrupts", "r");
	char *p, *end;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		p = line + strspn(line, " ");
		if (strncmp(p, "LOC:", 4))
			continue;
		total = 0;
		for (p += 4; ; p = end) {
			v = strtoll(p, &end, 10);
			if (end == p)
				break;
			total += v;
		}
		line[strcspn(line, "\n")] = 0;
		printf("sleepcheck: loc_%s=%lld line=\"%s\"\n", when, total,
		       line + strspn(line, " "));
	}
	fclose(f);
	return total;
}

static void print_kvm_features(void)
{
	unsigned int eax, ebx, ecx, edx;
	char sig[13];

	__cpuid(1, eax, ebx, ecx, edx);
	if (!(ecx & (1u << 31))) {
		printf("sleepcheck: hypervisor=none\n");
		return;
	}
	__cpuid(KVM_CPUID_SIGNATURE, eax, ebx, ecx, edx);
	memcpy(sig, &ebx, 4);
	memcpy(sig + 4, &ecx, 4);
	memcpy(sig + 8, &edx, 4);
	sig[12] = 0;
	if (strcmp(sig, "KVMKVMKVM") || eax < KVM_CPUID_FEATURES) {
		printf("sleepcheck: hypervisor=\"%s\" kvm_features=none\n", sig);
		return;
	}
	__cpuid(KVM_CPUID_FEATURES, eax, ebx, ecx, edx);
	printf("sleepcheck: hypervisor=KVM kvm_features=0x%x pv_timer=%u\n",
	       eax, (eax >> KVM_FEATURE_PV_TIMER) & 1);
}

static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;

	asm volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) :: "memory");
	return ((uint64_t)hi << 32) | lo;
}

/*
 * RDMSR(IA32_TSC) exits to KVM, which answers with the guest TSC it arms
 * TSC deadlines against; RDTSC does not exit.  Both are the same clock only
 * if the MSR value lies between the RDTSCs taken around the read.
 */
static void check_tsc(void)
{
	int64_t skew, worst = 0;
	uint64_t t0, t1, msr;
	cpu_set_t cpus;
	int fd, i, agree = 1;

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus)) {
		printf("sleepcheck: tsc_agrees=unknown reason=\"cannot run on CPU 0: %s\"\n",
		       strerror(errno));
		return;
	}
	fd = open("/dev/cpu/0/msr", O_RDONLY);
	if (fd < 0) {
		printf("sleepcheck: tsc_agrees=unknown reason=\"/dev/cpu/0/msr: %s\"\n",
		       strerror(errno));
		return;
	}
	for (i = 0; i < TSC_SAMPLES; i++) {
		t0 = rdtsc_ordered();
		if (pread(fd, &msr, sizeof(msr), MSR_IA32_TSC) != sizeof(msr)) {
			printf("sleepcheck: tsc_agrees=unknown reason=\"rdmsr 0x10 failed\"\n");
			close(fd);
			return;
		}
		t1 = rdtsc_ordered();
		/* How far the MSR lies outside [t0, t1], in cycles (signed). */
		skew = msr < t0 ? -(int64_t)(t0 - msr) :
		       msr > t1 ? (int64_t)(msr - t1) : 0;
		if (skew)
			agree = 0;
		if (llabs(skew) > llabs(worst))
			worst = skew;
		printf("sleepcheck: tsc_sample=%d rdtsc_before=%llu rdmsr=%llu rdtsc_after=%llu\n",
		       i, (unsigned long long)t0, (unsigned long long)msr,
		       (unsigned long long)t1);
	}
	close(fd);
	printf("sleepcheck: tsc_agrees=%d tsc_skew_cycles=%lld\n", agree,
	       (long long)worst);
}

int main(int argc, char **argv)
{
	long durations_us[MAX_DURATIONS] = { 50, 1000, 10000 };
	int ndur = 3, iters = 20, opt, d, i, early_total = 0, over_total = 0;
	long bound_us = 20000;
	long long loc0, loc1;
	static int64_t over[MAX_ITERS];
	char *end;

	while ((opt = getopt(argc, argv, "n:b:h")) != -1) {
		switch (opt) {
		case 'n':
			iters = strtol(optarg, &end, 10);
			if (*end || iters < 1 || iters > MAX_ITERS) {
				fprintf(stderr, "error: -n wants 1..%d, not '%s'\n",
					MAX_ITERS, optarg);
				return 2;
			}
			break;
		case 'b':
			bound_us = strtol(optarg, &end, 10);
			if (*end || bound_us < 1) {
				fprintf(stderr, "error: -b wants a positive number of microseconds, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		if (argc - optind > MAX_DURATIONS) {
			fprintf(stderr, "error: at most %d durations\n", MAX_DURATIONS);
			return 2;
		}
		for (ndur = 0; optind < argc; optind++) {
			durations_us[ndur] = strtol(argv[optind], &end, 10);
			if (*end || durations_us[ndur] < 1 || durations_us[ndur] > 10000000) {
				fprintf(stderr, "error: a duration is 1..10000000 microseconds, not '%s'\n",
					argv[optind]);
				return 2;
			}
			ndur++;
		}
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	print_kvm_features();
	check_tsc();
	printf("sleepcheck: iters=%d bound_us=%ld\n", iters, bound_us);
	loc0 = local_timer_irqs("before");

	for (d = 0; d < ndur; d++) {
		int early = 0, beyond = 0;
		struct timespec target, now;
		int64_t t;

		for (i = 0; i < iters; i++) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			t = ns_of(&now) + durations_us[d] * 1000;
			target.tv_sec = t / 1000000000;
			target.tv_nsec = t % 1000000000;
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
					       &target, NULL) == EINTR)
				;
			clock_gettime(CLOCK_MONOTONIC, &now);
			over[i] = ns_of(&now) - t;
			if (over[i] < 0)
				early++;
			else if (over[i] > bound_us * 1000)
				beyond++;
		}
		qsort(over, iters, sizeof(over[0]), cmp_i64);
		printf("sleepcheck: sleep_us=%ld n=%d over_us_min=%.1f over_us_median=%.1f over_us_max=%.1f early=%d beyond_bound=%d\n",
		       durations_us[d], iters, over[0] / 1000.0,
		       over[iters / 2] / 1000.0, over[iters - 1] / 1000.0,
		       early, beyond);
		early_total += early;
		over_total += beyond;
	}

	loc1 = local_timer_irqs("after");
	if (loc0 >= 0 && loc1 >= 0)
		printf("sleepcheck: loc_delta=%lld\n", loc1 - loc0);
	if (early_total || over_total) {
		printf("sleepcheck: result=fail reason=\"%d sleeps returned early, %d overslept more than %ld us\"\n",
		       early_total, over_total, bound_us);
		return 1;
	}
	printf("sleepcheck: result=ok\n");
	return 0;
}
