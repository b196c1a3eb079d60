# SPDX-License-Identifier: GPL-2.0
"""The benchmark harness's host side: figures, summary, index, flame SVGs,
and bench.sh's refusals (one line, non-zero, no run directory left)."""
import gzip
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, SCRIPTS)
import bench_report as br  # noqa: E402
import bench_summary as bs  # noqa: E402

KVMSWITCH = {
    "tool": "kvmswitch", "vms": [
        {"pid": 7, "comm": "", "exits": 0, "kvm_runs": 0, "msr_writes": 2,
         "uret": {"set": 0, "restore": 2}, "reloads": {"total": 2},
         "switches": {}, "reasons": []},
        {"pid": 9, "comm": "lazyswitch_benc", "exits": 1000, "kvm_runs": 10,
         "msr_writes": 30, "uret": {"set": 10, "restore": 10},
         "reloads": {"total": 2050},
         "switches": {"xcr0": {"guest_written": 1000, "host_written": 1000},
                      "xss": {"guest_written": 0, "host_written": 0},
                      "pkru": {"guest_written": 10, "host_written": 10}},
         "reasons": [{"name": "CPUID", "count": 990}, {"name": "IOIO", "count": 10}]}]}


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


class Figures(unittest.TestCase):
    def test_parse_bench_takes_only_its_case(self):
        text = "cpuid 2048 iters\ncpuid 1234.5 ns/iter\ncpuid 1.004 exits/iter\nhlt 9 iters\n# note\n"
        self.assertEqual(br.parse_bench(text, "cpuid"),
                         {"iters": 2048.0, "ns/iter": 1234.5, "exits/iter": 1.004})

    def test_kvmswitch_counts_only_the_benchmark_vm(self):
        fig, tot = br.kvmswitch_figures(KVMSWITCH)
        self.assertAlmostEqual(fig["xfeature_writes_per_exit"], 2.0)
        self.assertAlmostEqual(fig["pkru_writes_per_exit"], 0.02)
        self.assertAlmostEqual(fig["msr_writes_per_exit"], 0.03)
        self.assertAlmostEqual(fig["uret_restores_per_exit"], 0.01)
        self.assertAlmostEqual(fig["reloads_per_kvm_run"], 205.0)
        self.assertEqual(tot["reasons"], {"CPUID": 990, "IOIO": 10})

    PROBE = ("# lazyswitch_probe cpu=1 batch=16 samples=101 tsc_khz=2000000 hypervisor=yes\n"
             "overhead min=0 median=1 samples=101\n"
             "xsetbv min=90 median=100 samples=101\n"
             "wrpkru min=20 median=25 samples=101\n"
             "wrmsr_tsc_aux min=40 median=50 samples=101\n"
             "ltr skipped: no reason\n"
             "# efer_svme=already-set\n")

    def test_parse_probe_table(self):
        p = br.parse_probe(self.PROBE)
        self.assertEqual(p["primitives"]["xsetbv"], {"min": 90, "median": 100})
        self.assertEqual(p["skipped"], {"ltr": "no reason"})
        self.assertEqual(p["header"]["cpu"], "1")
        self.assertEqual(p["header"]["efer_svme"], "already-set")
        self.assertIsNone(br.parse_probe("error: insmod failed\n"))

    def test_reload_cycles_estimate_prices_each_count(self):
        _, tot = br.kvmswitch_figures(KVMSWITCH)
        est = br.reload_cycles_per_exit(tot, br.parse_probe(self.PROBE))
        # (2000 XCR0 x 100 + 20 PKRU x 25 + 20 uret x 50) / 1000 exits
        self.assertAlmostEqual(est, 201.5)
        no_wrpkru = br.parse_probe(self.PROBE.replace("wrpkru min=20 median=25", "wrpkru skipped:"))
        self.assertIsNone(br.reload_cycles_per_exit(tot, no_wrpkru))
        self.assertIsNone(br.reload_cycles_per_exit(tot, {"status": "not run: no probe module"}))

    def test_common_prices_take_the_lowest_median(self):
        a = br.parse_probe(self.PROBE)
        b = br.parse_probe(self.PROBE.replace("xsetbv min=90 median=100", "xsetbv min=80 median=90"))
        prices = br.common_prices([a, b, {"status": "not run: no probe module"}])
        self.assertEqual(prices["primitives"]["xsetbv"], {"median": 90})
        self.assertEqual(prices["primitives"]["wrpkru"], {"median": 25})

    def test_no_benchmark_vm_gives_no_figures(self):
        self.assertEqual(br.kvmswitch_figures({"vms": []}), ({}, {}))
        self.assertEqual(br.kvmswitch_figures(None), ({}, {}))

    def test_last_json_document_wins(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write('{"n": 1}\nnot json\n{"n": 2}\n')
        try:
            self.assertEqual(br.last_json(f.name), {"n": 2})
        finally:
            os.unlink(f.name)

    def test_exit_latency_mean_is_weighted_over_the_benchmark_vm(self):
        doc = {"hists": [
            {"comm": "lazyswitch_benc", "name": "CPUID", "count": 3, "avg_ns": 100.0},
            {"comm": "lazyswitch_benc", "name": "INTR", "count": 1, "avg_ns": 500.0},
            {"comm": "qemu", "name": "HLT", "count": 9, "avg_ns": 1e9}]}
        self.assertEqual(br.kvmexitlat_figures(doc), {"exit_ns_mean": 200.0})
        self.assertEqual(br.kvmexitlat_figures({"hists": []}), {})


class Summary(unittest.TestCase):
    META = {"name": "r", "date": "d", "command": "make bench", "accel": "tcg", "qemu": "QEMU 7.2",
            "host_cpu": "cpu", "cases": ["cpuid", "hlt"],
            "flavours": {"baseline": {"kernel": "k1", "cpu": "c"}, "patched": {"kernel": "k2", "cpu": "c"}}}
    FL = ["baseline", "patched"]

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def results(self):
        return {"cpuid": {"baseline": {"status": "ok", "figures": {"exits_per_iter": 1.0,
                                                                   "xfeature_writes_per_exit": 0.0}},
                          "patched": {"status": "ok", "figures": {"exits_per_iter": 1.0,
                                                                  "xfeature_writes_per_exit": 0.0}}},
                "hlt": {"baseline": {"status": "ok", "figures": {"exits_per_iter": 3.0}},
                        "patched": {"status": "(failed) the timer never fired"}}}

    def md(self, results, timings=None, meta=None, cases=None):
        return bs.summary_md(meta or self.META, self.FL, cases or list(results), results,
                             timings or {}, self.out, br.PROFILE_ROWS)

    @staticmethod
    def rows(md, section):
        """The table rows under '## SECTION', as lists of cells."""
        part = md.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
        lines = part.splitlines() + [""]
        return [[c.strip() for c in l.strip("|").split("|")] for l, nxt in zip(lines, lines[1:])
                if l.startswith("| ") and not nxt.startswith("|---")]

    def test_one_small_table_and_chart_per_question(self):
        md = self.md(self.results())
        self.assertEqual(self.rows(md, "Exits per iteration"),
                         [["cpuid", "1.000", "1.000", "1.00"], ["hlt", "3.000", "n/a", "n/a"]])
        self.assertIn("hlt on patched: (failed) the timer never fired", md)
        # A count that is zero on both kernels is one line, not a row.
        self.assertIn("Zero on every kernel that ran them: cpuid (the guest keeps CR4.OSXSAVE", md)
        # A count that appears only on patched is "new", not missing; a case
        # that failed on one kernel is listed with that kernel's status.
        res = self.results()
        res["hlt"]["baseline"]["figures"]["xfeature_writes_per_exit"] = 0.0
        res["cpuid"]["patched"]["figures"]["xfeature_writes_per_exit"] = 0.5
        md = self.md(res, meta=dict(self.META, failed_rounds=["patched round 2: not made: "
                                                              "the patched run ended with status 124"]))
        self.assertEqual(self.rows(md, "XCR0/XSS switches per exit"),
                         [["cpuid", "0.000", "0.500", "new", "n/a"]])
        self.assertIn("Zero on every kernel that ran them: hlt", md)
        self.assertIn("- hlt on patched: (failed) the timer never fired", md)
        self.assertIn("**Timed round not counted**: patched round 2: not made: the patched run "
                      "ended with status 124.", md)
        self.assertIn("![Exits per iteration](charts/exits.svg)", md)
        self.assertTrue(os.path.getsize(os.path.join(self.out, "charts", "exits.svg")))
        for line in md.splitlines():
            if line.startswith("|"):
                self.assertLessEqual(line.count("|") - 1, 6, line)
        self.assertTrue(md.split("\n")[2].startswith("2 exit benchmark cases ran in QEMU TCG"))

    def test_opening_names_the_saving_and_where_it_is_absent(self):
        def fig(xf, pkru, fast, re):
            return {"status": "ok", "figures": {"xfeature_writes_per_exit": xf,
                                                "pkru_writes_per_exit": pkru, "exits_per_iter": 1.0,
                                                "fastpath_per_exit": fast, "reenter_per_exit": re}}
        res = {"xstate_ipi_absent": {"baseline": fig(2.0, 2.0, 1.0, 1.0),
                                     "patched": fig(0.02, 0.02, 1.0, 0.99)},
               "x2apic_self_ipi": {"baseline": fig(2.0, 2.0, 0.5, 0.0),
                                   "patched": fig(2.0, 2.0, 0.5, 0.0)},
               "xstate_cpuid": {"baseline": fig(2.0, 2.0, 0.0, 0.0),
                                "patched": fig(2.0, 2.0, 0.0, 0.0)}}
        md = self.md(res)
        opening = md.split("\n")[2]
        self.assertIn("in `xstate_ipi_absent`, 0.99 of exits re-enter, and XCR0/XSS switches per "
                      "exit fall from 2.000 to 0.020 (0.01x), PKRU switches from 2.000 to 0.020.",
                      opening)
        self.assertIn("Where no exit re-enters (`x2apic_self_ipi`, `xstate_cpuid`), they are "
                      "unchanged.", opening)
        self.assertEqual(self.rows(md, "XCR0/XSS switches per exit")[0],
                         ["xstate_ipi_absent", "2.000", "0.020", "0.01", "0.990"])
        self.assertIn("- xstate_ipi_absent: saves one switch pair per re-entry", md)
        self.assertIn("- x2apic_self_ipi: takes the fastpath (0.500 of exits) but saves nothing: "
                      "the IPI to itself leaves KVM_REQ_EVENT pending", md)
        self.assertNotIn("- xstate_cpuid:", md)     # no fastpath: nothing to say
        self.assertEqual(bs.headline_case(self.FL, list(res), res), "xstate_ipi_absent")

    def test_timings_are_medians_of_rounds_and_overlap_is_no_difference(self):
        t = {"cpuid": {"baseline": bs.timing([100.0, 160.0, 110.0]),
                       "patched": bs.timing([120.0, 130.0, 125.0])},
             "hlt": {"baseline": bs.timing([100.0, 105.0, 102.0]),
                     "patched": bs.timing([50.0, 52.0, 51.0])}}
        md = self.md(self.results(), timings=t)
        self.assertEqual(self.rows(md, "Time per iteration"),
                         [["cpuid", "110 (100-160)", "125 (120-130)", "no difference"],
                          ["hlt", "102 (100-105)", "51 (50-52)", "0.50"]])
        self.assertIn("differs beyond the spread of 3 alternating rounds in 1 of 2 cases (`hlt`)",
                      md)
        self.assertEqual(bs.timing_verdict(bs.timing([1.0]), bs.timing([2.0])), "n/c (1 round)")
        self.assertIsNone(bs.timing([]))

    def test_rounds_whose_boot_failed_are_left_out_and_said(self):
        work = os.path.join(self.out, "work")
        for sub, status, ns in (("patched", None, 100), ("patched-round2", "not made: status 124", 1),
                                ("patched-round3", "ok", 300)):
            cdir = os.path.join(work, sub, "cases", "cpuid")
            os.makedirs(cdir)
            with open(os.path.join(cdir, "status"), "w") as f:
                f.write("cpuid ok\n")
            with open(os.path.join(cdir, "bench.txt"), "w") as f:
                f.write(f"cpuid {ns}.0 ns/iter\n")
            if status:
                with open(os.path.join(work, sub, "status"), "w") as f:
                    f.write(status + "\n")
        with open(os.path.join(work, "patched-round2", "console.log"), "w") as f:
            f.write("boot\n")
        self.assertEqual(br.ns_rounds(work, "patched", "cpuid"), [100.0, 300.0])
        self.assertEqual(br.failed_rounds(work, self.out, ["patched"]),
                         ["patched round 2: not made: status 124 (console: patched.round2-console.log)"])
        self.assertTrue(os.path.exists(os.path.join(self.out, "patched.round2-console.log")))

    def test_latency_span_gets_no_ratio_and_says_why(self):
        res = self.results()
        res["cpuid"]["baseline"]["figures"]["exit_ns_mean"] = 100.0
        res["cpuid"]["patched"]["figures"]["exit_ns_mean"] = 350.0
        md = self.md(res)
        self.assertEqual(self.rows(md, "Exit->entry latency (not comparable)"),
                         [["cpuid", "100", "350"]])
        self.assertIn("No ratio: kvmexitlat's exit->entry span holds", md)

    def test_no_nrips_is_said_per_flavour(self):
        meta = dict(self.META, flavours={"baseline": {"kernel": "k1", "cpu": "c", "nrips": "0"},
                                         "patched": {"kernel": "k2", "cpu": "c", "nrips": "1"}})
        self.assertIn("No NRIP save** (kvm_amd nrips=0 on baseline)", self.md(self.results(), meta=meta))
        self.assertNotIn("No NRIP save", self.md(self.results()))

    def test_pvtimer_compares_timer_cases_within_one_kernel(self):
        res = {"timer_msr": {"baseline": {"status": "ok", "figures": {"exits_per_iter": 2.0}},
                             "patched": {"status": "ok", "figures": {"exits_per_iter": 2.0,
                                                                     "timer_late_ns": 900.0}}},
               "timer_pv": {"baseline": {"status": "(skipped) no pvtimer"},
                            "patched": {"status": "ok", "figures": {"exits_per_iter": 0.5,
                                                                    "timer_late_ns": 1200.0}}}}
        md = self.md(res)
        self.assertEqual(self.rows(md, "pvtimer: exits per timer"),
                         [["baseline", "2.000", "n/a: (skipped) no pvtimer", "n/a", "n/a / n/a"],
                          ["patched", "2.000", "0.500", "0.25", "900 / 1200"]])
        self.assertIn("pvtimer arms a timer with 0.50 exits, against 2.00", md)
        self.assertNotIn("## pvtimer", self.md(self.results()))

    def test_emulator_profile_per_exit_and_along_the_path(self):
        with tempfile.TemporaryDirectory() as d:
            # A real binary to symbolize, standing in for vmlinux and the benchmark.
            src, elf = os.path.join(d, "p.c"), os.path.join(d, "p")
            with open(src, "w") as f:
                f.write("int svm_vcpu_run(int x) { return x + 1; }\n"
                        "int main(void) { return svm_vcpu_run(1); }\n")
            subprocess.run(["gcc", "-g", "-O0", "-o", elf, src], check=True)
            nm = subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout
            fn = next(int(l.split()[0], 16) for l in nm.splitlines() if l.endswith(" svm_vcpu_run"))
            results = {"cpuid": {}}
            for fl, n in (("baseline", 400), ("patched", 300)):
                cdir = os.path.join(d, "work", f"{fl}-profile", "cases", "cpuid")
                os.makedirs(cdir)
                for name, text in (("../../status", "ok\n"), ("status", "cpuid ok\n"),
                                   ("bench.txt", "cpuid 100 iters\ncpuid 1.000 exits/iter\n"),
                                   ("window", f"{fn:x} {n} 0\n{fn + 1:x} {n} 0\n7f0000000000 200 0\nend\n")):
                    with open(os.path.join(cdir, name), "w") as f:
                        f.write(text)
                out = os.path.join(d, "out", fl)
                os.makedirs(out)
                work = os.path.join(d, "work")
                boot = br.profile_boot_status(work, out, fl)
                prof = br.emulator_profile(work, out, fl, "cpuid", boot,
                                           br.profile_windows(work, fl, ["cpuid", "hlt"], elf, elf),
                                           "t")
                self.assertEqual(prof["status"], "ok")
                self.assertEqual(prof["exits"], 100)
                self.assertEqual(prof["instructions_per_exit"], (2 * n + 200) / 100)
                self.assertEqual(prof["path_per_exit"]["svm_vcpu_run"], 2 * n / 100)
                self.assertEqual(prof["missing"], ["vcpu_enter_guest", "svm_vcpu_enter_exit",
                                                   "__svm_vcpu_run"])
                self.assertTrue(os.path.getsize(os.path.join(out, f"{fl}.profile.svg")))
                results["cpuid"][fl] = {"status": "ok", "profile": prof}
            notes = []
            md = "\n".join(bs.profile_section(d, ["baseline", "patched"], ["cpuid"], results,
                                               br.PROFILE_ROWS, notes))
            self.assertIn("| cpuid | 10 | 8 | 0.80 |", md)
            self.assertIn("| svm_vcpu_run | 8.0 | 6.0 | 0.75 |", md)
            self.assertIn("the profile lacks vcpu_enter_guest", "\n".join(notes))
            self.assertTrue(os.path.getsize(os.path.join(d, "charts", "profile.svg")))
            # A failed profiled boot: its reason, and its console kept in the run.
            os.makedirs(os.path.join(d, "work", "debug-profile"))
            for name, text in (("status", "not made: the profiled debug boot ended with status "
                                "124\n"), ("console.log", "boot\n")):
                with open(os.path.join(d, "work", "debug-profile", name), "w") as f:
                    f.write(text)
            boot = br.profile_boot_status(os.path.join(d, "work"), os.path.join(d, "out"), "debug")
            self.assertTrue(boot.endswith("status 124 (console: debug.profile-console.log)"))
            self.assertTrue(os.path.exists(os.path.join(d, "out", "debug.profile-console.log")))
            self.assertEqual(br.emulator_profile(d, d, "debug", "cpuid", boot, None, "t"),
                             {"status": boot})
            # No profiled boot: said once, why.
            none = {"cpuid": {fl: {"status": "ok", "profile": {"status": "not made: needs the lab "
                                                             "QEMU"}} for fl in ("baseline", "patched")}}
            md = "\n".join(bs.profile_section(d, ["baseline", "patched"], ["cpuid"], none,
                                               br.PROFILE_ROWS, []))
            self.assertIn("Not made: needs the lab QEMU.", md)

    def test_index_lists_runs_and_keeps_the_text(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "README.md"), "w") as f:
                f.write("# results\n\nHand-written text.\n")
            os.makedirs(os.path.join(d, "run1"))
            res = self.results()
            res["cpuid"]["baseline"]["figures"]["xfeature_writes_per_exit"] = 2.0
            res["cpuid"]["patched"]["figures"]["xfeature_writes_per_exit"] = 0.5
            with open(os.path.join(d, "run1", "summary.json"), "w") as f:
                json.dump({"meta": self.META, "results": res}, f)
            os.makedirs(os.path.join(d, ".incomplete-bench.x"))
            os.makedirs(os.path.join(d, "test-patched-1"))
            with open(os.path.join(d, "test-patched-1", "summary.json"), "w") as f:
                json.dump({"counts": {}}, f)
            br.index(d)
            br.index(d)
            text = open(os.path.join(d, "README.md")).read()
            self.assertIn("Hand-written text.", text)
            self.assertEqual(text.count(br.INDEX_START), 1)
            self.assertIn("[run1](run1/summary.md)", text)
            self.assertIn("cpuid XCR0/XSS switches/exit 2.00 -> 0.50", text)
            # A run with no saving still has a headline: what each exit reloads.
            res["cpuid"]["patched"]["figures"]["xfeature_writes_per_exit"] = 2.0
            for fl, v in (("baseline", 4.0), ("patched", 4.0)):
                res["cpuid"][fl]["figures"]["reloads_per_exit"] = v
            with open(os.path.join(d, "run1", "summary.json"), "w") as f:
                json.dump({"meta": self.META, "results": res}, f)
            br.index(d)
            self.assertIn("cpuid reloads/exit 4.00 -> 4.00", open(os.path.join(d, "README.md")).read())
            self.assertNotIn("incomplete", text)

    def test_readme_shows_the_newest_runs_headline_chart(self):
        with tempfile.TemporaryDirectory() as d:
            res = os.path.join(d, "results")
            for run_name in ("20260101T0000Z-tcg", "20260102T0000Z-tcg", "20260103T0000Z-tcg"):
                os.makedirs(os.path.join(res, run_name, "charts"))
                if run_name != "20260103T0000Z-tcg":    # no charts: an older kind of run
                    open(os.path.join(res, run_name, "charts", "xfeatures.svg"), "w").close()
            readme = os.path.join(d, "README.md")
            with open(readme, "w") as f:
                f.write(f"# x\n\n{br.CHART_START}\nold\n{br.CHART_END}\n\nrest\n")
            br.readme_chart(res, readme)
            text = open(readme).read()
            self.assertIn("](results/20260102T0000Z-tcg/charts/xfeatures.svg)", text)
            self.assertNotIn("old", text)
            self.assertTrue(text.endswith("\n\nrest\n"))


