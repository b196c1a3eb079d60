#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""lava_import.py: read a finished LAVA job of lava/lava_jobs.py back into
results/<run>/, in the format 'make bench' writes.

  import (--dir DIR | --log FILE --job ID | --url URL --job ID | --lavacli ID --job ID)
         [--results DIR] [--name NAME]
  compare RUN... [--case C]  one table, a row per device: the headline ratios
  kcidb RUN --origin O    a KCIDB (v5.3) submission of the run, on stdout

The job's log is the one source: the LAVA results (test cases and
figures) and the raw files the ramdisk printed (lava/guest/run-lava.sh).
DIR is a local run of lava/lava.sh (job.yaml, job-id, device, log.jsonl);
--url reads a LAVA server's REST API (v0.2), --lavacli a lavacli identity.
"""
import argparse
import base64
import datetime
import gzip
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zlib

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench", "harness"))
import bench_report  # noqa: E402
import bench_summary  # noqa: E402

FLAVOURS = ["baseline", "patched"]
FILE_RE = re.compile(r"^LAZYSWITCH-LAVA-FILE: (\S+) (\S+) ([A-Za-z0-9+/=]+)$")
FILE_END_RE = re.compile(r"^LAZYSWITCH-LAVA-FILE-END: (\S+) (\S+) ([0-9a-f]{64})$")
RESULT_RE = re.compile(r"^LAZYSWITCH-LAVA-(?:RESULT|FIGURE): (\S+) ")
JOB_TMP_RE = re.compile(r"/dispatcher/tmp/(\d+)\b")
JOB_ID_RE = re.compile(r"^\d+(\.\d+)?$")
CASE_RE = re.compile(r"^[a-z0-9_]+$")
# The only files the ramdisk sends (lava/guest/run-lava.sh): nothing a log
# names reaches anywhere else.
RUN_FILES = {"uname", "cpu", "nrips", "perf_event", "series_sha", "config_sha256"}
CASE_FILES = {"status", "calibrate.txt", "bench.txt", "traced.txt", "kvmswitch.json",
              "kvmexitlat.json"}
# The figures each case that ran must have in LAVA: bench.txt's and the
# kvmswitch ones the ramdisk computes (lava/guest/kvmswitch-figures.awk).
NEEDED_FIGURES = {"iters", "ns_per_iter", "exits_per_iter", "xfeature_writes_per_exit",
                  "pkru_writes_per_exit", "uret_writes_per_exit", "fastpath_per_exit",
                  "reenter_per_exit"}
MAX_FILE = 16 << 20     # a case's raw files are kilobytes
MAX_TOTAL = 256 << 20
MAX_LOG = 32 << 20      # a bench job of every case logs a few MB
RESULT_KEYS = {"case", "definition", "result", "measurement", "units", "test_case_id"}


class SafeLoader(yaml.SafeLoader):
    """YAML without aliases: a few bytes of them can expand without end."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            raise yaml.YAMLError("aliases are not accepted")
        return super().compose_node(parent, index)


def load_yaml(text):
    return yaml.load(text, Loader=SafeLoader)


class InputError(Exception):
    pass


def log_entries(text):
    """The entries ({dt, lvl, msg}) of a LAVA job log: lava-run's JSON
    lines, or a server's log.yaml (one '- {...}' flow mapping per line)."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("- "):
            line = line[2:]
        try:
            e = json.loads(line)
        except ValueError:
            try:
                e = load_yaml(line)
            except yaml.YAMLError:
                raise InputError(f"line {n} of the log is not a LAVA log entry")
        if not isinstance(e, dict) or "lvl" not in e or "msg" not in e:
            raise InputError(f"line {n} of the log is not a LAVA log entry")
        out.append(e)
    if not out:
        raise InputError("the log is empty")
    return out


def allowed_file(fl, path):
    if fl not in FLAVOURS:
        return False
    if "/" not in path:
        return path in RUN_FILES
    case, name = path.split("/", 1)
    return bool(CASE_RE.match(case)) and name in CASE_FILES


def gunzip(data, limit):
    """DATA decompressed, or None if it is larger than LIMIT."""
    d = zlib.decompressobj(wbits=31)
    out = d.decompress(data, limit)
    if d.unconsumed_tail or not d.eof:
        return None
    return out


def slug(tid):
    """The case name LAVA's monitor makes of a test case id."""
    return re.sub(r"\W+", "_", tid.strip().lower())


