// SPDX-License-Identifier: GPL-2.0
/*
 * kvmswitch_report.c: turn kvmswitch's map contents into per-VM totals,
 * tables and JSON. No libbpf, so that tests/unit.c can link it.
 */
#include <stdlib.h>
#include <string.h>
#include "helpers.h"
#include "kvmnames.h"
#include "kvmswitch_report.h"

static const char *const reg_names[KS_SWITCH_REGS] = { "xcr0", "xss", "pkru" };

static int cmp_group_key(__u32 t1, __u32 v1, __u32 t2, __u32 v2)
{
	if (t1 != t2)
		return t1 < t2 ? -1 : 1;
	if (v1 != v2)
		return v1 < v2 ? -1 : 1;
	return 0;
}

/* Exits: by group, then by count, descending. */
static int cmp_exit(const void *a, const void *b)
{
	const struct ks_exit_rec *x = a, *y = b;
	int c = cmp_group_key(x->k.tgid, x->k.vcpu, y->k.tgid, y->k.vcpu);

	if (c)
		return c;
	if (x->v.exits != y->v.exits)
		return x->v.exits > y->v.exits ? -1 : 1;
	if (x->k.isa != y->k.isa)
		return x->k.isa < y->k.isa ? -1 : 1;
	return x->k.reason < y->k.reason ? -1 : x->k.reason > y->k.reason;
}

/* MSRs: by group, kind, count descending, MSR number. */
static int cmp_msr(const void *a, const void *b)
{
	const struct ks_msr_rec *x = a, *y = b;
	int c = cmp_group_key(x->k.tgid, x->k.vcpu, y->k.tgid, y->k.vcpu);

	if (c)
		return c;
	if (x->k.kind != y->k.kind)
		return x->k.kind < y->k.kind ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->k.msr < y->k.msr ? -1 : x->k.msr > y->k.msr;
}

static int cmp_groups(const void *a, const void *b)
{
	const struct ks_group *x = a, *y = b;

	return cmp_group_key(x->tgid, x->vcpu, y->tgid, y->vcpu);
}

static struct ks_group *group_of(struct ks_group *g, size_t *n, size_t max,
				 __u32 tgid, __u32 vcpu)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (g[i].tgid == tgid && g[i].vcpu == vcpu)
			return &g[i];
	if (*n == max)
		return NULL;
	memset(&g[*n], 0, sizeof(g[*n]));
	g[*n].tgid = tgid;
	g[*n].vcpu = vcpu;
	return &g[(*n)++];
}

size_t ks_aggregate(struct ks_snapshot *s, struct ks_group *groups, size_t max)
{
	struct ks_group *g;
	size_t n = 0, i;
	int r, d;

	for (i = 0; i < s->nvms; i++) {
		const struct ks_vm_rec *v = &s->vms[i];

		g = group_of(groups, &n, max, v->k.tgid, v->k.vcpu);
		if (!g)
			continue;
		memcpy(g->comm, v->v.comm, sizeof(g->comm));
		g->comm[KS_COMM_LEN - 1] = '\0';
		g->exits += v->v.exits;
		g->entries += v->v.entries;
		g->kvm_runs += v->v.kvm_runs;
		for (r = 0; r < KS_SWITCH_REGS; r++) {
			for (d = 0; d < 2; d++) {
				g->sw_events[r][d] += v->v.sw_events[r][d];
				g->sw_written[r][d] += v->v.sw_written[r][d];
			}
		}
	}
	for (i = 0; i < s->nexits; i++) {
		const struct ks_exit_rec *e = &s->exits[i];

		g = group_of(groups, &n, max, e->k.tgid, e->k.vcpu);
		if (!g)
			continue;
		g->fastpath += e->v.fastpath;
		g->reenter += e->v.reenter;
	}
	for (i = 0; i < s->nmsrs; i++) {
		const struct ks_msr_rec *m = &s->msrs[i];

		g = group_of(groups, &n, max, m->k.tgid, m->k.vcpu);
		if (!g)
			continue;
		switch (m->k.kind) {
		case KS_RDMSR:
			g->msr_reads += m->count;
			break;
		case KS_URET_SET:
			g->uret_set += m->count;
			break;
		case KS_URET_RESTORE:
			g->uret_restore += m->count;
			break;
		default:
			g->msr_writes += m->count;
		}
	}
	for (i = 0; i < n; i++) {
		g = &groups[i];
		g->reloads = g->uret_set + g->uret_restore;
		for (r = 0; r < KS_SWITCH_REGS; r++)
			g->reloads += g->sw_written[r][0] + g->sw_written[r][1];
	}
	qsort(groups, n, sizeof(*groups), cmp_groups);
	qsort(s->exits, s->nexits, sizeof(*s->exits), cmp_exit);
	qsort(s->msrs, s->nmsrs, sizeof(*s->msrs), cmp_msr);
	return n;
}

