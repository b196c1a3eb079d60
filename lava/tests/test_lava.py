# SPDX-License-Identifier: GPL-2.0
"""The LAVA jobs, the ramdisk's figures and the importer, without a
dispatcher run (lava/lava-smoke.sh runs one in 'make test')."""
import base64
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
LAVA = os.path.dirname(HERE)
REPO = os.path.dirname(LAVA)
sys.path.insert(0, HERE)
import kcidb_check  # noqa: E402
import lava_import  # noqa: E402
import lava_jobs  # noqa: E402

RUN = os.path.join(REPO, "results", "20261206T1040Z-tcg-amd-epyc")


def have_schema():
    try:
        lava_jobs.lava_schema()
        return True
    except lava_jobs.InputError:
        return False


def entry(lvl, msg):
    return json.dumps({"dt": "2026-12-06T00:00:00", "lvl": lvl, "msg": msg})


def file_lines(fl, path, data, damage=False):
    b64 = base64.b64encode(gzip.compress(data)).decode()
    if damage:
        b64 = b64[:-8] + "AAAAAAAA"
    chunks = [b64[i:i + 96] for i in range(0, len(b64), 96)]
    return ([entry("target", f"LAZYSWITCH-LAVA-FILE: {fl} {path} {c}") for c in chunks]
            + [entry("target", f"LAZYSWITCH-LAVA-FILE-END: {fl} {path} "
                     + hashlib.sha256(data).hexdigest())])


def result(definition, case, res="pass", measurement=None, units=None):
    m = {"case": case.replace("/", "_").replace(".", "_"), "definition": definition,
         "extra": {"test_case_id": case}, "result": res}
    if measurement is not None:
        m.update(measurement=str(measurement), units=units)
    return entry("results", m)


def job_log(job_id=7, job_result="pass", figure_shift=0.0):
    """A log of a smoke job of case cpuid, from a committed run's raw files."""
    lines = [entry("info", f"Root tmp directory removed at /var/lib/lava/dispatcher/tmp/{job_id}")]
    for fl in ("baseline", "patched"):
        lines.append(result(f"{fl}-selftests", "lazyswitch/pvtimer_test",
                            "skip" if fl == "baseline" else "pass"))
        lines.append(result(f"{fl}-bench", "cpuid"))
        with open(os.path.join(RUN, "cpuid", f"{fl}.figures.json")) as f:
            figs = json.load(f)["figures"]
        for name in sorted(lava_import.NEEDED_FIGURES):
            shift = figure_shift if name == "uret_writes_per_exit" else 0.0
            lines.append(result(f"{fl}-figures", f"cpuid.{name}", "pass",
                                figs[name] + shift, "x/y"))
        for name, text in (("uname", f"6.12.118-lazyswitch-{fl}\n"), ("cpu", "Test CPU\n"),
                           ("nrips", "1\n"), ("perf_event", "none\n"),
                           ("series_sha", "ab" * 32 + "\n"), ("cpuid/status", "cpuid ok\n")):
            lines += file_lines(fl, name, text.encode())
        for raw in ("bench.txt", "kvmswitch.json", "kvmexitlat.json"):
            with open(os.path.join(RUN, "cpuid", f"{fl}.{raw}"), "rb") as f:
                lines += file_lines(fl, f"cpuid/{raw}", f.read())
    lines.append(entry("results", {"case": "job", "definition": "lava", "result": job_result,
                                   **({"error_msg": "Connection closed"} if job_result != "pass" else {})}))
    return "\n".join(lines) + "\n"


