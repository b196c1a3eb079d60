// SPDX-License-Identifier: GPL-2.0
/*
 * kvmswitch.bpf.c: count VM-Exits per reason, fastpath vs full path, MSR
 * writes per MSR and phase, XCR0/XSS/PKRU switches and user-return MSR
 * reloads, per VM (tgid) and optionally per vCPU.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kvm_exit_reason.bpf.h"
#include "kvmswitch.h"

#define MSR_IA32_XSS		0xda0
#define X86_CR4_OSXSAVE		(1UL << 18)
#define X86_CR4_PKE		(1UL << 22)
#define XFEATURE_MASK_PKRU	(1ULL << 9)

const volatile __u32 targ_tgid = 0;		/* 0: every VM */
const volatile __u32 targ_vcpu = KS_ANY_VCPU;	/* KS_ANY_VCPU: every vCPU */
const volatile bool targ_per_vcpu = false;
const volatile bool targ_fallback_xf = false;	/* fentry on kvm_load_*_xsave_state */
const volatile bool targ_fallback_uret = false;	/* fentry on kvm_on_user_return etc. */
const volatile __u64 targ_host_xcr0 = 0;
const volatile bool targ_host_pku = false;

/* Per thread: where a vCPU thread is in KVM_RUN. */
enum { TS_USER, TS_GUEST, TS_KVM };

/*
 * One lookup per event: the thread's state is found once and changed in
 * place (an update of an LRU hash element allocates a new one), and
 * wanted() is decided when the thread is first seen.
 */
struct tstate {
	__u32 state;
	__u32 vcpu;
	__u32 tgid;	/* a recycled tid is a new thread */
	__u32 wanted;
};

struct pcpu {
	__u32 uret_depth;	/* in kvm_on_user_return() */
	__u32 uretset_depth;	/* in kvm_set_user_return_msr() (fallback) */
	__u32 loadput_depth;	/* in kvm_arch_vcpu_load()/put() */
	__u32 xsave_dir;	/* fallback: 0 none, 1 host, 2 guest */
	__u32 xsave_skip;	/* fallback: guest state protected */
	__u32 xss_written;	/* fallback: WRMSR(XSS) seen in the window */
	__u32 xcr0_written;	/* fallback: XSETBV decision */
	__u32 pkru_written;	/* fallback: WRPKRU decision (guest side) */
	__u32 have_exit;
	__u32 reenter_pending;	/* REENTER_GUEST said, loop not yet left */
	struct ks_exit_key last_exit;
	struct ks_exit_key reenter_exit;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ks_exit_key);
	__type(value, struct ks_exit_val);
} exits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ks_msr_key);
	__type(value, __u64);
} msrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct ks_vm_key);
	__type(value, struct ks_vm_val);
} vms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tstate);
} tstates SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pcpu);
} pcpus SEC(".maps");

static const struct ks_exit_val zero_exit;
static const struct ks_vm_val zero_vm;
static const __u64 zero64;

static __always_inline struct pcpu *this_pcpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pcpus, &zero);
}

static __always_inline bool wanted(__u32 tgid, __u32 vcpu)
{
	if (targ_tgid && tgid != targ_tgid)
		return false;
	if (targ_vcpu != KS_ANY_VCPU && vcpu != targ_vcpu)
		return false;
	return true;
}

static __always_inline __u32 key_vcpu(__u32 vcpu)
{
	return targ_per_vcpu || targ_vcpu != KS_ANY_VCPU ? vcpu : KS_ANY_VCPU;
}

static __always_inline struct tstate *set_tstate(__u32 tgid, __u32 tid,
						 __u32 state, __u32 vcpu)
{
	struct tstate *ts = bpf_map_lookup_elem(&tstates, &tid);
	struct tstate nts;

	if (ts && ts->vcpu == vcpu && ts->tgid == tgid) {
		ts->state = state;
		return ts;
	}
	nts.state = state;
	nts.vcpu = vcpu;
	nts.tgid = tgid;
	nts.wanted = wanted(tgid, vcpu);
	bpf_map_update_elem(&tstates, &tid, &nts, BPF_ANY);
	return bpf_map_lookup_elem(&tstates, &tid);
}

