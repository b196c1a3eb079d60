#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn an insn_profile window (lines "ADDRESS COUNT") into folded stacks.

Each address becomes the chain of functions that DWARF says it is in,
inlined ones included (addr2line -i), under a root: "kernel" for the lab
kernel's addresses, "bench" for the benchmark binary (its user space and
the nested guest's code, which the KVM selftest library runs from the same
image). The profile has no call stacks: the TCG plugin API of QEMU 7.2
cannot read registers, so a frame's callers are only those inlined into it.

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


def read_window(lines):
    """'ADDRESS COUNT' lines -> {address: count}."""
    counts = {}
    for n, line in enumerate(lines, 1):
        f = line.split()
        if not f:
            continue
        try:
            addr, count = int(f[0], 16), int(f[1])
        except (ValueError, IndexError):
            raise InputError(f'window line {n}: expected "HEXADDRESS COUNT"')
        counts[addr] = counts.get(addr, 0) + count
    return counts


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


def fold(counts, kernel_frames, user_frames):
    """{address: count} and both images' frames -> {folded stack: count}."""
    stacks = {}
    for addr, count in counts.items():
        if addr >= KERNEL_MIN:
            chain = ['kernel'] + (kernel_frames.get(addr) or ['[unknown]'])
        elif user_frames.get(addr):
            chain = ['bench'] + user_frames[addr]
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
    """Instructions in any of functions or what is inlined into them (each
    counted once; the root is no function)."""
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
            counts = read_window(f)
        if not counts:
            raise InputError(f'{a.window}: an empty window')
        stacks = fold(counts, *symbolize_images(counts, a.vmlinux, a.elf))
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
