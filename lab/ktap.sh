# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# ktap.sh: the one TAP printer of the lab's test stages, after the kernel's
# tools/testing/selftests/kselftest/ktap_helpers.sh: a header, a plan (first
# or last), one line per case, and a closing "# Totals:" line, which
# lab/test.sh adds up. POSIX sh, so that a guest's busybox can source it.
#
#   . lab/ktap.sh
#   ktap_print_header
#   ktap_set_plan 2
#   ktap_test_pass "first case"
#   ktap_test_skip "second case" "why it cannot run here"
#   ktap_finished          # the totals; status 1 if a case failed

KTAP_N=0
KTAP_PASS=0
KTAP_FAIL=0
KTAP_SKIP=0
KTAP_XFAIL=0
KTAP_LAST=		# the last case line, for a script that also logs it

ktap_print_header() {
	echo "TAP version 13"
}

# ktap_set_plan N
ktap_set_plan() {
	echo "1..$1"
}

# ktap_test_pass DESCRIPTION
ktap_test_pass() {
	KTAP_N=$((KTAP_N + 1))
	KTAP_PASS=$((KTAP_PASS + 1))
	KTAP_LAST="ok $KTAP_N $1"
	echo "$KTAP_LAST"
}

# ktap_test_fail DESCRIPTION [DETAIL]: DETAIL follows as a "# " line.
ktap_test_fail() {
	KTAP_N=$((KTAP_N + 1))
	KTAP_FAIL=$((KTAP_FAIL + 1))
	KTAP_LAST="not ok $KTAP_N $1"
	echo "$KTAP_LAST"
	[ -z "${2:-}" ] || echo "# $2"
}

# ktap_test_skip DESCRIPTION REASON
ktap_test_skip() {
	KTAP_N=$((KTAP_N + 1))
	KTAP_SKIP=$((KTAP_SKIP + 1))
	KTAP_LAST="ok $KTAP_N $1 # SKIP $2"
	echo "$KTAP_LAST"
}

# ktap_test_xfail DESCRIPTION REASON: a known failure.
ktap_test_xfail() {
	KTAP_N=$((KTAP_N + 1))
	KTAP_XFAIL=$((KTAP_XFAIL + 1))
	KTAP_LAST="ok $KTAP_N $1 # XFAIL $2"
	echo "$KTAP_LAST"
}

# ktap_test_result DESCRIPTION CONDITION: pass if the shell condition holds
# (evaluated in a subshell), else fail.
ktap_test_result() {
	if (eval "$2"); then
		ktap_test_pass "$1"
	else
		ktap_test_fail "$1"
	fi
}

ktap_print_totals() {
	echo "# Totals: pass:$KTAP_PASS fail:$KTAP_FAIL xfail:$KTAP_XFAIL xpass:0 skip:$KTAP_SKIP error:0"
}

# ktap_finished [plan]: with "plan", the plan first (for a script that
# counts its cases as it goes), then the totals; status 1 if a case failed.
ktap_finished() {
	[ "${1:-}" != plan ] || ktap_set_plan "$KTAP_N"
	ktap_print_totals
	[ "$KTAP_FAIL" -eq 0 ]
}

# ktap_read_totals: read a stage's output on stdin and print "PASS FAIL
# SKIP" from its last "# Totals:" line (errors and unexpected passes count
# as failures, known failures as skipped); status 1 if it has none.
ktap_read_totals() {
	_t=
	_cr=$(printf '\r')
	while IFS= read -r _line; do
		_line=${_line%"$_cr"}
		case $_line in
		"# Totals: "*) _t=${_line#\# Totals: } ;;
		esac
	done
	[ -n "$_t" ] || return 1
	_p=0 _f=0 _s=0
	for _kv in $_t; do
		_v=${_kv#*:}
		case $_v in
		''|*[!0-9]*) return 1 ;;
		esac
		case $_kv in
		pass:*) _p=$((_p + _v)) ;;
		fail:*|error:*|xpass:*) _f=$((_f + _v)) ;;
		skip:*|xfail:*) _s=$((_s + _v)) ;;
		*) return 1 ;;
		esac
	done
	echo "$_p $_f $_s"
}