static __always_inline struct ks_vm_val *get_vm(__u32 tgid, __u32 vcpu)
{
	struct ks_vm_key key = { .tgid = tgid, .vcpu = key_vcpu(vcpu) };
	struct ks_vm_val *val;

	val = bpf_map_lookup_elem(&vms, &key);
	if (val)
		return val;
	bpf_map_update_elem(&vms, &key, &zero_vm, BPF_NOEXIST);
	val = bpf_map_lookup_elem(&vms, &key);
	if (val)
		bpf_get_current_comm(val->comm, sizeof(val->comm));
	return val;
}

static __always_inline void count_msr(__u32 tgid, __u32 vcpu, __u32 msr,
				      __u32 kind)
{
	struct ks_msr_key key = {
		.tgid = tgid, .vcpu = key_vcpu(vcpu), .msr = msr, .kind = kind,
	};
	__u64 *cnt;

	cnt = bpf_map_lookup_elem(&msrs, &key);
	if (!cnt) {
		bpf_map_update_elem(&msrs, &key, &zero64, BPF_NOEXIST);
		cnt = bpf_map_lookup_elem(&msrs, &key);
		if (!cnt)
			return;
	}
	__sync_fetch_and_add(cnt, 1);
}

static __always_inline struct ks_vm_val *switch_vm(__u32 vcpu)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!wanted(tgid, vcpu))
		return NULL;
	return get_vm(tgid, vcpu);
}

static __always_inline void count_switch(struct ks_vm_val *vm, int reg,
					 bool guest, bool written)
{
	__u64 dir = guest;

	/*
	 * A bool read from a tracepoint is a byte to the verifier; bound the
	 * index where the compiler can't assume it is already 0 or 1.
	 */
	asm volatile("%0 &= 1" : "+r"(dir));
	__sync_fetch_and_add(&vm->sw_events[reg][dir], 1);
	if (written)
		__sync_fetch_and_add(&vm->sw_written[reg][dir], 1);
}

SEC("tp_btf/kvm_exit")
int BPF_PROG(handle_exit, struct kvm_vcpu *kvcpu, __u32 isa)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = id;
	__u32 vcpu = kvcpu->vcpu_id;
	struct ks_exit_key key = {};
	struct ks_exit_val *val;
	struct ks_vm_val *vm;
	struct tstate *ts;
	struct pcpu *p;

	ts = set_tstate(tgid, tid, TS_KVM, vcpu);
	if (!ts || !ts->wanted)
		return 0;

	key.tgid = tgid;
	key.vcpu = key_vcpu(vcpu);
	key.isa = isa;
	key.reason = exit_reason(kvcpu, isa);

	val = bpf_map_lookup_elem(&exits, &key);
	if (!val) {
		bpf_map_update_elem(&exits, &key, &zero_exit, BPF_NOEXIST);
		val = bpf_map_lookup_elem(&exits, &key);
		if (!val)
			return 0;
	}
	__sync_fetch_and_add(&val->exits, 1);

	vm = get_vm(tgid, vcpu);
	if (vm)
		__sync_fetch_and_add(&vm->exits, 1);

	p = this_pcpu();
	if (p) {
		p->last_exit = key;
		p->have_exit = 1;
	}
	return 0;
}

SEC("tp_btf/kvm_entry")
int BPF_PROG(handle_entry, struct kvm_vcpu *kvcpu)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = id;
	__u32 vcpu = kvcpu->vcpu_id;
	struct ks_vm_val *vm;
	struct tstate *ts;
	struct pcpu *p;

	ts = set_tstate(tgid, tid, TS_GUEST, vcpu);
	p = this_pcpu();
	if (p) {
		p->have_exit = 0;
		if (p->reenter_pending) {
			/* The loop re-entered the guest: a real re-entry. */
			struct ks_exit_val *val = bpf_map_lookup_elem(&exits, &p->reenter_exit);

			p->reenter_pending = 0;
			if (val)
				__sync_fetch_and_add(&val->reenter, 1);
		}
	}
	if (!ts || !ts->wanted)
		return 0;
	vm = get_vm(tgid, vcpu);
	if (vm)
		__sync_fetch_and_add(&vm->entries, 1);
	return 0;
}

