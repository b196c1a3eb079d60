#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench_report.py: turn the raw output of one benchmark run into its run
directory (figures, flame graphs, meta.json, summary.md/json), or rebuild
the index in results/README.md (--index RESULTS).

Raw input, per flavour FL and case C, in WORK/FL/cases/C/: calibrate.txt,
bench.txt (clean timed run), traced.txt, kvmswitch.json, kvmexitlat.json,
perf.data, status; WORK/FL/cases/{uname,cpu,kallsyms}. Further timed
rounds in WORK/FL-roundN/ (status, and cases/C/{bench.txt,status}); the
profiled boot in WORK/FL-profile/ (status, console.log, cases/C/window).
"""
import argparse
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

BENCH_COMM = "lazyswitch_benc"      # the comm (15 chars) of lazyswitch_bench
PERF_SCRIPTS = "/usr/lib/perf-core/scripts/python"
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "profile"))
import profile_fold  # noqa: E402
import bench_summary  # noqa: E402

# The exit->entry path in the emulator profile: (row, functions). A row
# counts the instructions of those functions' own code, with what the
# compiler inlined into them, not what they call. Baseline's
# loads are kvm_load_{guest,host}_xsave_state; patch 0005/0006 split them.
PROFILE_ROWS = [
    ("VMRUN and the entry/exit assembly (__svm_vcpu_run)", ["__svm_vcpu_run"]),
    ("svm_vcpu_enter_exit", ["svm_vcpu_enter_exit"]),
    ("svm_vcpu_run", ["svm_vcpu_run"]),
    ("XCR0/XSS/PKRU loads", ["kvm_load_guest_xsave_state", "kvm_load_host_xsave_state",
                             "kvm_load_guest_xfeatures", "kvm_load_host_xfeatures",
                             "kvm_load_guest_pkru", "kvm_load_host_pkru"]),
    ("vcpu_enter_guest", ["vcpu_enter_guest"]),
    ("fastpath handlers", ["svm_exit_handlers_fastpath", "handle_fastpath_set_msr_irqoff",
                           "handle_fastpath_hlt"]),
    ("svm_handle_exit", ["svm_handle_exit"]),
    ("skip by decoding (emulator)", ["x86_decode_insn", "x86_emulate_instruction",
                                     "x86_emulate_insn", "init_emulate_ctxt", "decode_operand"]),
]
# Must appear in every exit's profile (make test's bench smoke test checks).
PROFILE_REQUIRED = ["vcpu_enter_guest", "svm_vcpu_run", "svm_vcpu_enter_exit", "__svm_vcpu_run"]

# kvmswitch count -> the probe primitive whose median cycles price it. XSS
# is a WRMSR, priced as XSETBV: the probe has no XSAVES to write it with.
RELOAD_PRICES = [("xfeature_writes", "xsetbv"), ("pkru_writes", "wrpkru"),
                 ("uret_set", "wrmsr_tsc_aux"), ("uret_restore", "wrmsr_tsc_aux")]


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_text(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def parse_bench(text, case):
    """'CASE VALUE UNIT' lines of lazyswitch_bench into {unit: value}."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == case:
            try:
                out[parts[2]] = float(parts[1])
            except ValueError:
                pass
    return out


def last_json(path):
    """The last JSON document of a file with one document per line."""
    doc = None
    for line in read_text(path).splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except ValueError:
                pass
    return doc


def parse_probe(text):
    """bench/probe's table: {"header": {...}, "primitives": {name: {min, median}},
    "skipped": {name: reason}}, or None if TEXT has no primitive line."""
    out = {"header": {}, "primitives": {}, "skipped": {}}
    for line in text.splitlines():
        if line.startswith("# lazyswitch_probe ") or line.startswith("# efer_svme="):
            for kv in line[2:].split():
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    out["header"][k] = v
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        if parts[1].startswith("skipped: "):
            out["skipped"][parts[0]] = parts[1][len("skipped: "):]
            continue
        vals = dict(kv.split("=", 1) for kv in parts[1].split() if "=" in kv)
        if "min" in vals and "median" in vals:
            try:
                out["primitives"][parts[0]] = {"min": int(vals["min"]), "median": int(vals["median"])}
            except ValueError:
                pass
    return out if out["primitives"] or out["skipped"] else None


