// SPDX-License-Identifier: GPL-2.0
/*
 * kvmswitch: count KVM VM-Exits per reason, fastpath vs full path, MSR
 * writes per MSR and phase, XCR0/XSS/PKRU switches and user-return MSR
 * reloads, per VM and optionally per vCPU.
 */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "kvmswitch.h"
#include "helpers.h"
#include "kvmswitch_report.h"
#include "kvmswitch.skel.h"

static struct env {
	struct tool_args a;
	bool read_msr;
	bool fallback;
} env = {
	.a = {
		.tool = "kvmswitch",
		.per_vcpu_doc = "Report each vCPU separately",
	},
};

static struct ks_meta meta;

const char *argp_program_version = "kvmswitch 0.1";
const char argp_program_doc[] =
"Count KVM exits, MSR writes and world-switch reloads per VM.\n"
"\n"
"USAGE: kvmswitch [-h] [-p PID] [--vcpu N] [--per-vcpu] [-i INTERVAL]\n"
"                 [-d DURATION] [--json] [--read-msr] [--fallback] [-v]\n"
"                 [interval] [count]\n"
"\n"
"EXAMPLES:\n"
"    kvmswitch                 # count until Ctrl-C, then print a table\n"
"    kvmswitch 1 10            # print a table every second, 10 times\n"
"    kvmswitch -p 1234         # only the VM of process 1234\n"
"    kvmswitch --per-vcpu      # break each VM down by vCPU\n"
"    kvmswitch --vcpu 0        # only vCPU 0 of each VM\n"
"    kvmswitch -d 10 --json    # one JSON document after 10 seconds\n"
"    kvmswitch -i 5 --json     # one JSON document every 5 seconds\n"
"    kvmswitch --fallback      # fentry on KVM functions, not the series' tracepoints\n";

enum { OPT_READ_MSR = 256, OPT_FALLBACK };

