// SPDX-License-Identifier: GPL-2.0
/*
 * unit.c: user-space unit tests of kvmnames.c, helpers.c and
 * kvmswitch_report.c: exit-reason and MSR naming for both vendors,
 * aggregation of map records, the table and the JSON output (written to
 * DIR/ks.json for tests/unit.sh to parse back), log2 histograms and the argument helpers.  Prints one
 * "ok - name" or "not ok - name" line per check; unit.sh numbers them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../kvmnames.h"
#include "../helpers.h"
#include "../kvmswitch_report.h"

static int failed;

static void check(int ok, const char *name, const char *got)
{
	printf("%sok - %s\n", ok ? "" : "not ", name);
	if (!ok) {
		printf("#   got: %s\n", got ? got : "(null)");
		failed++;
	}
}

static void name_is(unsigned int isa, unsigned int reason, const char *want)
{
	char buf[64], name[128];
	const char *got = exit_reason_name(isa, reason, buf, sizeof(buf));

	snprintf(name, sizeof(name), "%s exit 0x%x is %s", isa_name(isa),
		 reason, want);
	check(!strcmp(got, want), name, got);
}

static void msr_is(unsigned int msr, const char *want)
{
	char buf[64], name[128];
	const char *got = msr_name(msr, buf, sizeof(buf));

	snprintf(name, sizeof(name), "MSR 0x%x is %s", msr, want);
	check(!strcmp(got, want), name, got);
}

static void test_names(void)
{
	name_is(KN_ISA_SVM, 0x72, "CPUID");
	name_is(KN_ISA_SVM, 0x78, "HLT");
	name_is(KN_ISA_SVM, 0x7b, "IOIO");
	name_is(KN_ISA_SVM, 0x7c, "MSR");
	name_is(KN_ISA_SVM, 0x81, "VMMCALL");
	name_is(KN_ISA_SVM, 0x400, "NPF");
	name_is(KN_ISA_SVM, 0x60, "INTR");
	name_is(KN_ISA_SVM, 0x00, "READ_CR0");
	name_is(KN_ISA_SVM, 0x14, "WRITE_CR4");
	name_is(KN_ISA_SVM, 0x27, "READ_DR7");
	name_is(KN_ISA_SVM, 0x4e, "EXCP_14");
	name_is(KN_ISA_SVM, 0x93, "CR3_WRITE_TRAP");
	name_is(KN_ISA_SVM, 0x403, "VMGEXIT");
	name_is(KN_ISA_SVM, 0x999, "UNKNOWN_0x999");
	name_is(KN_ISA_VMX, 10, "CPUID");
	name_is(KN_ISA_VMX, 12, "HLT");
	name_is(KN_ISA_VMX, 30, "IO_INSTRUCTION");
	name_is(KN_ISA_VMX, 31, "MSR_READ");
	name_is(KN_ISA_VMX, 32, "MSR_WRITE");
	name_is(KN_ISA_VMX, 48, "EPT_VIOLATION");
	name_is(KN_ISA_VMX, 52, "PREEMPTION_TIMER");
	/* VM-Entry failure flag (bit 31) on top of the basic reason. */
	name_is(KN_ISA_VMX, 0x80000021, "INVALID_STATE");
	name_is(KN_ISA_VMX, 99, "UNKNOWN_0x63");
	check(!strcmp(isa_name(KN_ISA_SVM), "svm") &&
	      !strcmp(isa_name(KN_ISA_VMX), "vmx") &&
	      !strcmp(isa_name(7), "unknown"), "isa names", NULL);

	msr_is(0xc0000081, "STAR");
	msr_is(0xc0000082, "LSTAR");
	msr_is(0xc0000083, "CSTAR");
	msr_is(0xc0000084, "SFMASK");
	msr_is(0xc0000103, "TSC_AUX");
	msr_is(0xda0, "XSS");
	msr_is(0x6e0, "TSC_DEADLINE");
	msr_is(0x830, "X2APIC_ICR");
	msr_is(0x80b, "X2APIC_EOI");
	msr_is(0x8ff, "X2APIC_0x8ff");
	msr_is(0x48, "SPEC_CTRL");
	msr_is(0x12345, "MSR_0x12345");
	check(!strcmp(msr_kind_name(KS_WR_EXIT_ENTRY), "exit-entry") &&
	      !strcmp(msr_kind_name(KS_WR_URET), "user-return") &&
	      !strcmp(msr_kind_name(KS_URET_RESTORE), "uret-restore") &&
	      !strcmp(msr_kind_name(KS_MSR_KINDS), "unknown"),
	      "MSR phase names", NULL);
}

/* Two VMs: 100 with vCPUs 0 and 1 (per-vCPU keys), 200 without vCPUs. */
static struct ks_vm_rec vms[3];
static struct ks_exit_rec exits[5];
static struct ks_msr_rec msrs[6];

