#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Run every unit test of the project; the last line is
'unit: N passed, N failed'. Unit tests live with their code, each
component's in its tests/ folder (the emulator profile's beside it); the
lab's test helpers (test_scripts: Case, sh) serve them all."""
import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
DIRS = ['lab/tests', 'qemu/tests', 'selftests/tests', 'bench/harness/tests', 'bench/profile',
        'stress/tests', 'e2e/pvtimer/tests', 'lava/tests']
sys.path.insert(0, here)
suite = unittest.TestSuite()
for rel in DIRS:
    d = os.path.join(repo, rel)
    # The code under test sits in the folder above tests/.
    code = d if not rel.endswith('/tests') else os.path.dirname(d)
    sys.path.insert(0, code)
    suite.addTests(unittest.defaultTestLoader.discover(d, pattern='test_*.py', top_level_dir=d))
res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
bad = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
skipped = len(res.skipped)
print(f'# Totals: pass:{res.testsRun - bad - skipped} fail:{bad} xfail:0 xpass:0 '
      f'skip:{skipped} error:0')
print(f'unit: {res.testsRun - bad} passed, {bad} failed')
sys.exit(1 if bad else 0)
