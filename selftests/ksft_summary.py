#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Judge one kselftest run of the lab: TAP + test list + known failures,
and what each kernel is expected to show (expected.txt).

Every listed test ends up as exactly one of:
  pass, skip (with the reason the test printed), xfail (a known failure,
  with the reason from the known-failures list), fail, or not-run.
Only fail and not-run fail the run. A known failure that passes is reported
as an unexpected pass and counted as passed.
"""

import argparse
import json
import os
import re
import sys

TAP_RE = re.compile(r'^(ok|not ok) (\d+) (\S+)(?: # (.*))?$')
TIME_RE = re.compile(r'^# time (\S+) ([0-9.]+)s rc=(\d+)$')
# slow is no failure: the test needs a longer budget there and is judged
# as any other.
KINDS = ('fail', 'flaky', 'timeout', 'slow')
# tcg-system: TCG on Debian's QEMU (QEMU=system), which lacks the lab
# QEMU's NRIP save. A tcg entry holds for both QEMUs.
ACCELS = ('tcg', 'tcg-system', 'kvm', 'any')
RUN_ACCELS = ('tcg', 'tcg-system', 'kvm')
FLAVOURS = ('baseline', 'patched', 'debug')


class InputError(Exception):
    pass


def parse_list(lines):
    """Lines 'origin path timeout' -> ordered list of (origin, path)."""
    tests = []
    for n, line in enumerate(lines, 1):
        f = line.split()
        if not f:
            continue
        if len(f) != 3 or not f[2].isdigit():
            raise InputError(f'test list line {n}: expected "origin path timeout"')
        tests.append((f[0], f[1]))
    return tests


def parse_known(lines):
    """Known-failures lines 'path accel[/flavour] kind [match=REGEX] reason...'
    -> {path: [entries]}. With match=, only a failure whose TAP directive or
    log matches REGEX (no spaces: use \\s) is the known one."""
    known = {}
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        f = line.split(None, 3)
        if len(f) < 4:
            raise InputError(f'known-failures line {n}: expected "test accel kind reason"')
        path, accel, kind, reason = f
        budget = None
        m = re.fullmatch(r'(\w+)=([1-9][0-9]*)', kind)
        if m:
            kind, budget = m.group(1), int(m.group(2))
        accel, slash, flavour = accel.partition('/')
        if accel not in ACCELS:
            raise InputError(f'known-failures line {n}: accel must be one of {", ".join(ACCELS)}')
        if slash and flavour not in FLAVOURS:
            raise InputError(f'known-failures line {n}: flavour after accel/ must be one of '
                             f'{", ".join(FLAVOURS)}')
        if kind not in KINDS:
            raise InputError(f'known-failures line {n}: kind must be one of '
                             f'{", ".join(KINDS)} (each may be KIND=SECONDS)')
        if kind == 'slow' and budget is None:
            raise InputError(f'known-failures line {n}: slow needs its budget (slow=SECONDS)')
        match = None
        if reason.startswith('match='):
            sig, reason = (reason.split(None, 1) + [''])[:2]
            try:
                match = re.compile(sig[len('match='):])
            except re.error as e:
                raise InputError(f'known-failures line {n}: bad match= regex: {e}')
            if not reason.strip() or not match.pattern:
                raise InputError(f'known-failures line {n}: match=REGEX needs a regex and a reason')
            if kind == 'slow':
                raise InputError(f'known-failures line {n}: slow is no failure: no match=')
        key = (accel, flavour or None)
        if any((e['accel'], e['flavour']) == key for e in known.get(path, [])):
            raise InputError(f'known-failures line {n}: a second entry for {path} on '
                             f'{accel}{slash}{flavour}')
        known.setdefault(path, []).append({'accel': accel, 'flavour': flavour or None,
                                           'kind': kind, 'reason': reason, 'budget': budget,
                                           'match': match})
    return known


def parse_expected(lines):
    """Expectation lines 'path flavour[,flavour...] match=REGEX reason...'
    -> {path: [entries]}: on those kernels, a test that passes must have
    printed a line matching REGEX (no spaces: use \\s)."""
    expected = {}
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        f = line.split(None, 3)
        if len(f) < 4 or not f[2].startswith('match=') or len(f[2]) == len('match='):
            raise InputError(f'expected line {n}: expected "test flavours match=REGEX reason"')
        path, fls, sig, reason = f
        fls = fls.split(',')
        if any(fl not in FLAVOURS for fl in fls):
            raise InputError(f'expected line {n}: flavours must be among {", ".join(FLAVOURS)}')
        try:
            match = re.compile(sig[len('match='):])
        except re.error as e:
            raise InputError(f'expected line {n}: bad match= regex: {e}')
        for e in expected.get(path, []):
            if set(e['flavours']) & set(fls):
                raise InputError(f'expected line {n}: a second entry for {path} on '
                                 f'{",".join(sorted(set(e["flavours"]) & set(fls)))}')
        expected.setdefault(path, []).append({'flavours': fls, 'match': match,
                                              'reason': reason})
    return expected


def apply_budgets(lines, known, accel, flavour=None):
    """Test-list lines with the shorter timeouts known failures give on accel."""
    out = []
    for origin, path, timeout in (line.split() for line in lines if line.strip()):
        k = known_entry(known, path, accel, flavour)
        if k and k['budget']:
            timeout = str(k['budget'])
        out.append(f'{origin} {path} {timeout}')
    return out


def parse_tap(lines):
    """TAP lines -> {path: {'ok', 'directive', 'time', 'rc'}}."""
    res = {}
    times = {}
    for line in lines:
        line = line.rstrip('\n')
        m = TIME_RE.match(line)
        if m:
            times[m.group(1)] = (float(m.group(2)), int(m.group(3)))
            continue
        m = TAP_RE.match(line)
        if m:
            res[m.group(3)] = {'ok': m.group(1) == 'ok', 'directive': m.group(4) or ''}
    for path, (t, rc) in times.items():
        if path in res:
            res[path]['time'] = t
            res[path]['rc'] = rc
    return res


def known_entry(known, path, accel, flavour=None):
    """The entry for path on accel: one naming the flavour first, then the
    most specific accelerator (tcg-system, tcg, any)."""
    accels = (accel, 'tcg', 'any') if accel == 'tcg-system' else (accel, 'any')
    hits = [e for e in known.get(path, []) if e['accel'] in accels
            and e['flavour'] in (None, flavour)]
    hits.sort(key=lambda e: (e['flavour'] is None, accels.index(e['accel'])))
    return hits[0] if hits else None


def signature_seen(k, directive, log):
    """Whether a failure is the known one: any, or one matching the entry's match=."""
    if k['match'] is None:
        return True
    return bool(k['match'].search(directive) or k['match'].search(log()))


