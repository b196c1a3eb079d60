#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lava-smoke.sh: 'make test''s LAVA stage. Writes and validates the jobs,
# runs the qemu smoke job with LAVA's dispatcher, imports it, and checks
# it against the lab's own runs of the same tests earlier in 'make test'
# (results/test-FLAVOUR-latest, and the bench smoke run in
# build/bench-smoke). Then the bad inputs. TAP on stdout.
set -uo pipefail
. "$(dirname "$0")/../lab/lib.sh"
. "$REPO/lab/ktap.sh"

LAVA_PY=/usr/bin/python3
t0=$(date +%s)
work=$BUILD/lava-smoke
rm -rf "$work"
mkdir -p "$work/results"
ktap_print_header
ktap_set_plan 11

"$REPO/lava/lava.sh" jobs >&2
jrc=$?
ktap_test_result "make lava: 6 jobs (qemu and bare metal), valid for LAVA's schema and dispatcher" \
	'[ "$jrc" -eq 0 ] && [ "$(ls "$BUILD"/lava/jobs/*/*.yaml | wc -l)" -eq 6 ]'

RESULTS_DIR=$work/results "$REPO/lava/lava.sh" run >&2
rc=$?
run=$(find "$work/results" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | head -1)
job=$(ls "$BUILD/lava/runs" | sort -n | tail -1)
ktap_test_result "the qemu smoke job runs with lava-run and imports into one run directory (summary.md, charts, meta.json with the job and device)" \
	'[ "$rc" -eq 0 ] && [ -n "$run" ] && [ -s "$run/summary.md" ] && [ -s "$run/charts/exits.svg" ] &&
	 python3 -c "import json,sys; l=json.load(open(sys.argv[1]))[\"lava\"]; assert l[\"job_id\"]==sys.argv[2] and l[\"device\"]" "$run/meta.json" "$job"'

# same_tests: each kernel's selftests have the result the lab's own run
# earlier in 'make test' gave them.
same_tests() {
	python3 - "$run/lava.json" "$RESULTS" <<'PY'
import json, os, re, sys
lava = json.load(open(sys.argv[1]))["selftests"]
bad, n = [], 0
for fl, res in lava.items():
    tap = os.path.join(sys.argv[2], f"test-{fl}-latest", "tap.txt")
    lab = {}
    for line in open(tap):
        m = re.match(r"^(ok|not ok) \d+ (\S+)( # SKIP)?", line)
        if m:
            lab[m[2]] = "fail" if m[1] == "not ok" else ("skip" if m[3] else "pass")
    ours = {t: r for t, r in lab.items() if t.startswith("lazyswitch/")}
    if set(ours) != set(res):
        bad.append(f"{fl}: tests only in the lab: {sorted(set(ours) - set(res))}, "
                   f"only in LAVA: {sorted(set(res) - set(ours))}")
    for t, r in res.items():
        n += 1
        if ours.get(t) != r:
            bad.append(f"{fl} {t}: LAVA {r}, lab {ours.get(t)}")
print(f"# {n} selftest results compared with the lab's runs")
for b in bad:
    print("# differs:", b)
sys.exit(1 if bad or not n or set(lava) != {"baseline", "patched"} else 0)
PY
}
if [ -n "$run" ] && [ -f "$RESULTS/test-patched-latest/tap.txt" ] && [ -f "$RESULTS/test-baseline-latest/tap.txt" ]; then
	ktap_test_result "the same selftests pass, fail and skip as in the lab's runs, on both kernels" same_tests
else
	ktap_test_skip "the same selftests pass, fail and skip as in the lab's runs" \
		"no imported run, or no lab run of both kernels' selftests in results/"
fi

# same_exits: per iteration, the case's own exits (its most frequent exit
# reason, counted by kvmswitch in the traced run) equal the bench smoke
# run's exactly, and all exits agree within 1% (IRQ, NPF and I/O exits
# come from the host's timer and the guest's set-up, not from the case).
same_exits() {
	python3 - "$run/summary.json" "$lab_run/summary.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["results"] for p in sys.argv[1:])
n = 0
for case in a:
    for fl in a[case]:
        ea, eb = (x.get(case, {}).get(fl, {}) for x in (a, b))
        if not ea.get("figures") or not eb.get("figures"):
            continue
        own = []
        for e in (ea, eb):
            reasons = e["kvmswitch_totals"]["reasons"]
            top = max(reasons, key=reasons.get)
            own.append((top, round(reasons[top] / e["figures"]["iters"], 3)))
        alls = [e["figures"]["exits_per_iter"] for e in (ea, eb)]
        print(f"# {case} {fl}: {own[0][0]} exits/iter LAVA {own[0][1]}, lab {own[1][1]}; "
              f"all exits/iter LAVA {alls[0]}, lab {alls[1]}")
        n += 1
        if own[0] != own[1] or abs(alls[0] - alls[1]) > 0.01 * alls[1]:
            sys.exit(1)
sys.exit(0 if n >= 2 else 1)
PY
}
lab_run=$(find "$BUILD/bench-smoke" -mindepth 1 -maxdepth 1 -type d ! -name '.*' ! -name died | head -1)
if [ -n "$run" ] && [ -n "$lab_run" ]; then
	ktap_test_result "the same exits per iteration as the lab's bench smoke run, on both kernels (the case's own exactly)" same_exits
