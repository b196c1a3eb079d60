# SPDX-License-Identifier: GPL-2.0
"""summary.md's charts: built from a small fixture, and read back for what
they show (bars, their lengths, their labels), not only that a file exists."""
import os
import shutil
import struct
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, SCRIPTS)
import barchart  # noqa: E402

NS = "{http://www.w3.org/2000/svg}"
ROWS = [("xstate_ipi_absent", [2.0, 0.083], "0.04x"),
        ("xstate_cpuid", [2.0, 2.0], "1.00x"),
        ("timer_pv", [None, 3.4], None)]


def bars(svg_text):
    """{(category, series): (value, width)} of the chart's bars, and its texts."""
    root = ET.fromstring(svg_text)
    out = {}
    for el in root.iter():
        if "data-series" in el.attrib:
            v = el.get("data-value")
            w = float(el.get("width")) if el.tag == NS + "rect" else None
            out[(el.get("data-category"), el.get("data-series"))] = (float(v) if v else None, w)
    texts = [el.text for el in root.iter(NS + "text")]
    return out, texts


class BarChart(unittest.TestCase):
    def test_bars_are_to_scale_and_labelled(self):
        svg = barchart.svg("XCR0/XSS switches per exit", "kvmswitch", ["baseline", "patched"], ROWS)
        got, texts = bars(svg)
        self.assertEqual(len(got), 6)
        longest = got[("timer_pv", "patched")][1]
        self.assertAlmostEqual(got[("xstate_ipi_absent", "baseline")][1] / longest, 2.0 / 3.4, 3)
        self.assertAlmostEqual(got[("xstate_ipi_absent", "patched")][1] / longest, 0.083 / 3.4, 3)
        self.assertEqual(got[("xstate_cpuid", "baseline")], got[("xstate_cpuid", "patched")])
        # A missing value is said, not drawn as a zero-length bar.
        self.assertEqual(got[("timer_pv", "baseline")], (None, None))
        for label in ("2.000", "0.083", "3.400", "n/a", "0.04x", "1.00x", "baseline", "patched",
                      "XCR0/XSS switches per exit", "xstate_ipi_absent"):
            self.assertIn(label, texts)

    def test_text_is_escaped_and_all_zero_draws_empty_bars(self):
        svg = barchart.svg("a < b & c", "s", ["k<1>"], [("x&y", [0.0], None)])
        got, texts = bars(svg)
        self.assertEqual(got[("x&y", "k<1>")], (0.0, 0.0))
        self.assertIn("a < b & c", texts)

    def test_per_row_scale_and_spans(self):
        rows = [("cpuid", [100.0, 50.0], "0.50x"), ("timer", [1e6, 2e6], "2.00x")]
        svg = barchart.svg("t", "s", ["baseline", "patched"], rows, per_row=True,
                           spans=[[(90.0, 200.0), None], [None, (1e6, 3e6)]])
        got, _ = bars(svg)
        # Each case on its own scale: its longest bar or whisker fills the width.
        self.assertAlmostEqual(got[("cpuid", "baseline")][1] / got[("timer", "patched")][1],
                               (100 / 200) / (2 / 3), 3)
        root = ET.fromstring(svg)
        whiskers = {p.get("data-span"): p.get("d") for p in root.iter(NS + "path")}
        self.assertEqual(set(whiskers), {"cpuid/baseline", "timer/patched"})
        # The whisker ends at the maximum: 3e6 against the 2e6 bar.
        end = barchart.LABEL_W + got[("timer", "patched")][1] * 3 / 2
        self.assertIn(f"H{end:.2f}", whiskers["timer/patched"])

    @unittest.skipUnless(shutil.which("rsvg-convert"), "no rsvg-convert (librsvg2-bin)")
    def test_png_has_the_svgs_size(self):
        with tempfile.TemporaryDirectory() as d:
            svg = barchart.svg("t", "s", ["baseline", "patched"], ROWS)
            self.assertIsNone(barchart.write(os.path.join(d, "c"), svg))
            with open(os.path.join(d, "c.png"), "rb") as f:
                head = f.read(24)
            self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
            root = ET.fromstring(svg)
            self.assertEqual(struct.unpack(">II", head[16:24]),
                             (int(root.get("width")), int(root.get("height"))))
            self.assertEqual(sorted(os.listdir(d)), ["c.png", "c.svg"])


if __name__ == "__main__":
    unittest.main()
