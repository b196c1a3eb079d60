// SPDX-License-Identifier: GPL-2.0
/*
 * insn_profile: a QEMU TCG plugin that counts the guest instructions each
 * vCPU executes, per instruction address and call stack, between two marker
 * instructions.
 *
 * The benchmark runs the start marker on its pinned vCPU thread right before
 * the measured loop and the stop marker right after it. Only that vCPU
 * counts, and only in between: the host kernel's exits, world switches with
 * interrupts off, and the nested guest's code alike, since the emulator sees
 * every instruction.
 *
 * Call stacks: the 7.2 plugin API cannot read registers, so each counting
 * vCPU keeps a shadow stack of return addresses, pushed by the CALL
 * instructions it executes and popped by RETs: to the frame whose return
 * address the RET lands on, or by one frame if none matches (a return to
 * a frame older than the window, or across a task switch). Kernel and user
 * addresses (the benchmark, and the nested guest it runs) keep a stack
 * each, so a #VMEXIT in the middle of a guest function does not bury the
 * host's frames. Stacks start empty at the start marker, and the kernel's
 * is emptied again whenever the CPU enters the kernel from user addresses
 * anywhere but right after a VMRUN (a syscall, an interrupt or exception
 * from user space starts a kernel stack afresh; a #VMEXIT does not), so a
 * frame left behind by a task switch does not stay under later stacks.
 *
 * At each stop marker the window is written to OUT.N (N = 0, 1, ...):
 * "@NODE PARENT RETURN" lines (hex return address; node 0 is the empty
 * stack), then "ADDRESS COUNT NODE" lines (hex, decimal, decimal), then
 * "end", and reset. A CALL beyond MAX_DEPTH frames is not pushed, and the
 * RET that matches it pops nothing.
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

#define KERNEL_MIN	0xffff800000000000ULL
#define MAX_DEPTH	256

static const uint8_t marker_start[] = { PROFILE_MARKER_START };
static const uint8_t marker_stop[] = { PROFILE_MARKER_STOP };

/* One translated block: its index, its instructions' addresses. */
struct block {
	guint index;
	bool kernel;
	size_t n_insns;
	uint64_t *insn_vaddr;
};

/* A shadow stack is a node of a tree of frames; node 0 is the empty stack. */
struct node {
	guint parent;
	guint depth;
	uint64_t ret;
};

/* A (block, stack) pair's executions in the window; key is its own hash key. */
struct count {
	uint64_t key;
	uint64_t execs;
};

/* Each written by its own vCPU thread only. */
struct vcpu {
	bool counting;
	guint stack[2];		/* [kernel]: the current node */
	bool ret_pending[2];	/* a RET ran; the next block is where it went */
	unsigned int overflow[2];	/* CALLs not pushed: past MAX_DEPTH */
	bool in_user;		/* the last block was at a user address */
	uint64_t vmrun_next;	/* the instruction after the last VMRUN */
	GHashTable *counts;	/* struct count by key (block index << 32 | node) */
};

static GMutex lock;
static GPtrArray *blocks;	/* every block ever translated, under lock */
static GArray *nodes;		/* struct node, under lock */
static GHashTable *node_ids;	/* (parent, ret) -> node + 1, under lock */
static struct vcpu *vcpus;	/* [max_vcpus] */
static int max_vcpus;
static unsigned int window;
static char *out_path;

static guint node_key_hash(gconstpointer k)
{
	const struct node *n = k;

	return g_int64_hash(&n->ret) ^ (n->parent * 2654435761u);
}

static gboolean node_key_equal(gconstpointer a, gconstpointer b)
{
	const struct node *x = a, *y = b;

	return x->parent == y->parent && x->ret == y->ret;
}

/* Push RET on PARENT into *TOP; false if the stack is full. */
static bool push(guint parent, uint64_t ret, guint *top)
{
	struct node key = { .parent = parent, .ret = ret }, *n;
	gpointer id;

	g_mutex_lock(&lock);
	id = g_hash_table_lookup(node_ids, &key);
	if (!id && g_array_index(nodes, struct node, parent).depth < MAX_DEPTH) {
		key.depth = g_array_index(nodes, struct node, parent).depth + 1;
		g_array_append_val(nodes, key);
		n = g_memdup2(&key, sizeof(key));
		id = GUINT_TO_POINTER(nodes->len);	/* index + 1 */
		g_hash_table_insert(node_ids, n, id);
	}
	g_mutex_unlock(&lock);
	if (id)
		*top = GPOINTER_TO_UINT(id) - 1;
	return id != NULL;
}

