// SPDX-License-Identifier: GPL-2.0
/*
 * kvmnames.c: names for SVM and VMX exit codes and for the MSRs KVM
 * switches.  No libbpf here, so the unit tests can link it alone.
 */
#include <stdio.h>
#include <string.h>
#include "kvmnames.h"

struct code_name {
	unsigned int code;
	const char *name;
};

/* SVM exit codes (AMD APM vol. 2, appendix C), as in asm/svm.h. */
static const struct code_name svm_names[] = {
	{ 0x060, "INTR" }, { 0x061, "NMI" }, { 0x062, "SMI" },
	{ 0x063, "INIT" }, { 0x064, "VINTR" }, { 0x065, "CR0_SEL_WRITE" },
	{ 0x066, "IDTR_READ" }, { 0x067, "GDTR_READ" },
	{ 0x068, "LDTR_READ" }, { 0x069, "TR_READ" },
	{ 0x06a, "IDTR_WRITE" }, { 0x06b, "GDTR_WRITE" },
	{ 0x06c, "LDTR_WRITE" }, { 0x06d, "TR_WRITE" },
	{ 0x06e, "RDTSC" }, { 0x06f, "RDPMC" }, { 0x070, "PUSHF" },
	{ 0x071, "POPF" }, { 0x072, "CPUID" }, { 0x073, "RSM" },
	{ 0x074, "IRET" }, { 0x075, "SWINT" }, { 0x076, "INVD" },
	{ 0x077, "PAUSE" }, { 0x078, "HLT" }, { 0x079, "INVLPG" },
	{ 0x07a, "INVLPGA" }, { 0x07b, "IOIO" }, { 0x07c, "MSR" },
	{ 0x07d, "TASK_SWITCH" }, { 0x07e, "FERR_FREEZE" },
	{ 0x07f, "SHUTDOWN" }, { 0x080, "VMRUN" }, { 0x081, "VMMCALL" },
	{ 0x082, "VMLOAD" }, { 0x083, "VMSAVE" }, { 0x084, "STGI" },
	{ 0x085, "CLGI" }, { 0x086, "SKINIT" }, { 0x087, "RDTSCP" },
	{ 0x088, "ICEBP" }, { 0x089, "WBINVD" }, { 0x08a, "MONITOR" },
	{ 0x08b, "MWAIT" }, { 0x08c, "MWAIT_COND" }, { 0x08d, "XSETBV" },
	{ 0x08e, "RDPRU" }, { 0x08f, "EFER_WRITE_TRAP" },
	{ 0x0a2, "INVPCID" }, { 0x400, "NPF" },
	{ 0x401, "AVIC_INCOMPLETE_IPI" },
	{ 0x402, "AVIC_UNACCELERATED_ACCESS" }, { 0x403, "VMGEXIT" },
	{ 0xffffffffu, "ERR" },
};

/* VMX basic exit reasons (Intel SDM vol. 3, appendix C), as in asm/vmx.h. */
static const struct code_name vmx_names[] = {
	{ 0, "EXCEPTION_NMI" }, { 1, "EXTERNAL_INTERRUPT" },
	{ 2, "TRIPLE_FAULT" }, { 3, "INIT_SIGNAL" }, { 4, "SIPI_SIGNAL" },
	{ 7, "INTERRUPT_WINDOW" }, { 8, "NMI_WINDOW" },
	{ 9, "TASK_SWITCH" }, { 10, "CPUID" }, { 12, "HLT" },
	{ 13, "INVD" }, { 14, "INVLPG" }, { 15, "RDPMC" }, { 16, "RDTSC" },
	{ 18, "VMCALL" }, { 19, "VMCLEAR" }, { 20, "VMLAUNCH" },
	{ 21, "VMPTRLD" }, { 22, "VMPTRST" }, { 23, "VMREAD" },
	{ 24, "VMRESUME" }, { 25, "VMWRITE" }, { 26, "VMOFF" },
	{ 27, "VMON" }, { 28, "CR_ACCESS" }, { 29, "DR_ACCESS" },
	{ 30, "IO_INSTRUCTION" }, { 31, "MSR_READ" }, { 32, "MSR_WRITE" },
	{ 33, "INVALID_STATE" }, { 34, "MSR_LOAD_FAIL" },
	{ 36, "MWAIT_INSTRUCTION" }, { 37, "MONITOR_TRAP_FLAG" },
	{ 39, "MONITOR_INSTRUCTION" }, { 40, "PAUSE_INSTRUCTION" },
	{ 41, "MCE_DURING_VMENTRY" }, { 43, "TPR_BELOW_THRESHOLD" },
	{ 44, "APIC_ACCESS" }, { 45, "EOI_INDUCED" }, { 46, "GDTR_IDTR" },
	{ 47, "LDTR_TR" }, { 48, "EPT_VIOLATION" }, { 49, "EPT_MISCONFIG" },
	{ 50, "INVEPT" }, { 51, "RDTSCP" }, { 52, "PREEMPTION_TIMER" },
	{ 53, "INVVPID" }, { 54, "WBINVD" }, { 55, "XSETBV" },
	{ 56, "APIC_WRITE" }, { 57, "RDRAND" }, { 58, "INVPCID" },
	{ 59, "VMFUNC" }, { 60, "ENCLS" }, { 61, "RDSEED" },
	{ 62, "PML_FULL" }, { 63, "XSAVES" }, { 64, "XRSTORS" },
	{ 67, "UMWAIT" }, { 68, "TPAUSE" }, { 74, "BUS_LOCK" },
	{ 75, "NOTIFY" },
};