def parse_log(entries):
    """{job_ids, job, results: [...], files: {(fl, path): bytes}}. Each
    result gets the id the ramdisk printed (extra.test_case_id in older
    LAVA; newer ones keep only its slug, so the id is taken from the
    console line of that slug)."""
    chunks, files, results, ids, printed, unslugged = {}, {}, [], set(), set(), []
    job, total = None, 0
    for e in entries:
        msg = e["msg"]
        # Only the dispatcher's own lines name the job; a device may print anything.
        if isinstance(msg, str) and e["lvl"] in ("info", "debug"):
            ids.update(JOB_TMP_RE.findall(msg))
        if e["lvl"] == "target" and isinstance(msg, str):
            m = RESULT_RE.match(msg)
            if m:
                printed.add(m[1])
                continue
            m = FILE_RE.match(msg)
            if m:
                chunks.setdefault((m[1], m[2]), []).append(m[3])
                continue
            m = FILE_END_RE.match(msg)
            if m:
                key = (m[1], m[2])
                if not allowed_file(*key) or key in files:
                    raise InputError(f"the log names a file it may not: {m[1]} {m[2]}")
                try:
                    data = gunzip(base64.b64decode("".join(chunks.pop(key, []))), MAX_FILE)
                except (ValueError, zlib.error):
                    raise InputError(f"{m[1]} {m[2]}: the file in the log is damaged")
                if data is None:
                    raise InputError(f"{m[1]} {m[2]}: the file in the log is too large "
                                     f"(over {MAX_FILE >> 20} MiB unpacked) or damaged")
                total += len(data)
                if total > MAX_TOTAL:
                    raise InputError(f"the files in the log are too large (over {MAX_TOTAL >> 20} MiB)")
                if hashlib.sha256(data).hexdigest() != m[3]:
                    raise InputError(f"{m[1]} {m[2]}: the file in the log is damaged (sha256 differs)")
                files[key] = data
        elif e["lvl"] == "results" and isinstance(msg, dict):
            d = msg.get("definition")
            if d == "lava" and msg.get("case") == "job":
                job = msg
            elif d != "lava":
                if not isinstance(d, str) or not isinstance(msg.get("case"), str):
                    raise InputError("a LAVA result without a test suite or case")
                extra = msg.get("extra")
                tid = extra.get("test_case_id") if isinstance(extra, dict) else None
                msg = {k: v for k, v in msg.items() if k in RESULT_KEYS}
                if tid is None:
                    unslugged.append(msg)
                else:
                    msg["test_case_id"] = str(tid)
                if "measurement" in msg:
                    try:
                        msg["measurement"] = float(msg["measurement"])
                    except (TypeError, ValueError):
                        msg["measurement"] = math.nan
                    if not math.isfinite(msg["measurement"]):
                        raise InputError(f"{d} {msg['case']}: measurement is not a finite number")
                results.append(msg)
    # Results that kept only the slug of their id: the id is the one
    # console line of that slug (two ids of one slug cannot be told apart).
    ids_of = {}
    for p in printed:
        ids_of.setdefault(slug(p), set()).add(p)
    for msg in unslugged:
        cand = ids_of.get(msg["case"], set())
        if len(cand) != 1:
            raise InputError(f"cannot tell which test LAVA's result {msg['definition']} "
                             f"{msg['case']} is" + (" (ids share its name)" if cand else ""))
        msg["test_case_id"] = next(iter(cand))
    return {"job_ids": ids, "job": job, "results": results, "files": files}


