#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# run-lava.sh RUN CASES: inside the LAVA ramdisk, run this project's
# selftests and/or benchmark cases (RUN: "selftests", "bench" or both,
# comma-separated; CASES comma-separated) and print, for the job's
# monitors, one section per kind:
#   selftests: LAZYSWITCH-LAVA-RESULT: TEST pass|fail|skip
#   bench:     LAZYSWITCH-LAVA-RESULT: CASE pass|fail
#   figures:   LAZYSWITCH-LAVA-FIGURE: CASE.NAME pass VALUE UNITS, then the
#              raw files the importer rebuilds the run from (gzip, base64)
fl=$(uname -r | sed -n 's/.*-lazyswitch-//p')
cases=$(echo "$2" | tr , ' ')
has() { case ",$1," in *",$2,"*) return 0 ;; esac; return 1; }
begin() { echo "LAZYSWITCH-LAVA-BEGIN: $1"; }
end() { echo "LAZYSWITCH-LAVA-END: $1"; }

# send FILE NAME: FILE as base64 lines of its gzip, and its sha256.
send() {
	[ -f "$1" ] || return 0
	gzip -c "$1" | base64 | tr -d '\n' | fold -w 96 |
		sed "s|^|LAZYSWITCH-LAVA-FILE: $fl $2 |"
	echo
	echo "LAZYSWITCH-LAVA-FILE-END: $fl $2 $(sha256sum < "$1" | cut -d' ' -f1)"
}

if has "$1" selftests; then
	begin selftests
	sh ./run-selftests.sh /lazyswitch/selftests ./tests.list | tee /out/tap.txt | awk '
		{ print; fflush() }
		/^ok / { print "LAZYSWITCH-LAVA-RESULT: " $3 " " ($0 ~ / # SKIP/ ? "skip" : "pass"); fflush() }
		/^not ok / { print "LAZYSWITCH-LAVA-RESULT: " $4 " fail"; fflush() }'
	# What a failed test printed, for whoever reads the job's log.
	sed -n 's/^not ok [0-9]* \([^ ]*\).*/\1/p' /out/tap.txt | while read -r t; do
		echo "# the end of $t's output:"
		tail -n 30 "/out/logs/$(echo "$t" | tr / _).log" | sed 's/^/#   /'
	done
	end selftests
fi

if has "$1" bench && [ -n "$cases" ]; then
	begin bench
	mkdir -p /out/cases
	# One case at a time, its result at once: the monitor waits for each.
	for c in $cases; do
		BENCH=./bench/lazyswitch_bench KVMSWITCH=./kvmswitch KVMEXITLAT=./kvmexitlat PERF= \
			BENCH_OPTS="-C 1" sh ./bench-cases.sh /out/cases "$c"
		if [ "$(cat "/out/cases/$c/status" 2>/dev/null)" = "$c ok" ]; then
			echo "LAZYSWITCH-LAVA-RESULT: $c pass"
		else
			echo "LAZYSWITCH-LAVA-RESULT: $c fail"
		fi
	done
	end bench
	begin figures
	# A kernel message on the console inside one of these lines would
	# damage it: the console takes only emergencies meanwhile, and what
	# the kernel said is printed after, as comments.
	lvl=$(cut -f1 /proc/sys/kernel/printk)
	seen=$(dmesg | wc -l)
	dmesg -n 1
	for c in $cases; do
		d=/out/cases/$c
		[ "$(cat "$d/status" 2>/dev/null)" = "$c ok" ] || continue
		awk -v c="$c" 'NF == 3 && $1 == c {
			n = $3; gsub("/", "_per_", n)
			print "LAZYSWITCH-LAVA-FIGURE: " c "." n " pass " $2 " " $3 }' "$d/bench.txt"
		awk -v c="$c" -f ./kvmswitch-figures.awk "$d/kvmswitch.json"
	done
	for f in uname cpu nrips perf_event; do
		send "/out/cases/$f" "$f"
	done
	send ./series_sha series_sha
	send ./config_sha256 config_sha256
	for c in $cases; do
		for f in status calibrate.txt bench.txt traced.txt kvmswitch.json kvmexitlat.json; do
			send "/out/cases/$c/$f" "$c/$f"
		done
	done
	dmesg -n "$lvl"
	dmesg | tail -n +$((seen + 1)) | sed 's/^/# kernel: /'
	end figures
fi
