# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the selftest result judge."""
import io
import json
import os
import tempfile
import unittest
from contextlib import redirect_stdout, redirect_stderr

import ksft_summary as ks

TAP = """TAP version 13
1..5
# [1/5] x86_64/a_test (upstream, timeout 120s)
# time x86_64/a_test 1.5s rc=0
ok 1 x86_64/a_test
# time x86_64/b_test 0.2s rc=4
ok 2 x86_64/b_test # SKIP Requirement not met: kvm_cpu_has(X86_FEATURE_XSAVES)
# time x86_64/debug_regs 3.0s rc=254
not ok 3 x86_64/debug_regs # exit status 254
[   12.345678] random console noise
# time lazyswitch/c_test 120.0s rc=137
not ok 4 lazyswitch/c_test # TIMEOUT after 120s
"""
LIST = ['upstream x86_64/a_test 120', 'upstream x86_64/b_test 120',
        'upstream x86_64/debug_regs 120', 'lazyswitch lazyswitch/c_test 120',
        'upstream x86_64/never_ran 120']
KNOWN = ['# comment', '', 'x86_64/debug_regs tcg fail INT3 gives SHUTDOWN under TCG',
         'x86_64/a_test tcg fail listed but passes']


class ParseTest(unittest.TestCase):
    def test_tap(self):
        tap = ks.parse_tap(TAP.splitlines())
        self.assertEqual(set(tap), {'x86_64/a_test', 'x86_64/b_test',
                                    'x86_64/debug_regs', 'lazyswitch/c_test'})
        self.assertTrue(tap['x86_64/a_test']['ok'])
        self.assertEqual(tap['x86_64/debug_regs']['rc'], 254)
        self.assertEqual(tap['lazyswitch/c_test']['time'], 120.0)

    def test_list_rejects_garbage(self):
        with self.assertRaises(ks.InputError):
            ks.parse_list(['upstream x86_64/a_test'])
        with self.assertRaises(ks.InputError):
            ks.parse_list(['upstream x86_64/a_test soon'])

    def test_known_rejects_bad_fields(self):
        with self.assertRaises(ks.InputError):
            ks.parse_known(['x86_64/a tcg fail'])          # no reason
        with self.assertRaises(ks.InputError):
            ks.parse_known(['x86_64/a hvf fail reason'])   # bad accel
        with self.assertRaises(ks.InputError):
            ks.parse_known(['x86_64/a tcg broken reason'])  # bad kind