def check_job(parsed, job_id, expect):
    """Refuse a log of another job, a job that did not finish, or one that
    lacks a section EXPECT (["baseline-selftests", ...]) asked for."""
    if not parsed["job_ids"]:
        raise InputError(f"the log names no job (no dispatcher path with a job id): "
                         f"cannot tell it is job {job_id}")
    if parsed["job_ids"] != {str(job_id).split(".")[0]}:
        raise InputError(f"the log is of LAVA job {', '.join(sorted(parsed['job_ids']))}, "
                         f"not job {job_id}")
    job = parsed["job"]
    if job is None:
        raise InputError(f"job {job_id}: the log has no final job result (did the job finish?)")
    seen = {r["definition"] for r in parsed["results"]}
    missing = [d for d in expect if d not in seen]
    if job.get("result") != "pass" or missing:
        why = "; ".join(x for x in (job.get("error_msg"), missing and
                                    f"no results of {', '.join(missing)}") if x) or "failed"
        raise InputError(f"job {job_id} did not boot and run every kernel: {why}")


def expected_sections(job_doc):
    """The monitors' names in a job definition (lava/lava_jobs.py's)."""
    names = []
    for action in job_doc.get("actions", []):
        for m in action.get("test", {}).get("monitors", []):
            names.append(m["name"])
    return names


def fetch_url(url, token=None):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read(MAX_LOG + 1).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        raise InputError(f"LAVA server: {url}: HTTP {e.code} {e.reason}")
    except (urllib.error.URLError, OSError) as e:
        raise InputError(f"cannot reach the LAVA server at {url}: "
                         f"{getattr(e, 'reason', e)}")


def source(a):
    """(log text, job definition or None, job id, device, device type, server)."""
    if a.dir:
        def rd(name):
            try:
                with open(os.path.join(a.dir, name), errors="replace") as f:
                    return f.read(MAX_LOG + 1)
            except OSError:
                raise InputError(f"{a.dir}: no {name} (not a local run of lava/lava.sh)")
        job_id = rd("job-id").strip()
        if not JOB_ID_RE.match(job_id):
            raise InputError(f"{a.dir}: bad job id '{job_id}'")
        if a.job is not None and str(a.job) != job_id:
            raise InputError(f"{a.dir} is job {job_id}, not job {a.job}")
        device = load_yaml(rd("device.yaml")) or {}
        return (rd("log.jsonl"), load_yaml(rd("job.yaml")), job_id,
                rd("device-name").strip(), device.get("device_type", "qemu"), "local lava-run")
    if a.job is None:
        raise InputError("--job ID is needed with --log, --url and --lavacli")
    if not JOB_ID_RE.match(str(a.job)):
        raise InputError(f"bad job id '{a.job}' (a LAVA job id is a number)")
    if a.log:
        if not a.job_file:
            raise InputError("--log needs --job-file, the job's definition "
                             "(lavacli jobs definition ID > job.yaml)")
        try:
            with open(a.log, errors="replace") as f:
                text = f.read(MAX_LOG + 1)
        except OSError as e:
            raise InputError(f"cannot read {a.log}: {e.strerror}")
        job_doc = None
        if a.job_file:
            try:
                with open(a.job_file) as f:
                    job_doc = load_yaml(f)
            except (OSError, yaml.YAMLError) as e:
                raise InputError(f"cannot read the job definition {a.job_file}: {e}")
            if not isinstance(job_doc, dict):
                raise InputError(f"{a.job_file} is not a LAVA job definition")
        return text, job_doc, str(a.job), a.device or "unknown", a.device_type or "qemu", "log file"
    if a.url:
        base = a.url.rstrip("/")
        info = fetch_url(f"{base}/api/v0.2/jobs/{a.job}/", a.token)
        try:
            info = json.loads(info)
        except ValueError:
            raise InputError(f"{base}: not a LAVA REST API (no JSON for job {a.job})")
        if not isinstance(info, dict):
            raise InputError(f"{base}: not a LAVA REST API (no job {a.job})")
        if info.get("state") not in (None, "Finished"):
            raise InputError(f"job {a.job} is {info['state'].lower()}, not finished")
        try:
            job_doc = load_yaml(info.get("definition") or "{}") or {}
        except yaml.YAMLError:
            raise InputError(f"job {a.job}: its definition is not YAML")
        text = fetch_url(f"{base}/api/v0.2/jobs/{a.job}/logs/", a.token)
        return (text, job_doc, str(a.job), str(info.get("actual_device") or "unknown"),
                str(job_doc.get("device_type", "unknown")), base)
    lavacli = shutil.which("lavacli")
    if not lavacli:
        raise InputError("lavacli not found (Debian package: lavacli)")

    def cli(*args):
        r = subprocess.run([lavacli, "-i", a.lavacli, *args], capture_output=True, text=True,
                           errors="replace")
        if r.returncode != 0:
            raise InputError(f"lavacli {' '.join(args)}: "
                             + ((r.stderr.strip().splitlines() or ["failed"])[-1]))
        return r.stdout
    info = load_yaml(cli("jobs", "show", "--yaml", str(a.job))) or {}
    job_doc = load_yaml(cli("jobs", "definition", str(a.job))) or {}
    text = cli("jobs", "logs", "--raw", str(a.job))
    return (text, job_doc, str(a.job), str(info.get("device") or "unknown"),
            str(job_doc.get("device_type", "unknown")), f"lavacli -i {a.lavacli}")


