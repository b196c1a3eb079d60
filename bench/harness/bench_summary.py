# SPDX-License-Identifier: GPL-2.0
"""bench_summary.py: summary.md and its charts for one benchmark run, from
the figures bench_report.py collected. One short paragraph, then one small
table and one chart per question; exact counts get a ratio, timings only
when their spread over the alternating rounds allows one.
"""
import os
import statistics

import barchart

# One question per table and chart: (chart name, title, figure key,
# decimals, where the figure comes from).
QUESTIONS = [
    ("exits", "Exits per iteration", "exits_per_iter", 3,
     "KVM's exit counter for the VM, clean timed run; exact"),
    ("xfeatures", "XCR0/XSS switches per exit", "xfeature_writes_per_exit", 3,
     "kvmswitch (tracepoints), traced run: XSETBV and XSS writes, guest and host side; exact"),
    ("pkru", "PKRU switches per exit", "pkru_writes_per_exit", 3,
     "kvmswitch (tracepoints), traced run: WRPKRU, guest and host side; exact"),
    ("uret", "User-return MSR writes per exit", "uret_writes_per_exit", 3,
     "kvmswitch, traced run: kvm_set_user_return_msr() and the notifier's restores; exact"),
]

# Why a case cannot show the fastpath saving although its exit has a fastpath.
NO_REENTRY_WHY = {
    "x2apic_self_ipi": "the IPI to itself leaves KVM_REQ_EVENT pending, so the run loop is "
                       "left right after the fastpath (kvm_vcpu_exit_request())",
    "hlt": "nothing is pending at the HLT, so the vCPU blocks: the loop is left for "
           "kvm_vcpu_block()",
}

# Figures whose span differs between the kernels: no ratio, and why. The
# series moves the XCR0/XSS/PKRU loads out of svm_vcpu_run(), which lies
# between kvm_entry and kvm_exit, into vcpu_enter_guest(), between kvm_exit
# and the next kvm_entry: the exit->entry window holds other code.
NOT_COMPARABLE = {
    "exit_ns_mean": "kvmexitlat's exit->entry span holds the XCR0/XSS/PKRU loads on the "
                    "patched kernel only (patches 0005/0006 move them there from the "
                    "entry->exit side), so the two kernels' spans are not the same code",
}

# The cases whose exit->entry path the profile section shows: a full exit,
# and fastpath re-entries with and without xfeatures to switch.
PROFILE_PATH_CASES = ("cpuid", "xstate_ipi_absent", "x2apic_ipi_absent")


def fmt(v, dec):
    return "n/a" if v is None else f"{v:.{dec}f}"


def ratio(b, p):
    """p/b for exact counts: None where there is nothing to divide."""
    if b is None or p is None or b == 0:
        return None
    return p / b


def ratio_str(b, p):
    """The ratio as summary.md prints it; "new" where only patched has any."""
    r = ratio(b, p)
    if r is None:
        return "new" if b == 0 and p else "n/a"
    return f"{r:.2f}"


def ratio_label(b, p):
    """A chart's ratio column: '0.05x', or nothing where there is no ratio."""
    return None if ratio(b, p) is None else ratio_str(b, p) + "x"


def figure(results, case, fl, key):
    e = results.get(case, {}).get(fl, {})
    return e.get("figures", {}).get(key) if e.get("status") == "ok" else None


def timing(rounds):
    """The median and spread of one case's ns/iter over the rounds."""
    if not rounds:
        return None
    return {"rounds": rounds, "median": statistics.median(rounds),
            "min": min(rounds), "max": max(rounds)}


def timing_differs(b, p):
    """Both kernels timed in 2 rounds or more, and their ranges apart."""
    return bool(b and p and len(b["rounds"]) >= 2 and len(p["rounds"]) >= 2
                and (b["min"] > p["max"] or p["min"] > b["max"]))


