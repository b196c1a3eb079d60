// SPDX-License-Identifier: GPL-2.0
/*
 * kvmexitlat.bpf.c: per exit reason, a log2 histogram of the time from
 * kvm_exit to the next kvm_entry of the same vCPU thread, in ns and, when
 * a hardware PMU is there, in CPU cycles.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kvm_exit_reason.bpf.h"
#include "kvmexitlat.h"

const volatile __u32 targ_tgid = 0;
const volatile __u32 targ_vcpu = KL_ANY_VCPU;
const volatile bool targ_per_vcpu = false;
const volatile bool targ_cycles = false;

struct start {
	__u64 ts;
	__u64 cyc;
	__u32 cpu;
	__u32 has_cyc;
	__u32 valid;	/* an exit waits for its entry */
	struct kl_key key;
};

/*
 * Per thread, found once and reused: kvm_exit fills it in place and
 * kvm_entry clears "valid" (no update/delete per exit).  LRU, so that
 * threads that are gone make room.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct kl_key);
	__type(value, struct kl_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} cycles SEC(".maps");

static const struct kl_hist zero_hist;

static __always_inline __u32 log2_32(__u32 v)
{
	__u32 r, s;

	r = (v > 0xffff) << 4;
	v >>= r;
	s = (v > 0xff) << 3;
	v >>= s;
	r |= s;
	s = (v > 0xf) << 2;
	v >>= s;
	r |= s;
	s = (v > 0x3) << 1;
	v >>= s;
	r |= s;
	return r | (v >> 1);
}

static __always_inline __u32 slot_of(__u64 v)
{
	__u32 hi = v >> 32, s;

	if (!v)
		return 0;
	s = (hi ? log2_32(hi) + 32 : log2_32((__u32)v)) + 1;
	return s < KL_SLOTS ? s : KL_SLOTS - 1;
}

static __always_inline bool read_cycles(__u64 *val)
{
	struct bpf_perf_event_value v;

	if (!targ_cycles)
		return false;
	if (bpf_perf_event_read_value(&cycles, BPF_F_CURRENT_CPU, &v, sizeof(v)))
		return false;
	*val = v.counter;
	return true;
}

static const struct start zero_start;

SEC("tp_btf/kvm_exit")
int BPF_PROG(handle_exit, struct kvm_vcpu *kvcpu, __u32 isa)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = id;
	__u32 vcpu = kvcpu->vcpu_id;
	struct start *st;

	if (targ_tgid && tgid != targ_tgid)
		return 0;
	if (targ_vcpu != KL_ANY_VCPU && vcpu != targ_vcpu)
		return 0;
	st = bpf_map_lookup_elem(&starts, &tid);
	if (!st) {
		bpf_map_update_elem(&starts, &tid, &zero_start, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&starts, &tid);
		if (!st)
			return 0;
	}
	st->key.tgid = tgid;
	st->key.vcpu = targ_per_vcpu || targ_vcpu != KL_ANY_VCPU ? vcpu : KL_ANY_VCPU;
	st->key.isa = isa;
	st->key.reason = exit_reason(kvcpu, isa);
	st->cpu = bpf_get_smp_processor_id();
	st->has_cyc = read_cycles(&st->cyc);
	st->ts = bpf_ktime_get_ns();
	st->valid = 1;
	return 0;
}

SEC("tp_btf/kvm_entry")
int BPF_PROG(handle_entry)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns(), cyc = 0, delta;
	struct kl_hist *h;
	struct start *st;
	bool has_cyc;

	st = bpf_map_lookup_elem(&starts, &tid);
	if (!st || !st->valid)
		return 0;
	st->valid = 0;
	has_cyc = st->has_cyc && st->cpu == bpf_get_smp_processor_id() &&
		  read_cycles(&cyc) && cyc >= st->cyc;

	h = bpf_map_lookup_elem(&hists, &st->key);
	if (!h) {
		bpf_map_update_elem(&hists, &st->key, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &st->key);
		if (!h)
			return 0;
		bpf_get_current_comm(h->comm, sizeof(h->comm));
	}
	delta = now - st->ts;
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->ns_sum, delta);
	__sync_fetch_and_add(&h->ns[slot_of(delta)], 1);
	if (has_cyc) {
		delta = cyc - st->cyc;
		__sync_fetch_and_add(&h->cyc_count, 1);
		__sync_fetch_and_add(&h->cyc_sum, delta);
		__sync_fetch_and_add(&h->cycles[slot_of(delta)], 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