def figures(parsed):
    """{flavour: {case: {name: (value, units)}}} of the figures sections."""
    out = {}
    for r in parsed["results"]:
        d = r.get("definition", "")
        if not d.endswith("-figures") or "measurement" not in r:
            continue
        fl = d[: -len("-figures")]
        case, _, name = r["test_case_id"].partition(".")
        out.setdefault(fl, {}).setdefault(case, {})[name] = (r["measurement"], r.get("units"))
    return out


def selftests(parsed):
    """{flavour: {test: pass|fail|skip}} of the selftests sections."""
    out = {}
    for r in parsed["results"]:
        d = r.get("definition", "")
        if d.endswith("-selftests"):
            out.setdefault(d[: -len("-selftests")], {})[r["test_case_id"]] = r["result"]
    return out


def build_work(parsed, work, flavours, cases):
    """The raw files bench_report.py reads, under WORK/FLAVOUR/cases/."""
    for (fl, path), data in parsed["files"].items():
        dest = os.path.join(work, fl, "cases", path)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as f:
            f.write(data)
    for fl in flavours:
        for c in cases:
            st = os.path.join(work, fl, "cases", c, "status")
            if not os.path.exists(st):
                os.makedirs(os.path.dirname(st), exist_ok=True)
                with open(st, "w") as f:
                    f.write(f"{c} (failed) no results in the LAVA job\n")


def check_figures(parsed, out_dir, flavours, cases):
    """The LAVA figures (computed in the ramdisk) must equal the report's
    (computed here from the same raw files)."""
    lava = figures(parsed)
    bad = []
    for fl in flavours:
        for c in cases:
            p = os.path.join(out_dir, c, f"{fl}.figures.json")
            if not os.path.exists(p):
                continue
            with open(p) as f:
                ours = json.load(f)["figures"]
            got = lava.get(fl, {}).get(c, {})
            missing = sorted(NEEDED_FIGURES - set(got))
            if missing:
                raise InputError(f"{fl} {c} ran, but LAVA has no figure {', '.join(missing)}")
            for name, (v, _) in got.items():
                mine = ours.get(name)
                if mine is None or not math.isclose(mine, v, rel_tol=1e-6, abs_tol=1e-9):
                    bad.append(f"{fl} {c}.{name}: LAVA {v}, report {mine}")
    if bad:
        raise InputError("the LAVA figures disagree with the raw files: " + "; ".join(bad[:3]))


def lava_section(meta, tests):
    lines = ["", "## LAVA job", "",
             f"- Job {meta['lava']['job_id']} on device `{meta['lava']['device']}` "
             f"(device type `{meta['lava']['device_type']}`), read from {meta['lava']['source']}."]
    if tests:
        lines += ["", "| kernel | selftests passed | failed | skipped |", "|---|---|---|---|"]
        for fl, res in tests.items():
            n = {k: sum(1 for v in res.values() if v == k) for k in ("pass", "fail", "skip")}
            lines.append(f"| {fl} | {n['pass']} | {n['fail']} | {n['skip']} |")
        failed = [f"{fl}: {t}" for fl, res in tests.items() for t, v in sorted(res.items()) if v == "fail"]
        if failed:
            lines += ["", "Failed: " + ", ".join(f"`{x}`" for x in failed) + "."]
    return lines