def timing_verdict(b, p):
    """Ratio of the medians, or 'no difference' where the two kernels'
    ranges overlap; with fewer than 2 rounds each there is no spread to
    judge by, so no ratio."""
    if not b or not p:
        return "n/a"
    if len(b["rounds"]) < 2 or len(p["rounds"]) < 2:
        return "n/c (1 round)"
    if not timing_differs(b, p):
        return "no difference"
    return ratio_str(b["median"], p["median"])


def headline_case(flavours, cases, results):
    """The case where the series saves the most XCR0/XSS switches per exit."""
    if len(flavours) != 2:
        return None
    best = None
    for c in cases:
        b, p = (figure(results, c, fl, "xfeature_writes_per_exit") for fl in flavours)
        r = ratio(b, p)
        if r is not None and r < 0.99 and (best is None or r < best[0]):
            best = (r, c)
    return best[1] if best else None


def opening(meta, flavours, cases, results, timings):
    """The paragraph summary.md opens with: what ran, and what it shows."""
    where = ("natively on the running kernel" if meta["accel"] == "host" else
             f"in QEMU {meta['accel'].upper()} ({meta['qemu']})")
    if len(flavours) != 2:
        return [f"{len(cases)} exit benchmark cases ran {where} on "
                f"`{meta['flavours'][flavours[0]]['kernel']}`. Each table below gives one "
                "figure per case.", ""]
    b, p = flavours
    s = [f"{len(cases)} exit benchmark cases ran {where} on {b} (6.12 with the series' "
         f"instrumentation only) and {p} (the whole series), in the same way."]
    hc = headline_case(flavours, cases, results)
    if hc:
        xb, xp = (figure(results, hc, fl, "xfeature_writes_per_exit") for fl in flavours)
        kb, kp = (figure(results, hc, fl, "pkru_writes_per_exit") for fl in flavours)
        re = figure(results, hc, p, "reenter_per_exit") or 0
        s.append(f"The saving shows where exits re-enter the guest from the fastpath: in "
                 f"`{hc}`, {re:.2f} of exits re-enter, and XCR0/XSS switches per exit fall from "
                 f"{xb:.3f} to {xp:.3f} ({xp / xb:.2f}x)"
                 + (f", PKRU switches from {kb:.3f} to {kp:.3f}" if kb and kp is not None else "")
                 + ".")
        same = [c for c in cases if c != hc and
                (r := ratio(*(figure(results, c, fl, "xfeature_writes_per_exit")
                              for fl in flavours))) is not None and 0.99 <= r <= 1.01]
        if same:
            s.append(f"Where no exit re-enters ({', '.join(f'`{c}`' for c in same)}), they "
                     "are unchanged.")
    else:
        s.append("No case shows fewer XCR0/XSS switches per exit on the patched kernel.")
    em, ep = figure(results, "timer_msr", p, "exits_per_iter"), figure(results, "timer_pv", p,
                                                                      "exits_per_iter")
    if em and ep is not None:
        s.append(f"pvtimer arms a timer with {ep:.2f} exits, against {em:.2f} through the "
                 "TSC-deadline MSR.")
    profs = [results.get(hc, {}).get(fl, {}).get("profile", {}) for fl in flavours] if hc else []
    if profs and all(x.get("status") == "ok" for x in profs):
        ib, ip = (x["instructions_per_exit"] for x in profs)
        s.append(f"The emulator counts {ib:.0f} guest instructions per exit of `{hc}` on {b} "
                 f"and {ip:.0f} on {p}.")
    judged = [c for c in cases if all(timings.get(c, {}).get(fl) for fl in flavours)]
    if judged:
        rounds = min(len(timings[c][fl]["rounds"]) for c in judged for fl in flavours)
        differ = [c for c in judged if timing_differs(*(timings[c][fl] for fl in flavours))]
        s.append(f"Time per iteration differs beyond the spread of {rounds} alternating rounds "
                 f"in {len(differ)} of {len(judged)} cases"
                 + (f" ({', '.join(f'`{c}`' for c in differ)})" if differ else "")
                 + (", under emulation" if meta["accel"] == "tcg" else "") + "; counts are exact.")
    return [" ".join(s), ""]


