// SPDX-License-Identifier: GPL-2.0
/*
 * lazyswitch_probe: what each world-switch primitive costs on this CPU.
 *
 * Reading /sys/kernel/debug/lazyswitch_probe times, on the reading CPU with
 * IRQs off, idempotent forms of the primitives KVM uses to switch state:
 * each writes back the value already loaded, so nothing changes ("ltr" is
 * force_reload_TR(): GDT busy-bit write, SGDT, LGDT, LTR, LGDT). A sample
 * is one batch of BATCH back-to-back operations between two rdtsc_ordered();
 * the empty batch's cost is subtracted and reported as "overhead". Output,
 * one line per primitive, in TSC cycles per operation:
 *   NAME min=N median=N samples=N
 *   NAME skipped: REASON
 * Under an emulator (QEMU TCG) the TSC is emulated too: the figures are
 * relative, not the cost on hardware.
 *
 * VMSAVE/VMLOAD need EFER.SVME. KVM sets it while it has virtualization
 * enabled; otherwise the probe sets it for the duration of one sample, with
 * IRQs off so nothing else can observe or change EFER, and restores it.
 */
#include <linux/debugfs.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/irqflags.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/sort.h>
#include <asm/cpufeature.h>
#include <asm/desc.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/special_insns.h>

#define BATCH		16
#define MAX_SAMPLES	4096

static unsigned int samples = 1001;
module_param(samples, uint, 0444);
MODULE_PARM_DESC(samples, "samples per primitive (max 4096)");

static u64 *sample_buf;
static void *vmcb_page;
static bool svme_set_by_probe;

static inline void op_vmsave(unsigned long pa)
{
	asm volatile("vmsave %%rax" : : "a"(pa) : "memory");
}

static inline void op_vmload(unsigned long pa)
{
	asm volatile("vmload %%rax" : : "a"(pa) : "memory");
}

struct primitive {
	const char *name;
	/* NULL if it can run here, else why not. */
	const char *(*usable)(void);
	/* Set up the value to write back, with IRQs off. */
	void (*prepare)(const struct primitive *p);
	/* BATCH operations. */
	void (*run)(void);
	/* For prep_msr(): the MSR whose current value is written back. */
	u32 msr;
};

static u64 msr_value, xcr0_value;
static u32 pkru_value, msr_index;
static unsigned long vmcb_pa;

#define REPEAT(stmt) do { int _i; for (_i = 0; _i < BATCH; _i++) stmt; } while (0)

static void run_empty(void)
{
	REPEAT(barrier());
}

static void run_rdmsr(void)
{
	REPEAT(msr_value = native_read_msr(msr_index));
}

static void run_wrmsr(void)
{
	REPEAT(native_write_msr(msr_index, (u32)msr_value, msr_value >> 32));
}

static void run_wrgsbase(void)
{
	REPEAT(asm volatile("wrgsbase %0" : : "r"(msr_value) : "memory"));
}

static void run_xsetbv(void)
{
	REPEAT(xsetbv(XCR_XFEATURE_ENABLED_MASK, xcr0_value));
}

static void run_wrpkru(void)
{
	REPEAT(wrpkru(pkru_value));
}

static void run_ltr(void)
{
	REPEAT(force_reload_TR());
}

static void run_vmsave(void)
{
	REPEAT(op_vmsave(vmcb_pa));
}

static void run_vmload(void)
{
	REPEAT(op_vmload(vmcb_pa));
}

static void run_vmsave_vmload(void)
{
	REPEAT({ op_vmsave(vmcb_pa); op_vmload(vmcb_pa); });
}

static const char *always(void)
{
	return NULL;
}

static const char *need_tsc_aux(void)
{
	return boot_cpu_has(X86_FEATURE_RDTSCP) || boot_cpu_has(X86_FEATURE_RDPID) ?
		NULL : "no RDTSCP or RDPID: TSC_AUX is not in use";
}

static const char *need_fsgsbase(void)
{
	return boot_cpu_has(X86_FEATURE_FSGSBASE) ? NULL : "no FSGSBASE enabled";
}

static const char *need_osxsave(void)
{
	return boot_cpu_has(X86_FEATURE_OSXSAVE) ? NULL : "no OSXSAVE: XSETBV unavailable";
}

static const char *need_ospke(void)
{
	return boot_cpu_has(X86_FEATURE_OSPKE) ? NULL : "no OSPKE: protection keys not enabled";
}

static const char *need_svm(void)
{
	if (!boot_cpu_has(X86_FEATURE_SVM))
		return "no SVM: VMSAVE/VMLOAD are AMD SVM instructions";
	return vmcb_page ? NULL : "no page for the save area";
}

static void prep_msr(const struct primitive *p)
{
	msr_index = p->msr;
	msr_value = native_read_msr(msr_index);
}

static void prep_xcr0(const struct primitive *p)
{
	xcr0_value = xgetbv(XCR_XFEATURE_ENABLED_MASK);
}

static void prep_pkru(const struct primitive *p)
{
	pkru_value = rdpkru();
}

static void prep_nothing(const struct primitive *p)
{
}