static double ratio(__u64 a, __u64 b)
{
	return b ? (double)a / (double)b : 0.0;
}

#define MAX_GROUPS 1024

static struct ks_group *alloc_groups(void)
{
	return calloc(MAX_GROUPS, sizeof(struct ks_group));
}

static bool in_group(const struct ks_group *g, __u32 tgid, __u32 vcpu)
{
	return g->tgid == tgid && g->vcpu == vcpu;
}

void ks_print_table(FILE *f, struct ks_snapshot *s, const struct ks_meta *m)
{
	struct ks_group *groups = alloc_groups();
	char buf[64], buf2[32];
	size_t n, i, j;
	int r;

	if (!groups)
		return;
	n = ks_aggregate(s, groups, MAX_GROUPS);
	if (!n) {
		fprintf(f, "%-8s %-16s %-5s %10s %10s %10s %9s\n", "PID",
			"COMM", "VCPU", "EXITS", "FASTPATH", "KVM_RUN",
			"RELOADS");
		fprintf(f, "(no VM activity)\n");
		free(groups);
		return;
	}
	for (i = 0; i < n; i++) {
		const struct ks_group *g = &groups[i];

		if (g->vcpu == KS_ANY_VCPU)
			snprintf(buf2, sizeof(buf2), "all");
		else
			snprintf(buf2, sizeof(buf2), "%u", g->vcpu);
		fprintf(f, "%-8s %-16s %-5s %10s %10s %10s %9s\n", "PID",
			"COMM", "VCPU", "EXITS", "FASTPATH", "KVM_RUN",
			"RELOADS");
		fprintf(f, "%-8u %-16s %-5s %10llu %10llu %10llu %9llu\n",
			g->tgid, g->comm[0] ? g->comm : "?", buf2,
			(unsigned long long)g->exits,
			(unsigned long long)g->fastpath,
			(unsigned long long)g->kvm_runs,
			(unsigned long long)g->reloads);
		fprintf(f, "  reloads/exit %.3f  reloads/KVM_RUN %.3f  "
			"fastpath re-entries %llu  entries %llu\n",
			ratio(g->reloads, g->exits),
			ratio(g->reloads, g->kvm_runs),
			(unsigned long long)g->reenter,
			(unsigned long long)g->entries);

		fprintf(f, "\n  %-4s %-26s %10s %10s\n", "ISA", "EXIT REASON",
			"COUNT", "FASTPATH");
		for (j = 0; j < s->nexits; j++) {
			const struct ks_exit_rec *e = &s->exits[j];

			if (!in_group(g, e->k.tgid, e->k.vcpu))
				continue;
			snprintf(buf2, sizeof(buf2), "%s",
				 exit_reason_name(e->k.isa, e->k.reason, buf,
						  sizeof(buf)));
			snprintf(buf, sizeof(buf), "%s (0x%x)", buf2,
				 e->k.reason);
			fprintf(f, "  %-4s %-26s %10llu %10llu\n",
				isa_name(e->k.isa), buf,
				(unsigned long long)e->v.exits,
				(unsigned long long)e->v.fastpath);
		}

		fprintf(f, "\n  %-28s %-12s %10s\n", "MSR", "PHASE", "COUNT");
		for (j = 0; j < s->nmsrs; j++) {
			const struct ks_msr_rec *x = &s->msrs[j];

			if (!in_group(g, x->k.tgid, x->k.vcpu))
				continue;
			snprintf(buf2, sizeof(buf2), "%s",
				 msr_name(x->k.msr, buf, sizeof(buf)));
			snprintf(buf, sizeof(buf), "%s (0x%x)", buf2, x->k.msr);
			fprintf(f, "  %-28s %-12s %10llu\n", buf,
				msr_kind_name(x->k.kind),
				(unsigned long long)x->count);
		}

		fprintf(f, "\n  %-6s %12s %12s %12s %12s\n", "SWITCH",
			"GUEST", "G-WRITTEN", "HOST", "H-WRITTEN");
		for (r = 0; r < KS_SWITCH_REGS; r++)
			fprintf(f, "  %-6s %12llu %12llu %12llu %12llu\n",
				reg_names[r],
				(unsigned long long)g->sw_events[r][1],
				(unsigned long long)g->sw_written[r][1],
				(unsigned long long)g->sw_events[r][0],
				(unsigned long long)g->sw_written[r][0]);
		fprintf(f, "  uret   set %llu  restore %llu\n\n",
			(unsigned long long)g->uret_set,
			(unsigned long long)g->uret_restore);
	}
	free(groups);
}