def read_log(logs, path):
    """The output the guest saved for test path (run-selftests.sh) in the
    directory logs, or '' (no directory, no log)."""
    if not logs:
        return ''
    try:
        with open(os.path.join(logs, path.replace('/', '_') + '.log'), errors='replace') as f:
            return f.read()
    except OSError:
        return ''


def judge(tests, tap, known, accel, flavour=None, logs=None, expected=None):
    """logs: the directory of the tests' output, for known failures with
    match= and for the expectations (parse_expected) of this flavour."""
    out = []
    for origin, path in tests:
        r = tap.get(path)
        k = known_entry(known, path, accel, flavour)
        if k and k['kind'] == 'slow':
            k = None
        rec = {'test': path, 'origin': origin}
        if r is None:
            rec.update(status='not-run', detail='no result (guest died or runner stopped)')
        elif r['ok'] and r['directive'].startswith('SKIP'):
            rec.update(status='skip', detail=r['directive'][4:].strip() or 'no reason printed')
        elif r['ok']:
            rec.update(status='pass', detail='')
            if k and k['kind'] != 'flaky':
                rec['detail'] = 'unexpected pass of a known failure: ' + k['reason']
            for e in (expected or {}).get(path, []):
                if flavour not in e['flavours']:
                    continue
                log = read_log(logs, path)
                if not log:
                    rec.update(status='fail', detail=f"expected on {flavour}: {e['reason']} "
                               "(no log to check it against)")
                elif not e['match'].search(log):
                    rec.update(status='fail', detail=f"expected on {flavour}: {e['reason']} "
                               f"(no line of its log matches {e['match'].pattern})")
        elif (k and (k['kind'] != 'timeout' or r['directive'].startswith('TIMEOUT'))
              and signature_seen(k, r['directive'], lambda: read_log(logs, path))):
            rec.update(status='xfail', detail=f"{r['directive']}; known: {k['reason']}")
        else:
            rec.update(status='fail', detail=r['directive'])
        if r is not None and 'time' in r:
            rec['time_s'] = r['time']
        out.append(rec)
    return out


def counts(records):
    c = {s: 0 for s in ('pass', 'fail', 'skip', 'xfail', 'not-run')}
    for r in records:
        c[r['status']] += 1
    return c


def compare(records, other):
    """Tests whose status differs from the other flavour's run."""
    prev = {r['test']: r['status'] for r in other.get('tests', [])}
    return [(r['test'], prev[r['test']], r['status'])
            for r in records if r['test'] in prev and prev[r['test']] != r['status']]


