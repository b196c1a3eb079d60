# SPDX-License-Identifier: GPL-2.0
"""The pvtimer end-to-end test's parts that run on the host: l2-prep.sh
(qemu-root and the L2 initramfs, redone only when needed), sleepcheck (run
here, on the host's own timers) and the wrapper's bad input."""
import os
import re
import shutil
import subprocess
import unittest

from test_scripts import Case, sh

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HAVE_TOOLS = all(shutil.which(t) for t in ('qemu-system-x86_64', 'gcc', 'cpio')) and \
    os.path.exists('/bin/busybox')


@unittest.skipUnless(HAVE_TOOLS, 'needs qemu-system-x86_64, gcc, cpio and /bin/busybox')
class L2Prep(Case):
    def prep(self):
        r = sh([os.path.join(HERE, 'l2-prep.sh')], env={'BUILD_DIR': self.d})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def test_builds_once_and_runs(self):
        first = self.prep()
        self.assertIn('copying', first.stdout)
        self.assertIn('L2 initramfs', first.stdout)
        qr = os.path.join(self.d, 'qemu-root')
        for f in ('qemu-system-x86_64', 'ld.so', 'fw/bios-256k.bin',
                  'fw/linuxboot_dma.bin', 'fw/kvmvapic.bin', 'pvtimer-optin.so'):
            self.assertTrue(os.path.isfile(os.path.join(qr, f)), f)
        # The copy runs on its own libraries, with the opt-in preloaded, as
        # in the guest; it creates no VM here, so the opt-in says nothing.
        r = sh([os.path.join(qr, 'ld.so'), '--preload', os.path.join(qr, 'pvtimer-optin.so'),
                '--library-path', os.path.join(qr, 'lib'),
                os.path.join(qr, 'qemu-system-x86_64'), '--version'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn('pvtimer-optin', r.stderr)
        listing = subprocess.run(
            f'gzip -dc {self.d}/l2/initramfs.cpio.gz | cpio -t --quiet',
            shell=True, capture_output=True, text=True).stdout.split()
        for f in ('init', 'bin/busybox', 'bin/sleepcheck'):
            self.assertIn(f, listing)
        self.assertFalse([n for n in os.listdir(self.d) if n.endswith('.tmp')])
        # Nothing changed: nothing redone.
        self.assertEqual(self.prep().stdout, '')

    def test_sleepcheck_on_this_host(self):
        self.prep()
        sc = os.path.join(self.d, 'l2', 'sleepcheck')
        r = sh([sc, '-n', '3', '-b', '2000000', '200', '2000'])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = re.findall(r'^sleepcheck: sleep_us=(\d+) n=3 .*early=(\d+) ', r.stdout, re.M)
        self.assertEqual(lines, [('200', '0'), ('2000', '0')])
        self.assertRegex(r.stdout, r'(?m)^sleepcheck: loc_delta=\d+$')
        self.assertTrue(r.stdout.rstrip().endswith('sleepcheck: result=ok'))
        # A bound no sleep can meet fails the run and says why.
        r = sh([sc, '-n', '2', '-b', '1', '5000'])
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn('2 overslept more than 1 us', r.stdout)
        for bad, text in ((['-n', '0'], '-n wants'), (['-b', 'x'], '-b wants'),
                          (['0'], 'a duration is'), (['abc'], 'a duration is')):
            self.assertOneLineError(sh([sc] + bad), text, rc=2)


class WrapperArgs(Case):
    def test_bad_environment(self):
        b = os.path.join(self.d, 'build')
        os.makedirs(os.path.join(b, 'patched'))
        open(os.path.join(b, 'patched', 'bzImage'), 'w').close()
        w = os.path.join(HERE, 'pvtimer-e2e.sh')
        r = sh([w], env={'BUILD_DIR': b, 'PVTIMER_BOUND_US': '1ms'})
        self.assertOneLineError(r, 'PVTIMER_BOUND_US')
        r = sh([w], env={'BUILD_DIR': b, 'PVTIMER_L2_TIMEOUT': '0'})
        self.assertOneLineError(r, 'PVTIMER_L2_TIMEOUT')
        r = sh([w], env={'BUILD_DIR': os.path.join(self.d, 'none')})
        self.assertOneLineError(r, 'no patched kernel')
