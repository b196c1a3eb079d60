#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Run the lab's unit tests; the last line is 'unit: N passed, N failed'."""
import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, os.path.dirname(here))
# Unit tests live with their code: the lab's here, the emulator profile's
# in bench/profile.
suite = unittest.TestSuite(unittest.defaultTestLoader.discover(d, pattern='test_*.py',
                                                               top_level_dir=d)
                           for d in (here, os.path.join(repo, 'bench', 'profile')))
res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
bad = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
print(f'unit: {res.testsRun - bad} passed, {bad} failed')
sys.exit(1 if bad else 0)