class JudgeTest(unittest.TestCase):
    def setUp(self):
        self.tests = ks.parse_list(LIST)
        self.tap = ks.parse_tap(TAP.splitlines())
        self.known = ks.parse_known(KNOWN)

    def status(self, recs):
        return {r['test']: r['status'] for r in recs}

    def test_tcg(self):
        recs = ks.judge(self.tests, self.tap, self.known, 'tcg')
        self.assertEqual(self.status(recs), {
            'x86_64/a_test': 'pass', 'x86_64/b_test': 'skip',
            'x86_64/debug_regs': 'xfail', 'lazyswitch/c_test': 'fail',
            'x86_64/never_ran': 'not-run'})
        by = {r['test']: r for r in recs}
        self.assertIn('XSAVES', by['x86_64/b_test']['detail'])
        self.assertIn('unexpected pass', by['x86_64/a_test']['detail'])
        self.assertIn('SHUTDOWN', by['x86_64/debug_regs']['detail'])
        self.assertEqual(ks.counts(recs), {'pass': 1, 'skip': 1, 'xfail': 1,
                                           'fail': 1, 'not-run': 1})

    def test_known_failure_is_per_accelerator(self):
        recs = ks.judge(self.tests, self.tap, self.known, 'kvm')
        self.assertEqual(self.status(recs)['x86_64/debug_regs'], 'fail')

    def test_tcg_system_entry_holds_only_on_debian_qemu(self):
        known = ks.parse_known(['x86_64/debug_regs tcg-system fail needs NRIP save'])
        self.assertEqual(self.status(ks.judge(self.tests, self.tap, known, 'tcg-system'))
                         ['x86_64/debug_regs'], 'xfail')
        self.assertEqual(self.status(ks.judge(self.tests, self.tap, known, 'tcg'))
                         ['x86_64/debug_regs'], 'fail')
        # A tcg entry holds on either QEMU.
        self.assertEqual(self.status(ks.judge(self.tests, self.tap, self.known, 'tcg-system'))
                         ['x86_64/debug_regs'], 'xfail')

    def test_timeout_entry_does_not_excuse_a_crash(self):
        known = ks.parse_known(['x86_64/debug_regs any timeout slow under TCG'])
        recs = ks.judge(self.tests, self.tap, known, 'tcg')
        self.assertEqual(self.status(recs)['x86_64/debug_regs'], 'fail')

    def test_timeout_with_budget(self):
        known = ks.parse_known(['lazyswitch/c_test tcg timeout=30 slow under TCG'])
        self.assertEqual(known['lazyswitch/c_test'][0]['kind'], 'timeout')
        recs = ks.judge(self.tests, self.tap, known, 'tcg')
        self.assertEqual(self.status(recs)['lazyswitch/c_test'], 'xfail')
        self.assertEqual(known['lazyswitch/c_test'][0]['budget'], 30)
        with self.assertRaises(ks.InputError):
            ks.parse_known(['x86_64/a tcg timeout=0 zero budget'])

    def test_fail_with_budget_accepts_crash_and_timeout(self):
        known = ks.parse_known(['x86_64/debug_regs tcg fail=30 crashes or runs long',
                                'lazyswitch/c_test tcg fail=30 crashes or runs long'])
        self.assertEqual(known['x86_64/debug_regs'][0]['budget'], 30)
        st = self.status(ks.judge(self.tests, self.tap, known, 'tcg'))
        self.assertEqual((st['x86_64/debug_regs'], st['lazyswitch/c_test']), ('xfail', 'xfail'))
        with self.assertRaises(ks.InputError):
            ks.parse_known(['x86_64/a tcg sluggish=30 not a kind'])

    def test_match_excuses_only_its_signature(self):
        known = ks.parse_known([r'x86_64/debug_regs tcg fail=30 match=TIMEOUT|Guest\sfailed '
                                'times out, or the guest shuts down',
                                r'lazyswitch/c_test tcg fail=30 match=TIMEOUT|Guest\sfailed '
                                'times out, or the guest shuts down'])
        self.assertEqual(known['x86_64/debug_regs'][0]['reason'],
                         'times out, or the guest shuts down')
        with tempfile.TemporaryDirectory() as logs:
            # debug_regs: exit 254 with another message; c_test: TIMEOUT
            with open(os.path.join(logs, 'x86_64_debug_regs.log'), 'w') as f:
                f.write('==== Test Assertion Failure ====\n  rseq CPU = 1, sched CPU = 0\n')
            st = self.status(ks.judge(self.tests, self.tap, known, 'tcg', logs=logs))
            self.assertEqual((st['x86_64/debug_regs'], st['lazyswitch/c_test']),
                             ('fail', 'xfail'))
            with open(os.path.join(logs, 'x86_64_debug_regs.log'), 'w') as f:
                f.write('==== Test Assertion Failure ====\n  Guest failed?\n')
            st = self.status(ks.judge(self.tests, self.tap, known, 'tcg', logs=logs))
            self.assertEqual(st['x86_64/debug_regs'], 'xfail')
        # No logs: only the directive can match.
        st = self.status(ks.judge(self.tests, self.tap, known, 'tcg'))
        self.assertEqual(st['x86_64/debug_regs'], 'fail')
        # A tab ends the regex as a space does.
        tabbed = ks.parse_known(['x86_64/a tcg fail match=foo\tthe reason'])
        self.assertEqual(tabbed['x86_64/a'][0]['match'].pattern, 'foo')
        for bad in ('x86_64/a tcg fail match=( unbalanced', 'x86_64/a tcg fail match=x',
                    'x86_64/a tcg slow=60 match=x needs time, fails never'):
            with self.assertRaises(ks.InputError):
                ks.parse_known([bad])

    def test_expectation_tells_the_kernels_apart(self):
        tests = ks.parse_list(['lazyswitch lazyswitch/x_test:fast 120'])
        tap = ks.parse_tap(['ok 1 lazyswitch/x_test:fast'])
        exp = ks.parse_expected([
            '# comment', '',
            r'lazyswitch/x_test:fast patched,debug match=count:\sdeferred the series defers it',
            r'lazyswitch/x_test:fast baseline match=count:\sper\sentry vanilla switches always'])
        self.assertEqual(exp['lazyswitch/x_test:fast'][0]['flavours'], ['patched', 'debug'])
        with tempfile.TemporaryDirectory() as logs:
            with open(os.path.join(logs, 'lazyswitch_x_test:fast.log'), 'w') as f:
                f.write('ok 6 count: per entry, 1011 guest switches for 1011 entries\n')
            base, = ks.judge(tests, tap, {}, 'tcg', 'baseline', logs, exp)
            self.assertEqual((base['status'], base['detail']), ('pass', ''))
            # The same log on patched: the series' behaviour is missing.
            pat, = ks.judge(tests, tap, {}, 'tcg', 'patched', logs, exp)
            self.assertEqual(pat['status'], 'fail')
            self.assertIn('expected on patched: the series defers it', pat['detail'])
        # A log that is missing is said, not searched.
        nolog, = ks.judge(tests, tap, {}, 'tcg', 'patched', '/nonexistent', exp)
        self.assertEqual(nolog['status'], 'fail')
        self.assertIn('(no log to check it against)', nolog['detail'])
        # No expectation for a flavour (or no file): judged as before.
        self.assertEqual(ks.judge(tests, tap, {}, 'tcg', 'patched')[0]['status'], 'pass')
        for bad in ('lazyswitch/x_test patched nomatch the reason',
                    'lazyswitch/x_test vanilla match=x the reason',
                    'lazyswitch/x_test patched match=( the reason',
                    'lazyswitch/x_test patched match=x',
                    'lazyswitch/x_test patched match= the reason'):
            with self.assertRaises(ks.InputError, msg=bad):
                ks.parse_expected([bad])
        with self.assertRaises(ks.InputError):
            ks.parse_expected(['a patched match=x one', 'a debug,patched match=y two'])

    def test_one_entry_per_test_accel_and_flavour(self):
        with self.assertRaises(ks.InputError):
            ks.parse_known(['x86_64/a tcg fail one', 'x86_64/a tcg flaky two'])
        ks.parse_known(['x86_64/a tcg fail one', 'x86_64/a tcg/debug slow=60 two',
                        'x86_64/a tcg-system flaky three'])

    def test_tcg_system_entry_wins_over_tcg_on_debian_qemu(self):
        known = ks.parse_known([r'x86_64/debug_regs tcg fail match=nothing\sseen only this',
                                'x86_64/debug_regs tcg-system fail any failure'])
        self.assertEqual(self.status(ks.judge(self.tests, self.tap, known, 'tcg-system'))
                         ['x86_64/debug_regs'], 'xfail')
        self.assertEqual(self.status(ks.judge(self.tests, self.tap, known, 'tcg'))
                         ['x86_64/debug_regs'], 'fail')

    def test_budgets_apply_per_accelerator(self):
        known = ks.parse_known(['lazyswitch/c_test tcg timeout=30 slow under TCG',
                                'x86_64/debug_regs tcg fail not a timeout'])
        self.assertEqual(ks.apply_budgets(LIST, known, 'tcg'),
                         [l.replace('c_test 120', 'c_test 30') for l in LIST])
        self.assertEqual(ks.apply_budgets(LIST, known, 'kvm'), LIST)

    def test_flavour_entry_applies_to_that_flavour_only(self):
        known = ks.parse_known(['lazyswitch/c_test tcg/debug timeout=30 slow with KASAN',
                                'x86_64/debug_regs tcg fail everywhere',
                                'x86_64/debug_regs tcg/debug flaky on debug only'])
        self.assertEqual(ks.apply_budgets(LIST, known, 'tcg', 'debug'),
                         [l.replace('c_test 120', 'c_test 30') for l in LIST])
        self.assertEqual(ks.apply_budgets(LIST, known, 'tcg', 'patched'), LIST)
        self.assertEqual(ks.apply_budgets(LIST, known, 'tcg'), LIST)
        self.assertEqual(ks.known_entry(known, 'x86_64/debug_regs', 'tcg', 'debug')['kind'], 'flaky')
        self.assertEqual(ks.known_entry(known, 'x86_64/debug_regs', 'tcg', 'patched')['kind'], 'fail')
        st = self.status(ks.judge(self.tests, self.tap, known, 'tcg', 'patched'))
        self.assertEqual(st['lazyswitch/c_test'], 'fail')
        st = self.status(ks.judge(self.tests, self.tap, known, 'tcg', 'debug'))
        self.assertEqual(st['lazyswitch/c_test'], 'xfail')
        for bad in ('x86_64/a tcg/nosuch fail x', 'x86_64/a kvm/ fail x'):
            with self.assertRaises(ks.InputError):
                ks.parse_known([bad])

    def test_slow_gets_its_budget_and_is_judged_normally(self):
        known = ks.parse_known(['lazyswitch/c_test tcg/debug slow=600 KASAN makes it slow',
                                'x86_64/a_test tcg slow=300 slow under TCG'])
        self.assertEqual(ks.apply_budgets(LIST, known, 'tcg', 'debug'),
                         [l.replace('c_test 120', 'c_test 600').replace('a_test 120', 'a_test 300')
                          for l in LIST])
        st = self.status(ks.judge(self.tests, self.tap, known, 'tcg', 'debug'))
        # c_test timed out: a slow entry does not excuse it; a_test passed
        # with no "unexpected pass" note.
        self.assertEqual(st['lazyswitch/c_test'], 'fail')
        recs = {r['test']: r for r in ks.judge(self.tests, self.tap, known, 'tcg', 'debug')}
        self.assertEqual((recs['x86_64/a_test']['status'], recs['x86_64/a_test']['detail']),
                         ('pass', ''))
        with self.assertRaises(ks.InputError):
            ks.parse_known(['x86_64/a tcg slow needs a budget'])

    def test_flaky_accepts_both(self):
        known = ks.parse_known(['x86_64/a_test any flaky races',
                                'x86_64/debug_regs any flaky races'])
        recs = ks.judge(self.tests, self.tap, known, 'tcg')
        st = self.status(recs)
        self.assertEqual((st['x86_64/a_test'], st['x86_64/debug_regs']), ('pass', 'xfail'))
        self.assertEqual([r['detail'] for r in recs if r['test'] == 'x86_64/a_test'], [''])

    def test_compare(self):
        recs = ks.judge(self.tests, self.tap, self.known, 'tcg')
        other = {'flavour': 'baseline', 'tests': [
            {'test': 'x86_64/a_test', 'status': 'pass'},
            {'test': 'lazyswitch/c_test', 'status': 'pass'}]}
        self.assertEqual(ks.compare(recs, other), [('lazyswitch/c_test', 'pass', 'fail')])


