// SPDX-License-Identifier: GPL-2.0
/*
 * kvmexitlat: per KVM exit reason, a log2 histogram of the time from
 * kvm_exit to the next kvm_entry of the same vCPU thread.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "kvmexitlat.h"
#include "kvmnames.h"
#include "helpers.h"
#include "kvmexitlat.skel.h"

static struct tool_args env = {
	.tool = "kvmexitlat",
	.per_vcpu_doc = "Histograms per vCPU",
};

const char *argp_program_version = "kvmexitlat 0.1";
const char argp_program_doc[] =
"Summarize KVM exit-to-entry latency per exit reason as histograms.\n"
"\n"
"USAGE: kvmexitlat [-h] [-p PID] [--vcpu N] [--per-vcpu] [-i INTERVAL]\n"
"                  [-d DURATION] [--json] [-v] [interval] [count]\n"
"\n"
"The time runs from kvm_exit to the next kvm_entry of the same thread, so\n"
"it includes the exits' trips to user space (e.g. port I/O to QEMU).\n"
"\n"
"EXAMPLES:\n"
"    kvmexitlat                # histograms until Ctrl-C\n"
"    kvmexitlat 1 10           # print every second, 10 times\n"
"    kvmexitlat -p 1234        # only the VM of process 1234\n"
"    kvmexitlat --vcpu 0       # only vCPU 0\n"
"    kvmexitlat -d 10 --json   # one JSON document after 10 seconds\n";

struct rec {
	struct kl_key k;
	struct kl_hist h;
};

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->k.tgid != y->k.tgid)
		return x->k.tgid < y->k.tgid ? -1 : 1;
	if (x->k.vcpu != y->k.vcpu)
		return x->k.vcpu < y->k.vcpu ? -1 : 1;
	if (x->h.count != y->h.count)
		return x->h.count > y->h.count ? -1 : 1;
	return x->k.reason < y->k.reason ? -1 : x->k.reason > y->k.reason;
}

static int perf_fds[1024];
static int nr_cpus;
static bool cycles;		/* counters open: report cycles too */

/* One cycles counter per CPU; false if there is no hardware PMU. */
static bool open_cycles(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_HARDWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_HW_CPU_CYCLES,
	};
	int cpu, fd;

	nr_cpus = libbpf_num_possible_cpus();
	if (nr_cpus <= 0 || nr_cpus > 1024)
		return false;
	for (cpu = 0; cpu < nr_cpus; cpu++) {
		fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, 0);
		if (fd < 0 && errno != ENODEV) {	/* ENODEV: CPU offline */
			while (cpu--)
				if (perf_fds[cpu] >= 0)
					close(perf_fds[cpu]);
			return false;
		}
		perf_fds[cpu] = fd;
	}
	return true;
}

static void print_interval(void *ctx, double secs)
{
	struct kvmexitlat_bpf *obj = ctx;
	struct rec *recs;
	size_t n, i;
	char buf[64], vbuf[16];

	recs = dump_map(bpf_map__fd(obj->maps.hists), sizeof(struct kl_key),
			sizeof(struct kl_hist), sizeof(struct rec), &n);
	if (!recs)
		return;
	qsort(recs, n, sizeof(*recs), cmp_rec);

	if (env.json) {
		printf("{\"tool\":\"kvmexitlat\",\"version\":1,\"timestamp\":%lld,"
		       "\"interval_s\":%.3f,\"cycles\":%s,\"hists\":[",
		       (long long)time(NULL), secs, cycles ? "true" : "false");
		for (i = 0; i < n; i++) {
			const struct rec *r = &recs[i];

			printf("%s{\"pid\":%u,\"comm\":", i ? "," : "", r->k.tgid);
			json_string(stdout, r->h.comm);
			if (r->k.vcpu == KL_ANY_VCPU)
				printf(",\"vcpu\":null");
			else
				printf(",\"vcpu\":%u", r->k.vcpu);
			printf(",\"isa\":\"%s\",\"code\":%u,\"name\":",
			       isa_name(r->k.isa), r->k.reason);
			json_string(stdout, exit_reason_name(r->k.isa, r->k.reason,
							     buf, sizeof(buf)));
			printf(",\"count\":%llu,\"avg_ns\":%.1f,\"ns\":",
			       (unsigned long long)r->h.count,
			       r->h.count ? (double)r->h.ns_sum / r->h.count : 0.0);
			json_log2_hist(stdout, r->h.ns, KL_SLOTS);
			if (cycles) {
				printf(",\"cycles_count\":%llu,\"cycles\":",
				       (unsigned long long)r->h.cyc_count);
				json_log2_hist(stdout, r->h.cycles, KL_SLOTS);
			}
			printf("}");
		}
		printf("]}\n");
	} else {
		char ts[32];
		time_t t = time(NULL);

		strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
		printf("%s (%.1f s)\n", ts, secs);
		if (!n)
			printf("(no VM exits)\n");
		for (i = 0; i < n; i++) {
			const struct rec *r = &recs[i];

			if (r->k.vcpu == KL_ANY_VCPU)
				snprintf(vbuf, sizeof(vbuf), "all");
			else
				snprintf(vbuf, sizeof(vbuf), "%u", r->k.vcpu);
			printf("\npid %u (%s) vcpu %s exit %s %s (0x%x): %llu exits, "
			       "avg %.0f ns\n", r->k.tgid, r->h.comm, vbuf,
			       isa_name(r->k.isa),
			       exit_reason_name(r->k.isa, r->k.reason, buf,
						sizeof(buf)),
			       r->k.reason, (unsigned long long)r->h.count,
			       r->h.count ? (double)r->h.ns_sum / r->h.count : 0.0);
			print_log2_hist(stdout, r->h.ns, KL_SLOTS, "nsecs");
			if (cycles && r->h.cyc_count) {
				printf("  same-CPU exits %llu, avg %.0f cycles\n",
				       (unsigned long long)r->h.cyc_count,
				       (double)r->h.cyc_sum / r->h.cyc_count);
				print_log2_hist(stdout, r->h.cycles, KL_SLOTS,
						"cycles");
			}
		}
		printf("\n");
	}
	fflush(stdout);
	free(recs);
}