def common_prices(probes):
    """One price per primitive for every kernel of a run: the lowest of the
    kernels' medians. The CPU is the same, so a difference between kernels
    is noise, and a ratio of estimates then reflects only the counts."""
    prices = {}
    for p in probes:
        for name, c in p.get("primitives", {}).items():
            if name not in prices or c["median"] < prices[name]["median"]:
                prices[name] = {"median": c["median"]}
    return {"primitives": prices}


def reload_cycles_per_exit(totals, probe):
    """Estimated cycles per exit spent in the reloads kvmswitch counted: each
    count times the probe's median for its primitive. None without exits,
    or if a counted reload has no measured primitive."""
    if not totals or not totals.get("exits") or not probe:
        return None
    cycles = 0
    for count_key, prim in RELOAD_PRICES:
        n = totals.get(count_key, 0)
        if not n:
            continue
        cost = probe.get("primitives", {}).get(prim)
        if cost is None:
            return None
        cycles += n * cost["median"]
    return cycles / totals["exits"]


def bench_vms(doc):
    return [vm for vm in doc.get("vms", []) if vm.get("comm", "").startswith(BENCH_COMM)]


def kvmswitch_figures(doc):
    vms = bench_vms(doc) if doc else []
    if not vms:
        return {}, {}
    tot = {"exits": 0, "kvm_runs": 0, "msr_writes": 0, "uret_restore": 0, "uret_set": 0,
           "reloads": 0, "xfeature_writes": 0, "pkru_writes": 0, "fastpath": 0, "reenter": 0}
    reasons = {}
    for vm in vms:
        tot["exits"] += vm.get("exits", 0)
        tot["kvm_runs"] += vm.get("kvm_runs", 0)
        tot["msr_writes"] += vm.get("msr_writes", 0)
        tot["uret_restore"] += vm.get("uret", {}).get("restore", 0)
        tot["uret_set"] += vm.get("uret", {}).get("set", 0)
        tot["reloads"] += vm.get("reloads", {}).get("total", 0)
        tot["fastpath"] += vm.get("fastpath", 0)
        tot["reenter"] += vm.get("reenter", 0)
        for reg, sw in vm.get("switches", {}).items():
            n = sw.get("guest_written", 0) + sw.get("host_written", 0)
            if reg.lower() in ("xcr0", "xss"):
                tot["xfeature_writes"] += n
            elif reg.lower() == "pkru":
                tot["pkru_writes"] += n
        for r in vm.get("reasons", []):
            reasons[r["name"]] = reasons.get(r["name"], 0) + r.get("count", 0)
    ex = tot["exits"]
    fig = {}
    if ex:
        fig["xfeature_writes_per_exit"] = tot["xfeature_writes"] / ex
        fig["pkru_writes_per_exit"] = tot["pkru_writes"] / ex
        fig["fastpath_per_exit"] = tot["fastpath"] / ex
        fig["reenter_per_exit"] = tot["reenter"] / ex
        fig["msr_writes_per_exit"] = tot["msr_writes"] / ex
        fig["uret_restores_per_exit"] = tot["uret_restore"] / ex
        fig["uret_writes_per_exit"] = (tot["uret_set"] + tot["uret_restore"]) / ex
        fig["reloads_per_exit"] = tot["reloads"] / ex
    if tot["kvm_runs"]:
        fig["reloads_per_kvm_run"] = tot["reloads"] / tot["kvm_runs"]
    tot["reasons"] = reasons
    return fig, tot


