#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""judge.py RUNDIR FLAVOUR VMRC: check what tests/guest-test.sh left in
RUNDIR (kvmswitch/kvmexitlat JSON, tracefs dumps, bad-input results, the
overhead rounds) and print TAP.  Exit status 1 if any test failed."""
import collections
import json
import os
import re
import statistics
import sys

CPUIDS, OUTS, UCALLS = 1000, 100, 2
SVM_CPUID, SVM_IOIO, SVM_MSR = 0x72, 0x7B, 0x7C
VMX_CPUID, VMX_IO, VMX_WRMSR = 10, 30, 32

results = []


def tap(ok, name, note=""):
    results.append((ok, name, note))


def read(run, name):
    try:
        with open(os.path.join(run, name)) as f:
            return f.read()
    except OSError:
        return ""


def one_json(text):
    docs = [json.loads(l) for l in text.splitlines() if l.strip()]
    return docs


TRACE_RE = re.compile(r"^\s*(\S+)-(\d+)\s+\[\d+\].*?\s(\w+):\s(.*)$")


def trace_counts(text):
    """Counts of the tracefs events, in kvmswitch's terms."""
    c = collections.Counter()
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = TRACE_RE.match(line)
        if not m:
            continue
        ev, rest = m.group(3), m.group(4)
        c[ev] += 1
        if ev == "kvm_exit":
            r = re.search(r"reason (\S+)", rest)
            c["exit:" + r.group(1)] += 1
        elif ev == "write_msr":
            msr = int(rest.split(",")[0], 16)
            c["wrmsr:%x" % msr] += 1
        elif ev == "kvm_xfeatures_switch":
            d = "guest" if " guest " in rest else "host"
            w = int(re.search(r"written 0x([0-9a-f]+)", rest).group(1), 16)
            c["xf:" + d] += 1
            c["xcr0w:" + d] += bool(w & 1)
            c["xssw:" + d] += bool(w & 2)
        elif ev == "kvm_pkru_switch":
            d = "guest" if " guest " in rest else "host"
            w = int(re.search(r"written (\d+)", rest).group(1))
            c["pkru:" + d] += 1
            c["pkruw:" + d] += bool(w)
        elif ev in ("kvm_uret_msr_set", "kvm_uret_msr_restore"):
            msr = int(re.search(r"msr 0x([0-9a-f]+)", rest).group(1), 16)
            c["%s:%x" % (ev, msr)] += 1
    return c


