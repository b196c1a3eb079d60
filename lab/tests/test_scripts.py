# SPDX-License-Identifier: GPL-2.0
"""Argument handling and failure paths of the lab's shell scripts.

The series tests run tree.sh against a small fake 6.12 tree, so they check
the quilt handling (clean reject, nothing half-applied, incremental reapply)
without a real kernel source.
"""
import os
import subprocess
import tempfile
import textwrap
import unittest

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(args, env=None, **kw):
    e = dict(os.environ)
    e.pop('KSRC', None)
    e.pop('ACCEL', None)
    e.update(env or {})
    return subprocess.run(args, env=e, capture_output=True, text=True, timeout=120, **kw)


def nested_kvm():
    for p in ('/sys/module/kvm_intel/parameters/nested', '/sys/module/kvm_amd/parameters/nested'):
        try:
            if open(p).read().strip() in ('Y', '1'):
                return True
        except OSError:
            pass
    return False


PATCH_GOOD = textwrap.dedent("""\
    Subject: [PATCH] KVM: x86: good

    --- a/arch/x86/kvm/x86.c
    +++ b/arch/x86/kvm/x86.c
    @@ -1,3 +1,3 @@
     line one
    -line two
    +line two, patched
     line three
    """)
PATCH_BAD = PATCH_GOOD.replace('line three', 'line 3').replace('good', 'bad')


