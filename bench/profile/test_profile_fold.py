# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the emulator profile's folding (bench/profile/profile_fold.py)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import profile_fold as pf  # noqa: E402

# addr2line -a -f -i: innermost frame first, then what it is inlined into.
ADDR2LINE = """0xffffffff81000010
kvm_load_guest_xfeatures
x86.c:1100
vcpu_enter_guest
x86.c:10900
vcpu_run
x86.c:11200
0xffffffff81000020
__svm_vcpu_run
vmenter.S:170
0xffffffff81000030
??
??:0
"""


class FoldTest(unittest.TestCase):
    def test_window(self):
        w = pf.read_window(['ffffffff81000010 3 0', '401000 2 0', 'ffffffff81000010 1 0', 'end'])
        self.assertEqual(w, ({(0xffffffff81000010, 0): 4, (0x401000, 0): 2}, {}))
        w = pf.read_window(['@1 0 ffffffff81000a05\n', '@2 1 ffffffff81000b0a\n',
                            'ffffffff81000010 3 2\n', 'ffffffff81000010 1 1\n', 'end\n'])
        self.assertEqual(pf.stack(w, 2), [0xffffffff81000a05, 0xffffffff81000b0a])
        self.assertEqual(pf.flatten(w), ({(0xffffffff81000010, 0): 4}, {}))
        self.assertEqual(pf.addresses(w), {0xffffffff81000010, 0xffffffff81000a04,
                                           0xffffffff81000b09})
        for bad in (['zz 1 0', 'end'], ['401000 1', 'end'], ['401000 x 0', 'end'],
                    ['401000 1 3', 'end'], ['@1 1 10', '401000 1 1', 'end'], ['@x 0 10', 'end'],
                    ['-10 3 0', 'end'], ['401000 -5 0', 'end'], ['@1 0 0', 'end'],
                    ['@1 0 10', '@1 0 20', 'end'], ['401000 1 0 7', 'end'], ['401000 1_0 0', 'end'],
                    ['401000 1 0'], ['end', '401000 1 0']):
            with self.assertRaises(pf.InputError, msg=bad):
                pf.read_window(bad)

    def test_a_window_that_is_not_text_is_one_error(self):
        with tempfile.TemporaryDirectory() as d:
            w = os.path.join(d, 'w')
            with open(w, 'wb') as f:
                f.write(b'401000 1 0\n\xff\xfe\nend\n')
            with open(w) as f, self.assertRaises(pf.InputError):
                pf.read_window(f)

    def test_addr2line_inline_chain_is_outermost_first(self):
        f = pf.parse_addr2line(ADDR2LINE)
        self.assertEqual(f[0xffffffff81000010],
                         ['vcpu_run', 'vcpu_enter_guest', 'kvm_load_guest_xfeatures'])
        self.assertEqual(f[0xffffffff81000020], ['__svm_vcpu_run'])
        self.assertEqual(f[0xffffffff81000030], [])
        with self.assertRaises(pf.InputError):
            pf.parse_addr2line('vcpu_run\nx86.c:1\n')

    def test_fold_roots_and_per_function_sums(self):
        counts = {(0xffffffff81000010, 0): 5, (0xffffffff81000020, 0): 7,
                  (0xffffffff81000030, 0): 1, (0x401000, 0): 2, (0x7f0000000000, 0): 3}
        stacks = pf.fold((counts, {}), pf.parse_addr2line(ADDR2LINE), {0x401000: ['guest_code']})
        self.assertEqual(stacks, {
            'kernel;vcpu_run;vcpu_enter_guest;kvm_load_guest_xfeatures': 5,
            'kernel;__svm_vcpu_run': 7, 'kernel;[unknown]': 1,
            'bench;guest_code': 2, '[unknown]': 3})
        self.assertEqual(pf.total(stacks), 18)
        # Own code plus what is inlined into it; the root is no function.
        self.assertEqual(pf.inclusive(stacks, 'vcpu_enter_guest'), 5)
        self.assertEqual(pf.inclusive(stacks, 'kernel'), 0)
        self.assertEqual(pf.inclusive_any(stacks, ['vcpu_run', 'vcpu_enter_guest',
                                                   '__svm_vcpu_run']), 12)

    def test_fold_puts_the_calls_of_the_stack_above_the_leaf(self):
        # __svm_vcpu_run called from an inlined site in vcpu_enter_guest (the
        # call ends at ...11, so its last byte ...10 is symbolized).
        w = ({(0xffffffff81000020, 1): 7, (0xffffffff81000020, 0): 1, (0x401000, 2): 2},
             {1: (0, 0xffffffff81000011), 2: (0, 0x401100)})
        stacks = pf.fold(w, pf.parse_addr2line(ADDR2LINE), {0x401000: ['guest_code']})
        self.assertEqual(stacks, {
            'kernel;vcpu_run;vcpu_enter_guest;kvm_load_guest_xfeatures;__svm_vcpu_run': 7,
            'kernel;__svm_vcpu_run': 1, 'bench;[unknown];guest_code': 2})
        self.assertEqual(pf.inclusive(stacks, 'vcpu_enter_guest'), 7)
        flat = pf.fold(pf.flatten(w), pf.parse_addr2line(ADDR2LINE), {0x401000: ['guest_code']})
        self.assertEqual(pf.inclusive(flat, 'vcpu_enter_guest'), 0)

    def test_folded_round_trip(self):
        self.assertEqual(pf.read_folded(['a;b 3\n', 'a;b 2\n', 'a 1\n']), {'a;b': 5, 'a': 1})
        with self.assertRaises(pf.InputError):
            pf.read_folded(['a;b three'])

    @unittest.skipUnless(shutil.which('addr2line') and shutil.which('gcc'),
                         'needs binutils and gcc')
    def test_symbolize_a_real_binary(self):
        with tempfile.TemporaryDirectory() as d:
            src, elf = os.path.join(d, 'p.c'), os.path.join(d, 'p')
            with open(src, 'w') as f:
                f.write('int work(int x) { return x * 3; }\nint main(void) { return work(2); }\n')
            subprocess.run(['gcc', '-g', '-O0', '-o', elf, src], check=True)
            nm = subprocess.run(['nm', elf], capture_output=True, text=True, check=True).stdout
            addr = int(next(ln.split()[0] for ln in nm.splitlines() if ln.endswith(' work')), 16)
            self.assertEqual(pf.symbolize([addr], elf), {addr: ['work']})
            with self.assertRaises(pf.InputError):
                pf.symbolize([addr], os.path.join(d, 'missing'))

    def test_cli_bad_input_is_one_line(self):
        with tempfile.TemporaryDirectory() as d:
            w = os.path.join(d, 'w')
            with open(w, 'w') as f:
                f.write('end\n')
            r = subprocess.run([sys.executable, pf.__file__, '--window', w, '--vmlinux', w,
                                '--elf', w, '--out', os.path.join(d, 'o')],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 2)
            self.assertEqual(r.stderr.count('\n'), 1)
            self.assertIn('empty window', r.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, 'o')))


if __name__ == '__main__':
    unittest.main()
