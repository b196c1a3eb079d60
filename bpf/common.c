// SPDX-License-Identifier: GPL-2.0
/*
 * common.c: what kvmswitch and kvmexitlat share besides helpers.c: the
 * common options, the run loop, kernel feature checks, libbpf logging.
 */
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "helpers.h"

static struct btf *vmlinux_btf;
static struct btf *mod_btf[3];
static const char *const mods[3] = { "kvm", "kvm_amd", "kvm_intel" };
static bool verbose;

int kbtf_open(const char *tool)
{
	const char *path = getenv("KVMSWITCH_BTF");
	char mpath[128];
	int i;

	if (!path || !*path)
		path = "/sys/kernel/btf/vmlinux";
	if (access(path, R_OK)) {
		fprintf(stderr, "%s: error: no kernel BTF at %s (the kernel needs "
			"CONFIG_DEBUG_INFO_BTF=y)\n", tool, path);
		return -1;
	}
	vmlinux_btf = btf__parse(path, NULL);
	if (!vmlinux_btf) {
		fprintf(stderr, "%s: error: cannot parse kernel BTF %s: %s\n",
			tool, path, strerror(errno));
		return -1;
	}
	for (i = 0; i < 3; i++) {
		snprintf(mpath, sizeof(mpath), "/sys/kernel/btf/%s", mods[i]);
		if (!access(mpath, R_OK))
			mod_btf[i] = btf__parse_split(mpath, vmlinux_btf);
	}
	return 0;
}

void kbtf_close(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		btf__free(mod_btf[i]);
		mod_btf[i] = NULL;
	}
	btf__free(vmlinux_btf);
	vmlinux_btf = NULL;
}

static bool has_type(const char *name, int kind)
{
	int i;

	if (!vmlinux_btf)
		return false;
	if (btf__find_by_name_kind(vmlinux_btf, name, kind) > 0)
		return true;
	for (i = 0; i < 3; i++)
		if (mod_btf[i] && btf__find_by_name_kind(mod_btf[i], name, kind) > 0)
			return true;
	return false;
}

bool kbtf_has_func(const char *name)
{
	return has_type(name, BTF_KIND_FUNC);
}

static bool hidden(const char *name)
{
	const char *hide = getenv("KVMSWITCH_HIDE_TP");
	size_t len = strlen(name);
	const char *p;

	if (!hide)
		return false;
	if (!strcmp(hide, "all"))
		return !strcmp(name, "kvm_xfeatures_switch") ||
		       !strcmp(name, "kvm_pkru_switch") ||
		       !strcmp(name, "kvm_uret_msr_set") ||
		       !strcmp(name, "kvm_uret_msr_restore");
	for (p = hide; (p = strstr(p, name)); p += len)
		if ((p == hide || p[-1] == ',') && (p[len] == ',' || !p[len]))
			return true;
	return false;
}

bool kbtf_has_tp(const char *name)
{
	char tname[128];

	if (hidden(name))
		return false;
	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	return has_type(tname, BTF_KIND_TYPEDEF);
}

unsigned long long host_xcr0(void)
{
	unsigned int a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
		return 0;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((unsigned long long)hi << 32) | lo;
}

/* kvm_amd's nrips: whether SVM can take the fastpath at all. */
bool svm_nrips(void)
{
	char c = 0;
	FILE *f = fopen("/sys/module/kvm_amd/parameters/nrips", "r");

	if (!f)
		return false;
	if (fread(&c, 1, 1, f) != 1)
		c = 0;
	fclose(f);
	return c == 'Y' || c == '1';
}