def check_counts(run, case, flavour, fallback):
    text = read(run, case + ".json")
    wl = read(run, case + ".wl")
    m = re.search(r"workload pid=(\d+) .*kvm_runs=(\d+) tsc_aux=(\d)", wl)
    if not m or "rc=0" not in wl:
        tap(False, f"{case}: workload ran", wl.strip().splitlines()[-1:] or "no output")
        return
    pid, tsc_aux = int(m.group(1)), int(m.group(3))
    try:
        docs = one_json(text)
    except ValueError as e:
        tap(False, f"{case}: JSON parses", str(e))
        return
    tap(len(docs) == 1, f"{case}: one JSON document at Ctrl-C", f"{len(docs)} documents")
    if not docs:
        return
    doc = docs[0]
    vms = [v for v in doc["vms"] if v["pid"] == pid]
    tap(len(vms) == 1 and len(doc["vms"]) == 1, f"{case}: exactly the workload's VM (-p {pid})",
        f"vms: {[v['pid'] for v in doc['vms']]}")
    if not vms:
        return
    vm = vms[0]
    tr = trace_counts(read(run, case + ".trace"))
    reasons = {(r["isa"], r["code"]): r["count"] for r in vm["reasons"]}
    isa = vm["reasons"][0]["isa"] if vm["reasons"] else "svm"
    cpuid = reasons.get((isa, SVM_CPUID if isa == "svm" else VMX_CPUID), 0)
    io = reasons.get((isa, SVM_IOIO if isa == "svm" else VMX_IO), 0)
    tap(cpuid == CPUIDS, f"{case}: CPUID exits == {CPUIDS}", f"got {cpuid}")
    tap(io == OUTS + UCALLS, f"{case}: port I/O exits == {OUTS} OUTs + {UCALLS} ucalls",
        f"got {io}")
    tap(vm["exits"] == tr["kvm_exit"], f"{case}: exits == tracefs kvm_exit lines",
        f"{vm['exits']} vs {tr['kvm_exit']}")
    tap(vm["kvm_runs"] == tr["kvm_userspace_exit"],
        f"{case}: KVM_RUNs == tracefs kvm_userspace_exit lines",
        f"{vm['kvm_runs']} vs {tr['kvm_userspace_exit']}")
    wr = collections.Counter()
    for x in vm["msrs"]:
        if x["phase"] in ("exit-entry", "vmrun", "user-return", "load-put", "elsewhere"):
            wr["wrmsr:%x" % x["msr"]] += x["count"]
    trw = {k: v for k, v in tr.items() if k.startswith("wrmsr:")}
    tap(dict(wr) == trw and vm["msr_writes"] == tr["write_msr"],
        f"{case}: MSR writes per MSR == tracefs write_msr lines",
        f"{dict(wr)} vs {trw}")
    if tsc_aux:
        tap(wr.get("wrmsr:c0000103", 0) > 0, f"{case}: TSC_AUX writes seen",
            f"{wr.get('wrmsr:c0000103', 0)}")
    uret = collections.Counter()
    for x in vm["msrs"]:
        if x["phase"] == "uret-set":
            uret["kvm_uret_msr_set:%x" % x["msr"]] += x["count"]
        elif x["phase"] == "uret-restore":
            uret["kvm_uret_msr_restore:%x" % x["msr"]] += x["count"]
    tru = {k: v for k, v in tr.items() if k.startswith("kvm_uret_msr_") and ":" in k}
    want_uret = "fentry:kvm_on_user_return,kvm_set_user_return_msr" if fallback else "tracepoint"
    tap(doc["sources"]["uret"] == want_uret, f"{case}: user-return source is {want_uret}",
        doc["sources"]["uret"])
    tap(dict(uret) == tru, f"{case}: user-return set/restore per MSR == tracefs",
        f"{dict(uret)} vs {tru}")

    sw = vm["switches"]
    xf_src = doc["sources"]["xfeatures"]
    if fallback and flavour == "patched":
        tap(xf_src == "none", f"{case}: no xfeature fallback on patched (helpers inlined)", xf_src)
        tap(all(v == 0 for r in sw.values() for v in r.values()),
            f"{case}: no switches counted without a source", str(sw))
    else:
        want = "tracepoint" if not fallback else \
            "fentry:kvm_load_guest_xsave_state,kvm_load_host_xsave_state"
        tap(xf_src == want, f"{case}: xfeature source is {want}", xf_src)
        got = {
            "xf:guest": sw["xcr0"]["guest"], "xf:host": sw["xcr0"]["host"],
            "xcr0w:guest": sw["xcr0"]["guest_written"], "xcr0w:host": sw["xcr0"]["host_written"],
            "xssw:guest": sw["xss"]["guest_written"], "xssw:host": sw["xss"]["host_written"],
            "pkru:guest": sw["pkru"]["guest"], "pkru:host": sw["pkru"]["host"],
            "pkruw:guest": sw["pkru"]["guest_written"], "pkruw:host": sw["pkru"]["host_written"],
        }
        exp = {k: tr[k] for k in got}
        tap(got == exp, f"{case}: XCR0/XSS/PKRU switches and writes == tracefs",
            f"{got} vs {exp}")
    # Fastpath: the ICR writes to an absent APIC ID, each handled by the
    # fastpath and, with nothing pending, re-entered from (SVM needs NRIPS).
    m = re.search(r" icrs=(\d+) ", wl)
    icrs = int(m.group(1)) if m else 0
    msr = [r for r in vm["reasons"]
           if (r["isa"], r["code"]) == (isa, SVM_MSR if isa == "svm" else VMX_WRMSR)]
    fast = sum(r.get("fastpath", 0) for r in msr)
    re_in = sum(r.get("reenter", 0) for r in msr)
    nrips = read(run, "nrips.txt").strip()
    ipi_virt = read(run, "avic.txt" if isa == "svm" else "ipiv.txt").strip() in ("1", "Y")
    if icrs == 0:
        tap(True, f"{case}: fastpath exits", "SKIP the workload made no ICR writes (no x2APIC)")
    elif ipi_virt:
        tap(True, f"{case}: fastpath exits", "SKIP AVIC or IPI virtualization is on: the ICR "
            "writes are not WRMSR exits")
    elif isa == "svm" and nrips not in ("1", "Y"):
        tap(vm["fastpath"] == 0 and vm["reenter"] == 0, f"{case}: fastpath exits",
            f"SKIP kvm_amd nrips={nrips or '?'}: svm_exit_handlers_fastpath() needs next_rip, "
            f"so none of {icrs} ICR writes took the fastpath ({vm['fastpath']} counted)")
    else:
        tap(fast == icrs and vm["fastpath"] <= vm["exits"],
            f"{case}: fastpath exits == {icrs} ICR writes", f"MSR {fast}, all {vm['fastpath']}")
        # A request pending after the fastpath (e.g. a timer) leaves the loop.
        rule = doc["sources"].get("reenter", "none")
        if rule.startswith("next kvm_entry"):
            tap(0.9 * icrs <= re_in <= fast, f"{case}: real re-entries within 90-100% of them",
                f"{re_in}")
        else:
            tap(True, f"{case}: real re-entries", f"SKIP re-entries counted as: {rule}")


