# SPDX-License-Identifier: GPL-2.0
"""selftests/run.sh: its failure paths."""
import os
import unittest

from test_scripts import Case, sh

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class SelftestRun(Case):
    def test_missing_binary(self):
        b = os.path.join(self.d, 'build')
        st = os.path.join(b, 'patched/selftests')
        os.makedirs(st)
        open(os.path.join(b, 'patched/bzImage'), 'w').close()
        self.write_list(st, 'upstream x86_64/gone_test 120\n')
        r = sh([os.path.join(HERE, 'run.sh'), 'patched'],
               env={'BUILD_DIR': b, 'RESULTS_DIR': os.path.join(self.d, 'results')})
        self.assertOneLineError(r, 'selftest binary missing')
        self.assertEqual(os.listdir(os.path.join(self.d, 'results'))
                         if os.path.exists(os.path.join(self.d, 'results')) else [], [])

    def write_list(self, d, body):
        with open(os.path.join(d, 'tests.list'), 'w') as f:
            f.write(body)


if __name__ == '__main__':
    unittest.main()
