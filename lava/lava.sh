#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lava.sh: this project's tests and benchmark as LAVA jobs.
#   lava.sh jobs       'make lava': the ramdisks of the built kernels, the jobs
#                      (qemu and bare metal: selftests, bench, smoke) and the
#                      qemu device dictionary, in build/lava/; all validated
#   lava.sh run [JOB]  run JOB (default: the qemu smoke job) with LAVA's own
#                      dispatcher (lava-run, no server), then import it
# Environment: CASES (the bench job's cases; default all), LAVA_ARTIFACTS
# (the URL the bare-metal jobs fetch FLAVOUR/{bzImage,ramdisk.cpio.gz}
# from; default file://build/lava/artifacts), LAVA_TAGS (device tags of the
# bare-metal jobs), LAVA_RUN (the dispatcher; default lava-run).
set -euo pipefail
. "$(dirname "$0")/../lab/lib.sh"

LAVA_PY=/usr/bin/python3	# lava-common is Debian's, for Debian's python3
lava=$BUILD/lava
jobs=$lava/jobs
cmd=${1:-}
[ $# -gt 0 ] && shift

deps() {
	local missing
	# tftpd-hpa and telnet: what the dispatcher checks for when it
	# validates the bare-metal job (TFTP deploy, serial over telnet).
	mapfile -t missing < <(missing_packages lava-dispatcher lavacli tftpd-hpa telnet)
	if [ ${#missing[@]} -gt 0 ]; then
		apt_install "LAVA's dispatcher" "${missing[@]}"
		# Installed for lava-run alone: no worker polling a server, no
		# TFTP server listening.
		if [ -d /run/systemd/system ]; then
			systemctl disable --now lava-worker.service tftpd-hpa.service >/dev/null 2>&1 || true
		elif [ -x /etc/init.d/tftpd-hpa ]; then
			/etc/init.d/tftpd-hpa stop >/dev/null 2>&1 || true
		fi
	fi
}

make_jobs() {
	local fl series all t kind run cases minutes accel args
	accel=$(resolve_accel)
	for fl in $FLAVOURS; do
		"$REPO/lava/ramdisk.sh" "$fl"
	done
	series=$(cut -d' ' -f1 "$BUILD/patched/applied.sha")
	all=$("$BUILD/patched/selftests/bench/lazyswitch_bench" -l 2>/dev/null | awk '$1 ~ /^[a-z0-9_]+$/ && NF > 1 { print $1 }' | tr '\n' ' ')
	mkdir -p "$jobs/qemu" "$jobs/baremetal"
	for t in qemu baremetal; do
		for kind in smoke selftests bench; do
			case $kind in
			smoke) run=selftests,bench cases=${SMOKE_CASE:-cpuid} minutes=30 ;;
			selftests) run=selftests cases= minutes=60 ;;
			bench) run=bench cases=${CASES:-$all}
				minutes=$((20 + 6 * $(echo "$cases" | wc -w))) ;;
			esac
			python3 "$REPO/lava/lava_jobs.py" job --target "$t" --name "kvm-lazyswitch $kind ($t)" \
				--run "$run" --cases "$cases" --series "$series" --minutes "$minutes" --accel "$accel" \
				--artifacts "${LAVA_ARTIFACTS:-file://$lava/artifacts}" \
				--tags "$([ "$t" = baremetal ] && echo "${LAVA_TAGS:-}")" \
				--out "$jobs/$t/$kind.yaml" || exit 1
		done
	done
	args="-accel tcg,thread=${TCG_THREADS:-multi} -cpu max"
	[ "$accel" = tcg ] || args="-accel kvm -cpu host"
	python3 "$REPO/lava/lava_jobs.py" device --target qemu --qemu "$(qemu_bin)" \
		--accel-args "$args" --out "$lava/qemu-device.yaml"
	python3 "$REPO/lava/lava_jobs.py" device --target baremetal --out "$lava/x86-example-device.yaml"
	"$LAVA_PY" "$REPO/lava/lava_jobs.py" validate "$jobs"/*/*.yaml
	# The dispatcher's own check of each job's pipeline on its device.
	local j dev
	for j in "$jobs"/*/*.yaml; do
		dev=$lava/qemu-device.yaml
		[[ $j != */baremetal/* ]] || dev=$lava/x86-example-device.yaml
		rm -rf "$lava/validate"
		lava-run --validate --job-id 0 --output-dir "$lava/validate" --device "$dev" "$j" \
			> /dev/null 2> "$lava/validate.log" ||
			die "lava-run --validate rejects ${j#"$REPO"/}: $(sed -n 's/.*"error_msg": "\([^"]*\)".*/\1/p' "$lava/validate.log" | tail -1)"
	done
	rm -rf "$lava/validate"
	stage "lava: $(ls "$jobs"/*/*.yaml | wc -l) jobs in ${jobs#"$REPO"/}/ (qemu, baremetal), valid for LAVA's job schema and its dispatcher"
}

run_job() {
	local job=${1:-$jobs/qemu/smoke.yaml} dispatcher=${LAVA_RUN:-lava-run} id dir rc t0
	command -v "$dispatcher" >/dev/null 2>&1 ||
		die "no LAVA dispatcher: $dispatcher not found (Debian package: lava-dispatcher; 'make lava' installs it)"
	[ -f "$job" ] || die "no job $job (run 'make lava')"
	[ -f "$lava/qemu-device.yaml" ] || die "no $lava/qemu-device.yaml (run 'make lava')"
	grep -qx 'device_type: qemu' "$job" ||
		die "$job is not a qemu job: only LAVA can run the bare-metal ones (docs/lava.md)"
	mkdir -p "$lava/runs"
	# The next free id; mkdir without -p claims it.
	id=$(find "$lava/runs" -mindepth 1 -maxdepth 1 -name '[0-9]*' -printf '%f\n' | sort -n | tail -1)
	id=$((${id:-0} + 1))
	until mkdir "$lava/runs/$id" 2>/dev/null; do
		id=$((id + 1))
	done
	dir=$lava/runs/$id
	cp "$job" "$dir/job.yaml"
	cp "$lava/qemu-device.yaml" "$dir/device.yaml"
	echo "$id" > "$dir/job-id"
	echo "lazyswitch-qemu-$(hostname -s)" > "$dir/device-name"
	stage "lava: job $id: $(basename "$job") with $dispatcher on $(cat "$dir/device-name") (log: ${dir#"$REPO"/}/log.jsonl)"
	t0=$(date +%s)
	set +e
	"$dispatcher" --job-id "$id" --output-dir "$dir/out" --device "$dir/device.yaml" "$dir/job.yaml" \
		2> "$dir/log.jsonl" > "$dir/lava-run.out" &
	local pid=$!
	# Progress: one line per case and test, as the job prints them.
	tail -n +1 -F --pid=$pid "$dir/log.jsonl" 2>/dev/null |
		sed -u -n 's/.*"lvl": "target", "msg": "\(LAZYSWITCH-LAVA-RESULT: [^"]*\|LAZYSWITCH-CASE: [^"]*\)".*/[lazyswitch] lava: job '"$id"': \1/p' &
	wait $pid
	rc=$?
	wait 2>/dev/null
	set -e
	echo "$rc" > "$dir/lava-run.rc"
	stage "lava: job $id: lava-run exited $rc after $(($(date +%s) - t0)) s"
	"$LAVA_PY" "$REPO/lava/lava_import.py" import --dir "$dir" --results "$RESULTS" || exit 1
}

case $cmd in
jobs) deps; make_jobs ;;
run) deps; run_job "$@" ;;
*) echo "usage: lava/lava.sh jobs | run [JOB.yaml]" >&2; exit 2 ;;
esac