class FlameSvg(unittest.TestCase):
    def test_graph_diff_and_colours(self):
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a.folded"), os.path.join(d, "b.folded")
            open(a, "w").write("bench;kvm_vcpu_ioctl;svm_vcpu_run 90\nbench;kvm_vcpu_ioctl;xsetbv 10\n")
            open(b, "w").write("bench;kvm_vcpu_ioctl;svm_vcpu_run 50\nbench;kvm_vcpu_ioctl;xsetbv 50\n")
            for src, out in ((a, "a.svg"), (b, "b.svg")):
                r = run([sys.executable, os.path.join(SCRIPTS, "flamesvg.py"), "--title", "T", src,
                         os.path.join(d, out)])
                self.assertEqual(r.returncode, 0, r.stderr)
            sa, sb = (open(os.path.join(d, x)).read() for x in ("a.svg", "b.svg"))
            self.assertIn("svm_vcpu_run (90 samples, 90.00%)", sa)
            # A gzipped folded file (the emulator profile's) draws the same graph.
            with gzip.open(a + ".gz", "wt") as f:
                f.write(open(a).read())
            r = run([sys.executable, os.path.join(SCRIPTS, "flamesvg.py"), "--title", "T", a + ".gz",
                     os.path.join(d, "agz.svg")])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(open(os.path.join(d, "agz.svg")).read(), sa)

            def colour(svg, name):
                i = svg.index(f"<title>{name} (")
                return svg[i:].split('fill="', 1)[1].split('"', 1)[0]
            self.assertEqual(colour(sa, "xsetbv"), colour(sb, "xsetbv"))
            r = run([sys.executable, os.path.join(SCRIPTS, "flamesvg.py"), "--diff", a, b,
                     os.path.join(d, "diff.svg")])
            self.assertEqual(r.returncode, 0, r.stderr)
            sd = open(os.path.join(d, "diff.svg")).read()
            self.assertTrue(colour(sd, "xsetbv").startswith("rgb(255,"))      # grew: red
            self.assertTrue(colour(sd, "svm_vcpu_run").endswith(",255)"))     # shrank: blue

    def test_bad_input_is_one_line(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.folded")
            open(bad, "w").write("no count here\n")
            r = run([sys.executable, os.path.join(SCRIPTS, "flamesvg.py"), bad, os.path.join(d, "o.svg")])
            self.assertEqual(r.returncode, 1)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1)
            self.assertTrue(r.stderr.startswith("error: "))
            self.assertFalse(os.path.exists(os.path.join(d, "o.svg")))