class MainTest(unittest.TestCase):
    def run_main(self, args):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = ks.main(args)
        return rc, out.getvalue(), err.getvalue()

    def files(self, d, tap=TAP, lst=LIST, known=KNOWN):
        paths = {}
        for name, body in (('tap', tap), ('list', '\n'.join(lst)), ('known', '\n'.join(known))):
            paths[name] = os.path.join(d, name)
            with open(paths[name], 'w') as f:
                f.write(body)
        return paths

    def test_json_round_trip_and_exit_status(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.files(d)
            js = os.path.join(d, 'summary.json')
            rc, out, _ = self.run_main(['--tap', p['tap'], '--list', p['list'],
                                        '--known', p['known'], '--accel', 'tcg',
                                        '--flavour', 'patched', '--json', js,
                                        '--meta', 'kernel_version=6.12.117'])
            self.assertEqual(rc, 1)
            s = json.load(open(js))
            self.assertEqual(s['counts']['not-run'], 1)
            self.assertEqual(s['meta'], {'kernel_version': '6.12.117'})
            self.assertFalse(os.path.exists(js + '.tmp'))
            self.assertIn('fail 1, not run 1', out)

    def test_todo_lists_the_tests_without_a_result(self):
        with tempfile.TemporaryDirectory() as d:
            tap = TAP + 'not ok 0 x86_64/e_test # guest hung in this test\n'
            lst = LIST + ['upstream x86_64/e_test 120', 'upstream x86_64/f_test 60']
            p = self.files(d, tap=tap, lst=lst)
            rc, out, _ = self.run_main(['todo', '--tap', p['tap'], '--list', p['list']])
            self.assertEqual((rc, out.splitlines()), (0, [l for l in LIST if 'never_ran' in l] +
                                                          ['upstream x86_64/f_test 60']))
            p = self.files(d, lst=['upstream t'])
            rc, out, err = self.run_main(['todo', '--tap', p['tap'], '--list', p['list']])
            self.assertEqual((rc, out), (2, ''))
            self.assertEqual(len(err.strip().splitlines()), 1)

    def test_budgets_command(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.files(d, known=['lazyswitch/c_test tcg timeout=30 slow'])
            rc, out, _ = self.run_main(['budgets', '--list', p['list'], '--known', p['known'],
                                        '--accel', 'tcg'])
            self.assertEqual(rc, 0)
            self.assertIn('lazyswitch lazyswitch/c_test 30', out.splitlines())
            p = self.files(d, known=['lazyswitch/c_test tcg timeout=0 slow'])
            rc, out, err = self.run_main(['budgets', '--list', p['list'], '--known', p['known'],
                                          '--accel', 'tcg'])
            self.assertEqual((rc, out), (2, ''))
            self.assertEqual(len(err.strip().splitlines()), 1)

    def test_all_good_exits_zero(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.files(d, tap='# time t 1.0s rc=0\nok 1 t\n', lst=['upstream t 5'], known=[])
            rc, _, _ = self.run_main(['--tap', p['tap'], '--list', p['list'], '--known',
                                      p['known'], '--accel', 'tcg', '--flavour', 'baseline'])
            self.assertEqual(rc, 0)

    def test_bad_input_is_one_line_and_exit_2(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.files(d, known=['x86_64/a tcg fail'])
            rc, out, err = self.run_main(['--tap', p['tap'], '--list', p['list'], '--known',
                                          p['known'], '--accel', 'tcg', '--flavour', 'patched'])
            self.assertEqual(rc, 2)
            self.assertEqual(len(err.strip().splitlines()), 1)
            self.assertTrue(err.startswith('error: known-failures line 1'))
            rc, _, err = self.run_main(['--tap', os.path.join(d, 'nope'), '--list', p['list'],
                                        '--known', p['known'], '--accel', 'tcg',
                                        '--flavour', 'patched'])
            self.assertEqual((rc, err.strip()), (2, f"error: no such file: {os.path.join(d, 'nope')}"))


if __name__ == '__main__':
    unittest.main()
