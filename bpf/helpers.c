// SPDX-License-Identifier: GPL-2.0
/*
 * helpers.c: what both tools print and parse, with no libbpf and no tool's
 * data layout: JSON strings, log2 histograms, and the checks of their
 * arguments and target process.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "helpers.h"

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void print_stars(FILE *f, __u64 val, __u64 max, int width)
{
	int n = max ? (int)((val * width) / max) : 0, i;

	for (i = 0; i < width; i++)
		fputc(i < n ? '*' : ' ', f);
	if (val > max)
		fputc('+', f);
}

/* Slot i counts values v with 2^(i-1) <= v < 2^i (slot 0: v == 0). */
void print_log2_hist(FILE *f, const __u64 *slots, int nslots, const char *unit)
{
	int last = -1, i, pad;
	__u64 max = 0, lo, hi;

	for (i = 0; i < nslots; i++) {
		if (slots[i]) {
			last = i;
			if (slots[i] > max)
				max = slots[i];
		}
	}
	if (last < 0)
		return;
	pad = last <= 32 ? 10 : 20;
	fprintf(f, "%*s%-*s : count    distribution\n", pad + 4, "",
		pad, unit);
	for (i = 0; i <= last; i++) {
		lo = i ? 1ULL << (i - 1) : 0;
		hi = i ? (1ULL << i) - 1 : 0;
		fprintf(f, "%*llu -> %-*llu : %-8llu |", pad + 4,
			(unsigned long long)lo, pad, (unsigned long long)hi,
			(unsigned long long)slots[i]);
		print_stars(f, slots[i], max, 40);
		fprintf(f, "|\n");
	}
}

void json_log2_hist(FILE *f, const __u64 *slots, int nslots)
{
	bool first = true;
	int i;

	fputc('[', f);
	for (i = 0; i < nslots; i++) {
		if (!slots[i])
			continue;
		fprintf(f, "%s{\"lo\":%llu,\"hi\":%llu,\"count\":%llu}",
			first ? "" : ",",
			(unsigned long long)(i ? 1ULL << (i - 1) : 0),
			(unsigned long long)(i ? (1ULL << i) - 1 : 0),
			(unsigned long long)slots[i]);
		first = false;
	}
	fputc(']', f);
}

long parse_seconds(const char *arg)
{
	char *end;
	long v;

	if (!arg || !*arg)
		return -1;
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v <= 0 || v > INT_MAX)
		return -1;
	return v;
}

int pid_is_vm(const char *procfs, int pid)
{
	char path[128], link[PATH_MAX], target[256];
	struct dirent *de;
	int found = 0;
	ssize_t len;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%d/fd", procfs, pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (!strcmp(target, "anon_inode:kvm-vm")) {
			found = 1;
			break;
		}
	}
	closedir(dir);
	return found;
}

/* A decimal in [min, max], or one error line naming @what and exit 2. */
static long parse_ranged(const char *tool, const char *what, const char *arg,
			 long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v < min || v > max) {
		fprintf(stderr, "%s: error: invalid %s '%s'\n", tool, what, arg);
		exit(2);
	}
	return v;
}

int parse_pid(const char *tool, const char *arg)
{
	return parse_ranged(tool, "pid", arg, 1, 0x7fffffff);
}

long parse_vcpu(const char *tool, const char *arg)
{
	return parse_ranged(tool, "vcpu", arg, 0, 0xffffffffL - 1);
}

int check_target(const char *tool, int pid)
{
	int r;

	if (geteuid() != 0) {
		fprintf(stderr, "%s: error: must be run as root "
			"(loads BPF programs)\n", tool);
		return 1;
	}
	if (!pid)
		return 0;
	r = pid_is_vm("/proc", pid);
	if (r < 0) {
		fprintf(stderr, "%s: error: no process with pid %d\n", tool, pid);
		return 1;
	}
	if (r == 0) {
		fprintf(stderr, "%s: error: pid %d is not a KVM VM "
			"(no anon_inode:kvm-vm in /proc/%d/fd)\n", tool, pid, pid);
		return 1;
	}
	return 0;
}
