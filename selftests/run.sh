#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh FLAVOUR: run the built KVM selftests of FLAVOUR in one VM boot
# and judge them. The run is recorded as results/test-FLAVOUR-<time>/, which
# appears only once complete; results/test-FLAVOUR-latest points at it.
# TESTS=REGEX limits the run to matching test paths; SELFTEST_IDLE=SECONDS
# is the console silence that counts as a hung guest.
set -euo pipefail
. "$(dirname "$0")/../lab/lib.sh"

flavour=${1:-}
check_flavour "$flavour"
need python3 python3
fdir=$BUILD/$flavour
st=$fdir/selftests
[ -f "$fdir/bzImage" ] || die "no $flavour kernel (run 'make build')"
[ -f "$st/tests.list" ] || die "no $flavour selftests (run 'make build')"

list=$(mktemp)
# An aborted run leaves nothing under results/; its logs go to build/aborted/.
keep_aborted() {
	rm -f "$list"
	[ -n "${tmp:-}" ] && [ -d "$tmp" ] || return 0
	mkdir -p "$BUILD/aborted"
	mv "$tmp" "$BUILD/aborted/" && echo "aborted run kept in $BUILD/aborted/$(basename "$tmp")" >&2
}
trap keep_aborted EXIT
if [ -n "${TESTS:-}" ]; then
	awk -v re="$TESTS" '$2 ~ re' "$st/tests.list" > "$list"
	[ -s "$list" ] || die "TESTS='$TESTS' matches no test"
else
	cp "$st/tests.list" "$list"
fi
while read -r _ path _; do
	[ -x "$st/${path%%:*}" ] || die "selftest binary missing: $st/${path%%:*} (run 'make build')"
done < "$list"

# Tests known to exceed their timeout on this accelerator get the shorter
# budget the known-failures list gives them ("timeout=SECONDS").
# The known-failures list is checked here, before the VM boots.
# Known failures name tcg-system for what holds only on Debian's QEMU.
known_accel=$(resolve_accel)
[ "$known_accel" = tcg ] && [ "$QEMU" = system ] && known_accel=tcg-system
known=$REPO/selftests/known-failures.txt
python3 "$REPO/selftests/ksft_summary.py" budgets --list "$list" --known "$known" \
	--accel "$known_accel" --flavour "$flavour" > "$list.new" || exit 1	# it printed the one error line
mv "$list.new" "$list"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
[ "$(free_mb "$RESULTS")" -ge 20 ] || die "no space: less than 20 MiB free for $RESULTS"
tmp=$(mktemp -d "$RESULTS/.incomplete-test-$flavour.XXXXXX")
cp "$list" "$tmp/tests.list"
cp "$REPO/selftests/guest/run-selftests.sh" "$tmp/"
total=$(awk '{ s += $3 } END { print s + 300 }' "$list")
# Every test prints a line when it starts, so a console silent for longer
# than the longest budget means the guest kernel hung. SELFTEST_IDLE=SECONDS
# sets another limit.
idle=${SELFTEST_IDLE:-$(awk '$3 > m { m = $3 } END { print m + 300 }' "$list")}
n=$(grep -c . "$list")