bool host_pku(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return false;
	return c & (1u << 4);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void set_libbpf_verbose(bool v)
{
	verbose = v;
	libbpf_set_print(libbpf_print);
}

enum { OPT_VCPU = 256, OPT_PER_VCPU, OPT_JSON };

static const struct argp_option tool_opts[] = {
	{ "pid", 'p', "PID", 0, "Trace only the VM of this process", 0 },
	{ "vcpu", OPT_VCPU, "N", 0, "Trace only vCPU N (vcpu_id)", 0 },
	{ "per-vcpu", OPT_PER_VCPU, NULL, 0, "Report per vCPU", 0 },
	{ "interval", 'i', "SECONDS", 0, "Print every SECONDS", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS", 0 },
	{ "json", OPT_JSON, NULL, 0, "One JSON document per interval on stdout", 0 },
	{ "verbose", 'v', NULL, 0, "Verbose libbpf debug output", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static void __attribute__((format(printf, 2, 3), noreturn))
arg_error(const struct tool_args *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", a->tool);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static long seconds_arg(const struct tool_args *a, const char *what,
			const char *arg)
{
	long v = parse_seconds(arg);

	if (v < 0)
		arg_error(a, "invalid %s '%s' (whole seconds > 0)", what, arg);
	return v;
}

static error_t parse_tool_arg(int key, char *arg, struct argp_state *state)
{
	struct tool_args *a = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		a->vcpu = -1;
		break;
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case 'v':
		a->verbose = true;
		break;
	case 'p':
		a->pid = parse_pid(a->tool, arg);
		break;
	case OPT_VCPU:
		a->vcpu = parse_vcpu(a->tool, arg);
		break;
	case OPT_PER_VCPU:
		a->per_vcpu = true;
		break;
	case 'i':
		a->interval = seconds_arg(a, "interval", arg);
		break;
	case 'd':
		a->duration = seconds_arg(a, "duration", arg);
		break;
	case OPT_JSON:
		a->json = true;
		break;
	case ARGP_KEY_ARG:
		/* arg_num counts the positional arguments taken so far. */
		if (state->arg_num == 0) {
			a->interval = seconds_arg(a, "interval", arg);
		} else if (state->arg_num == 1) {
			a->count = parse_seconds(arg);
			if (a->count < 0)
				arg_error(a, "invalid count '%s'", arg);
		} else {
			arg_error(a, "unrecognized argument '%s'", arg);
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* --per-vcpu splits a table or a histogram: each tool words its help. */
static char *tool_help_filter(int key, const char *text, void *input)
{
	const struct tool_args *a = input;

	if (key == OPT_PER_VCPU && a && a->per_vcpu_doc)
		return strdup(a->per_vcpu_doc);	/* argp frees it */
	return (char *)text;
}

const struct argp tool_argp = {
	.options = tool_opts,
	.parser = parse_tool_arg,
	.help_filter = tool_help_filter,
};

const struct argp_child tool_argp_children[] = { { &tool_argp }, {} };

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
}

void tool_catch_signals(void)
{
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void tool_run(const struct tool_args *a, void (*report)(void *ctx, double secs),
	      void *ctx)
{
	double t, wake, last = now_s();
	double end = a->duration ? last + a->duration : 0;
	long printed = 0;

	while (!exiting) {
		/* 0: neither an interval nor the end to wake up for. */
		wake = a->interval ? last + a->interval : 0;
		if (end && (!wake || end < wake))
			wake = end;
		t = now_s();
		if (!wake) {
			pause();
		} else if (wake > t) {
			struct timespec ts = {
				.tv_sec = (time_t)(wake - t),
				.tv_nsec = (long)((wake - t - (time_t)(wake - t)) * 1e9),
			};

			nanosleep(&ts, NULL);
		}
		if (exiting)
			break;
		/* The timespec above rounds down: a millisecond early is on time. */
		t = now_s();
		if (a->interval && t >= last + a->interval - 0.001) {
			report(ctx, t - last);
			last = t;
			if (a->count && ++printed >= a->count)
				return;
		}
		if (end && t >= end - 0.001)
			break;
	}
	/* Whatever is left of the last interval (or the whole run). */
	t = now_s() - last;
	if (!a->interval || t > 0.01)
		report(ctx, t);
}

void *dump_map(int fd, size_t ksz, size_t vsz, size_t rsz, size_t *n)
{
	char key[64], next[64];
	size_t cap = 64, cnt = 0, i;
	char *recs, *tmp;
	void *prev = NULL;

	*n = 0;
	if (ksz > sizeof(key))
		return NULL;
	recs = malloc(cap * rsz);
	if (!recs)
		return NULL;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		if (cnt == cap) {
			tmp = realloc(recs, cap * 2 * rsz);
			if (!tmp)
				break;
			recs = tmp;
			cap *= 2;
		}
		memcpy(recs + cnt * rsz, next, ksz);
		if (!bpf_map_lookup_elem(fd, next, recs + cnt * rsz + (rsz - vsz)))
			cnt++;
		memcpy(key, next, ksz);
		prev = key;
	}
	for (i = 0; i < cnt; i++)
		bpf_map_delete_elem(fd, recs + i * rsz);
	*n = cnt;
	return recs;
}
