#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tcg_fault.py QEMU_INT_LOG [-o EXCERPT]: find QEMU TCG's spurious
instruction-fetch page fault in a `qemu -d int` log.

Under TCG, the first instruction fetched after an SVM world switch
sometimes faults although its page is mapped (docs/reliability.md,
section 2). Two shapes are seen, on the baseline and the patched kernel:
  - the host kernel: a not-present fetch fault at its own text (CR2 = RIP
    >= 0xffffffff80000000, CPL 0), which kernel text can never take;
  - a selftest guest: a reserved-bit fetch fault (error code bits 3 and 4)
    at its RIP, although its page tables have no reserved bit set, or a
    not-present fetch fault at its RIP (rseq_test's triple faults): the
    guest runs at CPL 0 from identity-mapped, always-present code, and
    the host kernel never executes from the lower half.
Prints one line naming the first such fault and exits 0, or exits 1 when
there is none. -o writes the log lines around it.
"""
import argparse
import collections
import itertools
import os
import re
import sys

# "  8738: v=0e e=0018 i=0 cpl=0 IP=0008:000000000040254f pc=... CR2=..."
RECORD = re.compile(r'^\s*(\d+): v=([0-9a-f]+) e=([0-9a-f]+) i=\d cpl=(\d) '
                    r'IP=[0-9a-f]+:[0-9a-f]+ pc=([0-9a-f]+) .*?(?:CR2=([0-9a-f]+))?\s*$')
KERNEL_TEXT = 0xffffffff80000000
USER_HALF_END = 0x0000800000000000
PF_RSVD, PF_INSTR = 0x08, 0x10


def classify(vector, error, cpl, pc, cr2):
    """The shape of a spurious fetch fault, or None."""
    if vector != 0x0e or cr2 != pc or not error & PF_INSTR:
        return None
    if error & PF_RSVD:
        return 'reserved bit on an instruction fetch'
    if cpl == 0 and not error & 0x01:
        if pc >= KERNEL_TEXT:
            return 'kernel text not present on an instruction fetch'
        if pc < USER_HALF_END:
            return 'guest code not present on a CPL-0 instruction fetch'
    return None


def scan(f, before=60, after=80):
    """(record match, shape, excerpt lines) of the first spurious fetch
    fault in the open log f, or None. The log can be large: it is read
    line by line."""
    recent = collections.deque(maxlen=before)
    for line in f:
        recent.append(line)
        m = RECORD.match(line)
        if not m or m.group(6) is None:
            continue
        shape = classify(int(m.group(2), 16), int(m.group(3), 16),
                         int(m.group(4)), int(m.group(5), 16), int(m.group(6), 16))
        if shape:
            return m, shape, list(recent) + list(itertools.islice(f, after))
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('log')
    ap.add_argument('-o', dest='excerpt', help='write the fault and the records around it here')
    args = ap.parse_args()
    try:
        with open(args.log, errors='replace') as f:
            found = scan(f)
    except OSError as e:
        print(f'error: cannot read {args.log}: {e.strerror}', file=sys.stderr)
        return 2
    if not found:
        return 1
    m, shape, excerpt = found
    print(f'QEMU TCG spurious page fault ({shape}): #PF error 0x{int(m.group(3), 16):x} '
          f'at RIP 0x{int(m.group(5), 16):x}, CPL {m.group(4)}, CR2 = RIP; '
          f'exception {m.group(1)} in the QEMU log')
    if args.excerpt:
        with open(args.excerpt + '.tmp', 'w') as f:
            f.writelines(excerpt)
        os.replace(args.excerpt + '.tmp', args.excerpt)
    return 0


if __name__ == '__main__':
    sys.exit(main())