/* The stack after a RET from TOP that went to PC. */
static guint unwind(guint top, uint64_t pc)
{
	guint n;

	g_mutex_lock(&lock);
	for (n = top; n; n = g_array_index(nodes, struct node, n).parent)
		if (g_array_index(nodes, struct node, n).ret == pc)
			break;
	n = g_array_index(nodes, struct node, n ? n : top).parent;
	g_mutex_unlock(&lock);
	return n;
}

/* Count keys are index << 32 | node: mix them, or g_int64_hash folds them to index ^ node. */
static guint count_hash(gconstpointer k)
{
	uint64_t x = *(const uint64_t *)k * 0x9e3779b97f4a7c15ULL;

	return x >> 32;
}

static void block_exec(unsigned int vcpu_index, void *udata)
{
	struct block *b = udata;
	struct vcpu *v = &vcpus[vcpu_index];
	struct count *c;
	uint64_t key;

	if (!v->counting)
		return;
	if (!b->n_insns)
		return;
	if (b->kernel && v->in_user && b->insn_vaddr[0] != v->vmrun_next) {
		v->stack[1] = 0;
		v->ret_pending[1] = false;
		v->overflow[1] = 0;
	}
	if (b->kernel && v->in_user)
		v->vmrun_next = 0;
	v->in_user = !b->kernel;
	if (v->ret_pending[b->kernel]) {
		v->ret_pending[b->kernel] = false;
		v->stack[b->kernel] = unwind(v->stack[b->kernel], b->insn_vaddr[0]);
	}
	key = (uint64_t)b->index << 32 | v->stack[b->kernel];
	c = g_hash_table_lookup(v->counts, &key);
	if (!c) {
		c = g_new0(struct count, 1);
		c->key = key;
		g_hash_table_insert(v->counts, &c->key, c);
	}
	c->execs++;
}

static void call_exec(unsigned int vcpu_index, void *udata)
{
	struct vcpu *v = &vcpus[vcpu_index];
	uint64_t ret = (uintptr_t)udata;
	bool kernel = ret >= KERNEL_MIN;

	if (!v->counting)
		return;
	if (v->overflow[kernel] || !push(v->stack[kernel], ret, &v->stack[kernel]))
		v->overflow[kernel]++;
}

static void vmrun_exec(unsigned int vcpu_index, void *udata)
{
	vcpus[vcpu_index].vmrun_next = (uintptr_t)udata;
}

static void ret_exec(unsigned int vcpu_index, void *udata)
{
	struct vcpu *v = &vcpus[vcpu_index];

	bool kernel = udata != NULL;

	if (!v->counting)
		return;
	if (v->overflow[kernel])
		v->overflow[kernel]--;
	else
		v->ret_pending[kernel] = true;
}

/* Write vcpu's window to OUT.N, and reset it. */
static void dump_window(struct vcpu *v)
{
	GHashTable *used = g_hash_table_new(g_direct_hash, g_direct_equal);
	GHashTableIter it;
	gpointer value;
	char *path, *tmp;
	FILE *f;

	g_mutex_lock(&lock);
	path = g_strdup_printf("%s.%u", out_path, window++);
	tmp = g_strdup_printf("%s.tmp", path);
	/* Written whole, then renamed: a reader never sees half a window. */
	f = fopen(tmp, "w");
	if (f) {
		g_hash_table_iter_init(&it, v->counts);
		while (g_hash_table_iter_next(&it, NULL, &value)) {
			guint n = ((struct count *)value)->key & 0xffffffff;

			for (; n && !g_hash_table_contains(used, GUINT_TO_POINTER(n));
			     n = g_array_index(nodes, struct node, n).parent) {
				struct node *nd = &g_array_index(nodes, struct node, n);

				g_hash_table_add(used, GUINT_TO_POINTER(n));
				fprintf(f, "@%u %u %" PRIx64 "\n", n, nd->parent, nd->ret);
			}
		}
		g_hash_table_iter_init(&it, v->counts);
		while (g_hash_table_iter_next(&it, NULL, &value)) {
			struct count *c = value;
			struct block *b = g_ptr_array_index(blocks, c->key >> 32);

			for (size_t j = 0; j < b->n_insns; j++)
				fprintf(f, "%" PRIx64 " %" PRIu64 " %u\n", b->insn_vaddr[j], c->execs,
					(guint)(c->key & 0xffffffff));
		}
		fprintf(f, "end\n");
	}
	g_mutex_unlock(&lock);
	if (!f || ferror(f) | fclose(f) || rename(tmp, path)) {
		/* stderr reaches QEMU's log; the missing window fails the case. */
		fprintf(stderr, "insn_profile: cannot write %s\n", path);
		unlink(tmp);
	}
	g_hash_table_remove_all(v->counts);
	g_hash_table_destroy(used);
	g_free(tmp);
	g_free(path);
}