/* The rest of the options are tool_argp's. */
static const struct argp_option opts[] = {
	{ "read-msr", OPT_READ_MSR, NULL, 0, "Also count RDMSRs (msr:read_msr)", 0 },
	{ "fallback", OPT_FALLBACK, NULL, 0,
	  "Use fentry/fexit on KVM functions instead of the series' tracepoints", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &env.a;
		break;
	case OPT_READ_MSR:
		env.read_msr = true;
		break;
	case OPT_FALLBACK:
		env.fallback = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void print_interval(void *ctx, double secs)
{
	struct kvmswitch_bpf *obj = ctx;
	struct ks_snapshot s = {};

	meta.interval_s = secs;
	meta.timestamp = time(NULL);

	s.vms = dump_map(bpf_map__fd(obj->maps.vms), sizeof(struct ks_vm_key),
			 sizeof(struct ks_vm_val), sizeof(struct ks_vm_rec),
			 &s.nvms);
	s.exits = dump_map(bpf_map__fd(obj->maps.exits),
			   sizeof(struct ks_exit_key), sizeof(struct ks_exit_val),
			   sizeof(struct ks_exit_rec), &s.nexits);
	s.msrs = dump_map(bpf_map__fd(obj->maps.msrs), sizeof(struct ks_msr_key),
			  sizeof(__u64), sizeof(struct ks_msr_rec), &s.nmsrs);
	if (env.a.json) {
		ks_print_json(stdout, &s, &meta);
	} else {
		char ts[32];
		time_t t = time(NULL);

		strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
		printf("%s (%.1f s)\n", ts, secs);
		ks_print_table(stdout, &s, &meta);
		fflush(stdout);
	}
	free(s.vms);
	free(s.exits);
	free(s.msrs);
}

int main(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.doc = argp_program_doc,
		.children = tool_argp_children,
	};
	struct kvmswitch_bpf *obj = NULL;
	bool xf_tp, uret_tp, xf_fn, uret_fn, svm, vmx, nrips, svm_left, vmx_left;
	FILE *info;
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 1;
	info = env.a.json ? stderr : stdout;

	if (check_target("kvmswitch", env.a.pid))
		return 1;

	set_libbpf_verbose(env.a.verbose);
	if (kbtf_open("kvmswitch"))
		return 1;

	if (!kbtf_has_tp("kvm_exit") || !kbtf_has_tp("kvm_entry") ||
	    !kbtf_has_tp("kvm_userspace_exit")) {
		fprintf(stderr, "kvmswitch: error: kvm tracepoints not found "
			"(is KVM built in or its module loaded?)\n");
		err = 1;
		goto cleanup;
	}
	xf_tp = kbtf_has_tp("kvm_xfeatures_switch") && kbtf_has_tp("kvm_pkru_switch");
	uret_tp = kbtf_has_tp("kvm_uret_msr_set") && kbtf_has_tp("kvm_uret_msr_restore");
	xf_fn = kbtf_has_func("kvm_load_guest_xsave_state") &&
		kbtf_has_func("kvm_load_host_xsave_state");
	uret_fn = kbtf_has_func("kvm_on_user_return") &&
		  kbtf_has_func("kvm_set_user_return_msr");
	svm = kbtf_has_func("svm_vcpu_run");
	vmx = kbtf_has_func("vmx_vcpu_run");

	if (!env.fallback && !xf_tp && !xf_fn) {
		fprintf(stderr, "kvmswitch: error: tracepoint kvm:kvm_xfeatures_switch "
			"not found and no fallback: kvm_load_guest_xsave_state() is "
			"not in the kernel's BTF\n");
		err = 1;
		goto cleanup;
	}
	if (!env.fallback && !uret_tp && !uret_fn) {
		fprintf(stderr, "kvmswitch: error: tracepoint kvm:kvm_uret_msr_set "
			"not found and no fallback: kvm_on_user_return() is not in "
			"the kernel's BTF\n");
		err = 1;
		goto cleanup;
	}

	tool_catch_signals();

	obj = kvmswitch_bpf__open();
	if (!obj) {
		fprintf(stderr, "kvmswitch: error: failed to open BPF object\n");
		err = 1;
		goto cleanup;
	}

	obj->rodata->targ_tgid = env.a.pid;
	obj->rodata->targ_vcpu = env.a.vcpu < 0 ? KS_ANY_VCPU : (__u32)env.a.vcpu;
	obj->rodata->targ_per_vcpu = env.a.per_vcpu;
	obj->rodata->targ_host_xcr0 = host_xcr0();
	obj->rodata->targ_host_pku = host_pku();

	/* XCR0/XSS/PKRU switches. */
	if (xf_tp && !env.fallback) {
		meta.xf_source = "tracepoint";
	} else if (xf_fn) {
		meta.xf_source = "fentry:kvm_load_guest_xsave_state,kvm_load_host_xsave_state";
		obj->rodata->targ_fallback_xf = true;
	} else {
		meta.xf_source = "none";
	}
	if (strcmp(meta.xf_source, "tracepoint")) {
		bpf_program__set_autoload(obj->progs.handle_xfeatures, false);
		bpf_program__set_autoload(obj->progs.handle_pkru, false);
	}
	if (!obj->rodata->targ_fallback_xf) {
		bpf_program__set_autoload(obj->progs.guest_xsave_enter, false);
		bpf_program__set_autoload(obj->progs.guest_xsave_exit, false);
		bpf_program__set_autoload(obj->progs.host_xsave_enter, false);
		bpf_program__set_autoload(obj->progs.host_xsave_exit, false);
	}

	/* User-return MSRs. */
	if (uret_tp && !env.fallback) {
		meta.uret_source = "tracepoint";
	} else if (uret_fn) {
		meta.uret_source = "fentry:kvm_on_user_return,kvm_set_user_return_msr";
		obj->rodata->targ_fallback_uret = true;
	} else {
		meta.uret_source = "none";
	}
	if (strcmp(meta.uret_source, "tracepoint")) {
		bpf_program__set_autoload(obj->progs.handle_uret_set, false);
		bpf_program__set_autoload(obj->progs.handle_uret_restore, false);
	}
	if (!obj->rodata->targ_fallback_uret) {
		bpf_program__set_autoload(obj->progs.uretset_enter, false);
		bpf_program__set_autoload(obj->progs.uretset_exit, false);
	}
	if (!kbtf_has_func("kvm_on_user_return")) {
		bpf_program__set_autoload(obj->progs.uret_enter, false);
		bpf_program__set_autoload(obj->progs.uret_exit, false);
	}
	if (!kbtf_has_func("kvm_arch_vcpu_load") || !kbtf_has_func("kvm_arch_vcpu_put")) {
		bpf_program__set_autoload(obj->progs.load_enter, false);
		bpf_program__set_autoload(obj->progs.load_exit, false);
		bpf_program__set_autoload(obj->progs.put_enter, false);
		bpf_program__set_autoload(obj->progs.put_exit, false);
	}
	if (!kbtf_has_func("kvm_arch_vcpu_ioctl_run"))
		bpf_program__set_autoload(obj->progs.run_enter, false);

	/* Fastpath verdicts. */
	if (!svm)
		bpf_program__set_autoload(obj->progs.svm_run_exit, false);
	if (!vmx)
		bpf_program__set_autoload(obj->progs.vmx_run_exit, false);
	meta.fastpath_source = svm && vmx ? "fexit:svm_vcpu_run,vmx_vcpu_run" :
			       svm ? "fexit:svm_vcpu_run" :
			       vmx ? "fexit:vmx_vcpu_run" : "none";
	/*
	 * Where the run loop is left: a REENTER_GUEST verdict was not followed.
	 * On SVM only where it can take the fastpath: attaching to this hot
	 * function under TCG once ended in an int3 Oops (bpf/README.md).
	 */
	nrips = svm && svm_nrips();
	svm_left = nrips && kbtf_has_func("svm_handle_exit_irqoff");
	vmx_left = vmx && kbtf_has_func("vmx_handle_exit_irqoff");
	if (!svm_left)
		bpf_program__set_autoload(obj->progs.svm_loop_left, false);
	if (!vmx_left)
		bpf_program__set_autoload(obj->progs.vmx_loop_left, false);
	if (!svm && !vmx)
		meta.reenter_source = "none";
	else if (svm && !nrips)
		meta.reenter_source = "none (kvm_amd nrips=0: SVM takes no fastpath)";
	else if (svm_left == svm && vmx_left == vmx)
		meta.reenter_source = "next kvm_entry before handle_exit_irqoff";
	else
		meta.reenter_source = "REENTER_GUEST verdicts (no handle_exit_irqoff to see the loop left)";

	if (!env.read_msr)
		bpf_program__set_autoload(obj->progs.handle_read_msr, false);

	err = kvmswitch_bpf__load(obj);
	if (err) {
		fprintf(stderr, "kvmswitch: error: failed to load BPF programs: %s\n",
			strerror(-err));
		err = 1;
		goto cleanup;
	}
	err = kvmswitch_bpf__attach(obj);
	if (err) {
		fprintf(stderr, "kvmswitch: error: failed to attach BPF programs: %s\n",
			strerror(-err));
		err = 1;
		goto cleanup;
	}

	meta.per_vcpu = env.a.per_vcpu || env.a.vcpu >= 0;
	meta.read_msr = env.read_msr;
	fprintf(info, "kvmswitch: xfeatures/PKRU from %s%s\n", meta.xf_source,
		!strcmp(meta.xf_source, "none") ?
		" (kvm_load_guest_xsave_state() is not in this kernel, e.g. "
		"inlined by the lazy-switch series: switches not counted)" : "");
	fprintf(info, "kvmswitch: user-return MSRs from %s; fastpath from %s; re-entries: %s\n",
		meta.uret_source, meta.fastpath_source, meta.reenter_source);
	fprintf(info, "Tracing KVM exits, MSR writes and reloads... Hit Ctrl-C to end.\n");
	fflush(info);

	tool_run(&env.a, print_interval, obj);
	err = 0;
cleanup:
	kvmswitch_bpf__destroy(obj);
	kbtf_close();
	return err != 0;
}
