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
JOB_TMP_RE = re.compile(r"/dispatcher/tmp/(\d+)\b")
SAFE_PATH = re.compile(r"^[a-z0-9_]+(/[a-z0-9_.]+)?$")


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
                e = yaml.safe_load(line)
            except yaml.YAMLError:
                raise InputError(f"line {n} of the log is not a LAVA log entry")
        if not isinstance(e, dict) or "lvl" not in e or "msg" not in e:
            raise InputError(f"line {n} of the log is not a LAVA log entry")
        out.append(e)
    if not out:
        raise InputError("the log is empty")
    return out


def parse_log(entries):
    """{job_ids, job_result, results: [...], files: {(fl, path): bytes}}."""
    chunks, files, results, ids = {}, {}, [], set()
    job = None
    for e in entries:
        msg = e["msg"]
        if isinstance(msg, str):
            ids.update(JOB_TMP_RE.findall(msg))
        if e["lvl"] == "target" and isinstance(msg, str):
            m = FILE_RE.match(msg)
            if m:
                chunks.setdefault((m[1], m[2]), []).append(m[3])
                continue
            m = FILE_END_RE.match(msg)
            if m:
                key = (m[1], m[2])
                if not SAFE_PATH.match(m[2]) or m[1] not in FLAVOURS:
                    raise InputError(f"the log names a file it may not: {m[1]} {m[2]}")
                try:
                    data = gzip.decompress(base64.b64decode("".join(chunks.pop(key, []))))
                except (ValueError, OSError, EOFError, zlib.error):
                    raise InputError(f"{m[1]} {m[2]}: the file in the log is damaged")
                if hashlib.sha256(data).hexdigest() != m[3]:
                    raise InputError(f"{m[1]} {m[2]}: the file in the log is damaged (sha256 differs)")
                files[key] = data
        elif e["lvl"] == "results" and isinstance(msg, dict):
            if msg.get("definition") == "lava" and msg.get("case") == "job":
                job = msg
            elif msg.get("definition") != "lava":
                results.append(msg)
    return {"job_ids": ids, "job": job, "results": results, "files": files}


def check_job(parsed, job_id, expect):
    """Refuse a log of another job, a job that did not finish, or one that
    lacks a section EXPECT (["baseline-selftests", ...]) asked for."""
    if job_id is not None and parsed["job_ids"] and parsed["job_ids"] != {str(job_id)}:
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
            return r.read().decode("utf-8", "replace")
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
                with open(os.path.join(a.dir, name)) as f:
                    return f.read()
            except OSError:
                raise InputError(f"{a.dir}: no {name} (not a local run of lava/lava.sh)")
        job_id = rd("job-id").strip()
        if a.job is not None and str(a.job) != job_id:
            raise InputError(f"{a.dir} is job {job_id}, not job {a.job}")
        device = yaml.safe_load(rd("device.yaml")) or {}
        return (rd("log.jsonl"), yaml.safe_load(rd("job.yaml")), job_id,
                rd("device-name").strip(), device.get("device_type", "qemu"), "local lava-run")
    if a.job is None:
        raise InputError("--job ID is needed with --log, --url and --lavacli")
    if a.log:
        try:
            with open(a.log, errors="replace") as f:
                text = f.read()
        except OSError as e:
            raise InputError(f"cannot read {a.log}: {e.strerror}")
        job_doc = None
        if a.job_file:
            try:
                with open(a.job_file) as f:
                    job_doc = yaml.safe_load(f)
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
        job_doc = yaml.safe_load(info.get("definition") or "{}")
        text = fetch_url(f"{base}/api/v0.2/jobs/{a.job}/logs/", a.token)
        return (text, job_doc, str(a.job), str(info.get("actual_device") or "unknown"),
                str(job_doc.get("device_type", "unknown")), base)
    lavacli = shutil.which("lavacli")
    if not lavacli:
        raise InputError("lavacli not found (Debian package: lavacli)")

    def cli(*args):
        r = subprocess.run([lavacli, "-i", a.lavacli, *args], capture_output=True, text=True)
        if r.returncode != 0:
            raise InputError(f"lavacli {' '.join(args)}: "
                             + ((r.stderr.strip().splitlines() or ["failed"])[-1]))
        return r.stdout
    info = yaml.safe_load(cli("jobs", "show", "--yaml", str(a.job))) or {}
    job_doc = yaml.safe_load(cli("jobs", "definition", str(a.job))) or {}
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
        tid = r.get("extra", {}).get("test_case_id", r["case"])
        case, _, name = tid.partition(".")
        out.setdefault(fl, {}).setdefault(case, {})[name] = (float(r["measurement"]), r.get("units"))
    return out