/* EFER.SVME for the sample only, if KVM has not set it: IRQs are off. */
static u64 svme_enter(void)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (!(efer & EFER_SVME)) {
		wrmsrl(MSR_EFER, efer | EFER_SVME);
		svme_set_by_probe = true;
	}
	vmcb_pa = virt_to_phys(vmcb_page);
	/* The page then holds this CPU's state, so VMLOAD restores it as is. */
	op_vmsave(vmcb_pa);
	return efer;
}

static void svme_exit(u64 efer)
{
	if (!(efer & EFER_SVME))
		wrmsrl(MSR_EFER, efer);
}

static const struct primitive primitives[] = {
	{ "overhead", always, prep_nothing, run_empty },
	{ "rdmsr_star", always, prep_msr, run_rdmsr, MSR_STAR },
	{ "wrmsr_star", always, prep_msr, run_wrmsr, MSR_STAR },
	{ "wrmsr_lstar", always, prep_msr, run_wrmsr, MSR_LSTAR },
	{ "wrmsr_tsc_aux", need_tsc_aux, prep_msr, run_wrmsr, MSR_TSC_AUX },
	{ "wrmsr_gs_base", always, prep_msr, run_wrmsr, MSR_GS_BASE },
	{ "wrgsbase", need_fsgsbase, prep_msr, run_wrgsbase, MSR_GS_BASE },
	{ "xsetbv", need_osxsave, prep_xcr0, run_xsetbv },
	{ "wrpkru", need_ospke, prep_pkru, run_wrpkru },
	{ "ltr", always, prep_nothing, run_ltr },
	{ "vmsave", need_svm, prep_nothing, run_vmsave },
	{ "vmload", need_svm, prep_nothing, run_vmload },
	{ "vmsave_vmload", need_svm, prep_nothing, run_vmsave_vmload },
};

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Cycles of one batch of p, with IRQs off for the batch. */
static u64 one_sample(const struct primitive *p, bool svm)
{
	unsigned long flags;
	u64 t0, t1, efer = 0;

	local_irq_save(flags);
	if (svm)
		efer = svme_enter();
	p->prepare(p);
	p->run();		/* warm the caches and the TLB */
	t0 = rdtsc_ordered();
	p->run();
	t1 = rdtsc_ordered();
	if (svm)
		svme_exit(efer);
	local_irq_restore(flags);
	return t1 - t0;
}

static void measure(const struct primitive *p, u64 overhead, u64 *min, u64 *median)
{
	bool svm = p->usable == need_svm;
	unsigned int i, n = clamp_t(unsigned int, samples, 1, MAX_SAMPLES);
	u64 c;

	for (i = 0; i < n; i++) {
		c = one_sample(p, svm);
		sample_buf[i] = c > overhead ? c - overhead : 0;
	}
	sort(sample_buf, n, sizeof(*sample_buf), cmp_u64, NULL);
	*min = sample_buf[0] / BATCH;
	*median = sample_buf[n / 2] / BATCH;
}

static int probe_show(struct seq_file *m, void *unused)
{
	unsigned int n = clamp_t(unsigned int, samples, 1, MAX_SAMPLES);
	u64 min, median, overhead = 0;
	const char *why;
	int i, cpu;

	/* One CPU throughout; preemptible between samples. */
	migrate_disable();
	cpu = raw_smp_processor_id();
	svme_set_by_probe = false;
	seq_printf(m, "# lazyswitch_probe cpu=%d batch=%d samples=%u tsc_khz=%u hypervisor=%s\n",
		   cpu, BATCH, n, tsc_khz,
		   boot_cpu_has(X86_FEATURE_HYPERVISOR) ? "yes" : "no");
	for (i = 0; i < ARRAY_SIZE(primitives); i++) {
		const struct primitive *p = &primitives[i];

		why = p->usable();
		if (why) {
			seq_printf(m, "%s skipped: %s\n", p->name, why);
			continue;
		}
		measure(p, i ? overhead : 0, &min, &median);
		if (!i)
			overhead = sample_buf[n / 2];
		seq_printf(m, "%s min=%llu median=%llu samples=%u\n", p->name, min, median, n);
	}
	seq_printf(m, "# efer_svme=%s\n", svme_set_by_probe ? "set-by-probe" :
		   boot_cpu_has(X86_FEATURE_SVM) ? "already-set" : "n/a");
	migrate_enable();
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(probe);

static struct dentry *probe_file;

static int __init lazyswitch_probe_init(void)
{
	sample_buf = kvmalloc_array(MAX_SAMPLES, sizeof(*sample_buf), GFP_KERNEL);
	if (!sample_buf)
		return -ENOMEM;
	if (boot_cpu_has(X86_FEATURE_SVM))
		vmcb_page = (void *)get_zeroed_page(GFP_KERNEL);
	probe_file = debugfs_create_file("lazyswitch_probe", 0400, NULL, NULL, &probe_fops);
	return 0;
}

static void __exit lazyswitch_probe_exit(void)
{
	debugfs_remove(probe_file);
	free_page((unsigned long)vmcb_page);
	kvfree(sample_buf);
}

module_init(lazyswitch_probe_init);
module_exit(lazyswitch_probe_exit);
MODULE_DESCRIPTION("kvm-lazyswitch: cost of world-switch primitives");
MODULE_LICENSE("GPL");
