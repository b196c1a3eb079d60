#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn an insn_profile window into folded stacks.

A window has "@NODE PARENT RETURN" lines, the plugin's shadow call stacks
(node 0 is the empty stack), and "ADDRESS COUNT NODE" lines. Each address
becomes the chain of functions that DWARF says it is in, inlined ones
included (addr2line -i), under the functions of the calls on its stack
(each return address minus one, the call's last byte, is symbolized the
same way), under a root: "kernel" for the lab kernel's addresses, "bench"
for the benchmark binary (its user space and the nested guest's code,
which the KVM selftest library runs from the same image).

  profile_fold.py --window W --vmlinux V --elf E --out OUT.folded
"""

import argparse
import os
import re
import subprocess
import sys

KERNEL_MIN = 0xffff800000000000
ADDR_RE = re.compile(r'^0x[0-9a-f]+$')


class InputError(Exception):
    pass


NODE_RE = re.compile(r'^@([1-9][0-9]*) (0|[1-9][0-9]*) ([0-9a-f]+)$')
COUNT_RE = re.compile(r'^([0-9a-f]+) ([0-9]+) (0|[1-9][0-9]*)$')


def read_window(lines):
    """A window's lines -> ({(address, node): count}, {node: (parent, return)}).
    The plugin ends a window with "end": without it, it was cut short."""
    counts, nodes, ended = {}, {}, False
    try:
        for n, line in enumerate(lines, 1):
            line = line.rstrip('\n')
            if ended:
                raise InputError(f'window line {n}: after "end"')
            if line == 'end':
                ended = True
                continue
            m = NODE_RE.match(line)
            if m:
                node, parent, ret = int(m[1]), int(m[2]), int(m[3], 16)
                if node in nodes or not ret:
                    raise InputError(f'window line {n}: node {node} twice, or return address 0')
                nodes[node] = (parent, ret)
                continue
            m = COUNT_RE.match(line)
            if not m:
                raise InputError(f'window line {n}: expected "HEXADDRESS COUNT NODE", '
                                 '"@NODE PARENT HEXRETURN" or "end"')
            key = (int(m[1], 16), int(m[3]))
            counts[key] = counts.get(key, 0) + int(m[2])
    except UnicodeDecodeError:
        raise InputError('window: not text')
    if not ended:
        raise InputError('window: no "end" line (cut short)')
    for _, node in counts:
        stack((counts, nodes), node)
    return counts, nodes


def stack(window, node):
    """The return addresses of a shadow stack, outermost first."""
    nodes, out, seen = window[1], [], set()
    while node:
        if node in seen or node not in nodes:
            raise InputError(f'window: stack node {node} is missing or in a loop')
        seen.add(node)
        node, ret = nodes[node]
        out.append(ret)
    return out[::-1]


def flatten(window):
    """The same window without its call stacks."""
    counts = {}
    for (addr, _), c in window[0].items():
        counts[(addr, 0)] = counts.get((addr, 0), 0) + c
    return counts, {}


def addresses(window):
    """Every address a window needs symbolized: its instructions, its calls."""
    return {a for a, _ in window[0]} | {ret - 1 for _, ret in window[1].values()}


def parse_addr2line(text):
    """addr2line -a -f -i output -> {address: [outermost, ..., innermost]}."""
    frames = {}
    addr = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if ADDR_RE.match(line):
            addr = int(line, 16)
            frames[addr] = []
            i += 1
            continue
        if addr is None:
            raise InputError(f'addr2line output line {i + 1}: no address before it')
        # A function line, then its file:line.
        if line != '??':
            frames[addr].insert(0, line)
        i += 2
    return frames


def symbolize(addrs, elf):
    """{address: frames} for addrs in elf, through addr2line (binutils)."""
    if not addrs:
        return {}
    if not os.path.isfile(elf):
        raise InputError(f'no such file: {elf}')
    r = subprocess.run(['addr2line', '-a', '-f', '-i', '-e', elf],
                       input=''.join(f'{a:#x}\n' for a in addrs),
                       capture_output=True, text=True, check=False)
    if r.returncode:
        raise InputError(f'addr2line failed on {elf}: {r.stderr.strip()[:200]}')
    return parse_addr2line(r.stdout)


def symbolize_images(addrs, vmlinux, elf):
    """(kernel, user) frames of addrs: the kernel's from vmlinux, the rest from elf."""
    return (symbolize(sorted(x for x in addrs if x >= KERNEL_MIN), vmlinux),
            symbolize(sorted(x for x in addrs if x < KERNEL_MIN), elf))


def fold(window, kernel_frames, user_frames):
    """A window and both images' frames -> {folded stack: count}."""
    def frames(addr):
        f = (kernel_frames if addr >= KERNEL_MIN else user_frames).get(addr)
        return f or ['[unknown]']

    stacks = {}
    for (addr, node), count in window[0].items():
        if addr >= KERNEL_MIN:
            root = 'kernel'
        elif user_frames.get(addr):
            root = 'bench'
        else:
            root = None
        if root:
            chain = [root] + [fn for ret in stack(window, node) for fn in frames(ret - 1)]
            chain += frames(addr)
        else:
            chain = ['[unknown]']
        key = ';'.join(chain)
        stacks[key] = stacks.get(key, 0) + count
    return stacks


def read_folded(lines):
    """Folded lines 'a;b;c COUNT' -> {stack: count}."""
    stacks = {}
    for n, line in enumerate(lines, 1):
        stack, _, count = line.rstrip('\n').rpartition(' ')
        if not stack or not count.isdigit():
            raise InputError(f'folded line {n}: expected "frame;frame COUNT"')
        stacks[stack] = stacks.get(stack, 0) + int(count)
    return stacks


def inclusive_any(stacks, functions):
    """Instructions in any of functions, what is inlined into them and, if
    the stacks have calls, what they call (each counted once; the root is no
    function). Of a flattened window: a function's own code and inlines."""
    names = set(functions)
    return sum(c for s, c in stacks.items() if names.intersection(s.split(';')[1:]))


def inclusive(stacks, function):
    return inclusive_any(stacks, [function])


def total(stacks):
    return sum(stacks.values())


def main(argv=None):
    ap = argparse.ArgumentParser(description='Fold an insn_profile window into stacks.')
    ap.add_argument('--window', required=True)
    ap.add_argument('--vmlinux', required=True)
    ap.add_argument('--elf', required=True, help='the benchmark binary')
    ap.add_argument('--out', required=True)
    a = ap.parse_args(argv)
    try:
        with open(a.window) as f:
            window = read_window(f)
        if not window[0]:
            raise InputError(f'{a.window}: an empty window')
        stacks = fold(window, *symbolize_images(addresses(window), a.vmlinux, a.elf))
    except (InputError, OSError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    tmp = a.out + '.tmp'
    with open(tmp, 'w') as f:
        for s in sorted(stacks):
            f.write(f'{s} {stacks[s]}\n')
    os.replace(tmp, a.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
