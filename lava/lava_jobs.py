#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""lava_jobs.py: write and validate the LAVA jobs of one build.

  job --target qemu|baremetal --name NAME --run selftests,bench --cases "a b"
      --artifacts URL --out FILE [--series SHA] [--tags "t1 t2"] [--minutes N]
  device --target qemu|baremetal --out FILE [--qemu PATH --accel-args "..."]
  validate FILE...   (LAVA's own job schema, lava_common.schemas)

A job boots each kernel (baseline, then patched) from ARTIFACTS/FLAVOUR/
{bzImage,ramdisk.cpio.gz} and reads what the ramdisk's init prints with
LAVA monitors: test cases (pass/fail/skip) and figures (measurement and
units). The ramdisk needs no shell on the console and no overlay, so the
qemu and bare-metal (TFTP + iPXE) jobs differ only in deploy and boot.
"""
import argparse
import os
import re
import sys

import yaml

FLAVOURS = ["baseline", "patched"]
CMDLINE = "console=ttyS0,115200 panic=-1 loglevel=4 kvm.tsc_tolerance_ppm=10000"
# The sections the ramdisk prints (lava/guest/run-lava.sh), as monitors.
# Whole lines only: from a newline or the start of what the dispatcher has
# not read yet (it drains the console between actions), to the line's end,
# looked at but not taken (it is the next line's newline). Test output
# quoting a marker in the middle of a line is not a result.
LINE = r"(?:^|\n)"
RESULT = LINE + r"LAZYSWITCH-LAVA-RESULT: (?P<test_case_id>\S+) (?P<result>pass|fail|skip)(?=\r*\n)"
FIGURE = (LINE + r"LAZYSWITCH-LAVA-FIGURE: (?P<test_case_id>\S+) (?P<result>pass) "
          r"(?P<measurement>[-+]?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?) (?P<units>\S+)(?=\r*\n)")
SECTIONS = {"selftests": [("selftests", RESULT)],
            "bench": [("bench", RESULT), ("figures", FIGURE)]}
CASE_RE = re.compile(r"^[a-z0-9_]+$")


class InputError(Exception):
    pass


def monitors(fl, run):
    out = []
    for kind in run:
        for sec, pattern in SECTIONS[kind]:
            out.append({"name": f"{fl}-{sec}", "start": LINE + rf"LAZYSWITCH-LAVA-BEGIN: {sec}(?=\r*\n)",
                        "end": LINE + rf"LAZYSWITCH-LAVA-END: {sec}(?=\r*\n)", "pattern": pattern})
    return out


def job(target, name, run, cases, artifacts, series="", tags=(), minutes=60, accel="tcg"):
    for kind in run:
        if kind not in SECTIONS:
            raise InputError(f"unknown kind '{kind}' (selftests, bench)")
    for c in cases:
        if not CASE_RE.match(c):
            raise InputError(f"bad case name '{c}'")
    if len(set(cases)) != len(cases):
        raise InputError("a case is named twice")
    if "bench" in run and not cases:
        raise InputError("bench needs at least one case")
    args = f"lazyswitch.run={','.join(run)}" + (f" lazyswitch.cases={','.join(cases)}" if cases else "")
    base = artifacts.rstrip("/")
    step = max(5, minutes // 2)
    doc = {
        "job_name": name,
        "device_type": "qemu" if target == "qemu" else "x86",
        "visibility": "public",
        "priority": "medium",
        "timeouts": {"job": {"minutes": minutes}, "action": {"minutes": step},
                     "connection": {"minutes": 2}},
        "metadata": {"lazyswitch.series": series or "unknown",
                     "lazyswitch.accel": accel if target == "qemu" else "host",
                     "lazyswitch.run": ",".join(run), "lazyswitch.cases": " ".join(cases)},
        "actions": [],
    }
    if tags:
        doc["tags"] = list(tags)
    if target == "qemu":
        # What LAVA's qemu device type needs to give the guest SVM (TCG's
        # -cpu max; with KVM the template passes -cpu host itself).
        # no_kvm is tested for truth: any string turns KVM off, so under
        # KVM it is left out.
        doc["context"] = {"arch": "amd64", "memory": 4096,
                          "extra_options": ["-smp 2"] + (["-cpu max"] if accel != "kvm" else [])}
        if accel != "kvm":
            doc["context"]["no_kvm"] = "true"
    else:
        doc["context"] = {"extra_kernel_args": f"{CMDLINE} {args}"}
    for fl in FLAVOURS:
        kernel, ramdisk = f"{base}/{fl}/bzImage", f"{base}/{fl}/ramdisk.cpio.gz"
        if target == "qemu":
            deploy = {"to": "tmpfs", "os": "oe", "images": {
                "kernel": {"url": kernel, "image_arg": f"-kernel {{kernel}} -append '{CMDLINE} {args}'"},
                "initrd": {"url": ramdisk, "image_arg": "-initrd {initrd}"}}}
            boot = {"method": "qemu", "media": "tmpfs"}
        else:
            deploy = {"to": "tftp", "os": "oe", "kernel": {"url": kernel},
                      "ramdisk": {"url": ramdisk, "compression": "gz", "install_overlay": False}}
            boot = {"method": "ipxe", "commands": "ramdisk"}
        deploy["timeout"] = {"minutes": 5}
        # The qemu console's expect timeout comes from the boot action's: it
        # is how long each monitor waits for the next result line.
        boot["timeout"] = {"minutes": 10}
        doc["actions"] += [{"deploy": deploy}, {"boot": boot},
                           {"test": {"timeout": {"minutes": step}, "monitors": monitors(fl, run)}}]
    return doc


def device(target, qemu=None, accel_args=()):
    """A device dictionary as lava-server would render it: the qemu one
    runs the lab's QEMU here; the bare-metal one is an example x86 iPXE
    host, for validating the bare-metal job's pipeline."""
    timeouts = {"actions": {}, "connections": {}}
    constants = {"kernel-start-message": "Linux version [0-9]",
                 "default-shell-prompt": "lava-test: # ",
                 "shutdown-message": "The system is going down for reboot NOW",
                 "spawn_maxread": "4092", "failure_retry": 1, "boot_retry": 1,
                 "posix": {"lava_test_sh_cmd": "/bin/sh", "lava_test_results_dir": "/lava-%s",
                           "lava_test_shell_file": "~/.bashrc"}}
    if target == "qemu":
        if not qemu:
            raise InputError("device --target qemu needs --qemu")
        return {"device_type": "qemu", "available_architectures": ["amd64", "x86_64"],
                "constants": constants, "timeouts": timeouts,
                "actions": {
                    "deploy": {"connections": {"serial": None}, "methods": {"image": {
                        "parameters": {"guest": {"size": 512, "interface": "ide",
                                                 "driveid": "lavatest"}}}}},
                    "boot": {"connections": {"serial": None}, "methods": {"qemu": {"parameters": {
                        "command": qemu,
                        "boot_options": {"root": "/dev/ram0", "console": "ttyS0,115200"},
                        "options": ["-nodefaults", "-no-reboot", "-display none",
                                    "-serial stdio", "-monitor none", "-smp 2", "-m 4096",
                                    *accel_args]}}}}}}
    constants["ipxe"] = {"interrupt-prompt": "Press Ctrl-B for the iPXE command line",
                         "interrupt_ctrl_list": ["b"],
                         "error-messages": ["No configuration methods succeeded",
                                            "Connection timed out"]}
    return {"device_type": "x86", "constants": constants, "timeouts": timeouts,
            "commands": {"connect": "telnet serial-server 7001",
                         "hard_reset": "pduclient --hostname pdu --port 1 --command reboot",
                         "power_off": "pduclient --hostname pdu --port 1 --command off",
                         "power_on": "pduclient --hostname pdu --port 1 --command on"},
            "parameters": {"interfaces": {"target": {"ip": "", "mac": "00:00:5e:00:53:01"}}},
            "actions": {
                "deploy": {"connections": {"serial": None}, "methods": {"tftp": None}},
                "boot": {"connections": {"serial": None}, "methods": {"ipxe": {
                    "parameters": {"bootloader_prompt": "iPXE>", "boot_message": "Linux version",
                                   "send_char": False, "use_bootscript": False},
                    "ramdisk": {"commands": [
                        "dhcp net0",
                        "kernel tftp://{SERVER_IP}/{KERNEL} " + CMDLINE,
                        "initrd tftp://{SERVER_IP}/{RAMDISK}",
                        "boot"]}}}}}}


def lava_schema():
    """lava_common's validate() and voluptuous' Invalid, from Debian's
    lava-common even under another python3."""
    try:
        import lava_common.schemas  # noqa: F401
    except ImportError:
        sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from lava_common.schemas import validate as lava_validate
        from voluptuous import Invalid
    except ImportError:
        raise InputError("LAVA's job schema is missing (Debian package: lava-common)")
    return lava_validate, Invalid


def validate(path):
    """LAVA's own job schema (what lava-server checks on submission)."""
    lava_validate, Invalid = lava_schema()
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        raise InputError(f"{path}: not a readable YAML job ({e})")
    if not isinstance(doc, dict) or "actions" not in doc:
        raise InputError(f"{path}: not a LAVA job (no actions)")
    try:
        lava_validate(doc, strict=True)
    except Invalid as e:
        raise InputError(f"{path}: LAVA's job schema rejects it: {e}")


def write(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False, width=200)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    j = sub.add_parser("job")
    j.add_argument("--target", choices=["qemu", "baremetal"], required=True)
    j.add_argument("--name", required=True)
    j.add_argument("--run", required=True)
    j.add_argument("--cases", default="")
    j.add_argument("--artifacts", required=True)
    j.add_argument("--series", default="")
    j.add_argument("--tags", default="")
    j.add_argument("--minutes", type=int, default=60)
    j.add_argument("--accel", choices=["tcg", "kvm"], default="tcg",
                   help="qemu target: TCG -cpu max, or KVM -cpu host (nested)")
    j.add_argument("--out", required=True)
    d = sub.add_parser("device")
    d.add_argument("--target", choices=["qemu", "baremetal"], required=True)
    d.add_argument("--qemu")
    d.add_argument("--accel-args", default="")
    d.add_argument("--out", required=True)
    v = sub.add_parser("validate")
    v.add_argument("jobs", nargs="+")
    a = ap.parse_args()
    try:
        if a.cmd == "job":
            write(a.out, job(a.target, a.name, a.run.split(","), a.cases.split(), a.artifacts,
                             a.series, a.tags.split(), a.minutes, a.accel))
        elif a.cmd == "device":
            write(a.out, device(a.target, a.qemu, a.accel_args.split()))
        else:
            for p in a.jobs:
                validate(p)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