class Jobs(unittest.TestCase):
    def test_qemu_job_has_each_kernels_sections(self):
        doc = lava_jobs.job("qemu", "t", ["selftests", "bench"], ["cpuid"], "file:///a")
        names = lava_import.expected_sections(doc)
        self.assertEqual(names, [f"{fl}-{s}" for fl in ("baseline", "patched")
                                 for s in ("selftests", "bench", "figures")])
        self.assertIn("lazyswitch.run=selftests,bench lazyswitch.cases=cpuid",
                      doc["actions"][0]["deploy"]["images"]["kernel"]["image_arg"])

    def test_baremetal_job_boots_ipxe_from_tftp(self):
        doc = lava_jobs.job("baremetal", "t", ["bench"], ["cpuid", "hlt"], "http://x/", tags=["amd"])
        self.assertEqual(doc["device_type"], "x86")
        self.assertEqual(doc["tags"], ["amd"])
        self.assertEqual(doc["actions"][0]["deploy"]["to"], "tftp")
        self.assertEqual(doc["actions"][0]["deploy"]["kernel"]["url"], "http://x/baseline/bzImage")
        self.assertIn("lazyswitch.cases=cpuid,hlt", doc["context"]["extra_kernel_args"])

    def test_kvm_jobs_leave_no_kvm_out(self):
        """LAVA's qemu template tests no_kvm for truth: "false" would turn
        KVM off."""
        kvm = lava_jobs.job("qemu", "t", ["bench"], ["cpuid"], "file:///a", accel="kvm")
        self.assertNotIn("no_kvm", kvm["context"])
        self.assertEqual(kvm["metadata"]["lazyswitch.accel"], "kvm")
        tcg = lava_jobs.job("qemu", "t", ["bench"], ["cpuid"], "file:///a")
        self.assertEqual(tcg["context"]["no_kvm"], "true")
        self.assertIn("-cpu max", tcg["context"]["extra_options"])
        with self.assertRaises(lava_jobs.InputError):
            lava_jobs.job("qemu", "t", ["bench"], ["cpuid", "cpuid"], "file:///a")

    def test_bad_job_input(self):
        with self.assertRaises(lava_jobs.InputError):
            lava_jobs.job("qemu", "t", ["bench"], ["cpuid; reboot"], "file:///a")
        with self.assertRaises(lava_jobs.InputError):
            lava_jobs.job("qemu", "t", ["bench"], [], "file:///a")
        with self.assertRaises(lava_jobs.InputError):
            lava_jobs.job("qemu", "t", ["fuzz"], [], "file:///a")

    @unittest.skipUnless(have_schema(), "no lava-common (Debian package) to validate with")
    def test_lavas_schema_accepts_ours_and_rejects_a_broken_job(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "job.yaml")
            for target in ("qemu", "baremetal"):
                lava_jobs.write(p, lava_jobs.job(target, "t", ["selftests", "bench"], ["cpuid"],
                                                 "file:///a", series="ab" * 32))
                lava_jobs.validate(p)
            doc = lava_jobs.job("qemu", "t", ["selftests"], [], "file:///a")
            del doc["actions"][0]["deploy"]["images"]
            lava_jobs.write(p, doc)
            with self.assertRaisesRegex(lava_jobs.InputError, "schema rejects"):
                lava_jobs.validate(p)


class RamdiskFigures(unittest.TestCase):
    @unittest.skipUnless(shutil.which("awk"), "no awk")
    def test_awk_figures_equal_the_reports(self):
        """kvmswitch-figures.awk (in the ramdisk) and bench_report.py (here)
        compute the same per-exit figures from one kvmswitch document."""
        import bench_report
        awk = ["busybox", "awk"] if shutil.which("busybox") else ["awk"]
        for case in ("xstate_ipi_absent", "cpuid"):
            p = os.path.join(RUN, case, "patched.kvmswitch.json")
            out = subprocess.run(awk + ["-v", f"c={case}", "-f",
                                        os.path.join(LAVA, "guest", "kvmswitch-figures.awk"), p],
                                 capture_output=True, text=True, check=True).stdout
            figs = bench_report.kvmswitch_figures(bench_report.last_json(p))[0]
            got = {ln.split()[1].split(".", 1)[1]: float(ln.split()[3]) for ln in out.splitlines()}
            self.assertEqual(len(got), 5)
            for k, v in got.items():
                self.assertAlmostEqual(v, figs[k], places=7, msg=f"{case} {k}")