def chart(out_dir, name, title, subtitle, flavours, rows, dec, notes, **kw):
    """Write charts/NAME.svg and .png; returns summary.md's link to it."""
    cdir = os.path.join(out_dir, "charts")
    os.makedirs(cdir, exist_ok=True)
    text = barchart.svg(title, subtitle, flavours, rows, fmt="{:.%df}" % dec, **kw)
    why = barchart.write(os.path.join(cdir, name), text)
    if why:
        notes.append(f"- charts/{name}.png: not made: {why}")
        return [f"![{title}](charts/{name}.svg)", ""]
    return [f"![{title}](charts/{name}.svg) ([PNG](charts/{name}.png))", ""]


def table(head, rows):
    return (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(r) + " |" for r in rows] + [""])


def count_section(out_dir, flavours, cases, results, q, notes):
    """One exact count per case: a table, the cases where it is zero on
    every kernel in one line, and a chart."""
    name, title, key, dec, source = q
    lines = [f"## {title}", "", f"From {source}.", ""]
    rows, chart_rows, zero = [], [], []
    for c in cases:
        vals = [figure(results, c, fl, key) for fl in flavours]
        if all(v is None for v in vals):
            continue
        if all(v == 0 for v in vals if v is not None):
            zero.append(c)
            continue
        row = [c] + [fmt(v, dec) for v in vals]
        if len(flavours) == 2:
            row.append(ratio_str(*vals))
            if key == "xfeature_writes_per_exit":
                row.append(fmt(figure(results, c, flavours[1], "reenter_per_exit"), 3))
        rows.append(row)
        chart_rows.append((c, vals, ratio_label(*vals) if len(flavours) == 2 else None))
    head = ["case"] + flavours + (["ratio"] if len(flavours) == 2 else [])
    if key == "xfeature_writes_per_exit" and len(flavours) == 2:
        head.append(f"fastpath re-entries/exit ({flavours[1]})")
    if not rows and not zero:
        return []
    if rows:
        lines += table(head, rows)
    if zero:
        lines += [f"Zero on every kernel that ran them: {', '.join(zero)}"
                  + (" (the guest keeps CR4.OSXSAVE and CR4.PKE clear, as 6.12 selftest "
                     "guests do, so KVM has nothing to switch; the xstate_* cases set them)"
                     if key in ("xfeature_writes_per_exit", "pkru_writes_per_exit")
                     else "") + ".", ""]
    if key == "xfeature_writes_per_exit":
        lines += reentry_why(flavours, cases, results)
    if chart_rows:
        lines += chart(out_dir, name, title, source, flavours, chart_rows, dec, notes)
    return lines


def reentry_why(flavours, cases, results):
    """Why each case with switches and a fastpath saves them, or does not."""
    if len(flavours) != 2:
        return []
    lines = []
    for c in cases:
        xb, xp = (figure(results, c, fl, "xfeature_writes_per_exit") for fl in flavours)
        fast = figure(results, c, flavours[1], "fastpath_per_exit")
        re = figure(results, c, flavours[1], "reenter_per_exit") or 0
        if not xb or xp is None or not fast:
            continue
        if re and xp < xb:
            lines.append(f"- {c}: saves one switch pair per re-entry ({re:.3f} per exit).")
        elif re:
            lines.append(f"- {c}: re-enters ({re:.3f} per exit), but the switches did not drop.")
        else:
            why = NO_REENTRY_WHY.get(c, "no exit re-entered the guest from the fastpath")
            lines.append(f"- {c}: takes the fastpath ({fast:.3f} of exits) but saves nothing: "
                         f"{why}.")
    return lines + [""] if lines else []