def do_import(a):
    text, job_doc, job_id, device, device_type, src = source(a)
    if len(text) > MAX_LOG:
        raise InputError(f"the log of job {job_id} is too large (over {MAX_LOG >> 20} MiB)")
    if not isinstance(job_doc, dict) or not job_doc.get("actions") \
            or not isinstance(job_doc.get("metadata"), dict):
        raise InputError(f"job {job_id}: no job definition of lava/lava_jobs.py's")
    parsed = parse_log(log_entries(text))
    check_job(parsed, job_id, expected_sections(job_doc))
    meta_doc = job_doc.get("metadata") or {}
    asked = str(meta_doc.get("lazyswitch.cases", "")).split()
    flavours = [fl for fl in FLAVOURS if any(k[0] == fl for k in parsed["files"])]
    cases = []
    for r in parsed["results"]:
        if r["definition"].endswith("-bench"):
            c = r["test_case_id"]
            if not CASE_RE.match(c) or (asked and c not in asked):
                raise InputError(f"job {job_id}: bad case name {c!r} (not one the job ran)")
            if c not in cases:
                cases.append(c)
    tests = selftests(parsed)
    if not flavours or not cases:
        raise InputError(f"job {job_id} has no benchmark results to import")
    series = {fl: parsed["files"].get((fl, "series_sha"), b"").decode("ascii", "replace").strip()
              for fl in flavours}
    bad = [fl for fl in FLAVOURS if not re.match(r"^[0-9a-f]{64}$", series.get(fl, ""))]
    if bad:
        raise InputError(f"job {job_id}: no series hash from the {', '.join(bad)} kernel")
    if meta_doc.get("lazyswitch.series") not in (None, "unknown"):
        want = str(meta_doc["lazyswitch.series"])
        if series["patched"] != want:
            raise InputError(f"job {job_id} ran series {series['patched'][:12]}, "
                             f"its definition names {want[:12]}: results of another build")
    cpu = parsed["files"].get((flavours[-1], "cpu"), b"unknown").decode().strip()
    accel = "host" if device_type != "qemu" else str(meta_doc.get("lazyswitch.accel", "tcg"))
    if accel not in ("tcg", "kvm", "host"):
        raise InputError(f"job {job_id}: unknown accelerator {accel!r}")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%MZ")
    name = a.name or f"{stamp}-lava{job_id}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', device)}"
    os.makedirs(a.results, exist_ok=True)
    final = os.path.join(a.results, name)
    if os.path.exists(final):
        raise InputError(f"{final} exists already")
    tmp = tempfile.mkdtemp(prefix=".incomplete-lava-", dir=a.results)
    try:
        work = os.path.join(tmp, ".work")
        out = os.path.join(tmp, "run")
        os.makedirs(out)
        build_work(parsed, work, flavours, cases)
        lava = {"job_id": job_id, "device": device, "device_type": device_type, "source": src,
                "job_name": str(job_doc.get("job_name", ""))}
        extra = {"lava": lava, "flavours": {fl: {"series_sha": series[fl],
                 "config_sha256": parsed["files"].get((fl, "config_sha256"), b"").decode().strip()}
                 for fl in flavours}}
        ns = argparse.Namespace(
            work=work, out=out, build=os.path.join(work, "no-build"), template="",
            accel=accel, cpu=cpu, name=name,
            qemu=f"LAVA device {device}" if device_type == "qemu" else "none (bare metal)",
            command=f"LAVA job {job_id} on {device} (lava/lava_import.py)",
            flavours=" ".join(flavours), cases=" ".join(cases), meta_json=json.dumps(extra))
        bench_report.report(ns)
        check_figures(parsed, out, flavours, cases)
        with open(os.path.join(out, "lava.json"), "w") as f:
            json.dump({"lava": lava, "selftests": tests, "results": parsed["results"]},
                      f, indent=1, sort_keys=True, allow_nan=False)
        with open(os.path.join(out, "meta.json")) as f:
            meta = json.load(f)
        with open(os.path.join(out, "summary.md"), "a") as f:
            f.write("\n".join(lava_section(meta, tests)) + "\n")
        try:
            os.rename(out, final)
        except OSError:
            raise InputError(f"{final} exists already")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        bench_report.index(a.results)
    except Exception as e:  # another run's damaged summary: this one is written
        print(f"warning: results index not updated: {e}", file=sys.stderr)
    return final


