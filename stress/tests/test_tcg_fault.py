# SPDX-License-Identifier: GPL-2.0
"""tcg_fault.py: which page faults in a QEMU -d int log are TCG's own."""
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, SCRIPTS)
import tcg_fault  # noqa: E402

# Record headers as QEMU 7.2 writes them; the register dump lines after
# each header do not matter to the scan.
TIMER = ('  8737: v=ec e=0000 i=0 cpl=0 IP=0010:ffffffff8104544a pc=ffffffff8104544a '
         'SP=0018:ffff888100b7fd70 env->regs[R_EAX]=0000000000000060\n')
DUMP = 'RAX=0000000000060fb1 RBX=0000000000020800 RCX=000000007ef83203 RDX=000000000f8bfbfd\n'
GUEST_RSVD = ('  8738: v=0e e=0018 i=0 cpl=0 IP=0008:000000000040254f pc=000000000040254f '
              'SP=0000:0000000000abafd0 CR2=000000000040254f\n')
HOST_TEXT = ('  7618: v=0e e=0010 i=0 cpl=0 IP=0010:ffffffff8157e23c pc=ffffffff8157e23c '
             'SP=0018:ffff88810140fcc8 CR2=ffffffff8157e23c\n')
# Faults a healthy run takes: demand paging of user text, kernel data
# access, a user data fault.
USER_TEXT = ('  2411: v=0e e=0014 i=0 cpl=3 IP=0033:000000000040ebf0 pc=000000000040ebf0 '
             'SP=002b:00007fff7193bfc0 CR2=000000000040ebf0\n')
KERNEL_DATA = ('     1: v=0e e=0000 i=0 cpl=0 IP=0010:ffffffff8220d955 pc=ffffffff8220d955 '
               'SP=0000:ffffffff81e03ec0 CR2=ffff888002240ff8\n')
USER_DATA = ('  2412: v=0e e=0006 i=0 cpl=3 IP=0033:0000000000410331 pc=0000000000410331 '
             'SP=002b:00007fff7193beb0 CR2=00000000005eb898\n')
HEALTHY = [TIMER, DUMP, USER_TEXT, DUMP, KERNEL_DATA, DUMP, USER_DATA, DUMP]


class TcgFault(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def run_on(self, lines, *args):
        log = os.path.join(self.d, 'int.log')
        with open(log, 'w') as f:
            f.writelines(lines)
        return subprocess.run([sys.executable, os.path.join(SCRIPTS, 'tcg_fault.py'), log, *args],
                              capture_output=True, text=True, timeout=60)

    def test_guest_reserved_bit_fetch_fault_is_found_with_its_excerpt(self):
        out = os.path.join(self.d, 'fault.log')
        r = self.run_on(HEALTHY + [GUEST_RSVD, DUMP, 'check_exception old: 0xe new 0xe\n'], '-o', out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count('\n'), 1)
        self.assertIn('reserved bit on an instruction fetch', r.stdout)
        self.assertIn('#PF error 0x18 at RIP 0x40254f', r.stdout)
        with open(out) as f:
            text = f.read()
        self.assertIn(GUEST_RSVD, text)
        self.assertIn(TIMER, text)          # what came before
        self.assertIn('check_exception', text)  # and after
        self.assertFalse(os.path.exists(out + '.tmp'))

    def test_host_kernel_text_fetch_fault_is_found(self):
        r = self.run_on(HEALTHY + [HOST_TEXT, DUMP, HOST_TEXT])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('kernel text not present', r.stdout)
        self.assertIn('RIP 0xffffffff8157e23c', r.stdout)

    def test_faults_of_a_healthy_run_are_not_blamed_on_tcg(self):
        r = self.run_on(HEALTHY * 3)
        self.assertEqual((r.returncode, r.stdout), (1, ''))

    def test_classify_needs_a_fetch_at_rip(self):
        self.assertIsNone(tcg_fault.classify(0x0e, 0x08, 0, 0x1000, 0x2000))  # CR2 != RIP
        self.assertIsNone(tcg_fault.classify(0x0e, 0x11, 0, 0xffffffff81000000,
                                             0xffffffff81000000))  # NX: present page
        self.assertIsNone(tcg_fault.classify(0x0d, 0x18, 0, 0x1000, 0x1000))  # not a #PF
        self.assertIsNotNone(tcg_fault.classify(0x0e, 0x19, 3, 0x1000, 0x1000))
        # rseq_test's shape: a CPL-0 guest's own code not present.
        self.assertIn('guest code', tcg_fault.classify(0x0e, 0x10, 0, 0x402000, 0x402000))
        self.assertIsNone(tcg_fault.classify(0x0e, 0x14, 3, 0x402000, 0x402000))

    def test_unreadable_log_is_one_error_line(self):
        r = subprocess.run([sys.executable, os.path.join(SCRIPTS, 'tcg_fault.py'),
                            os.path.join(self.d, 'missing.log')], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.count('\n'), 1)
        self.assertTrue(r.stderr.startswith('error: '))


if __name__ == '__main__':
    unittest.main()