stage "$flavour: running $n selftests in QEMU (${ACCEL:-tcg}, $(qemu_id); logs in results/)"
# A guest that hangs or dies inside a test costs that test only: it is
# recorded as failed and the tests after it run in a new VM (three boots
# at most).
todo() {	# the tests of the list with no result in tap.txt yet
	python3 "$REPO/selftests/ksft_summary.py" todo --tap "$tmp/tap.txt" --list "$list"
}
: > "$tmp/tap.txt"
cp "$list" "$tmp/todo.list"
boots=0
while :; do
	boots=$((boots + 1))
	vmrc=0
	"$REPO/lab/vm-run.sh" -q -f "$flavour" -t "$total" -i "$idle" -o "$tmp" -- \
		"sh /out/run-selftests.sh /build/$flavour/selftests /out/todo.list | tee /out/tap-boot.txt" || vmrc=$?
	[ -f "$tmp/tap-boot.txt" ] || : > "$tmp/tap-boot.txt"
	case $vmrc in
	124|125)
		# A guest that died can lose its last writes to /out, so the
		# results it printed on its console count (the TAP lines after
		# the header): otherwise a test that passed could be blamed.
		sed -n '/^TAP version/,$p' "$tmp/console.log" |
			grep -a -E '^(TAP version|1\.\.|ok |not ok |#)' > "$tmp/tap-console.txt" || true
		[ "$(wc -l < "$tmp/tap-console.txt")" -gt "$(wc -l < "$tmp/tap-boot.txt")" ] &&
			mv "$tmp/tap-console.txt" "$tmp/tap-boot.txt"
		rm -f "$tmp/tap-console.txt" ;;
	esac
	cat "$tmp/tap-boot.txt" >> "$tmp/tap.txt"
	case $vmrc in 124|125) ;; *) break ;; esac
	# Resume only after a boot that got as far as starting a test.
	cur=$(sed -n 's|^# \[[0-9]*/[0-9]*\] \([^ ]*\) .*|\1|p' "$tmp/tap-boot.txt" | tail -1)
	[ -n "$cur" ] || break
	why="guest died"
	[ "$vmrc" = 124 ] && why="guest hung"
	todo > "$tmp/todo.list" || exit 1
	# No result for the test it was in: it hung or died there.
	if awk -v t="$cur" '$2 == t { f = 1 } END { exit !f }' "$tmp/todo.list"; then
		echo "not ok 0 $cur # $why in this test (vm-run exit $vmrc; console-boot$boots.log)" |
			tee -a "$tmp/tap.txt"
		todo > "$tmp/todo.list" || exit 1
	fi
	mv "$tmp/console.log" "$tmp/console-boot$boots.log"
	[ "$boots" -lt 3 ] || break
	[ -s "$tmp/todo.list" ] || break
	stage "$flavour: $why after starting $cur; the $(grep -c . "$tmp/todo.list") tests left run in a new VM"
done
rm -f "$tmp/todo.list" "$tmp/tap-boot.txt"
# A disk that filled up during the run leaves truncated logs: judge nothing.
[ "$(free_mb "$RESULTS")" -gt 0 ] || die "$flavour: $RESULTS filled up during the run; nothing recorded"

. "$fdir/source.env"
. "$tmp/vm.env"
# Compare with the other kernel: debug with the patched one it is built from.
other=baseline
[ "$flavour" = baseline ] || [ "$flavour" = debug ] && other=patched
jrc=0
python3 "$REPO/selftests/ksft_summary.py" --tap "$tmp/tap.txt" --list "$tmp/tests.list" \
	--known "$known" --expected "$REPO/selftests/expected.txt" \
	--accel "$known_accel" --flavour "$flavour" \
	--json "$tmp/summary.json" --logs "$tmp/logs" --compare "$RESULTS/test-$other-latest/summary.json" \
	--meta "kernel_version=$kernel_version" --meta "source=$source" \
	--meta "series=$(cat "$fdir/applied.sha")" --meta "vm_exit=$vmrc" --meta "boots=$boots" \
	--meta "boot_to_command_s=$boot_to_command_s" --meta "wall_s=$wall_s" \
	--meta "qemu=$qemu" --meta "tests_filter=${TESTS:-}" \
	| tee "$tmp/summary.txt" || jrc=$?
[ "$jrc" -le 1 ] && [ -s "$tmp/summary.json" ] || die "could not judge the run (see above)"

dest=$RESULTS/test-$flavour-$stamp
mv "$tmp" "$dest"
tmp=
ln -sfn "test-$flavour-$stamp" "$RESULTS/test-$flavour-latest.tmp"
mv -T "$RESULTS/test-$flavour-latest.tmp" "$RESULTS/test-$flavour-latest"
stage "$flavour: recorded in results/test-$flavour-$stamp (boot to first test ${boot_to_command_s}s)"

# A guest crash or kernel warning fails the run even if every test passed.
case $vmrc in
0|1) ;;
*) die "$flavour: the VM run failed (exit $vmrc; see results/test-$flavour-$stamp/console.log)" ;;
esac
exit "$jrc"