else
	ktap_test_skip "the same exits per iteration as the lab's bench smoke run" "no imported run or no bench smoke run"
fi
ktap_test_result "LAVA measurements with units for each kernel (checked equal to the report's figures by the importer)" \
	'[ -n "$run" ] && python3 -c "import json,sys; r=json.load(open(sys.argv[1]))[\"results\"]; f=[x for x in r if x[\"definition\"].endswith(\"-figures\")]; assert len({x[\"definition\"] for x in f})==2 and all(x.get(\"units\") for x in f) and len(f)>=10" "$run/lava.json"'

# A fleet of two: the imported run and the same as another device.
fleet() {
	local other=$work/fleet/other table
	mkdir -p "$work/fleet"
	cp -r "$run" "$other"
	python3 - "$other/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["meta"]["lava"]["device"] = "second-device"
json.dump(s, open(sys.argv[1], "w"))
PY
	table=$("$LAVA_PY" "$REPO/lava/lava_import.py" compare "$run" "$other") || return 1
	echo "$table" | sed 's/^/# /'
	[ "$(echo "$table" | grep -c '^| ')" -eq 3 ] && echo "$table" | grep -q '^| second-device |'
}
ktap_test_result "the fleet table has one row per device" '[ -n "$run" ] && fleet'
# kcidb_ok: the submission keeps the KCIDB v5.3 rules this project can
# check (the official schema is not installable here: PyPI only).
kcidb_ok() {
	"$LAVA_PY" "$REPO/lava/lava_import.py" kcidb "$run" --origin lazyswitch > "$work/kcidb.json" &&
		python3 "$REPO/lava/tests/kcidb_check.py" "$work/kcidb.json"
}
ktap_test_result "a KCIDB submission of the run: a build per kernel, a test per selftest and per figure" \
	'[ -n "$run" ] && kcidb_ok'

# One error line and nothing in results/ for each bad input.
bad_input() {	# NAME WANT CMD...: CMD fails with one error: line matching WANT
	local name=$1 want=$2 out
	shift 2
	mkdir -p "$work/bad"
	out=$(RESULTS_DIR=$work/bad "$@" 2>&1 >/dev/null)
	local brc=$?
	echo "$out" | grep '^error:' | sed 's/^/# /'
	ktap_test_result "bad input: $name: one error line, nothing in results/" \
		'[ $brc -ne 0 ] && [ "$(echo "$out" | grep -c "^error:")" -eq 1 ] && echo "$out" | grep -q "$want" && [ -z "$(ls -A "$work/bad")" ]'
}
bad_input "no dispatcher" "lava-dispatcher" env LAVA_RUN=/nonexistent/lava-run "$REPO/lava/lava.sh" run

# A job whose kernel does not boot: a real lava-run of a job whose kernel is
# not a kernel.
fake=$work/fake-artifacts
for fl in $FLAVOURS; do
	mkdir -p "$fake/$fl"
	head -c 65536 /dev/zero > "$fake/$fl/bzImage"
	ln -f "$BUILD/lava/artifacts/$fl/ramdisk.cpio.gz" "$fake/$fl/ramdisk.cpio.gz"
done
python3 "$REPO/lava/lava_jobs.py" job --target qemu --name "kvm-lazyswitch no boot" \
	--run selftests --artifacts "file://$fake" --minutes 10 --out "$work/noboot.yaml"
bad_input "a job that fails to boot" "did not boot" "$REPO/lava/lava.sh" run "$work/noboot.yaml"
bad_input "a results file from another job" "not job" \
	"$LAVA_PY" "$REPO/lava/lava_import.py" import --log "$BUILD/lava/runs/$job/log.jsonl" \
	--job-file "$BUILD/lava/runs/$job/job.yaml" --job $((job + 1000)) --results "$work/bad"
bad_input "a LAVA server that cannot be reached" "cannot reach" \
	"$LAVA_PY" "$REPO/lava/lava_import.py" import --url http://127.0.0.1:9 --job 1 --results "$work/bad"
stage "lava: stage took $(($(date +%s) - t0)) s" >&2
ktap_finished
