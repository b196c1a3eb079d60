# SPDX-License-Identifier: GPL-2.0
"""Harness robustness without a VM: corrupted patches and bad stress input.

A corrupted patch (truncated hunk, garbage, a patch of the wrong file) must
fail tree.sh with one error line naming it, leave the tree pristine with no
applied-series marker, and the next run with a good series must apply
cleanly without any manual cleanup. The VM cases (a killed make bench, a
full disk, a hung guest) are in stress/robustness.sh.
"""
import os
import unittest

import test_scripts
from test_scripts import PATCH_GOOD, sh

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PRISTINE = 'line one\nline two\nline three\n'
CORRUPTIONS = {
    # The hunk stops halfway: patch(1) calls it malformed.
    'truncated': PATCH_GOOD.rsplit('\n', 3)[0] + '\n',
    'garbage': '\x00\x01 not a patch at all \xff\n' * 4,
    'wrong file': PATCH_GOOD.replace('arch/x86/kvm/x86.c', 'arch/x86/kvm/nope.c'),
}


class CorruptPatch(test_scripts.Tree):
    """On test_scripts.Tree's fake 6.12 tree (its own tests run there)."""

    def test_each_corruption_fails_cleanly_and_the_next_run_recovers(self):
        tree = os.path.join(self.build, 'patched/src')
        for name, body in CORRUPTIONS.items():
            with self.subTest(corruption=name):
                self.write(self.patches, '0003-corrupt.patch', body)
                r = self.tree('# === baseline ends here\n0001-good.patch\n0003-corrupt.patch\n')
                self.assertOneLineError(r, '0003-corrupt.patch')
                self.assertEqual(self.read(tree, 'arch/x86/kvm/x86.c'), PRISTINE)
                self.assertFalse(os.path.exists(os.path.join(tree, '.pc')))
                self.assertFalse(os.path.exists(os.path.join(tree, 'arch/x86/kvm/nope.c')))
                self.assertFalse(os.path.exists(os.path.join(self.build, 'patched/applied.sha')))
                self.assertEqual(self.read(self.ksrc, 'arch/x86/kvm/x86.c'), PRISTINE)

                r = self.tree('# === baseline ends here\n0001-good.patch\n')
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn('line two, patched', self.read(tree, 'arch/x86/kvm/x86.c'))


class StressArgs(unittest.TestCase):
    def run_stress(self, *args, env=None):
        e = {'BUILD_DIR': '/nonexistent/build'}
        e.update(env or {})
        return sh([os.path.join(HERE, 'stress.sh')] + list(args), env=e)

    def assertOneLine(self, r, text):
        self.assertNotEqual(r.returncode, 0)
        errs = [l for l in r.stderr.splitlines() if l.startswith('error:')]
        self.assertEqual(len(errs), 1, r.stderr)
        self.assertIn(text, errs[0])

    def test_bad_flavour_duration_case_and_missing_build(self):
        self.assertOneLine(self.run_stress('-f', 'vanilla'), 'unknown flavour')
        self.assertOneLine(self.run_stress('-d', '0'), 'bad duration')
        self.assertOneLine(self.run_stress('-c', 'nmi-storm nope'), "unknown case 'nope'")
        self.assertOneLine(self.run_stress('-f', 'debug'), 'make build-debug')


def load_tests(loader, tests, pattern):
    """Only this module's tests, not the ones CorruptPatch inherits."""
    suite = unittest.TestSuite()
    suite.addTest(CorruptPatch('test_each_corruption_fails_cleanly_and_the_next_run_recovers'))
    suite.addTests(loader.loadTestsFromTestCase(StressArgs))
    return suite


if __name__ == '__main__':
    unittest.main()