SEC("tp_btf/kvm_userspace_exit")
int BPF_PROG(handle_userspace_exit)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = id;
	struct tstate *ts = bpf_map_lookup_elem(&tstates, &tid);
	__u32 vcpu = ts ? ts->vcpu : KS_ANY_VCPU;
	struct ks_vm_val *vm;

	if (ts) {
		ts->state = TS_USER;
		if (!ts->wanted)
			return 0;
	} else if (!wanted(tgid, vcpu)) {
		return 0;
	}
	vm = get_vm(tgid, vcpu);
	if (vm)
		__sync_fetch_and_add(&vm->kvm_runs, 1);
	return 0;
}

/* KVM_RUN starts: MSR writes up to the first kvm_entry are "exit-entry". */
SEC("fentry/kvm_arch_vcpu_ioctl_run")
int BPF_PROG(run_enter, struct kvm_vcpu *vcpu)
{
	__u64 id = bpf_get_current_pid_tgid();

	set_tstate(id >> 32, (__u32)id, TS_KVM, vcpu->vcpu_id);
	return 0;
}

/*
 * Fastpath criterion: the vendor vcpu_run() (svm_vcpu_run/vmx_vcpu_run)
 * traces kvm_exit and then returns the fastpath handler's verdict.
 * Anything but EXIT_FASTPATH_NONE means the exit was handled without the
 * full exit handler. EXIT_FASTPATH_REENTER_GUEST asks to re-enter the guest
 * without leaving the run loop in vcpu_enter_guest(), but the loop still
 * leaves when a request is pending: a re-entry is counted only at the next
 * kvm_entry, unless the vendor handle_exit_irqoff(), which runs once the
 * loop is left, comes first.
 */
static __always_inline void vcpu_run_done(int ret)
{
	struct ks_exit_val *val;
	struct pcpu *p = this_pcpu();

	if (!p || !p->have_exit)
		return;
	p->have_exit = 0;
	if (ret == 0)
		return;
	val = bpf_map_lookup_elem(&exits, &p->last_exit);
	if (!val)
		return;
	__sync_fetch_and_add(&val->fastpath, 1);
	if (ret == 1) {
		p->reenter_pending = 1;
		p->reenter_exit = p->last_exit;
	}
}

static __always_inline void run_loop_left(void)
{
	struct pcpu *p = this_pcpu();

	if (p)
		p->reenter_pending = 0;
}

SEC("fentry/svm_handle_exit_irqoff")
int BPF_PROG(svm_loop_left)
{
	run_loop_left();
	return 0;
}

SEC("fentry/vmx_handle_exit_irqoff")
int BPF_PROG(vmx_loop_left)
{
	run_loop_left();
	return 0;
}

SEC("fexit/svm_vcpu_run")
int BPF_PROG(svm_run_exit, struct kvm_vcpu *vcpu, __u64 flags, int ret)
{
	vcpu_run_done(ret);
	return 0;
}

SEC("fexit/vmx_vcpu_run")
int BPF_PROG(vmx_run_exit, struct kvm_vcpu *vcpu, __u64 flags, int ret)
{
	vcpu_run_done(ret);
	return 0;
}

/* Phase windows. */
SEC("fentry/kvm_on_user_return")
int BPF_PROG(uret_enter)
{
	struct pcpu *p = this_pcpu();

	if (p)
		p->uret_depth++;
	return 0;
}

SEC("fexit/kvm_on_user_return")
int BPF_PROG(uret_exit)
{
	struct pcpu *p = this_pcpu();

	if (p && p->uret_depth)
		p->uret_depth--;
	return 0;
}

SEC("fentry/kvm_arch_vcpu_load")
int BPF_PROG(load_enter)
{
	struct pcpu *p = this_pcpu();

	if (p)
		p->loadput_depth++;
	return 0;
}