class FilesSent(unittest.TestCase):
    def test_the_importer_takes_exactly_the_files_the_ramdisk_sends(self):
        """run-lava.sh's send lists and lava_import's RUN_FILES/CASE_FILES
        are one list written twice: they must not drift apart."""
        import re
        text = open(os.path.join(LAVA, "guest", "run-lava.sh")).read()
        lists = re.findall(r"for f in ([a-z0-9_. ]+); do", text)
        sent = set(re.findall(r"send \./(\S+) ", text))
        self.assertEqual(len(lists), 2)
        self.assertEqual(set(lists[0].split()) | sent, lava_import.RUN_FILES)
        self.assertEqual(set(lists[1].split()), lava_import.CASE_FILES)


class Import(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.mkdtemp()
        self.res = os.path.join(self.d, "results")
        os.makedirs(self.res)

    def tearDown(self):
        shutil.rmtree(self.d)

    def imp(self, log, job="7", job_doc=None, **kw):
        if job_doc is None:
            job_doc = lava_jobs.job("qemu", "t", ["selftests", "bench"], ["cpuid"], "file:///a",
                                    series="ab" * 32)
        p = os.path.join(self.d, "log.jsonl")
        with open(p, "w") as f:
            f.write(log)
        jf = None
        if job_doc:
            jf = os.path.join(self.d, "job.yaml")
            lava_jobs.write(jf, job_doc)
        a = lava_import.argparse.Namespace(dir=None, log=p, url=None, lavacli=None, job=job,
                                           job_file=jf, device="dev1", device_type="qemu",
                                           token=None, results=self.res, name=kw.get("name"))
        return lava_import.do_import(a)

    def test_a_log_becomes_a_run_directory(self):
        run = self.imp(job_log())
        meta = json.load(open(os.path.join(run, "meta.json")))
        self.assertEqual(meta["lava"]["job_id"], "7")
        self.assertEqual(meta["lava"]["device"], "dev1")
        self.assertEqual(meta["flavours"]["patched"]["series_sha"], "ab" * 32)
        summary = open(os.path.join(run, "summary.md")).read()
        self.assertIn("## LAVA job", summary)
        self.assertIn("| baseline | 0 | 0 | 1 |", summary)
        self.assertTrue(os.path.exists(os.path.join(run, "charts", "exits.svg")))
        self.assertEqual(sorted(os.listdir(self.res)), sorted([os.path.basename(run), "README.md"]))
        self.assertIn(os.path.basename(run), open(os.path.join(self.res, "README.md")).read())
        # A server's log.yaml: the same entries as '- {...}' lines.
        yaml_log = "".join(f"- {ln}\n" for ln in job_log().splitlines())
        self.imp(yaml_log, name="from-yaml")

    def test_bad_logs_leave_nothing(self):
        cases = [
            (job_log(job_id=8), "not job 7"),
            (job_log(job_result="fail"), "did not boot.*Connection closed"),
            (job_log(figure_shift=0.5), "disagree"),
            (job_log().replace("LAZYSWITCH-LAVA-FILE-END: patched cpuid/bench.txt",
                               "LAZYSWITCH-LAVA-FILE-END: patched ../bench.txt"), "may not"),
            ("not a log\n", "not a LAVA log entry"),
        ]
        for log, want in cases:
            with self.assertRaisesRegex(lava_import.InputError, want):
                self.imp(log)
            self.assertEqual(os.listdir(self.res), [])

    def test_a_log_of_another_build_or_with_a_section_missing_is_refused(self):
        doc = lava_jobs.job("qemu", "t", ["selftests", "bench"], ["cpuid"], "file:///a",
                            series="cd" * 32)
        with self.assertRaisesRegex(lava_import.InputError, "another build"):
            self.imp(job_log(), job_doc=doc)
        doc["metadata"]["lazyswitch.series"] = "ab" * 32
        doc["actions"][-1]["test"]["monitors"].append(
            {"name": "patched-extra", "start": "s", "end": "e", "pattern": "p"})
        with self.assertRaisesRegex(lava_import.InputError, "no results of patched-extra"):
            self.imp(job_log(), job_doc=doc)
        self.assertFalse(os.path.isdir(self.res) and os.listdir(self.res))

    def test_review_hostile_logs(self):
        """A log is what a device or server says: names it gives must not
        reach outside results/, and nothing it holds may cause a traceback."""
        outside = os.path.join(self.d, "escaped")
        evil_case = "../../../../escaped"
        cases = [
            (job_log().replace('"cpuid"', json.dumps(evil_case)), "bad case name"),
            (job_log() + "\n".join(file_lines("patched", "cpuid/..", b"x")) + "\n", "may not"),
            (job_log() + "\n".join(file_lines("patched", "uname/x", b"x")) + "\n", "may not"),
            (job_log().replace('"definition": "patched-bench", ', ""), "without a test suite"),
            (job_log() + result("patched-figures", "cpuid.iters", "pass", "1e", "iters") + "\n",
             "not a finite number"),
        ]
        for log, want in cases:
            with self.assertRaisesRegex(lava_import.InputError, want):
                self.imp(log)
            self.assertEqual(os.listdir(self.res), [])
            self.assertFalse(os.path.exists(outside))
        with self.assertRaisesRegex(lava_import.InputError, "bad job id"):
            self.imp(job_log(), job="1/../../x")

    def test_review_gzip_bomb_is_refused(self):
        bomb = job_log() + "\n".join(file_lines("patched", "cpuid/traced.txt",
                                                   bytes(200 * 1024 * 1024))) + "\n"
        with self.assertRaisesRegex(lava_import.InputError, "too large"):
            self.imp(bomb)

    def test_review_results_without_test_case_id(self):
        """Newer LAVA monitors keep only the slug of the id: the importer
        takes the id from the console line the result was matched on."""
        lines = []
        for ln in job_log().splitlines():
            e = json.loads(ln)
            if e["lvl"] == "results" and isinstance(e["msg"], dict) and "extra" in e["msg"]:
                tid = e["msg"].pop("extra")["test_case_id"]
                word = "FIGURE" if "measurement" in e["msg"] else "RESULT"
                extra = (f" {e['msg']['measurement']} {e['msg']['units']}"
                         if word == "FIGURE" else "")
                lines.append(entry("target", f"LAZYSWITCH-LAVA-{word}: {tid} "
                                   f"{e['msg']['result']}{extra}"))
            lines.append(json.dumps(e))
        run = self.imp("\n".join(lines) + "\n")
        lava = json.load(open(os.path.join(run, "lava.json")))
        self.assertEqual(lava["selftests"]["patched"], {"lazyswitch/pvtimer_test": "pass"})
        shifted = "\n".join(lines).replace('"measurement": "0.00', '"measurement": "0.50')
        with self.assertRaisesRegex(lava_import.InputError, "disagree"):
            self.imp(shifted + "\n", name="shifted")

    def test_review_every_figure_is_checked(self):
        """A case that ran must have all its figures in LAVA, or the check
        compared nothing."""
        log = "\n".join(ln for ln in job_log().splitlines()
                        if "uret_writes_per_exit" not in ln) + "\n"
        with self.assertRaisesRegex(lava_import.InputError, "LAVA has no figure uret"):
            self.imp(log)

    def test_review_job_id_only_from_the_dispatcher(self):
        log = job_log().replace("Root tmp directory removed at /var/lib/lava/dispatcher/tmp/7", "x")
        with self.assertRaisesRegex(lava_import.InputError, "names no job"):
            self.imp(log)
        console = entry("target", "a device printing /var/lib/lava/dispatcher/tmp/99/x")
        self.imp(console + "\n" + job_log())

    def test_rereview_hostile_values(self):
        """Second review: values a log or definition can carry."""
        nan = job_log() + result("patched-figures", "cpuid.iters", "pass", "nan", "iters") + "\n"
        with self.assertRaisesRegex(lava_import.InputError, "finite"):
            self.imp(nan)
        bomb = ('{"dt": "x", "lvl": "results", "msg": {"a": &a ["x","x","x","x","x","x"], '
                '"b": &b [*a,*a,*a,*a,*a,*a], "c": [*b,*b,*b,*b,*b,*b]}}')
        with self.assertRaisesRegex(lava_import.InputError, "not a LAVA log entry"):
            self.imp(bomb + "\n" + job_log())
        no_series = job_log().replace("LAZYSWITCH-LAVA-FILE-END: baseline series_sha",
                                      "LAZYSWITCH-LAVA-FILE-END: baseline nrips_x")
        with self.assertRaisesRegex(lava_import.InputError, "."):
            self.imp(no_series)
        lines = [ln for ln in job_log().splitlines() if "series_sha" not in ln]
        with self.assertRaisesRegex(lava_import.InputError, "no series hash"):
            self.imp("\n".join(lines) + "\n")
        doc = lava_jobs.job("qemu", "t", ["selftests", "bench"], ["cpuid"], "file:///a")
        del doc["metadata"]
        with self.assertRaisesRegex(lava_import.InputError, "no job definition"):
            self.imp(job_log(), job_doc=doc)
        self.assertEqual(os.listdir(self.res), [])

    def test_rereview_slugs_in_any_order_and_never_ambiguous(self):
        def strip(log, console_after=False, twin=None):
            out = []
            for ln in log.splitlines():
                e = json.loads(ln)
                if e["lvl"] == "results" and isinstance(e["msg"], dict) and "extra" in e["msg"]:
                    tid = e["msg"].pop("extra")["test_case_id"]
                    con = entry("target", f"LAZYSWITCH-LAVA-RESULT: {tid} pass")
                    out += [json.dumps(e), con] if console_after else [con, json.dumps(e)]
                    if twin and tid == "lazyswitch/pvtimer_test":
                        out.append(entry("target", f"LAZYSWITCH-LAVA-RESULT: {twin} pass"))
                    continue
                out.append(ln)
            return "\n".join(out) + "\n"
        run = self.imp(strip(job_log(), console_after=True))
        lava = json.load(open(os.path.join(run, "lava.json")))
        self.assertIn("lazyswitch/pvtimer_test", lava["selftests"]["patched"])
        with self.assertRaisesRegex(lava_import.InputError, "share its name"):
            self.imp(strip(job_log(), twin="lazyswitch/pvtimer:test"), name="twin")

    def test_rereview_monitor_patterns_take_whole_lines(self):
        import re
        res = re.compile(lava_jobs.RESULT)
        fig = re.compile(lava_jobs.FIGURE)
        self.assertIsNone(res.search("\r\nok 3 t # SKIP LAZYSWITCH-LAVA-RESULT: x pass\r\n"))
        self.assertEqual(res.search("\r\nLAZYSWITCH-LAVA-RESULT: a/b:c skip\r\n")["test_case_id"],
                         "a/b:c")
        self.assertIsNone(res.search("\r\nLAZYSWITCH-LAVA-RESULT: a pass"))   # not yet whole
        # Through the dispatcher's pty a line ends in \r\r\n.
        self.assertIsNotNone(res.search("\r\r\nLAZYSWITCH-LAVA-RESULT: a pass\r\r\n"))
        # What the dispatcher has not read yet may start at the line.
        self.assertIsNotNone(res.search("LAZYSWITCH-LAVA-RESULT: a pass\r\n"))
        m = fig.search("\nLAZYSWITCH-LAVA-FIGURE: c.n pass 1.5e-07 ns/iter\r\n")
        self.assertEqual((m["measurement"], m["units"]), ("1.5e-07", "ns/iter"))
        self.assertIsNone(fig.search("\nLAZYSWITCH-LAVA-FIGURE: c.n pass 1e ns\r\n"))
        end = re.compile(lava_jobs.monitors("patched", ["selftests"])[0]["end"])
        self.assertIsNone(end.search("\n#   LAZYSWITCH-LAVA-END: selftests\r\n"))
        self.assertIsNotNone(end.search("\r\nLAZYSWITCH-LAVA-END: selftests\r\n"))

    def test_a_damaged_file_is_refused(self):
        lines = job_log().splitlines()
        i = next(n for n, ln in enumerate(lines) if "FILE: patched cpuid/kvmswitch.json" in ln)
        lines[i] = lines[i][:-12] + 'AAAAAAAAAA"}'
        with self.assertRaisesRegex(lava_import.InputError, "damaged"):
            self.imp("\n".join(lines) + "\n")

    def test_a_servers_rest_api(self):
        """The REST path, against a stand-in that serves what LAVA's v0.2
        API does: the job (with its definition) and its log.yaml."""
        import http.server
        import threading
        doc = lava_jobs.job("qemu", "t", ["selftests", "bench"], ["cpuid"], "file:///a",
                            series="ab" * 32)
        pages = {"/api/v0.2/jobs/7/": json.dumps({"id": 7, "actual_device": "qemu-03",
                                                   "state": "Finished",
                                                   "definition": lava_import.yaml.safe_dump(doc)}),
                 "/api/v0.2/jobs/7/logs/": "".join(f"- {ln}\n" for ln in job_log().splitlines()),
                 "/api/v0.2/jobs/8/": json.dumps({"id": 8, "state": "Running"})}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path)
                self.send_response(200 if body else 404)
                self.end_headers()
                self.wfile.write((body or "").encode())

            def log_message(self, *args):
                pass
        srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{srv.server_port}"

            def imp(job):
                return lava_import.do_import(lava_import.argparse.Namespace(
                    dir=None, log=None, url=url, lavacli=None, job=job, job_file=None,
                    device=None, device_type=None, token=None, results=self.res, name=None))
            run = imp("7")
            meta = json.load(open(os.path.join(run, "meta.json")))
            self.assertEqual((meta["lava"]["device"], meta["lava"]["source"]), ("qemu-03", url))
            with self.assertRaisesRegex(lava_import.InputError, "running, not finished"):
                imp("8")
            with self.assertRaisesRegex(lava_import.InputError, "HTTP 404"):
                imp("9")
        finally:
            srv.shutdown()

    def test_fleet_table_and_kcidb(self):
        a = self.imp(job_log(), name="a")
        b = self.imp(job_log(), name="b")
        s = json.load(open(os.path.join(b, "summary.json")))
        s["meta"]["lava"]["device"] = "dev2"
        json.dump(s, open(os.path.join(b, "summary.json"), "w"))
        table = lava_import.compare([a, b], "cpuid").splitlines()
        self.assertEqual(len(table), 4)
        # Two runs of one device: its newest only.
        c = self.imp(job_log(), name="c")
        self.assertEqual(len(lava_import.compare([a, c], "cpuid").splitlines()), 3)
        self.assertTrue(table[3].startswith("| dev2 |"))
        self.assertIn("n/c (1 round)", table[2])
        doc = lava_import.kcidb(a, "lazyswitch", series_file=os.path.join(REPO, "series"))
        self.assertEqual(kcidb_check.problems(doc), [])
        self.assertEqual(len(doc["builds"]), 2)
        self.assertEqual({t["status"] for t in doc["tests"]}, {"PASS", "SKIP", "DONE"})
        with self.assertRaises(lava_import.InputError):
            lava_import.kcidb(a, "Bad-Origin")
        with self.assertRaises(lava_import.InputError):
            lava_import.compare([self.d])


if __name__ == "__main__":
    unittest.main()