def pvtimer_section(out_dir, flavours, results, notes):
    """timer_pv against timer_msr in each kernel: exits per programmed timer."""
    rows, chart_rows = [], []
    for fl in flavours:
        em, ep = (figure(results, c, fl, "exits_per_iter") for c in ("timer_msr", "timer_pv"))
        if em is None and ep is None:
            continue
        lm, lp = (figure(results, c, fl, "timer_late_ns") for c in ("timer_msr", "timer_pv"))
        why = results.get("timer_pv", {}).get(fl, {}).get("status", "not run")
        rows.append([fl, fmt(em, 3), fmt(ep, 3) if ep is not None else f"n/a: {why}",
                     ratio_str(em, ep), f"{fmt(lm, 0)} / {fmt(lp, 0)}"])
        chart_rows.append((fl, [em, ep], ratio_label(em, ep)))
    if not rows:
        return []
    lines = ["## pvtimer: exits per timer", "",
             "Exits per programmed timer (one iteration arms one timer and waits for it), "
             "through the TSC-deadline MSR (`timer_msr`) and through pvtimer (`timer_pv`), in "
             "the same kernel; exact. Lateness as timed by the guest.", ""]
    lines += table(["kernel", "MSR", "pvtimer", "ratio", "late ns/timer, MSR / pvtimer"], rows)
    lines += chart(out_dir, "pvtimer", "pvtimer: exits per timer",
                   "bars: timer_msr (MSR) and timer_pv (pvtimer) per kernel; exact counts",
                   ["MSR (timer_msr)", "pvtimer (timer_pv)"], chart_rows, 3, notes)
    return lines


def profile_section(out_dir, flavours, cases, results, rows_def, notes):
    """Instructions per exit from the emulator profile: per case, and along
    the exit->entry path for a full exit and fastpath ones."""
    if len(flavours) != 2:
        return []
    profs = {c: [results[c][fl].get("profile", {}) for fl in flavours] for c in cases}
    ok = [c for c in cases if all(p.get("status") == "ok" for p in profs[c])]
    lines = ["## Emulator profile: instructions per exit", ""]
    if not ok:
        why = sorted({p.get("status", "not made").removeprefix("not made: ")
                      for c in cases for p in profs[c] if p.get("status") != "ok"})
        return lines + ["Not made: " + "; ".join(why) + ".", ""]
    lines += ["Every guest instruction that the benchmark vCPU's CPU ran in the measured "
              "window, counted by the lab QEMU (bench/profile: a TCG plugin), the IRQs-off "
              "world switch included, divided by the exits of that run. Counts, not samples: "
              "per executed translation block, so a block cut short by an exception counts "
              "whole. In the HLT and timer cases the window also holds what that CPU ran "
              "while the vCPU was halted.", ""]
    rows, chart_rows = [], []
    for c in ok:
        b, p = (x["instructions_per_exit"] for x in profs[c])
        rows.append([c, f"{b:.0f}", f"{p:.0f}", ratio_str(b, p)])
        chart_rows.append((c, [b, p], ratio_label(b, p)))
    lines += table(["case"] + flavours + ["ratio"], rows)
    lines += chart(out_dir, "profile", "Guest instructions per exit",
                   "emulator profile (lab QEMU TCG plugin), whole measured window, counted "
                   "not sampled; each case on its own scale", flavours, chart_rows, 0, notes, per_row=True)
    for c in [c for c in PROFILE_PATH_CASES if c in ok] or ok[:1]:
        b, p = (x["path_per_exit"] for x in profs[c])
        path = [[row, f"{b.get(row, 0):.1f}", f"{p.get(row, 0):.1f}",
                 ratio_str(b.get(row, 0), p.get(row, 0))]
                for row, _ in rows_def if b.get(row) or p.get(row)]
        lines += [f"`{c}`: the exit->entry path, instructions per exit in each function's own "
                  f"code and what is inlined into it (`{c}/profile-diff.svg`):", ""]
        lines += table(["function"] + flavours + ["ratio"], path)
    for c in cases:
        for fl, x in zip(flavours, profs[c]):
            if x.get("status") == "ok" and x.get("missing"):
                notes.append(f"- {c} on {fl}: the profile lacks {', '.join(x['missing'])}")
            elif x.get("status") not in (None, "ok"):
                notes.append(f"- {c} on {fl}: profile {x['status']}")
    return lines


