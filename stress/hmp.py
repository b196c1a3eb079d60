#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send human-monitor (HMP) commands to a QEMU started by vm-run.sh -M.

  hmp.py SOCKET COMMAND...              run each command once, print replies
  hmp.py SOCKET --every MS --for SECS COMMAND
                                        repeat COMMAND every MS milliseconds
                                        for SECS seconds (an NMI storm)

Prints "hmp: N commands sent in S s" last. A command QEMU rejects (its
reply starts with "Error" or names an unknown command) is one error line
and exit status 1; a socket that never appears or closes is exit status 2.
"""
import argparse
import os
import socket
import sys
import time

PROMPT = b"(qemu) "


class Monitor:
    def __init__(self, path, wait_s):
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError as e:
                self.sock.close()
                if time.monotonic() >= deadline:
                    raise ConnectionError(f"cannot connect to {path}: {e.strerror}")
                time.sleep(0.1)
        self.sock.settimeout(30)
        self._read_to_prompt()          # the banner

    def _read_to_prompt(self):
        buf = b""
        while not buf.endswith(PROMPT):
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the monitor closed (guest gone?)")
            buf += chunk
        return buf[:-len(PROMPT)]

    def command(self, cmd):
        self.sock.sendall(cmd.encode() + b"\n")
        reply = self._read_to_prompt().decode(errors="replace")
        # HMP echoes the command line (with terminal escapes) first.
        lines = [ln.strip() for ln in reply.replace("\r", "\n").split("\n")]
        lines = [ln for ln in lines if ln and "\x1b" not in ln and ln != cmd]
        return "\n".join(lines)


def rejected(reply):
    return reply.startswith("Error") or "unknown command" in reply or "Parameter" in reply


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("socket")
    ap.add_argument("commands", nargs="+")
    ap.add_argument("--every", type=float, metavar="MS", help="repeat period in ms")
    ap.add_argument("--for", dest="duration", type=float, metavar="SECS",
                    help="how long to repeat")
    ap.add_argument("--wait", type=float, default=30, metavar="SECS",
                    help="how long to wait for the socket (default 30)")
    args = ap.parse_args(argv)
    if (args.every is None) != (args.duration is None):
        print("error: --every and --for go together", file=sys.stderr)
        return 2
    if args.every is not None and (args.every <= 0 or args.duration <= 0 or len(args.commands) != 1):
        print("error: --every MS and --for SECS must be positive, with one command", file=sys.stderr)
        return 2
    try:
        # The socket is reached from its own directory: a path longer than
        # 108 bytes cannot be connected to.
        os.chdir(os.path.dirname(os.path.abspath(args.socket)))
        mon = Monitor(os.path.basename(args.socket), args.wait)
        sent = 0
        start = time.monotonic()
        if args.every is None:
            for cmd in args.commands:
                reply = mon.command(cmd)
                sent += 1
                if reply:
                    print(reply)
                if rejected(reply):
                    print(f"error: QEMU rejected '{cmd}': {reply.splitlines()[0]}", file=sys.stderr)
                    return 1
        else:
            period = args.every / 1000
            nxt = start
            while time.monotonic() - start < args.duration:
                reply = mon.command(args.commands[0])
                sent += 1
                if rejected(reply):
                    print(f"error: QEMU rejected '{args.commands[0]}': {reply.splitlines()[0]}",
                          file=sys.stderr)
                    return 1
                nxt += period
                time.sleep(max(0, nxt - time.monotonic()))
        print(f"hmp: {sent} commands sent in {time.monotonic() - start:.1f} s")
        return 0
    except (ConnectionError, OSError) as e:
        print(f"error: monitor: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