static const struct code_name msr_names[] = {
	{ 0x00000010, "TSC" },
	{ 0x0000003a, "FEATURE_CONTROL" },
	{ 0x00000048, "SPEC_CTRL" },
	{ 0x00000049, "PRED_CMD" },
	{ 0x000000e7, "MPERF" },
	{ 0x000000e8, "APERF" },
	{ 0x00000122, "TSX_CTRL" },
	{ 0x00000174, "SYSENTER_CS" },
	{ 0x00000175, "SYSENTER_ESP" },
	{ 0x00000176, "SYSENTER_EIP" },
	{ 0x000001d9, "DEBUGCTL" },
	{ 0x000006e0, "TSC_DEADLINE" },
	{ 0x00000802, "X2APIC_ID" },
	{ 0x00000808, "X2APIC_TPR" },
	{ 0x0000080b, "X2APIC_EOI" },
	{ 0x00000830, "X2APIC_ICR" },
	{ 0x00000838, "X2APIC_TMICT" },
	{ 0x00000da0, "XSS" },
	{ 0x000001c4, "XFD" },
	{ 0x000001c5, "XFD_ERR" },
	{ 0xc0000080, "EFER" },
	{ 0xc0000081, "STAR" },
	{ 0xc0000082, "LSTAR" },
	{ 0xc0000083, "CSTAR" },
	{ 0xc0000084, "SFMASK" },
	{ 0xc0000100, "FS_BASE" },
	{ 0xc0000101, "GS_BASE" },
	{ 0xc0000102, "KERNEL_GS_BASE" },
	{ 0xc0000103, "TSC_AUX" },
	{ 0xc0010117, "VM_HSAVE_PA" },
	{ 0xc001011f, "VIRT_SPEC_CTRL" },
	{ 0x4b564d00, "KVM_WALL_CLOCK_NEW" },
	{ 0x4b564d01, "KVM_SYSTEM_TIME_NEW" },
	{ 0x4b564d02, "KVM_ASYNC_PF_EN" },
	{ 0x4b564d03, "KVM_STEAL_TIME" },
	{ 0x4b564d04, "KVM_PV_EOI_EN" },
	{ 0x4b564d05, "KVM_POLL_CONTROL" },
};

static const char *find(const struct code_name *t, size_t n, unsigned int code)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *isa_name(unsigned int isa)
{
	switch (isa) {
	case KN_ISA_VMX:
		return "vmx";
	case KN_ISA_SVM:
		return "svm";
	default:
		return "unknown";
	}
}

/*
 * Names that have a range on SVM: CR/DR accesses and exceptions.  Writes
 * into @buf when the name has to be built, returns the name.
 */
const char *exit_reason_name(unsigned int isa, unsigned int reason,
			     char *buf, size_t len)
{
	const char *name = NULL;

	if (isa == KN_ISA_VMX) {
		name = find(vmx_names, ARRAY_SIZE(vmx_names), reason & 0xffff);
	} else if (isa == KN_ISA_SVM) {
		if (reason <= 0x0f) {
			snprintf(buf, len, "READ_CR%u", reason);
			return buf;
		} else if (reason <= 0x1f) {
			snprintf(buf, len, "WRITE_CR%u", reason - 0x10);
			return buf;
		} else if (reason <= 0x2f) {
			snprintf(buf, len, "READ_DR%u", reason - 0x20);
			return buf;
		} else if (reason <= 0x3f) {
			snprintf(buf, len, "WRITE_DR%u", reason - 0x30);
			return buf;
		} else if (reason <= 0x5f) {
			snprintf(buf, len, "EXCP_%u", reason - 0x40);
			return buf;
		} else if (reason >= 0x090 && reason <= 0x09f) {
			snprintf(buf, len, "CR%u_WRITE_TRAP", reason - 0x90);
			return buf;
		}
		name = find(svm_names, ARRAY_SIZE(svm_names), reason);
	}
	if (name)
		return name;
	snprintf(buf, len, "UNKNOWN_0x%x", reason);
	return buf;
}

const char *msr_name(unsigned int msr, char *buf, size_t len)
{
	const char *name = find(msr_names, ARRAY_SIZE(msr_names), msr);

	if (!name && msr >= 0x800 && msr <= 0x8ff) {
		snprintf(buf, len, "X2APIC_0x%x", msr);
		return buf;
	}
	if (name)
		return name;
	snprintf(buf, len, "MSR_0x%x", msr);
	return buf;
}

const char *msr_kind_name(unsigned int kind)
{
	static const char *const names[] = {
		"exit-entry", "vmrun", "user-return", "load-put",
		"elsewhere", "read", "uret-set", "uret-restore",
	};

	return kind < ARRAY_SIZE(names) ? names[kind] : "unknown";
}
