# SPDX-License-Identifier: GPL-2.0
# kvmswitch-figures.awk -v c=CASE KVMSWITCH.JSON: the per-exit figures of
# the benchmark VM in kvmswitch's last JSON document, as LAVA figure lines.
# bench/harness/bench_report.py computes the same from the same document;
# the importer checks that the two agree.
function num(s, key) {
	if (!match(s, "\"" key "\":[0-9]+"))
		return 0
	s = substr(s, RSTART, RLENGTH)
	sub(/.*:/, "", s)
	return s + 0
}
function obj(s, key) {
	return match(s, "\"" key "\":[{][^}]*[}]") ? substr(s, RSTART, RLENGTH) : ""
}
function written(s, reg) {
	s = obj(s, reg)
	return num(s, "guest_written") + num(s, "host_written")
}
function fig(name, v, units) {
	printf "LAZYSWITCH-LAVA-FIGURE: %s.%s pass %.9g %s\n", c, name, v / exits, units
}
/^[{]/ { doc = $0 }
END {
	# One VM per {"pid": chunk; a VM's own counters come before its reasons.
	n = split(doc, vm, "[{]\"pid\":")
	for (i = 2; i <= n; i++) {
		if (vm[i] !~ /"comm":"lazyswitch_benc/)
			continue
		exits += num(vm[i], "exits")
		fast += num(vm[i], "fastpath")
		reenter += num(vm[i], "reenter")
		xf += written(vm[i], "xcr0") + written(vm[i], "xss")
		pkru += written(vm[i], "pkru")
		u = obj(vm[i], "uret")
		uret += num(u, "set") + num(u, "restore")
	}
	if (!exits)
		exit
	fig("xfeature_writes_per_exit", xf, "switches/exit")
	fig("pkru_writes_per_exit", pkru, "switches/exit")
	fig("uret_writes_per_exit", uret, "writes/exit")
	fig("fastpath_per_exit", fast, "fastpath/exit")
	fig("reenter_per_exit", reenter, "reentries/exit")
}
