#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print deb-src entries (deb822) for the Debian bookworm suites that the
given apt source files have deb entries for, with the same URIs and
options. Exits 1 with one line when there are none."""
import re
import sys

SUITE = re.compile(r"^bookworm(-updates|-security)?$")


def one_line(path, text):
    for line in text.splitlines():
        m = re.match(r"^\s*deb\s+(\[[^]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line)
        if not m or not SUITE.match(m.group(3)):
            continue
        stanza = {"Types": "deb-src", "URIs": m.group(2), "Suites": m.group(3),
                  "Components": m.group(4).split("#")[0].strip()}
        for opt in (m.group(1) or "").strip("[] \t").split():
            key, _, val = opt.partition("=")
            if key == "signed-by":
                stanza["Signed-By"] = val
        yield stanza


def deb822(path, text):
    for block in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += "\n" + line
                continue
            key, _, val = line.partition(":")
            fields[key.strip()] = val.strip()
        if "deb" not in fields.get("Types", "").split():
            continue
        suites = [s for s in fields.get("Suites", "").split() if SUITE.match(s)]
        if not suites or fields.get("Enabled", "yes") == "no":
            continue
        fields.update(Types="deb-src", Suites=" ".join(suites))
        yield fields


def main(paths):
    out = []
    for path in paths:
        try:
            text = open(path).read()
        except OSError:
            continue
        parse = deb822 if path.endswith(".sources") else one_line
        out.extend(parse(path, text))
    if not out:
        print("error: no deb entries for Debian bookworm to derive deb-src entries from",
              file=sys.stderr)
        return 1
    print("\n\n".join("\n".join(f"{k}: {v}" for k, v in s.items()) for s in out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