def kvmexitlat_figures(doc):
    """Mean exit->entry ns over the bench VM's exits (all reasons), from the
    per-reason means kvmexitlat reports (its log2 buckets are too coarse)."""
    if not doc:
        return {}
    n = total = 0
    for r in doc.get("hists", []):
        if not str(r.get("comm", "")).startswith(BENCH_COMM):
            continue
        if r.get("count") and r.get("avg_ns") is not None:
            n += r["count"]
            total += r["count"] * r["avg_ns"]
    return {"exit_ns_mean": total / n} if n else {}


def run_perf(args, out_path):
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        r = subprocess.run(args, stdout=f, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        os.unlink(tmp)
        return r.stderr.strip().splitlines()[-1:] or ["perf failed"]
    os.replace(tmp, out_path)
    return None


def flame(case_dir, out_dir, fl, case, symfs, vmlinux, template, title):
    """Folded stacks, HTML and SVG flame graphs of one case on one flavour.
    symfs: for a guest's perf.data, a directory whose build/ is the lab's
    build directory, which the guest sees as /build: perf then finds the
    benchmark binary at the path it recorded; vmlinux: the guest's kernel."""
    data = os.path.join(case_dir, "perf.data")
    if not os.path.exists(data):
        return "no perf.data"
    base = ["perf", "script", "-i", data, "--comms", BENCH_COMM]
    if symfs:
        base += ["--symfs", symfs, "-k", vmlinux]
    folded = os.path.join(out_dir, f"{fl}.folded")
    err = run_perf(base + ["-s", os.path.join(PERF_SCRIPTS, "stackcollapse.py")], folded)
    if err:
        return f"stackcollapse: {err[0]}"
    html = os.path.join(out_dir, f"{fl}.html")
    tmp_html = html + ".tmp"
    r = subprocess.run(base + ["-s", os.path.join(PERF_SCRIPTS, "flamegraph.py"), "--",
                               "--template", template, "-o", tmp_html],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0 or not os.path.exists(tmp_html):
        return "flamegraph.py: " + (r.stderr.strip().splitlines() or ["failed"])[-1]
    page = read_text(tmp_html).replace("<title>", f"<title>{title} - ", 1)
    write_atomic(html, page)
    if not read_text(folded).strip():
        return "no samples of the benchmark process"
    r = subprocess.run([sys.executable, os.path.join(HERE, "flamesvg.py"), "--title", title,
                        folded, os.path.join(out_dir, f"{fl}.svg")],
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return r.stderr.strip()
    return None


def profile_boot_status(work, out, fl):
    """The profiled boot's status line; a failed boot's console is kept in out."""
    pdir = os.path.join(work, f"{fl}-profile")
    boot = read_text(os.path.join(pdir, "status")).strip() or "not made: no profiled boot"
    console = os.path.join(pdir, "console.log")
    if boot != "ok" and os.path.exists(console):
        shutil.copyfile(console, os.path.join(out, f"{fl}.profile-console.log"))
        boot += f" (console: {fl}.profile-console.log)"
    return boot


def profile_windows(work, fl, cases, vmlinux, elf):
    """Each case's window of one flavour ({case: counts, or the reason it
    is unreadable}), and all their addresses symbolized in one pass per
    image (addr2line on vmlinux takes seconds): (windows, (kernel, user))."""
    windows, addrs = {}, set()
    for case in cases:
        try:
            with open(os.path.join(work, f"{fl}-profile", "cases", case, "window")) as f:
                windows[case] = profile_fold.read_window(f)
            addrs.update(profile_fold.addresses(windows[case]))
        except (OSError, profile_fold.InputError) as e:
            windows[case] = str(e)
    return windows, profile_fold.symbolize_images(addrs, vmlinux, elf)


def emulator_profile(work, out_dir, fl, case, boot, windows, title):
    """Fold the profiled boot's window of one case: {status, figures} for
    figures.json. windows: profile_windows() of the flavour, or an error."""
    if boot != "ok":
        return {"status": boot}
    if isinstance(windows, str):
        return {"status": f"not made: {windows}"}
    cdir = os.path.join(work, f"{fl}-profile", "cases", case)
    status = read_text(os.path.join(cdir, "status")).strip()
    if status != f"{case} ok":
        return {"status": "not made: " + (status.split(" ", 1)[1] if " " in status
                                          else "the case was not profiled")}
    b = parse_bench(read_text(os.path.join(cdir, "bench.txt")), case)
    exits = round(b.get("iters", 0) * b.get("exits/iter", 0))
    if exits <= 0:
        return {"status": "not made: the profiled run reported no exits"}
    window, symbols = windows[0].get(case, "no window"), windows[1]
    if isinstance(window, str):
        return {"status": f"not made: {window}"}
    stacks = profile_fold.fold(window, *symbols)
    total = profile_fold.total(stacks)
    if not total:
        return {"status": "not made: an empty profile window"}
    flat = profile_fold.fold(profile_fold.flatten(window), *symbols)
    # Deep stacks repeat: gzip takes a case's file from about 1.7 MB to 60 kB.
    folded = os.path.join(out_dir, f"{fl}.profile.folded.gz")
    with gzip.open(folded + ".tmp", "wt") as f:
        f.write("".join(f"{k} {stacks[k]}\n" for k in sorted(stacks)))
    os.replace(folded + ".tmp", folded)
    subprocess.run([sys.executable, os.path.join(HERE, "flamesvg.py"), "--title", title,
                    "--subtitle", "instructions counted by the emulator (lab QEMU TCG plugin); "
                    "callers from its shadow call stack, inlined functions from DWARF",
                    folded, os.path.join(out_dir, f"{fl}.profile.svg")], check=False)
    rows = {row: profile_fold.inclusive_any(flat, funcs) / exits for row, funcs in PROFILE_ROWS}
    return {"status": "ok", "exits": exits, "instructions": total,
            "instructions_per_exit": total / exits, "path_per_exit": rows,
            "missing": [f for f in PROFILE_REQUIRED if not profile_fold.inclusive(flat, f)]}


def round_dirs(work, fl):
    """(N, WORK/FL-roundN, its boot's status) of each further timed round."""
    n = 2
    while os.path.isdir(os.path.join(work, f"{fl}-round{n}")):
        rdir = os.path.join(work, f"{fl}-round{n}")
        yield n, rdir, read_text(os.path.join(rdir, "status")).strip() or "not made: no status"
        n += 1


def ns_rounds(work, fl, case):
    """ns/iter of each timed round of one case: the clean run of the first
    boot, then WORK/FL-roundN/ of each further boot, if the case ran there."""
    # A round whose boot failed (timeout, died) is no one's figure.
    dirs = [os.path.join(work, fl)] + [d for _, d, st in round_dirs(work, fl) if st == "ok"]
    out = []
    for d in dirs:
        cdir = os.path.join(d, "cases", case)
        if read_text(os.path.join(cdir, "status")).strip() != f"{case} ok":
            continue
        ns = parse_bench(read_text(os.path.join(cdir, "bench.txt")), case).get("ns/iter")
        if ns is not None:
            out.append(ns)
    return out


def failed_rounds(work, out, flavours):
    """Timed rounds whose boot failed: their status, their console kept."""
    failed = []
    for fl in flavours:
        for n, rdir, status in round_dirs(work, fl):
            if status == "ok":
                continue
            if os.path.exists(os.path.join(rdir, "console.log")):
                shutil.copyfile(os.path.join(rdir, "console.log"),
                                os.path.join(out, f"{fl}.round{n}-console.log"))
                status += f" (console: {fl}.round{n}-console.log)"
            failed.append(f"{fl} round {n}: {status}")
    return failed


def report(a):
    flavours = a.flavours.split()
    cases = a.cases.split()
    meta = {
        "name": a.name,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": a.command,
        "accel": a.accel,
        "qemu": a.qemu,
        "host_cpu": a.cpu,
        "flavours": {},
        "cases": cases,
    }
    for fl in flavours:
        cdir = os.path.join(a.work, fl, "cases")
        m = {"kernel": read_text(os.path.join(cdir, "uname")).strip(),
             "cpu": read_text(os.path.join(cdir, "cpu")).strip(),
             "nrips": read_text(os.path.join(cdir, "nrips")).strip(),
             "perf_event": read_text(os.path.join(cdir, "perf_event")).strip() or "cpu-clock"}
        fdir = os.path.join(a.build, fl)
        for key, path in (("series_sha", "applied.sha"), ("config_sha256", "obj/.config")):
            p = os.path.join(fdir, path)
            if os.path.exists(p):
                m[key] = read_text(p).split()[0] if key == "series_sha" else sha256_file(p)
        probe = parse_probe(read_text(os.path.join(cdir, "probe.txt")))
        m["probe"] = probe or {"status": "not run: " + (
            read_text(os.path.join(cdir, "probe.err")).strip().splitlines() or ["no probe module"])[-1]}
        meta["flavours"][fl] = m
    # What the caller knows that the work directory does not (a LAVA job's
    # id and device, the kernels' series and config hashes).
    extra = json.loads(a.meta_json) if a.meta_json else {}
    for fl, m in extra.pop("flavours", {}).items():
        meta["flavours"].get(fl, {}).update(m)
    meta.update(extra)
    prices = common_prices(m["probe"] for m in meta["flavours"].values())
    meta["reload_prices"] = {k: v["median"] for k, v in prices["primitives"].items()}

    profiles = {}
    for fl in flavours:
        if fl == "host":
            continue
        boot = profile_boot_status(a.work, a.out, fl)
        windows = None
        if boot == "ok":
            try:
                windows = profile_windows(
                    a.work, fl, cases, os.path.join(a.build, fl, "obj", "vmlinux"),
                    os.path.join(a.build, fl, "selftests", "bench", "lazyswitch_bench"))
            except (profile_fold.InputError, OSError) as e:
                windows = str(e)
        profiles[fl] = (boot, windows)

    # perf reads the guest's paths (/build/...) below --symfs, and -k below
    # it too, after checking that -k exists as given: both must resolve.
    symfs = tempfile.mkdtemp(prefix="bench-symfs.", dir=a.work)
    build = os.path.abspath(a.build)
    os.symlink(build, os.path.join(symfs, "build"))
    os.makedirs(symfs + os.path.dirname(build), exist_ok=True)
    if not os.path.exists(symfs + build):
        os.symlink(build, symfs + build)
    results = {}
    for case in cases:
        case_out = os.path.join(a.out, case)
        os.makedirs(case_out, exist_ok=True)
        results[case] = {}
        for fl in flavours:
            cdir = os.path.join(a.work, fl, "cases", case)
            status = read_text(os.path.join(cdir, "status")).strip() or f"{case} (failed) no status"
            ok = status == f"{case} ok"
            entry = {"status": "ok" if ok else status.split(" ", 1)[-1]}
            for raw in ("calibrate.txt", "bench.txt", "traced.txt", "kvmswitch.json", "kvmexitlat.json"):
                src = os.path.join(cdir, raw)
                if os.path.exists(src):
                    shutil.copyfile(src, os.path.join(case_out, f"{fl}.{raw}"))
            if ok:
                b = parse_bench(read_text(os.path.join(cdir, "bench.txt")), case)
                fig = {"iters": b.get("iters"), "ns_per_iter": b.get("ns/iter"),
                       "exits_per_iter": b.get("exits/iter"),
                       "irq_exits_per_iter": b.get("irq_exits/iter"),
                       "cycles_per_iter": b.get("cycles/iter"),
                       "timer_late_ns": b.get("late_ns/iter")}
                ks, totals = kvmswitch_figures(last_json(os.path.join(cdir, "kvmswitch.json")))
                fig.update(ks)
                fig["reload_cycles_per_exit_est"] = reload_cycles_per_exit(totals, prices)
                fig.update(kvmexitlat_figures(last_json(os.path.join(cdir, "kvmexitlat.json"))))
                entry["figures"] = fig
                entry["kvmswitch_totals"] = totals
                event = meta["flavours"][fl]["perf_event"]
                title = (f"{case} on {fl} ({meta['flavours'][fl]['kernel']}, {a.accel}, perf {event}"
                         + (": a timer, blind to IRQs-off code" if event == "cpu-clock" else "")
                         + ")")
                err = flame(cdir, case_out, fl, case, None if fl == "host" else symfs,
                            os.path.join(build, fl, "obj", "vmlinux"), a.template, title)
                if err:
                    entry["flame_graph"] = f"not made: {err}"
                if fl != "host":
                    entry["profile"] = emulator_profile(
                        a.work, case_out, fl, case, *profiles[fl],
                        f"{case} on {fl} ({meta['flavours'][fl]['kernel']}, {a.accel}): "
                        "instructions per function")
                write_atomic(os.path.join(case_out, f"{fl}.figures.json"),
                             json.dumps(entry, indent=1, sort_keys=True) + "\n")
            results[case][fl] = entry
            print(f"[lazyswitch] bench: report: {case} {fl}: {entry['status']}"
                  + (f" ({entry['flame_graph']})" if "flame_graph" in entry else ""), flush=True)
        if len(flavours) == 2:
            b, p = (os.path.join(case_out, f"{fl}.folded") for fl in flavours)
            if os.path.exists(b) and os.path.exists(p) and read_text(b).strip() and read_text(p).strip():
                subprocess.run([sys.executable, os.path.join(HERE, "flamesvg.py"), "--diff",
                                "--title", f"{case}: {flavours[1]} vs {flavours[0]} ({a.accel})",
                                b, p, os.path.join(case_out, "diff.svg")], check=False)
            b, p = (os.path.join(case_out, f"{fl}.profile.folded.gz") for fl in flavours)
            exits = [results[case][fl].get("profile", {}).get("exits") for fl in flavours]
            if os.path.exists(b) and os.path.exists(p) and all(exits):
                subprocess.run([sys.executable, os.path.join(HERE, "flamesvg.py"), "--diff",
                                "--per", f"{exits[0]},{exits[1]}", "--unit", "exit",
                                "--title", f"{case}: {flavours[1]} vs {flavours[0]}, "
                                "instructions per exit (emulator profile)",
                                b, p, os.path.join(case_out, "profile-diff.svg")], check=False)

    timings = {c: {fl: bench_summary.timing(ns_rounds(a.work, fl, c)) for fl in flavours}
               for c in cases}
    meta["failed_rounds"] = failed_rounds(a.work, a.out, flavours)
    write_atomic(os.path.join(a.out, "meta.json"), json.dumps(meta, indent=1) + "\n")
    write_atomic(os.path.join(a.out, "summary.json"),
                 json.dumps({"meta": meta, "results": results, "timings": timings},
                            indent=1, sort_keys=True) + "\n")
    write_atomic(os.path.join(a.out, "summary.md"),
                 bench_summary.summary_md(meta, flavours, cases, results, timings, a.out,
                                          PROFILE_ROWS))


INDEX_START = "<!-- bench-index: generated by bench/harness/bench_report.py --index -->"
INDEX_END = "<!-- bench-index end -->"


def index(results_dir):
    rows = []
    for name in sorted(os.listdir(results_dir)):
        p = os.path.join(results_dir, name, "summary.json")
        if name.startswith(".") or not os.path.isfile(p):
            continue
        try:
            s = json.load(open(p))
        except ValueError:
            continue
        if not isinstance(s, dict) or "meta" not in s or "results" not in s:
            continue
        meta, res = s["meta"], s["results"]
        fls = list(meta["flavours"])
        head = []
        hc = bench_summary.headline_case(fls, meta["cases"], res)
        if hc:
            vals = [bench_summary.figure(res, hc, fl, "xfeature_writes_per_exit") for fl in fls]
            head.append(f"{hc} XCR0/XSS switches/exit " + " -> ".join(f"{v:.2f}" for v in vals))
        elif "cpuid" in res:
            # No saving to show (a run without NRIP save): what every exit reloads.
            vals = [bench_summary.figure(res, "cpuid", fl, "reloads_per_exit") for fl in fls]
            if all(v is not None for v in vals):
                head.append("cpuid reloads/exit " + " -> ".join(f"{v:.2f}" for v in vals))
        rows.append(f"| [{name}]({name}/summary.md) | {meta['accel']} | "
                    f"{len(meta['cases'])} | {' vs '.join(fls)} | {'; '.join(head) or 'see summary'} |")
    table = [INDEX_START, "", "| run | accel | cases | kernels | headline |", "|---|---|---|---|---|"]
    table += rows or ["| (none yet) | | | | |"]
    table += ["", INDEX_END]
    readme = os.path.join(results_dir, "README.md")
    text = read_text(readme)
    if INDEX_START in text and INDEX_END in text:
        text = replace_block(text, table)
    else:
        text = text.rstrip("\n") + "\n\n## Benchmark runs\n\n" + "\n".join(table) + "\n"
    write_atomic(readme, text)


def replace_block(text, block):
    """TEXT with the generated block between block[0] and block[-1] (its
    start and end markers) replaced by BLOCK."""
    pre, post = text.split(block[0])[0], text.split(block[-1], 1)[1]
    return pre + "\n".join(block) + post


CHART_START = "<!-- bench-chart: generated by bench/harness/bench_report.py --index --readme -->"
CHART_END = "<!-- bench-chart end -->"


def readme_chart(results_dir, readme):
    """Point README's chart block at the newest run's headline chart."""
    text = read_text(readme)
    if CHART_START not in text or CHART_END not in text:
        return
    # make bench's own runs: an imported LAVA run is not this lab's newest.
    def lab_run(n):
        try:
            return "lava" not in json.loads(read_text(os.path.join(results_dir, n, "meta.json"), "{}"))
        except (ValueError, TypeError):
            return False
    runs = [n for n in sorted(os.listdir(results_dir))
            if os.path.isfile(os.path.join(results_dir, n, "charts", "xfeatures.svg")) and lab_run(n)]
    block = [CHART_START, ""]
    if runs:
        rel = os.path.relpath(os.path.join(results_dir, runs[-1]), os.path.dirname(readme))
        block += [f"![XCR0/XSS switches per exit, run {runs[-1]}]({rel}/charts/xfeatures.svg)",
                  "", f"XCR0/XSS switches per exit in the newest run, [{runs[-1]}]"
                  f"({rel}/summary.md) (the other questions' charts are in its `charts/`).", ""]
    block.append(CHART_END)
    write_atomic(readme, replace_block(text, block))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", metavar="RESULTS")
    ap.add_argument("--readme", metavar="README", help="with --index: update its chart block")
    for opt in ("work", "out", "build", "template", "accel", "cpu", "qemu", "name",
                "command", "flavours", "cases", "meta_json"):
        ap.add_argument("--" + opt)
    a = ap.parse_args()
    if a.index:
        index(a.index)
        if a.readme:
            readme_chart(a.index, a.readme)
        return
    missing = [o for o in ("work", "out", "build", "template", "accel", "name", "flavours", "cases")
               if not getattr(a, o)]
    if missing:
        die("missing --" + ", --".join(missing))
    report(a)


if __name__ == "__main__":
    main()