SEC("fexit/kvm_arch_vcpu_load")
int BPF_PROG(load_exit)
{
	struct pcpu *p = this_pcpu();

	if (p && p->loadput_depth)
		p->loadput_depth--;
	return 0;
}

SEC("fentry/kvm_arch_vcpu_put")
int BPF_PROG(put_enter)
{
	struct pcpu *p = this_pcpu();

	if (p)
		p->loadput_depth++;
	return 0;
}

SEC("fexit/kvm_arch_vcpu_put")
int BPF_PROG(put_exit)
{
	struct pcpu *p = this_pcpu();

	if (p && p->loadput_depth)
		p->loadput_depth--;
	return 0;
}

/* Fallback for kvm_uret_msr_set: WRMSRs inside kvm_set_user_return_msr(). */
SEC("fentry/kvm_set_user_return_msr")
int BPF_PROG(uretset_enter)
{
	struct pcpu *p = this_pcpu();

	if (p)
		p->uretset_depth++;
	return 0;
}

SEC("fexit/kvm_set_user_return_msr")
int BPF_PROG(uretset_exit)
{
	struct pcpu *p = this_pcpu();

	if (p && p->uretset_depth)
		p->uretset_depth--;
	return 0;
}

static __always_inline void msr_access(__u32 msr, int failed, bool write)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = id;
	struct pcpu *p = this_pcpu();
	struct tstate *ts;
	__u32 vcpu, kind;

	if (!p)
		return;
	if (write && targ_fallback_xf && p->xsave_dir && msr == MSR_IA32_XSS &&
	    !failed)
		p->xss_written = 1;

	/*
	 * write_msr fires for every WRMSR in the kernel: drop other
	 * processes' before the thread lookup.
	 */
	if (targ_tgid && tgid != targ_tgid)
		return;
	ts = bpf_map_lookup_elem(&tstates, &tid);
	vcpu = ts ? ts->vcpu : KS_ANY_VCPU;

	/* Only KVM's own context: vCPU threads and the KVM windows. */
	if (!ts && !p->uret_depth && !p->loadput_depth)
		return;
	if (!wanted(tgid, vcpu))
		return;

	if (!write)
		kind = KS_RDMSR;
	else if (p->uret_depth)
		kind = KS_WR_URET;
	else if (p->loadput_depth)
		kind = KS_WR_LOADPUT;
	else if (ts && ts->state == TS_GUEST)
		kind = KS_WR_VMRUN;
	else if (ts && ts->state == TS_KVM)
		kind = KS_WR_EXIT_ENTRY;
	else
		kind = KS_WR_ELSEWHERE;
	count_msr(tgid, vcpu, msr, kind);

	if (write && targ_fallback_uret && !failed) {
		if (p->uret_depth)
			count_msr(tgid, vcpu, msr, KS_URET_RESTORE);
		else if (p->uretset_depth)
			count_msr(tgid, vcpu, msr, KS_URET_SET);
	}
}

SEC("tp_btf/write_msr")
int BPF_PROG(handle_write_msr, unsigned int msr, __u64 val, int failed)
{
	msr_access(msr, failed, true);
	return 0;
}

SEC("tp_btf/read_msr")
int BPF_PROG(handle_read_msr, unsigned int msr, __u64 val, int failed)
{
	msr_access(msr, failed, false);
	return 0;
}

/* The series' tracepoints. */
SEC("tp_btf/kvm_xfeatures_switch")
int BPF_PROG(handle_xfeatures, struct kvm_vcpu *kvcpu, bool guest, __u8 written)
{
	struct ks_vm_val *vm = switch_vm(kvcpu->vcpu_id);

	if (!vm)
		return 0;
	count_switch(vm, KS_XCR0, guest, written & 1);
	count_switch(vm, KS_XSS, guest, written & 2);
	return 0;
}

SEC("tp_btf/kvm_pkru_switch")
int BPF_PROG(handle_pkru, struct kvm_vcpu *kvcpu, bool guest, bool written)
{
	struct ks_vm_val *vm = switch_vm(kvcpu->vcpu_id);

	if (vm)
		count_switch(vm, KS_PKRU, guest, written);
	return 0;
}

