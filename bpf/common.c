// SPDX-License-Identifier: GPL-2.0
/* common.c: kernel feature checks shared by kvmswitch and kvmexitlat. */
#include <cpuid.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "common.h"

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
