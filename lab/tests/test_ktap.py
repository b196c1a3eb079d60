# SPDX-License-Identifier: GPL-2.0
"""lab/ktap.sh, the one TAP printer of the test stages, and the totals
reader lab/test.sh adds them up with; run by POSIX sh, as in a guest."""
import os
import subprocess
import unittest

KTAP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'ktap.sh')


def sh(script, stdin=''):
    return subprocess.run(['sh', '-c', f'. {KTAP}\n{script}'], input=stdin,
                          capture_output=True, text=True, timeout=30)


class Ktap(unittest.TestCase):
    def test_cases_plan_and_totals(self):
        r = sh('ktap_print_header\n'
               'ktap_test_pass "a"\n'
               'ktap_test_fail "b" "why b failed"\n'
               'ktap_test_skip "c" "no PKU"\n'
               'ktap_test_xfail "d" "a known failure"\n'
               'ktap_test_result "e" "[ 1 = 1 ]"\n'
               'ktap_test_result "f" "false"\n'
               'ktap_finished plan')
        self.assertEqual(r.stdout.splitlines(), [
            'TAP version 13', 'ok 1 a', 'not ok 2 b', '# why b failed', 'ok 3 c # SKIP no PKU',
            'ok 4 d # XFAIL a known failure', 'ok 5 e', 'not ok 6 f', '1..6',
            '# Totals: pass:2 fail:2 xfail:1 xpass:0 skip:1 error:0'])
        self.assertEqual(r.returncode, 1)
        r = sh('ktap_set_plan 1\nktap_test_pass "only"\nktap_finished')
        self.assertEqual(r.stdout.splitlines(),
                         ['1..1', 'ok 1 only', '# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0'])
        self.assertEqual(r.returncode, 0)

    def test_read_totals_takes_the_last_line(self):
        out = ('ok 1 x\n# Totals: pass:9 fail:9 xfail:0 xpass:0 skip:0 error:0\n'
               '# # Totals: pass:7 fail:0 xfail:0 xpass:0 skip:0 error:0\n'
               '# Totals: pass:3 fail:1 xfail:2 xpass:1 skip:4 error:1\n')
        r = sh('ktap_read_totals', out)
        self.assertEqual((r.returncode, r.stdout), (0, '3 3 6\n'))
        for bad in ('ok 1 x\n', '# Totals: pass:x fail:0\n', '# Totals: pass:1 lost:2\n'):
            r = sh('ktap_read_totals', bad)
            self.assertEqual((r.returncode, r.stdout), (1, ''), bad)


if __name__ == '__main__':
    unittest.main()