int main(int argc, char **argv)
{
	/* No parser of its own: argp hands env to its child. */
	static const struct argp argp = {
		.doc = argp_program_doc,
		.children = tool_argp_children,
	};
	struct kvmexitlat_bpf *obj = NULL;
	FILE *info;
	int err, cpu;

	err = argp_parse(&argp, argc, argv, 0, NULL, &env);
	if (err)
		return 1;
	info = env.json ? stderr : stdout;

	if (check_target("kvmexitlat", env.pid))
		return 1;

	set_libbpf_verbose(env.verbose);
	if (kbtf_open("kvmexitlat"))
		return 1;
	if (!kbtf_has_tp("kvm_exit") || !kbtf_has_tp("kvm_entry")) {
		fprintf(stderr, "kvmexitlat: error: kvm tracepoints not found "
			"(is KVM built in or its module loaded?)\n");
		err = 1;
		goto cleanup;
	}

	tool_catch_signals();

	obj = kvmexitlat_bpf__open();
	if (!obj) {
		fprintf(stderr, "kvmexitlat: error: failed to open BPF object\n");
		err = 1;
		goto cleanup;
	}
	cycles = open_cycles();
	obj->rodata->targ_tgid = env.pid;
	obj->rodata->targ_vcpu = env.vcpu < 0 ? KL_ANY_VCPU : (__u32)env.vcpu;
	obj->rodata->targ_per_vcpu = env.per_vcpu;
	obj->rodata->targ_cycles = cycles;
	if (cycles)
		bpf_map__set_max_entries(obj->maps.cycles, nr_cpus);

	err = kvmexitlat_bpf__load(obj);
	if (err) {
		fprintf(stderr, "kvmexitlat: error: failed to load BPF programs: %s\n",
			strerror(-err));
		err = 1;
		goto cleanup;
	}
	for (cpu = 0; cycles && cpu < nr_cpus; cpu++) {
		if (perf_fds[cpu] < 0)
			continue;
		if (bpf_map_update_elem(bpf_map__fd(obj->maps.cycles), &cpu,
					&perf_fds[cpu], BPF_ANY)) {
			fprintf(stderr, "kvmexitlat: error: failed to set up the "
				"cycles counter of CPU %d\n", cpu);
			err = 1;
			goto cleanup;
		}
	}
	err = kvmexitlat_bpf__attach(obj);
	if (err) {
		fprintf(stderr, "kvmexitlat: error: failed to attach BPF programs: %s\n",
			strerror(-err));
		err = 1;
		goto cleanup;
	}

	if (!cycles)
		fprintf(info, "kvmexitlat: cycles unavailable (no hardware PMU "
			"cycles event); showing ns only\n");
	fprintf(info, "Tracing KVM exit-to-entry latency... Hit Ctrl-C to end.\n");
	fflush(info);

	tool_run(&env, print_interval, obj);
	err = 0;
cleanup:
	kvmexitlat_bpf__destroy(obj);
	for (cpu = 0; cpu < nr_cpus; cpu++)
		if (perf_fds[cpu] > 0)
			close(perf_fds[cpu]);
	kbtf_close();
	return err != 0;
}