static __always_inline void uret_tp(__u32 msr, __u32 kind)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = id;
	struct tstate *ts = bpf_map_lookup_elem(&tstates, &tid);
	__u32 vcpu = ts ? ts->vcpu : KS_ANY_VCPU;

	if (wanted(tgid, vcpu))
		count_msr(tgid, vcpu, msr, kind);
}

SEC("tp_btf/kvm_uret_msr_set")
int BPF_PROG(handle_uret_set, unsigned int slot, __u32 msr)
{
	uret_tp(msr, KS_URET_SET);
	return 0;
}

SEC("tp_btf/kvm_uret_msr_restore")
int BPF_PROG(handle_uret_restore, unsigned int slot, __u32 msr)
{
	uret_tp(msr, KS_URET_RESTORE);
	return 0;
}

/*
 * Fallback for kvm_xfeatures_switch/kvm_pkru_switch on kernels without
 * them: kvm_load_guest_xsave_state() and kvm_load_host_xsave_state() make
 * the same decisions the tracepoints report.  XCR0 and PKRU writes are
 * recomputed from the vCPU state (XSETBV and WRPKRU have no tracepoint),
 * an XSS write is seen as msr:write_msr inside the call.
 */
static __always_inline bool pkru_switched(struct kvm_vcpu *vcpu)
{
	return targ_host_pku &&
	       ((vcpu->arch.xcr0 & XFEATURE_MASK_PKRU) ||
		(vcpu->arch.cr4 & X86_CR4_PKE));
}

static __always_inline void xsave_enter(struct kvm_vcpu *vcpu, __u32 dir)
{
	struct pcpu *p = this_pcpu();

	if (!p)
		return;
	p->xsave_dir = dir;
	p->xsave_skip = vcpu->arch.guest_state_protected;
	p->xss_written = 0;
	p->xcr0_written = (vcpu->arch.cr4 & X86_CR4_OSXSAVE) &&
			  vcpu->arch.xcr0 != targ_host_xcr0;
	/* Guest side: decided on entry, before PKRU is written. */
	p->pkru_written = pkru_switched(vcpu) &&
			  vcpu->arch.pkru != vcpu->arch.host_pkru;
}

static __always_inline void xsave_exit(struct kvm_vcpu *vcpu, bool guest)
{
	struct pcpu *p = this_pcpu();
	struct ks_vm_val *vm;
	bool pkru_written;

	if (!p || !p->xsave_dir)
		return;
	p->xsave_dir = 0;
	if (p->xsave_skip)
		return;
	if (guest)
		pkru_written = p->pkru_written;
	else	/* host side: vcpu->arch.pkru was just read back with RDPKRU */
		pkru_written = pkru_switched(vcpu) &&
			       vcpu->arch.pkru != vcpu->arch.host_pkru;

	vm = switch_vm(vcpu->vcpu_id);
	if (!vm)
		return;
	count_switch(vm, KS_XCR0, guest, p->xcr0_written);
	count_switch(vm, KS_XSS, guest, p->xss_written);
	count_switch(vm, KS_PKRU, guest, pkru_written);
}

SEC("fentry/kvm_load_guest_xsave_state")
int BPF_PROG(guest_xsave_enter, struct kvm_vcpu *vcpu)
{
	xsave_enter(vcpu, 2);
	return 0;
}

SEC("fexit/kvm_load_guest_xsave_state")
int BPF_PROG(guest_xsave_exit, struct kvm_vcpu *vcpu)
{
	xsave_exit(vcpu, true);
	return 0;
}

SEC("fentry/kvm_load_host_xsave_state")
int BPF_PROG(host_xsave_enter, struct kvm_vcpu *vcpu)
{
	xsave_enter(vcpu, 1);
	return 0;
}

SEC("fexit/kvm_load_host_xsave_state")
int BPF_PROG(host_xsave_exit, struct kvm_vcpu *vcpu)
{
	xsave_exit(vcpu, false);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