def check_lat(run):
    try:
        docs = one_json(read(run, "lat.json"))
    except ValueError as e:
        tap(False, "kvmexitlat: JSON parses", str(e))
        return
    tap(len(docs) == 1, "kvmexitlat: one JSON document at Ctrl-C", f"{len(docs)}")
    if not docs:
        return
    doc = docs[0]
    err = read(run, "lat.err")
    if not doc["cycles"]:
        tap("cycles unavailable" in err, "kvmexitlat: says cycles are unavailable without a PMU",
            err.strip().splitlines()[0] if err.strip() else "")
    h = {(x["isa"], x["code"]): x for x in doc["hists"]}
    cp = h.get(("svm", SVM_CPUID)) or h.get(("vmx", VMX_CPUID))
    tap(cp is not None and cp["count"] == CPUIDS and
        sum(b["count"] for b in cp["ns"]) == CPUIDS,
        f"kvmexitlat: CPUID histogram holds {CPUIDS} exits",
        f"{cp['count'] if cp else None}")
    # The last exit (GUEST_DONE) is never followed by an entry.
    io = h.get(("svm", SVM_IOIO)) or h.get(("vmx", VMX_IO))
    tap(io is not None and io["count"] == OUTS + UCALLS - 1,
        f"kvmexitlat: port I/O histogram holds {OUTS + UCALLS - 1} exit-entry pairs",
        f"{io['count'] if io else None}")


def check_bad(run, flavour):
    def bad(name, pattern, desc):
        rc = read(run, f"bad-{name}.rc").strip()
        err = read(run, f"bad-{name}.err")
        lines = [l for l in err.splitlines() if "error:" in l]
        tap(rc not in ("", "0") and len(lines) == 1 and re.search(pattern, lines[0]),
            f"bad input: {desc}", f"rc={rc} {lines}")

    bad("notvm", r"pid 1 is not a KVM VM", "pid that is not a VM")
    bad("lat-notvm", r"pid 1 is not a KVM VM", "kvmexitlat: pid that is not a VM")
    bad("nopid", r"no process with pid", "pid that does not exist")
    bad("interval", r"invalid interval", "interval 0")
    bad("interval2", r"invalid interval", "interval abc")
    bad("nobtf", r"no kernel BTF", "no BTF")
    if flavour == "patched":
        bad("hidetp", r"not found and no fallback", "tracepoints missing, no fallback function")
    else:
        rc = read(run, "bad-hidetp.rc").strip()
        out = read(run, "bad-hidetp.out")
        try:
            src = json.loads(out.splitlines()[0])["sources"]
        except (ValueError, IndexError):
            src = {}
        tap(rc == "0" and src.get("xfeatures", "").startswith("fentry:") and
            src.get("uret", "").startswith("fentry:"),
            "tracepoints missing: fallback chosen automatically", f"rc={rc} {src}")
    for name, tool in (("empty", "kvmswitch"), ("lat-empty", "kvmexitlat")):
        rc = read(run, f"bad-{name}.rc").strip()
        try:
            doc = json.loads(read(run, f"bad-{name}.out").splitlines()[0])
            empty = doc.get("vms", doc.get("hists")) == []
        except (ValueError, IndexError):
            empty = False
        tap(rc == "0" and empty, f"{tool} with no VM running: empty JSON, no error", f"rc={rc}")
    out = read(run, "bad-empty-table.out")
    tap(read(run, "bad-empty-table.rc").strip() == "0" and "(no VM activity)" in out,
        "kvmswitch with no VM running: empty table, no error")


def check_bench(run):
    rates = collections.defaultdict(list)
    for line in read(run, "bench.txt").splitlines():
        m = re.match(r"round=\d+ mode=(\S+) cpuid_exits_per_s=(\d+)", line)
        if m:
            rates[m.group(1)].append(int(m.group(2)))
    base = statistics.median(rates["none"]) if rates["none"] else 0
    tap(base > 0, "overhead: baseline CPUID loop ran", f"{rates['none']}")
    for tool in ("kvmswitch", "kvmexitlat"):
        r = rates[tool]
        if not r or not base:
            tap(False, f"overhead: {tool} CPUID loop ran")
            continue
        med = statistics.median(r)
        loss = 100.0 * (base - med) / base
        # Reported, not judged: TCG timing is too noisy for a 5% bound.
        tap(True, f"overhead: {tool}", f"median {med:.0f} vs {base:.0f} exits/s "
            f"without a tool: {loss:+.1f}% loss (TCG, relative only; goal <= 5% on hardware)")


def main():
    run, flavour, vmrc = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tap(vmrc == 0, f"{flavour}: guest script completed", f"vm-run.sh exit {vmrc}")
    check_counts(run, "count-tp", flavour, fallback=False)
    check_counts(run, "count-fb", flavour, fallback=True)
    check_lat(run)
    check_bad(run, flavour)
    check_bench(run)
    print("TAP version 13")
    print(f"1..{len(results)}")
    failed = 0
    for i, (ok, name, note) in enumerate(results, 1):
        if ok and note.startswith("SKIP"):
            print(f"ok {i} {flavour}: {name} # {note}")
            continue
        print(f"{'ok' if ok else 'not ok'} {i} {flavour}: {name}")
        if note:
            print(f"#   {note}")
        failed += not ok
    print(f"# {flavour}: {len(results) - failed} passed, {failed} failed")
    skipped = sum(1 for ok, _, note in results if ok and note.startswith("SKIP"))
    print(f"# Totals: pass:{len(results) - failed - skipped} fail:{failed} xfail:0 xpass:0 "
          f"skip:{skipped} error:0")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