static void json_vcpu(FILE *f, __u32 vcpu)
{
	if (vcpu == KS_ANY_VCPU)
		fprintf(f, "null");
	else
		fprintf(f, "%u", vcpu);
}

void ks_print_json(FILE *f, struct ks_snapshot *s, const struct ks_meta *m)
{
	struct ks_group *groups = alloc_groups();
	char buf[64];
	size_t n, i, j;
	bool first;
	int r;

	if (!groups)
		return;
	n = ks_aggregate(s, groups, MAX_GROUPS);
	fprintf(f, "{\"tool\":\"kvmswitch\",\"version\":1,\"timestamp\":%lld,"
		"\"interval_s\":%.3f,\"per_vcpu\":%s,\"read_msr\":%s,"
		"\"sources\":{\"xfeatures\":", m->timestamp, m->interval_s,
		m->per_vcpu ? "true" : "false", m->read_msr ? "true" : "false");
	json_string(f, m->xf_source);
	fprintf(f, ",\"uret\":");
	json_string(f, m->uret_source);
	fprintf(f, ",\"fastpath\":");
	json_string(f, m->fastpath_source);
	fprintf(f, ",\"reenter\":");
	json_string(f, m->reenter_source ? m->reenter_source : "none");
	fprintf(f, "},\"vms\":[");
	for (i = 0; i < n; i++) {
		const struct ks_group *g = &groups[i];

		fprintf(f, "%s{\"pid\":%u,\"comm\":", i ? "," : "", g->tgid);
		json_string(f, g->comm);
		fprintf(f, ",\"vcpu\":");
		json_vcpu(f, g->vcpu);
		fprintf(f, ",\"exits\":%llu,\"entries\":%llu,\"fastpath\":%llu,"
			"\"reenter\":%llu,\"kvm_runs\":%llu,"
			"\"msr_writes\":%llu,\"msr_reads\":%llu,",
			(unsigned long long)g->exits,
			(unsigned long long)g->entries,
			(unsigned long long)g->fastpath,
			(unsigned long long)g->reenter,
			(unsigned long long)g->kvm_runs,
			(unsigned long long)g->msr_writes,
			(unsigned long long)g->msr_reads);
		fprintf(f, "\"reasons\":[");
		first = true;
		for (j = 0; j < s->nexits; j++) {
			const struct ks_exit_rec *e = &s->exits[j];

			if (!in_group(g, e->k.tgid, e->k.vcpu))
				continue;
			fprintf(f, "%s{\"isa\":\"%s\",\"code\":%u,\"name\":",
				first ? "" : ",", isa_name(e->k.isa),
				e->k.reason);
			json_string(f, exit_reason_name(e->k.isa, e->k.reason,
							buf, sizeof(buf)));
			fprintf(f, ",\"count\":%llu,\"fastpath\":%llu,"
				"\"reenter\":%llu}",
				(unsigned long long)e->v.exits,
				(unsigned long long)e->v.fastpath,
				(unsigned long long)e->v.reenter);
			first = false;
		}
		fprintf(f, "],\"msrs\":[");
		first = true;
		for (j = 0; j < s->nmsrs; j++) {
			const struct ks_msr_rec *x = &s->msrs[j];

			if (!in_group(g, x->k.tgid, x->k.vcpu))
				continue;
			fprintf(f, "%s{\"msr\":%u,\"name\":", first ? "" : ",",
				x->k.msr);
			json_string(f, msr_name(x->k.msr, buf, sizeof(buf)));
			fprintf(f, ",\"phase\":\"%s\",\"count\":%llu}",
				msr_kind_name(x->k.kind),
				(unsigned long long)x->count);
			first = false;
		}
		fprintf(f, "],\"switches\":{");
		for (r = 0; r < KS_SWITCH_REGS; r++)
			fprintf(f, "%s\"%s\":{\"guest\":%llu,"
				"\"guest_written\":%llu,\"host\":%llu,"
				"\"host_written\":%llu}", r ? "," : "",
				reg_names[r],
				(unsigned long long)g->sw_events[r][1],
				(unsigned long long)g->sw_written[r][1],
				(unsigned long long)g->sw_events[r][0],
				(unsigned long long)g->sw_written[r][0]);
		fprintf(f, "},\"uret\":{\"set\":%llu,\"restore\":%llu},"
			"\"reloads\":{\"total\":%llu,\"per_exit\":%.4f,"
			"\"per_kvm_run\":%.4f}}",
			(unsigned long long)g->uret_set,
			(unsigned long long)g->uret_restore,
			(unsigned long long)g->reloads,
			ratio(g->reloads, g->exits),
			ratio(g->reloads, g->kvm_runs));
	}
	fprintf(f, "]}\n");
	fflush(f);
	free(groups);
}