def time_section(out_dir, meta, flavours, cases, timings, notes):
    """ns per iteration over the alternating rounds: median (min-max)."""
    rows, chart_rows, spans = [], [], []
    for c in cases:
        ts = [timings.get(c, {}).get(fl) for fl in flavours]
        if not any(ts):
            continue
        spans.append([(t["min"], t["max"]) if t else None for t in ts])
        cells = [f"{t['median']:.0f} ({t['min']:.0f}-{t['max']:.0f})" if t else "n/a" for t in ts]
        verdict = timing_verdict(*ts) if len(flavours) == 2 else None
        rows.append([c] + cells + ([verdict] if verdict else []))
        chart_rows.append((c, [t["median"] if t else None for t in ts],
                           verdict + ("x" if timing_differs(*ts) else "") if verdict else None))
    if not rows:
        return []
    n = max(len(t["rounds"]) for c in timings for t in timings[c].values() if t)
    how = ("the kernels alternating, each round a fresh boot (the first is the clean timed "
           "run of the boot that also traces; the order of the kernels swaps every round). "
           "Where the two ranges overlap, the ratio is \"no difference\"."
           if len(flavours) == 2 else "one after the other on this kernel.")
    lines = ["## Time per iteration", "",
             f"ns per iteration, median (min-max) of up to {n} timed rounds per kernel, " + how
             + (" **Emulated time** (TCG): it swings from boot to boot, so with a few rounds "
                "two ranges can miss each other by chance; the counts above are the evidence."
                if meta["accel"] == "tcg" else ""), ""]
    lines += table(["case"] + flavours + (["ratio"] if len(flavours) == 2 else []), rows)
    lines += chart(out_dir, "time", "Time per iteration: median, min-max of the rounds",
                   "ns per iteration, each case on its own scale; the ratio column says "
                   "whether the ranges overlap", flavours, chart_rows, 0, notes, per_row=True,
                   spans=spans)
    return lines


def latency_section(flavours, cases, results):
    """kvmexitlat's exit->entry mean, labelled not comparable where it is."""
    rows = []
    for c in cases:
        vals = [figure(results, c, fl, "exit_ns_mean") for fl in flavours]
        if any(v is not None for v in vals):
            rows.append([c] + [fmt(v, 0) for v in vals])
    if not rows:
        return []
    return ([f"## Exit->entry latency{' (not comparable)' if len(flavours) == 2 else ''}", "",
             "kvmexitlat's mean ns from kvm_exit to the next kvm_entry, traced run. "
             + (f"No ratio: {NOT_COMPARABLE['exit_ns_mean']}." if len(flavours) == 2 else ""), ""]
            + table(["case"] + flavours, rows))


def probe_section(meta, flavours):
    """The primitive-cost table: median (min) cycles per flavour."""
    probes = [meta["flavours"][fl].get("probe", {}) for fl in flavours]
    names = []
    for p in probes:
        for n in list(p.get("primitives", {})) + list(p.get("skipped", {})):
            if n not in names:
                names.append(n)
    lines = ["## Switch primitives", "",
             "bench/probe, TSC cycles per operation, median (min)"
             + (", TSC emulated by TCG" if meta["accel"] == "tcg" else "") + ":", ""]
    if not names:
        return lines + ["; ".join(f"{fl}: {p.get('status', 'no probe')}"
                                  for fl, p in zip(flavours, probes)), ""]
    rows = []
    for n in names:
        cells = []
        for p in probes:
            c = p.get("primitives", {}).get(n)
            if c:
                cells.append(f"{c['median']} ({c['min']})")
            elif n in p.get("skipped", {}):
                cells.append("skipped: " + p["skipped"][n])
            else:
                cells.append(p.get("status", "not measured"))
        rows.append([n] + cells)
    return lines + table(["primitive"] + flavours, rows)