class Case(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def assertOneLineError(self, r, text, rc=None):
        if rc is None:
            self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        else:
            self.assertEqual(r.returncode, rc, r.stdout + r.stderr)
        errs = [l for l in r.stderr.splitlines() if l.startswith('error:')]
        self.assertEqual(len(errs), 1, r.stderr)
        self.assertIn(text, errs[0])


class VmRunArgs(Case):
    def env(self):
        b = os.path.join(self.d, 'build')
        os.makedirs(os.path.join(b, 'patched'))
        for f in ('patched/bzImage', 'initramfs.cpio.gz'):
            open(os.path.join(b, f), 'w').close()
        return {'BUILD_DIR': b}

    def run_vm(self, args, env=None):
        return sh([os.path.join(SCRIPTS, 'vm-run.sh')] + args, env=env)

    def test_no_command(self):
        self.assertOneLineError(self.run_vm([]), 'no command given', rc=2)

    def test_bad_timeout_and_memory(self):
        self.assertOneLineError(self.run_vm(['-t', '10s', '--', 'true']), 'bad timeout', rc=2)
        self.assertOneLineError(self.run_vm(['-m', '0', '--', 'true']), 'bad memory size', rc=2)

    def test_bad_flavour(self):
        self.assertOneLineError(self.run_vm(['-f', 'vanilla', '--', 'true']), 'unknown flavour')

    def test_missing_kernel(self):
        r = self.run_vm(['--', 'true'], env={'BUILD_DIR': os.path.join(self.d, 'none')})
        self.assertOneLineError(r, 'no patched kernel')

    def test_bad_accel(self):
        env = self.env()
        env['ACCEL'] = 'hvf'
        self.assertOneLineError(self.run_vm(['--', 'true'], env=env), 'ACCEL must be', rc=2)

    def test_bad_qemu(self):
        env = self.env()
        env['QEMU'] = 'debian'
        self.assertOneLineError(self.run_vm(['--', 'true'], env=env), 'QEMU must be lab or system',
                                rc=2)

    def test_missing_lab_qemu(self):
        env = self.env()
        env['QEMU'] = 'lab'
        self.assertOneLineError(self.run_vm(['--', 'true'], env=env), "no lab QEMU at")

    @unittest.skipIf(nested_kvm(), 'this host offers nested KVM')
    def test_kvm_without_nested_is_refused(self):
        env = self.env()
        env['ACCEL'] = 'kvm'
        self.assertOneLineError(self.run_vm(['--', 'true'], env=env), 'no nested virtualization')


class SeriesSplit(Case):
    def series(self, body):
        p = os.path.join(self.d, 'series')
        with open(p, 'w') as f:
            f.write(body)
        return p

    def split(self, flavour, series):
        return sh(['bash', '-c', f'. {SCRIPTS}/lib.sh; series_for {flavour}'],
                  env={'SERIES': series})

    def test_boundary(self):
        s = self.series('# instrumentation\na.patch\n\nb.patch -p1\n'
                        '# === baseline ends here\n# optimizations\nc.patch\n')
        self.assertEqual(self.split('baseline', s).stdout.split(), ['a.patch', 'b.patch'])
        self.assertEqual(self.split('patched', s).stdout.split(), ['a.patch', 'b.patch', 'c.patch'])

    def test_debug_only_tail(self):
        s = self.series('a.patch\n# === baseline ends here\nb.patch\n'
                        '# === debug flavour only: checks\nc.patch\n')
        self.assertEqual(self.split('patched', s).stdout.split(), ['a.patch', 'b.patch'])
        self.assertEqual(self.split('debug', s).stdout.split(), ['a.patch', 'b.patch', 'c.patch'])
        self.assertEqual(self.split('baseline', s).stdout.split(), ['a.patch'])

    def test_missing_boundary(self):
        self.assertOneLineError(self.split('baseline', self.series('a.patch\n')), 'baseline')


class Tree(Case):
    def setUp(self):
        super().setUp()
        self.ksrc = os.path.join(self.d, 'linux')
        os.makedirs(os.path.join(self.ksrc, 'arch/x86/kvm'))
        self.write(self.ksrc, 'Makefile', 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 99\nEXTRAVERSION =\n')
        self.write(self.ksrc, 'arch/x86/kvm/x86.c', 'line one\nline two\nline three\n')
        self.write(self.ksrc, 'arch/x86/kvm/svm.c', 'untouched\n')
        self.patches = os.path.join(self.d, 'patches')
        os.makedirs(self.patches)
        self.write(self.patches, '0001-good.patch', PATCH_GOOD)
        self.write(self.patches, '0002-bad.patch', PATCH_BAD)
        self.build = os.path.join(self.d, 'build')

    def write(self, d, name, body):
        with open(os.path.join(d, name), 'w') as f:
            f.write(body)

    def tree(self, series, ksrc=None, flavour='patched'):
        s = os.path.join(self.d, 'series')
        self.write(self.d, 'series', series)
        return sh([os.path.join(SCRIPTS, 'tree.sh'), flavour],
                  env={'KSRC': ksrc or self.ksrc, 'SERIES': s, 'PATCHES_DIR': self.patches,
                       'BUILD_DIR': self.build})

    def read(self, *p):
        return open(os.path.join(*p)).read()

    def test_wrong_version(self):
        self.write(self.ksrc, 'Makefile', 'VERSION = 6\nPATCHLEVEL = 11\nSUBLEVEL = 3\n')
        self.assertOneLineError(self.tree('# === baseline ends here\n'), 'is Linux 6.11.3, not 6.12.y')

    def test_not_a_tree(self):
        self.assertOneLineError(self.tree('x\n', ksrc=self.d), 'is not a Linux source tree')

    def test_unclean_tree(self):
        self.write(self.ksrc, '.config', 'CONFIG_X=y\n')
        self.assertOneLineError(self.tree('# === baseline ends here\n'), 'not clean')

    def test_missing_patch_file(self):
        self.assertOneLineError(self.tree('# === baseline ends here\nnope.patch\n'),
                                'patches/nope.patch, which does not exist')

    def test_apply_then_reject_leaves_pristine(self):
        r = self.tree('0001-good.patch\n# === baseline ends here\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        t = os.path.join(self.build, 'patched/src')
        self.assertIn('line two, patched', self.read(t, 'arch/x86/kvm/x86.c'))
        self.assertEqual(self.read(self.ksrc, 'arch/x86/kvm/x86.c'), 'line one\nline two\nline three\n')
        # An untouched file stays a hardlink of the pristine one.
        self.assertEqual(os.stat(os.path.join(t, 'arch/x86/kvm/svm.c')).st_ino,
                         os.stat(os.path.join(self.ksrc, 'arch/x86/kvm/svm.c')).st_ino)

        r = self.tree('# === baseline ends here\n0002-bad.patch\n')
        self.assertOneLineError(r, 'patch 0002-bad.patch does not apply to 6.12.99: arch/x86/kvm/x86.c')
        self.assertEqual(self.read(t, 'arch/x86/kvm/x86.c'), 'line one\nline two\nline three\n')
        self.assertFalse(os.path.exists(os.path.join(t, '.pc')))
        self.assertFalse(os.path.exists(os.path.join(self.build, 'patched/applied.sha')))
        self.assertEqual(self.read(self.ksrc, 'arch/x86/kvm/x86.c'), 'line one\nline two\nline three\n')

    def test_unchanged_series_is_a_no_op(self):
        series = '0001-good.patch\n# === baseline ends here\n'
        self.assertEqual(self.tree(series).returncode, 0)
        f = os.path.join(self.build, 'patched/src/arch/x86/kvm/x86.c')
        m = os.stat(f).st_mtime_ns
        r = self.tree(series)
        self.assertEqual((r.returncode, r.stdout), (0, ''))
        self.assertEqual(os.stat(f).st_mtime_ns, m)

    def test_dropping_a_patch_gives_the_file_a_new_mtime(self):
        self.assertEqual(self.tree('0001-good.patch\n# === baseline ends here\n').returncode, 0)
        f = os.path.join(self.build, 'patched/src/arch/x86/kvm/x86.c')
        os.utime(f, ns=(1, 1))
        r = self.tree('# === baseline ends here\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.read(f), 'line one\nline two\nline three\n')
        self.assertGreater(os.stat(f).st_mtime_ns, 1)
        self.assertNotEqual(os.stat(f).st_ino,
                            os.stat(os.path.join(self.ksrc, 'arch/x86/kvm/x86.c')).st_ino)


if __name__ == '__main__':
    unittest.main()