class BenchRefusals(unittest.TestCase):
    """bench.sh against a fake build dir: refusals happen before any boot."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = self.tmp.name
        self.build, self.results = os.path.join(d, "build"), os.path.join(d, "results")
        for fl in ("baseline", "patched"):
            os.makedirs(os.path.join(self.build, fl, "selftests", "bench"))
            open(os.path.join(self.build, fl, "bzImage"), "w").close()
            b = os.path.join(self.build, fl, "selftests", "bench", "lazyswitch_bench")
            with open(b, "w") as f:
                f.write("#!/bin/sh\n[ \"$1\" = -l ] && printf 'cpuid  x\\nhlt  y\\n'\n")
            os.chmod(b, 0o755)
        os.makedirs(os.path.join(self.build, "bpf"))
        for t in ("kvmswitch", "kvmexitlat"):
            p = os.path.join(self.build, "bpf", t)
            open(p, "w").close()
            os.chmod(p, 0o755)
        tpl = os.path.join(self.build, "flamegraph/node_modules/d3-flame-graph/dist/templates")
        os.makedirs(tpl)
        open(os.path.join(tpl, "d3-flamegraph-base.html"), "w").close()

    def tearDown(self):
        self.tmp.cleanup()

    def bench(self, **env):
        e = dict(os.environ, BUILD_DIR=self.build, RESULTS_DIR=self.results)
        e.pop("ACCEL", None)
        e.update(env)
        return run(["bash", os.path.join(SCRIPTS, "bench.sh")], env=e)

    def assert_refused(self, r, text, code):
        self.assertEqual(r.returncode, code, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(text, lines[0])
        self.assertEqual(os.listdir(self.results) if os.path.isdir(self.results) else [], [])

    def test_unknown_case(self):
        self.assert_refused(self.bench(CASES="cpuid nope"), "unknown case 'nope' (known: cpuid hlt)", 2)

    def test_missing_tool(self):
        os.unlink(os.path.join(self.build, "bpf", "kvmexitlat"))
        self.assert_refused(self.bench(), "missing BPF tool", 1)

    def test_missing_kernel(self):
        os.unlink(os.path.join(self.build, "patched", "bzImage"))
        self.assert_refused(self.bench(), "no patched kernel", 1)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to mount a small tmpfs")
    def test_no_space(self):
        os.makedirs(self.results)
        r = run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", self.results])
        if r.returncode != 0:
            self.skipTest("cannot mount tmpfs: " + r.stderr.strip())
        try:
            self.assert_refused(self.bench(), "no space: less than 50 MiB free", 1)
        finally:
            run(["umount", self.results])

    def test_bad_accel_and_host(self):
        self.assert_refused(self.bench(ACCEL="xen"), "ACCEL must be", 2)
        self.assert_refused(self.bench(HOST="yes"), "HOST must be 0 or 1", 2)
        self.assert_refused(self.bench(ROUNDS="10"), "ROUNDS must be 1 to 9, not '10'", 2)


if __name__ == "__main__":
    unittest.main()