static void fill(struct ks_snapshot *s)
{
	memset(vms, 0, sizeof(vms));
	vms[0].k = (struct ks_vm_key){ 100, 1 };
	strcpy(vms[0].v.comm, "qemu \"x\"");
	vms[0].v.exits = 30;
	vms[0].v.entries = 31;
	vms[0].v.kvm_runs = 4;
	vms[0].v.sw_events[KS_XCR0][1] = 31;
	vms[0].v.sw_written[KS_XCR0][1] = 31;
	vms[0].v.sw_events[KS_XCR0][0] = 31;
	vms[0].v.sw_written[KS_XCR0][0] = 30;
	vms[0].v.sw_events[KS_PKRU][1] = 31;
	vms[0].v.sw_written[KS_PKRU][1] = 2;
	vms[1].k = (struct ks_vm_key){ 100, 0 };
	strcpy(vms[1].v.comm, "qemu \"x\"");
	vms[1].v.exits = 10;
	vms[1].v.kvm_runs = 1;
	vms[2].k = (struct ks_vm_key){ 200, KS_ANY_VCPU };
	strcpy(vms[2].v.comm, "vmm");
	vms[2].v.exits = 1000;

	exits[0] = (struct ks_exit_rec){ { 100, 1, KN_ISA_SVM, 0x72 }, { 20, 0, 0 } };
	exits[1] = (struct ks_exit_rec){ { 100, 1, KN_ISA_SVM, 0x7c }, { 10, 6, 4 } };
	exits[2] = (struct ks_exit_rec){ { 100, 0, KN_ISA_SVM, 0x78 }, { 10, 10, 0 } };
	exits[3] = (struct ks_exit_rec){ { 200, KS_ANY_VCPU, KN_ISA_VMX, 10 }, { 600, 0, 0 } };
	exits[4] = (struct ks_exit_rec){ { 200, KS_ANY_VCPU, KN_ISA_VMX, 48 }, { 400, 0, 0 } };

	msrs[0] = (struct ks_msr_rec){ { 100, 1, 0xc0000103, KS_WR_EXIT_ENTRY }, 4 };
	msrs[1] = (struct ks_msr_rec){ { 100, 1, 0xc0000103, KS_WR_URET }, 4 };
	msrs[2] = (struct ks_msr_rec){ { 100, 1, 0xc0000103, KS_URET_SET }, 4 };
	msrs[3] = (struct ks_msr_rec){ { 100, 1, 0xc0000103, KS_URET_RESTORE }, 3 };
	msrs[4] = (struct ks_msr_rec){ { 100, 1, 0x830, KS_RDMSR }, 7 };
	/* An MSR record of a group that has no vm record. */
	msrs[5] = (struct ks_msr_rec){ { 300, 2, 0xda0, KS_WR_LOADPUT }, 5 };

	s->vms = vms;
	s->nvms = 3;
	s->exits = exits;
	s->nexits = 5;
	s->msrs = msrs;
	s->nmsrs = 6;
}

static void test_aggregate(void)
{
	struct ks_group g[8];
	struct ks_snapshot s;
	size_t n;

	fill(&s);
	n = ks_aggregate(&s, g, 8);
	check(n == 4, "aggregate: four (pid, vcpu) groups", NULL);
	if (n != 4)
		return;
	check(g[0].tgid == 100 && g[0].vcpu == 0 && g[1].tgid == 100 &&
	      g[1].vcpu == 1 && g[2].tgid == 200 && g[3].tgid == 300,
	      "aggregate: groups sorted by pid, vcpu", NULL);
	check(g[1].exits == 30 && g[1].entries == 31 && g[1].kvm_runs == 4,
	      "aggregate: exits/entries/KVM_RUNs of pid 100 vcpu 1", NULL);
	check(g[1].fastpath == 6 && g[1].reenter == 4 && g[0].fastpath == 10,
	      "aggregate: fastpath and re-entries summed over reasons", NULL);
	check(g[1].msr_writes == 8 && g[1].msr_reads == 7 &&
	      g[1].uret_set == 4 && g[1].uret_restore == 3,
	      "aggregate: MSR writes, reads and user-return counts", NULL);
	/* 31 + 30 XCR0 + 2 PKRU + 4 + 3 user-return */
	check(g[1].reloads == 70, "aggregate: reloads = written switches + "
	      "user-return set/restore", NULL);
	check(g[3].msr_writes == 5 && g[3].comm[0] == '\0',
	      "aggregate: group known only from an MSR record", NULL);
	check(exits[0].k.tgid == 100 && exits[0].k.vcpu == 0 &&
	      exits[1].k.reason == 0x72 && exits[3].k.reason == 10,
	      "aggregate: reasons sorted by count within a group", NULL);
}

