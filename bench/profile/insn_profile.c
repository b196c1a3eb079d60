// SPDX-License-Identifier: GPL-2.0
/*
 * insn_profile: a QEMU TCG plugin that counts the guest instructions each
 * vCPU executes, per instruction address, between two marker instructions.
 *
 * The benchmark runs the start marker on its pinned vCPU thread right before
 * the measured loop and the stop marker right after it. Only that vCPU
 * counts, and only in between: the host kernel's exits, world switches with
 * interrupts off, and the nested guest's code alike, since the emulator sees
 * every instruction. At each stop marker the window's counts are written to
 * OUT.N (N = 0, 1, ...) as lines "ADDRESS COUNT" (hex, decimal), and reset.
 *
 * Counts are per translation block execution: an exception in the middle of
 * a block (a page fault, a #VMEXIT) counts the rest of that block too, and a
 * REP string instruction counts once per iteration (TCG loops on it).
 *
 * Usage: -plugin insn_profile.so,out=PATH
 */
#include <glib.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qemu-plugin.h>

#include "markers.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static const uint8_t marker_start[] = { PROFILE_MARKER_START };
static const uint8_t marker_stop[] = { PROFILE_MARKER_STOP };

/* One translated block: its instructions' addresses and per-vCPU counts. */
struct block {
	size_t n_insns;
	uint64_t *insn_vaddr;
	uint64_t *execs;	/* [max_vcpus] */
};

static GMutex lock;
static GPtrArray *blocks;	/* every block ever translated, under lock */
static bool *counting;		/* [max_vcpus], each written by its vCPU only */
static int max_vcpus;
static unsigned int window;
static char *out_path;

static void block_exec(unsigned int vcpu, void *udata)
{
	struct block *b = udata;

	if (counting[vcpu])
		b->execs[vcpu]++;
}

/* Write one window's counts for vcpu to OUT.N, summed per address, and reset them. */
static void dump_window(unsigned int vcpu)
{
	GHashTable *sum = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
	GHashTableIter it;
	gpointer key, value;
	char *path, *tmp;
	FILE *f;

	g_mutex_lock(&lock);
	for (guint i = 0; i < blocks->len; i++) {
		struct block *b = g_ptr_array_index(blocks, i);
		uint64_t n = b->execs[vcpu];

		if (!n)
			continue;
		b->execs[vcpu] = 0;
		for (size_t j = 0; j < b->n_insns; j++) {
			uint64_t *c = g_hash_table_lookup(sum, &b->insn_vaddr[j]);

			if (!c) {
				c = g_new0(uint64_t, 1);
				g_hash_table_insert(sum, &b->insn_vaddr[j], c);
			}
			*c += n;
		}
	}
	path = g_strdup_printf("%s.%u", out_path, window++);
	g_mutex_unlock(&lock);

	/* Written whole, then renamed: a reader never sees half a window. */
	tmp = g_strdup_printf("%s.tmp", path);
	f = fopen(tmp, "w");
	if (f) {
		g_hash_table_iter_init(&it, sum);
		while (g_hash_table_iter_next(&it, &key, &value))
			fprintf(f, "%" PRIx64 " %" PRIu64 "\n", *(uint64_t *)key, *(uint64_t *)value);
	}
	if (!f || fclose(f) || rename(tmp, path)) {
		/* stderr reaches QEMU's log; the missing window fails the case. */
		fprintf(stderr, "insn_profile: cannot write %s\n", path);
		unlink(tmp);
	}
	g_hash_table_destroy(sum);
	g_free(tmp);
	g_free(path);
}

/* Forget vcpu's counts: a window whose stop marker never ran (its process died). */
static void reset_counts(unsigned int vcpu)
{
	g_mutex_lock(&lock);
	for (guint i = 0; i < blocks->len; i++)
		((struct block *)g_ptr_array_index(blocks, i))->execs[vcpu] = 0;
	g_mutex_unlock(&lock);
}

static void marker_exec(unsigned int vcpu, void *udata)
{
	bool start = udata != NULL;

	if (start) {
		reset_counts(vcpu);
		counting[vcpu] = true;
	} else if (counting[vcpu]) {
		counting[vcpu] = false;
		dump_window(vcpu);
	}
}

static bool is_marker(struct qemu_plugin_insn *insn, const uint8_t *m, size_t len)
{
	return qemu_plugin_insn_size(insn) == len &&
	       !memcmp(qemu_plugin_insn_data(insn), m, len);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b = g_new0(struct block, 1);

	b->n_insns = qemu_plugin_tb_n_insns(tb);
	b->insn_vaddr = g_new(uint64_t, b->n_insns);
	b->execs = g_new0(uint64_t, max_vcpus);
	for (size_t i = 0; i < b->n_insns; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		b->insn_vaddr[i] = qemu_plugin_insn_vaddr(insn);
		if (is_marker(insn, marker_start, sizeof(marker_start)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, marker_exec,
							       QEMU_PLUGIN_CB_NO_REGS, (void *)1);
		else if (is_marker(insn, marker_stop, sizeof(marker_stop)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, marker_exec,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
	qemu_plugin_register_vcpu_tb_exec_cb(tb, block_exec, QEMU_PLUGIN_CB_NO_REGS, b);
	g_mutex_lock(&lock);
	g_ptr_array_add(blocks, b);
	g_mutex_unlock(&lock);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (g_str_has_prefix(argv[i], "out=") && argv[i][4]) {
			out_path = g_strdup(argv[i] + 4);
		} else {
			fprintf(stderr, "insn_profile: unknown argument '%s' (want out=PATH)\n",
				argv[i]);
			return -1;
		}
	}
	if (!out_path) {
		fprintf(stderr, "insn_profile: no out=PATH argument\n");
		return -1;
	}
	if (info->system_emulation)
		max_vcpus = info->system.max_vcpus;
	if (max_vcpus < 1)
		max_vcpus = 1;
	counting = g_new0(bool, max_vcpus);
	blocks = g_ptr_array_new();
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	return 0;
}