def report(summary, other, out):
    recs = summary['tests']
    c = summary['counts']
    w = max([len(r['test']) for r in recs] + [10])
    print(f"# kselftests on the {summary['flavour']} kernel ({summary['accel']}):", file=out)
    for r in recs:
        if r['status'] != 'pass' or r['detail']:
            print(f"#   {r['test']:<{w}}  {r['status']:<7}  {r['detail']}", file=out)
    print(f"#   pass {c['pass']}, skip {c['skip']}, known failures {c['xfail']}, "
          f"fail {c['fail']}, not run {c['not-run']}", file=out)
    # For lab/test.sh: each failed test, then the totals as lab/ktap.sh prints them.
    for r in recs:
        if r['status'] in ('fail', 'not-run'):
            print(f"# FAILED: {r['test']} {r['status']} {r['detail']}", file=out)
    print(f"# Totals: pass:{c['pass']} fail:{c['fail'] + c['not-run']} xfail:{c['xfail']} "
          f"xpass:0 skip:{c['skip']} error:0", file=out)
    if other is not None:
        diffs = compare(recs, other)
        print(f"# compared with the {other.get('flavour', '?')} run: "
              f"{len(diffs)} test(s) differ", file=out)
        for t, before, now in diffs:
            print(f"#   {t}: {other.get('flavour', '?')} {before} -> "
                  f"{summary['flavour']} {now}", file=out)


def budgets_main(argv):
    """'budgets --list L --known K --accel A [--flavour F]': print L with the known budgets."""
    ap = argparse.ArgumentParser(prog='ksft_summary.py budgets',
                                 description='Apply known-failure timeout budgets to a test list.')
    ap.add_argument('--list', required=True)
    ap.add_argument('--known', required=True)
    ap.add_argument('--accel', required=True, choices=RUN_ACCELS)
    ap.add_argument('--flavour', choices=FLAVOURS)
    a = ap.parse_args(argv)
    try:
        with open(a.list) as f:
            lines = f.read().splitlines()
        parse_list(lines)
        with open(a.known) as f:
            known = parse_known(f)
    except (InputError, OSError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print('\n'.join(apply_budgets(lines, known, a.accel, a.flavour)))
    return 0


def todo_main(argv):
    """'todo --tap T --list L': print the lines of L whose test has no result in T."""
    ap = argparse.ArgumentParser(prog='ksft_summary.py todo',
                                 description='The tests of a list that a TAP file has no result for.')
    ap.add_argument('--tap', required=True)
    ap.add_argument('--list', required=True)
    a = ap.parse_args(argv)
    try:
        with open(a.list) as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        parse_list(lines)
        with open(a.tap, errors='replace') as f:
            tap = parse_tap(f)
    except (InputError, OSError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    for line in lines:
        if line.split()[1] not in tap:
            print(line)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['budgets']:
        return budgets_main(argv[1:])
    if argv[:1] == ['todo']:
        return todo_main(argv[1:])
    ap = argparse.ArgumentParser(description='Judge a kselftest run of the lab.')
    ap.add_argument('--tap', required=True)
    ap.add_argument('--list', required=True, help='tests.list from the build')
    ap.add_argument('--known', required=True, help='known-failures list')
    ap.add_argument('--accel', required=True, choices=RUN_ACCELS)
    ap.add_argument('--flavour', required=True, choices=FLAVOURS)
    ap.add_argument('--json', help='write the summary here (atomically)')
    ap.add_argument('--logs', help="the tests' output (LOGS/<path with _ for />.log)")
    ap.add_argument('--compare', help="the other flavour's summary.json")
    ap.add_argument('--expected', help='what each kernel must show (expected.txt)')
    ap.add_argument('--meta', action='append', default=[], metavar='KEY=VALUE')
    a = ap.parse_args(argv)
    try:
        for p in (a.tap, a.list, a.known):
            if not os.path.isfile(p):
                raise InputError(f'no such file: {p}')
        with open(a.list) as f:
            tests = parse_list(f)
        if not tests:
            raise InputError(f'{a.list} lists no tests')
        with open(a.known) as f:
            known = parse_known(f)
        with open(a.tap, errors='replace') as f:
            tap = parse_tap(f)
        expected = {}
        if a.expected:
            with open(a.expected) as f:
                expected = parse_expected(f)
        meta = {}
        for kv in a.meta:
            if '=' not in kv:
                raise InputError(f'--meta needs KEY=VALUE, got "{kv}"')
            k, v = kv.split('=', 1)
            meta[k] = v
        other = None
        if a.compare and os.path.isfile(a.compare):
            with open(a.compare) as f:
                other = json.load(f)
    except (InputError, OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    recs = judge(tests, tap, known, a.accel, a.flavour, a.logs, expected)
    summary = {'flavour': a.flavour, 'accel': a.accel, 'meta': meta,
               'counts': counts(recs), 'tests': recs}
    report(summary, other, sys.stdout)
    if a.json:
        with open(a.json + '.tmp', 'w') as f:
            json.dump(summary, f, indent=1)
        os.replace(a.json + '.tmp', a.json)
    c = summary['counts']
    return 1 if c['fail'] or c['not-run'] else 0


if __name__ == '__main__':
    sys.exit(main())