static void test_output(const char *dir)
{
	struct ks_meta m = {
		.xf_source = "tracepoint", .uret_source = "tracepoint",
		.fastpath_source = "fexit:svm_vcpu_run", .interval_s = 1.5,
		.timestamp = 1700000000, .per_vcpu = true,
	};
	char path[512], line[256];
	struct ks_snapshot s;
	FILE *f;
	int found = 0;

	fill(&s);
	snprintf(path, sizeof(path), "%s/ks.json", dir);
	f = fopen(path, "w");
	check(f != NULL, "json: output file opens", path);
	if (!f)
		return;
	ks_print_json(f, &s, &m);
	/* Second document: an empty interval. */
	s.nvms = s.nexits = s.nmsrs = 0;
	ks_print_json(f, &s, &m);
	fclose(f);

	fill(&s);
	snprintf(path, sizeof(path), "%s/ks.txt", dir);
	f = fopen(path, "w+");
	if (!f)
		return;
	ks_print_table(f, &s, &m);
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "CPUID (0x72)") && strstr(line, "20"))
			found |= 1;
		if (strstr(line, "TSC_AUX (0xc0000103)") && strstr(line, "user-return"))
			found |= 2;
		if (strstr(line, "EPT_VIOLATION (0x30)"))
			found |= 4;
	}
	fclose(f);
	check(found == 7, "table: names reasons and MSRs", NULL);

	s.nvms = s.nexits = s.nmsrs = 0;
	f = fopen(path, "w+");
	if (!f)
		return;
	ks_print_table(f, &s, &m);
	rewind(f);
	found = 0;
	while (fgets(line, sizeof(line), f))
		found |= !!strstr(line, "(no VM activity)");
	fclose(f);
	check(found, "table: empty snapshot prints an empty table", NULL);
}

static void test_hist(const char *dir)
{
	__u64 slots[40] = { 0 };
	char path[512], line[256];
	int lines = 0, ok = 0;
	FILE *f;

	slots[0] = 1;	/* 0 */
	slots[1] = 2;	/* 1 */
	slots[11] = 40;	/* 1024..2047 */
	snprintf(path, sizeof(path), "%s/hist.txt", dir);
	f = fopen(path, "w+");
	if (!f)
		return;
	print_log2_hist(f, slots, 40, "nsecs");
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		lines++;
		if (strstr(line, "1024 -> 2047") && strstr(line, ": 40 ") &&
		    strstr(line, "|****************************************|"))
			ok = 1;
	}
	fclose(f);
	check(lines == 13 && ok, "log2 histogram: slots, ranges and stars", NULL);

	snprintf(path, sizeof(path), "%s/hist.json", dir);
	f = fopen(path, "w");
	if (!f)
		return;
	json_log2_hist(f, slots, 40);
	fputc('\n', f);
	fclose(f);
	check(1, "log2 histogram: JSON written", NULL);
}

static void test_helpers(const char *dir)
{
	char path[512], link[600];

	check(parse_seconds("5") == 5 && parse_seconds("0") < 0 &&
	      parse_seconds("-1") < 0 && parse_seconds("1.5") < 0 &&
	      parse_seconds("abc") < 0 && parse_seconds("") < 0 &&
	      parse_seconds("99999999999") < 0,
	      "parse_seconds accepts whole positive seconds only", NULL);

	snprintf(path, sizeof(path), "%s/proc/42/fd", dir);
	mkdir(dir, 0755);
	snprintf(link, sizeof(link), "%s/proc", dir);
	mkdir(link, 0755);
	snprintf(link, sizeof(link), "%s/proc/42", dir);
	mkdir(link, 0755);
	mkdir(path, 0755);
	snprintf(link, sizeof(link), "%s/3", path);
	symlink("anon_inode:kvm-vm", link);
	snprintf(link, sizeof(link), "%s/4", path);
	symlink("anon_inode:kvm-vcpu:0", link);
	snprintf(path, sizeof(path), "%s/proc/43/fd", dir);
	snprintf(link, sizeof(link), "%s/proc/43", dir);
	mkdir(link, 0755);
	mkdir(path, 0755);
	snprintf(link, sizeof(link), "%s/0", path);
	symlink("/dev/null", link);
	snprintf(path, sizeof(path), "%s/proc", dir);
	check(pid_is_vm(path, 42) == 1, "pid_is_vm: anon_inode:kvm-vm found", NULL);
	check(pid_is_vm(path, 43) == 0, "pid_is_vm: process without a VM", NULL);
	check(pid_is_vm(path, 44) == -1, "pid_is_vm: no such process", NULL);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";

	test_names();
	test_aggregate();
	test_output(dir);
	test_hist(dir);
	test_helpers(dir);
	return failed ? 1 : 0;
}
