#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Run the lab's unit tests; the last line is 'unit: N passed, N failed'."""
import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(here))
suite = unittest.defaultTestLoader.discover(here, pattern='test_*.py')
res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
bad = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
print(f'unit: {res.testsRun - bad} passed, {bad} failed')
sys.exit(1 if bad else 0)
