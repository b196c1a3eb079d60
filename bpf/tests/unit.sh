#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# unit.sh OUTPUT: host-side tests of the BPF tools, no VM and no BPF needed:
# tests/unit.c (naming, aggregation, table, histograms, helpers), its JSON
# parsed back with python3, and the tools' argument and permission errors.
# TAP on stdout; exit status 1 if anything failed.
set -uo pipefail
out=${1:?usage: unit.sh OUTPUT}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lines=$tmp/lines

"$out/unit" "$tmp" > "$lines"

# The JSON documents from unit.c, parsed back.
python3 - "$tmp/ks.json" "$tmp/hist.json" >> "$lines" <<'EOF'
import json, sys

def check(ok, name, got=""):
    print(("ok - " if ok else "not ok - ") + name)
    if not ok:
        print("#   got: %s" % got)

try:
    docs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
except ValueError as e:
    check(False, "json: documents parse", e)
    sys.exit(0)
check(len(docs) == 2, "json: one document per line", len(docs))
d = docs[0]
check(d["tool"] == "kvmswitch" and d["interval_s"] == 1.5 and d["per_vcpu"] is True
      and d["sources"]["fastpath"] == "fexit:svm_vcpu_run", "json: header fields", d)
vms = {(v["pid"], v["vcpu"]): v for v in d["vms"]}
check(set(vms) == {(100, 0), (100, 1), (200, None), (300, 2)}, "json: vms keyed by pid and vcpu",
      list(vms))
v = vms[(100, 1)]
check(v["comm"] == 'qemu "x"', "json: comm with quotes survives escaping", v["comm"])
check(v["exits"] == 30 and v["kvm_runs"] == 4 and v["fastpath"] == 6 and v["reenter"] == 4,
      "json: exit totals", v)
r = {(x["isa"], x["name"]): x for x in v["reasons"]}
check(r[("svm", "CPUID")]["count"] == 20 and r[("svm", "CPUID")]["code"] == 0x72
      and r[("svm", "MSR")]["fastpath"] == 6, "json: reasons named with codes", v["reasons"])
ph = {(x["name"], x["phase"]): x["count"] for x in v["msrs"]}
check(ph == {("TSC_AUX", "exit-entry"): 4, ("TSC_AUX", "user-return"): 4,
             ("TSC_AUX", "uret-set"): 4, ("TSC_AUX", "uret-restore"): 3,
             ("X2APIC_ICR", "read"): 7}, "json: MSRs by name and phase", ph)
sw = v["switches"]
check(sw["xcr0"] == {"guest": 31, "guest_written": 31, "host": 31, "host_written": 30}
      and sw["pkru"]["guest_written"] == 2 and sw["xss"]["guest"] == 0,
      "json: XCR0/XSS/PKRU switches", sw)
check(v["uret"] == {"set": 4, "restore": 3} and v["reloads"]["total"] == 70
      and abs(v["reloads"]["per_exit"] - 70 / 30) < 1e-3
      and abs(v["reloads"]["per_kvm_run"] - 17.5) < 1e-3, "json: derived reloads", v["reloads"])
w = vms[(200, None)]
check([x["name"] for x in w["reasons"]] == ["CPUID", "EPT_VIOLATION"]
      and w["reasons"][0]["isa"] == "vmx", "json: VMX reasons", w["reasons"])
check(docs[1]["vms"] == [], "json: empty interval has an empty vms list", docs[1])
h = json.loads(open(sys.argv[2]).read())
check(h == [{"lo": 0, "hi": 0, "count": 1}, {"lo": 1, "hi": 1, "count": 2},
            {"lo": 1024, "hi": 2047, "count": 40}], "json: log2 histogram buckets", h)
EOF

# The tools' own argument and permission checks (any kernel).
expect_error() {	# NAME PATTERN COMMAND...
	local name=$1 pat=$2 rc err
	shift 2
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && [ "$(grep -c 'error:' <<<"$err")" = 1 ] &&
	   grep -q -- "$pat" <<<"$err"; then
		echo "ok - $name"
	else
		echo "not ok - $name"
		echo "#   rc=$rc: $err"
	fi
}
for t in kvmswitch kvmexitlat; do
	b=$out/$t
	{
	expect_error "$t: interval 0 is refused" "invalid interval" "$b" -i 0
	expect_error "$t: interval abc is refused" "invalid interval" "$b" abc
	expect_error "$t: bad pid is refused" "invalid pid" "$b" -p x
	expect_error "$t: bad duration is refused" "invalid duration" "$b" -d -3
	expect_error "$t: count 0 is refused" "$t: error: invalid count '0'\$" "$b" 1 0
	expect_error "$t: a third argument is refused" \
		"$t: error: unrecognized argument '3'" "$b" 1 2 3
	if "$b" --help 2>&1 | grep -q EXAMPLES; then
		echo "ok - $t: --help shows EXAMPLES"
	else
		echo "not ok - $t: --help shows EXAMPLES"
	fi
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		expect_error "$t: not root is refused" "must be run as root" \
			setpriv --reuid=65534 --regid=65534 --clear-groups "$b" -d 1
	elif [ "$(id -u)" != 0 ]; then
		expect_error "$t: not root is refused" "must be run as root" "$b" -d 1
	else
		echo "ok - $t: not root is refused # SKIP setpriv not installed"
	fi
	} >> "$lines"
done

. "$(dirname "$0")/../../lab/ktap.sh"
ktap_print_header
while IFS= read -r l; do
	case "$l" in
	"ok - "*" # SKIP "*) l=${l#ok - }; ktap_test_skip "${l%% # SKIP *}" "${l#* # SKIP }" ;;
	"ok - "*) ktap_test_pass "${l#ok - }" ;;
	"not ok - "*) ktap_test_fail "${l#not ok - }" ;;
	*) echo "$l" ;;
	esac
done < "$lines"
echo "# bpf unit: $((KTAP_PASS + KTAP_SKIP)) passed, $KTAP_FAIL failed"
ktap_finished plan