static void marker_exec(unsigned int vcpu_index, void *udata)
{
	struct vcpu *v = &vcpus[vcpu_index];

	if (udata) {
		/* A window whose stop marker never ran (its process died) is dropped. */
		g_hash_table_remove_all(v->counts);
		v->stack[0] = v->stack[1] = 0;
		v->ret_pending[0] = v->ret_pending[1] = false;
		v->overflow[0] = v->overflow[1] = 0;
		v->in_user = true;
		v->counting = true;
	} else if (v->counting) {
		v->counting = false;
		dump_window(v);
	}
}

static bool legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf2: case 0xf3:
		return true;
	}
	return false;
}

/* CALL (E8, FF /2), VMRUN (0F 01 D8) or RET (C3, C2): 1, 2, -1, else 0. */
static int insn_flow(const uint8_t *p, size_t n)
{
	size_t i = 0;

	if (n == 3 && p[0] == 0x0f && p[1] == 0x01 && p[2] == 0xd8)
		return 2;

	while (i < n && legacy_prefix(p[i]))
		i++;
	if (i < n && (p[i] & 0xf0) == 0x40)
		i++;
	if (i >= n)
		return 0;
	if (p[i] == 0xe8 || (p[i] == 0xff && i + 1 < n && ((p[i + 1] >> 3) & 7) == 2))
		return 1;
	return p[i] == 0xc3 || p[i] == 0xc2 ? -1 : 0;
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
	for (size_t i = 0; i < b->n_insns; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t end;
		int flow;

		b->insn_vaddr[i] = qemu_plugin_insn_vaddr(insn);
		end = b->insn_vaddr[i] + qemu_plugin_insn_size(insn);
		flow = insn_flow(qemu_plugin_insn_data(insn), qemu_plugin_insn_size(insn));
		if (is_marker(insn, marker_start, sizeof(marker_start)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, marker_exec,
							       QEMU_PLUGIN_CB_NO_REGS, (void *)1);
		else if (is_marker(insn, marker_stop, sizeof(marker_stop)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, marker_exec,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
		else if (flow == 2 && b->insn_vaddr[i] >= KERNEL_MIN)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, vmrun_exec, QEMU_PLUGIN_CB_NO_REGS,
							       (void *)(uintptr_t)end);
		else if (flow > 0)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, call_exec, QEMU_PLUGIN_CB_NO_REGS,
							       (void *)(uintptr_t)end);
		else if (flow < 0)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, ret_exec, QEMU_PLUGIN_CB_NO_REGS,
							       b->insn_vaddr[i] >= KERNEL_MIN ?
							       (void *)1 : NULL);
	}
	b->kernel = b->n_insns && b->insn_vaddr[0] >= KERNEL_MIN;
	g_mutex_lock(&lock);
	b->index = blocks->len;
	g_ptr_array_add(blocks, b);
	g_mutex_unlock(&lock);
	qemu_plugin_register_vcpu_tb_exec_cb(tb, block_exec, QEMU_PLUGIN_CB_NO_REGS, b);
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
	vcpus = g_new0(struct vcpu, max_vcpus);
	for (int i = 0; i < max_vcpus; i++)
		vcpus[i].counts = g_hash_table_new_full(count_hash, g_int64_equal, NULL, g_free);
	blocks = g_ptr_array_new();
	nodes = g_array_new(FALSE, TRUE, sizeof(struct node));
	g_array_set_size(nodes, 1);
	node_ids = g_hash_table_new_full(node_key_hash, node_key_equal, g_free, NULL);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	return 0;
}