def selftests(parsed):
    """{flavour: {test: pass|fail|skip}} of the selftests sections."""
    out = {}
    for r in parsed["results"]:
        d = r.get("definition", "")
        if d.endswith("-selftests"):
            tid = r.get("extra", {}).get("test_case_id", r["case"])
            out.setdefault(d[: -len("-selftests")], {})[tid] = r["result"]
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
            for name, (v, _) in lava.get(fl, {}).get(c, {}).items():
                mine = ours.get(name)
                if mine is None or abs(mine - v) > 1e-6 * max(1.0, abs(v)):
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
    parsed = parse_log(log_entries(text))
    expect = expected_sections(job_doc) if job_doc else []
    check_job(parsed, job_id, expect)
    flavours = [fl for fl in FLAVOURS if any(k[0] == fl for k in parsed["files"])]
    cases = []
    for r in parsed["results"]:
        if r.get("definition", "").endswith("-bench"):
            c = r.get("extra", {}).get("test_case_id", r["case"])
            if c not in cases:
                cases.append(c)
    tests = selftests(parsed)
    if not flavours or not cases:
        raise InputError(f"job {job_id} has no benchmark results to import")
    series = {fl: parsed["files"].get((fl, "series_sha"), b"").decode().strip() for fl in flavours}
    if job_doc and job_doc.get("metadata", {}).get("lazyswitch.series") not in (None, "unknown"):
        want = job_doc["metadata"]["lazyswitch.series"]
        if series.get("patched") and series["patched"] != want:
            raise InputError(f"job {job_id} ran series {series['patched'][:12]}, "
                             f"its definition names {want[:12]}: results of another build")
    cpu = parsed["files"].get((flavours[-1], "cpu"), b"unknown").decode().strip()
    accel = "host" if device_type != "qemu" else (
        "kvm" if str((job_doc or {}).get("context", {}).get("no_kvm", "true")) == "false" else "tcg")
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
                "job_name": (job_doc or {}).get("job_name", "")}
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
                      f, indent=1, sort_keys=True)
        with open(os.path.join(out, "meta.json")) as f:
            meta = json.load(f)
        with open(os.path.join(out, "summary.md"), "a") as f:
            f.write("\n".join(lava_section(meta, tests)) + "\n")
        os.rename(out, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
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
    """A markdown table, one row per run (device): the headline figures,
    baseline -> patched, and their ratio."""
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
                cells.append(f"{num(b)} -> {num(p)}" + (f" ({p / b:.2f}x)" if b else ""))
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
                          "path": path, "status": status[r], "environment": env})
        for r in lava["results"]:
            if r.get("definition") != f"{fl}-figures":
                continue
            tid = r.get("extra", {}).get("test_case_id", r["case"])
            path = "lazyswitch_bench." + re.sub(r"[^a-zA-Z0-9_.-]+", "_", tid)
            tests.append({"id": f"{origin}:lava{job}_{fl}_{path}", "build_id": bid, "origin": origin,
                          "path": path, "status": "DONE", "environment": env,
                          "number": {"value": float(r["measurement"]), "unit": r.get("units", "")}})
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
    i.add_argument("--results", default=os.path.join(os.path.dirname(HERE), "results"))
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
            json.dump(kcidb(a.run, a.origin, a.repo_url, a.commit, a.series), sys.stdout, indent=1)
            print()
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