def load_run(d):
    try:
        with open(os.path.join(d, "summary.json")) as f:
            s = json.load(f)
        return s["meta"], s["results"], s.get("timings", {})
    except (OSError, ValueError, KeyError):
        raise InputError(f"{d}: not a run directory (no readable summary.json)")


def num(v):
    return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def compare(runs, case=None):
    """A markdown table, one row per device (its newest run of RUNS): the
    headline figures, baseline -> patched, and their ratio."""
    newest = {}
    for d in runs:
        meta = load_run(d)[0]
        lava = meta.get("lava", {})
        # A device is its name on its server; the newest run, the highest job id.
        dev = (lava.get("source"), lava.get("device", meta.get("name")))
        order = (int(str(lava.get("job_id", "0")).split(".")[0] or 0), meta.get("date", ""))
        if dev not in newest or order >= newest[dev][0]:
            newest[dev] = (order, d)
    runs = [d for _, d in sorted(newest.values(), key=lambda x: x[1])]
    rows = ["| device | CPU | job | case | XCR0/XSS switches/exit | PKRU switches/exit "
            "| exits/iter | ns/iter (median of rounds) |", "|---|---|---|---|---|---|---|---|"]
    for d in runs:
        meta, res, timings = load_run(d)
        fls = list(meta["flavours"])
        if len(fls) != 2:
            raise InputError(f"{d}: not a baseline/patched run")
        c = case or bench_summary.headline_case(fls, meta["cases"], res) or meta["cases"][0]
        if c not in res:
            raise InputError(f"{d}: no case {c}")
        cells = []
        for key in ("xfeature_writes_per_exit", "pkru_writes_per_exit", "exits_per_iter"):
            b, p = (bench_summary.figure(res, c, fl, key) for fl in fls)
            if b is None or p is None:
                cells.append("n/a")
            else:
                label = bench_summary.ratio_label(b, p) or (bench_summary.ratio_str(b, p)
                                                            if p else None)
                cells.append(f"{num(b)} -> {num(p)}" + (f" ({label})" if label else ""))
        # Time: medians of the rounds, and a ratio only where they differ.
        b, p = (timings.get(c, {}).get(fl) for fl in fls)
        cells.append(f"{num(b['median'])} -> {num(p['median'])}, "
                     f"{bench_summary.timing_verdict(b, p)}" if b and p else "n/a")
        lava = meta.get("lava", {})
        rows.append(f"| {lava.get('device', meta.get('name'))} | {meta.get('host_cpu', '')} | "
                    f"{lava.get('job_id', '-')} | {c} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def patchset_hash(series_file):
    """KCIDB's patchset hash: the sha256 of each patch's sha256 and a
    newline, in the series' order."""
    top = os.path.join(os.path.dirname(os.path.abspath(series_file)), "patches")
    h = hashlib.sha256()
    try:
        with open(series_file) as f:
            names = [ln.split()[0] for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
        for n in names:
            with open(os.path.join(top, n), "rb") as p:
                h.update((hashlib.sha256(p.read()).hexdigest() + "\n").encode())
    except OSError as e:
        raise InputError(f"cannot read the series: {e}")
    return h.hexdigest()


def kcidb(run, origin, repo_url=None, commit=None, series_file=None):
    """A KCIDB v5.3 submission: one checkout (the series), a build per
    kernel, a test per selftest (PASS/FAIL/SKIP) and per figure (DONE,
    with its number)."""
    if not re.match(r"^[a-z0-9_]+$", origin):
        raise InputError(f"bad KCIDB origin '{origin}' (lower-case letters, digits, _)")
    meta = load_run(run)[0]
    try:
        with open(os.path.join(run, "lava.json")) as f:
            lava = json.load(f)
    except (OSError, ValueError):
        raise InputError(f"{run}: no lava.json (not an imported LAVA run)")
    series = meta["flavours"].get("patched", {}).get("series_sha", "") or "unknown"
    job = lava["lava"]["job_id"]
    checkout = {"id": f"{origin}:{series[:16]}", "origin": origin, "tree_name": "linux-6.12.y",
                "valid": True, "misc": {"project": "kvm-lazyswitch", "series_sha": series}}
    if series_file:
        checkout["patchset_hash"] = patchset_hash(series_file)
    if repo_url:
        checkout["git_repository_url"] = repo_url
    if commit:
        checkout["git_commit_hash"] = commit
    status = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}
    builds, tests = [], []
    for fl, m in meta["flavours"].items():
        bid = f"{origin}:{series[:16]}_{fl}"
        builds.append({"id": bid, "checkout_id": checkout["id"], "origin": origin,
                       "architecture": "x86_64", "config_name": f"lazyswitch-{fl}",
                       "status": "PASS", "misc": {"kernel": m.get("kernel", ""),
                                                  "config_sha256": m.get("config_sha256", "")}})
        env = {"comment": f"LAVA job {job} on {lava['lava']['device']}",
               "misc": {"device_type": lava["lava"]["device_type"], "cpu": m.get("cpu", "")}}
        for t, r in sorted(lava["selftests"].get(fl, {}).items()):
            path = "kselftest.kvm." + re.sub(r"[^a-zA-Z0-9_-]+", "_", t)
            tests.append({"id": f"{origin}:lava{job}_{fl}_{path}", "build_id": bid, "origin": origin,
                          "path": path, "status": status.get(r, "ERROR"), "environment": env})
        for r in lava["results"]:
            if r.get("definition") != f"{fl}-figures":
                continue
            tid = r["test_case_id"]
            path = "lazyswitch_bench." + re.sub(r"[^a-zA-Z0-9_.-]+", "_", tid)
            tests.append({"id": f"{origin}:lava{job}_{fl}_{path}", "build_id": bid, "origin": origin,
                          "path": path, "status": "DONE", "environment": env,
                          "number": {"value": r["measurement"], "unit": r.get("units", "")}})
    return {"version": {"major": 5, "minor": 3}, "checkouts": [checkout],
            "builds": builds, "tests": tests}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("import")
    src = i.add_mutually_exclusive_group(required=True)
    src.add_argument("--dir")
    src.add_argument("--log")
    src.add_argument("--url")
    src.add_argument("--lavacli", metavar="IDENTITY")
    i.add_argument("--job")
    i.add_argument("--job-file")
    i.add_argument("--device")
    i.add_argument("--device-type")
    i.add_argument("--token", default=os.environ.get("LAVA_TOKEN"))
    i.add_argument("--results", default=os.environ.get("RESULTS_DIR")
                   or os.path.join(os.path.dirname(HERE), "results"))
    i.add_argument("--name")
    c = sub.add_parser("compare")
    c.add_argument("runs", nargs="+")
    c.add_argument("--case", help="the case of every row (default: each run's headline case)")
    k = sub.add_parser("kcidb")
    k.add_argument("run")
    k.add_argument("--origin", required=True)
    k.add_argument("--repo-url")
    k.add_argument("--commit")
    k.add_argument("--series", help="the quilt series the run's kernels were built from "
                   "(patches/ beside it): adds KCIDB's patchset_hash")
    a = ap.parse_args()
    try:
        if a.cmd == "import":
            print(do_import(a))
        elif a.cmd == "compare":
            print(compare(a.runs, a.case))
        else:
            json.dump(kcidb(a.run, a.origin, a.repo_url, a.commit, a.series), sys.stdout, indent=1,
                      allow_nan=False)
            print()
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # a log or server can say anything: one line, no traceback
        print(f"error: {a.cmd}: unreadable input ({type(e).__name__}: {str(e)[:200]})",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