def how_section(meta, flavours):
    lines = ["## How this run was made", "", f"- Ran: `{meta['command']}` on {meta['date']}."]
    where = "natively on the running kernel" if meta["accel"] == "host" else \
        f"in QEMU ({meta['qemu']}), accelerator **{meta['accel']}**, on a {meta['host_cpu']}"
    lines.append(f"- Where: {where}.")
    for fl in flavours:
        m = meta["flavours"][fl]
        lines.append(f"- {fl}: kernel `{m['kernel']}`, CPU seen by KVM: {m['cpu'] or 'unknown'}"
                     + (f", series {m['series_sha'][:12]}" if "series_sha" in m else ""))
    no_nrips = [fl for fl in flavours if meta["flavours"][fl].get("nrips") in ("0", "N")]
    if meta["accel"] == "tcg":
        lines.append("- **TCG: times are emulated**; counts are exact. cycles/iter is not "
                     "available (no invariant TSC).")
    if no_nrips:
        lines.append(f"- **No NRIP save** (kvm_amd nrips=0 on {', '.join(no_nrips)}): SVM "
                     "never takes the fastpath there, so no exit re-enters the guest from it.")
    if meta["accel"] == "host":
        lines.append("- The cases ran on the running kernel: a calibration, a clean timed run "
                     "and a traced run (kvmswitch, kvmexitlat, perf) per case, then the "
                     "further timed rounds.")
    else:
        lines.append("- Each kernel boots once for a calibration, a clean timed run and a "
                     "traced run (kvmswitch, kvmexitlat, perf) per case, then once per further "
                     "timed round, and under TCG with the lab QEMU once with the emulator "
                     "profiler.")
    for f in meta.get("failed_rounds", []):
        lines.append(f"- **Timed round not counted**: {f}.")
    return lines + [""]


def summary_md(meta, flavours, cases, results, timings, out_dir, rows_def):
    """summary.md's text; writes the charts into OUT_DIR/charts/."""
    notes = []
    lines = [f"# Benchmark run {meta['name']}", ""]
    lines += opening(meta, flavours, cases, results, timings)
    for q in QUESTIONS:
        lines += count_section(out_dir, flavours, cases, results, q, notes)
    lines += pvtimer_section(out_dir, flavours, results, notes)
    lines += profile_section(out_dir, flavours, cases, results, rows_def, notes)
    lines += time_section(out_dir, meta, flavours, cases, timings, notes)
    lines += latency_section(flavours, cases, results)
    for c in cases:
        for fl in flavours:
            e = results[c][fl]
            if e["status"] != "ok":
                notes.append(f"- {c} on {fl}: {e['status']}")
            elif "flame_graph" in e:
                notes.append(f"- {c} on {fl}: flame graph {e['flame_graph']}")
    if notes:
        lines += ["## Not measured or incomplete", ""] + notes + [""]
    lines += how_section(meta, flavours)
    lines += probe_section(meta, flavours)
    lines.append("Per case: `<case>/<flavour>.figures.json` (every figure, with the reload "
                 "cycles estimate), the tools' raw JSON, folded stacks (`.folded`), flame graphs "
                 "(`.html`, offline; `.svg`)"
                 + (f", `diff.svg` ({flavours[1]} vs {flavours[0]}: red = larger share of "
                    "samples); from the emulator profile `<flavour>.profile.folded.gz`, "
                    "`.profile.svg` and `profile-diff.svg` (per exit)" if len(flavours) == 2
                    else "") + ". Charts: `charts/`.")
    return "\n".join(lines) + "\n"
