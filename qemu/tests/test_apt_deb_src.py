# SPDX-License-Identifier: GPL-2.0
"""apt_deb_src.py: the deb-src entries added for the mirrors apt uses."""
import os
import textwrap
import unittest

from test_scripts import Case, sh

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class AptDebSrc(Case):
    def run_it(self, files):
        paths = []
        for name, body in files.items():
            paths.append(os.path.join(self.d, name))
            with open(paths[-1], 'w') as f:
                f.write(textwrap.dedent(body))
        return sh(['python3', os.path.join(HERE, 'apt_deb_src.py')] + paths)

    def test_deb822_keeps_mirror_and_signed_by(self):
        r = self.run_it({'debian.sources': """\
            Types: deb
            URIs: http://mirror.example/debian
            Suites: bookworm bookworm-updates
            Components: main contrib
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb
            URIs: https://other.example/apt
            Suites: stable
            Components: main
            """})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split('\n\n'), [textwrap.dedent("""\
            Types: deb-src
            URIs: http://mirror.example/debian
            Suites: bookworm bookworm-updates
            Components: main contrib
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
            """)])

    def test_one_line_format(self):
        r = self.run_it({'sources.list': """\
            deb [signed-by=/k.gpg] http://m.example/debian-security bookworm-security main
            deb http://m.example/debian trixie main
            """})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('Types: deb-src\nURIs: http://m.example/debian-security\n'
                      'Suites: bookworm-security\nComponents: main\nSigned-By: /k.gpg', r.stdout)
        self.assertNotIn('trixie', r.stdout)

    def test_no_bookworm_entries(self):
        r = self.run_it({'x.list': 'deb http://m.example/debian trixie main\n'})
        self.assertOneLineError(r, 'no deb entries for Debian bookworm')


if __name__ == '__main__':
    unittest.main()
