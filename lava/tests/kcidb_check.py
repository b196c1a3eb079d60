#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kcidb_check.py FILE: check a KCIDB v5.3 submission against the rules of
that schema version this project relies on: required fields, id and path
patterns, the status values, the number object, and links between
objects. Not the official schema (kcidb-io is on PyPI only); kcidb-validate
from kcidb-io is the final word where it can be installed."""
import json
import re
import sys

ORIGIN = re.compile(r"^[a-z0-9_]+$")
ID = re.compile(r"^[a-z0-9_]+:[^\0]*$")
PATH = re.compile(r"^([a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*)?$")
STATUS = {"FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP"}
FIELDS = {
    "checkouts": ({"id", "origin"}, {"tree_name", "git_repository_url", "git_commit_hash",
                                     "patchset_hash", "valid", "misc", "comment", "start_time"}),
    "builds": ({"id", "origin", "checkout_id"}, {"architecture", "config_name", "status", "misc",
                                                 "comment", "start_time", "duration", "compiler"}),
    "tests": ({"id", "origin", "build_id"}, {"path", "status", "number", "environment", "misc",
                                             "comment", "start_time", "duration"}),
}


def problems(doc):
    out = []
    if doc.get("version") != {"major": 5, "minor": 3}:
        out.append(f"version {doc.get('version')} is not 5.3")
    extra = set(doc) - {"version", "checkouts", "builds", "tests", "issues", "incidents"}
    if extra:
        out.append(f"unknown top-level keys {sorted(extra)}")
    ids = {k: set() for k in FIELDS}
    for kind, (required, optional) in FIELDS.items():
        for o in doc.get(kind, []):
            miss = required - set(o)
            if miss:
                out.append(f"{kind}: {o.get('id')}: missing {sorted(miss)}")
            unknown = set(o) - required - optional
            if unknown:
                out.append(f"{kind}: {o.get('id')}: unknown keys {sorted(unknown)}")
            if not ORIGIN.match(str(o.get("origin", ""))):
                out.append(f"{kind}: bad origin {o.get('origin')!r}")
            for k in ("id", "checkout_id", "build_id"):
                if k in o and not ID.match(str(o[k])):
                    out.append(f"{kind}: bad {k} {o[k]!r}")
            if any(v is None for v in o.values()):
                out.append(f"{kind}: {o.get('id')}: a null value")
            if o.get("id") in ids[kind]:
                out.append(f"{kind}: duplicate id {o['id']}")
            ids[kind].add(o.get("id"))
            if "status" in o and o["status"] not in STATUS:
                out.append(f"{kind}: {o['id']}: bad status {o['status']}")
            if "path" in o and not PATH.match(o["path"]):
                out.append(f"{kind}: {o['id']}: bad path {o['path']!r}")
            if "number" in o:
                n = o["number"]
                if not isinstance(n.get("value"), (int, float)) or set(n) - {"value", "unit", "prefix"}:
                    out.append(f"{kind}: {o['id']}: bad number {n}")
            if "environment" in o and set(o["environment"]) - {"compatible", "comment", "misc"}:
                out.append(f"{kind}: {o['id']}: bad environment keys")
            h = o.get("patchset_hash")
            if h is not None and h != "" and not re.match(r"^[0-9a-f]{64}$", h):
                out.append(f"{kind}: {o['id']}: bad patchset_hash")
    for b in doc.get("builds", []):
        if b.get("checkout_id") not in ids["checkouts"]:
            out.append(f"build {b.get('id')}: no checkout {b.get('checkout_id')}")
    for t in doc.get("tests", []):
        if t.get("build_id") not in ids["builds"]:
            out.append(f"test {t.get('id')}: no build {t.get('build_id')}")
    return out


def main():
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    bad = problems(doc)
    for p in bad[:20]:
        print(f"# kcidb: {p}")
    n = len(doc.get("tests", []))
    print(f"# kcidb: {len(doc.get('builds', []))} builds, {n} tests, "
          f"{sum(1 for t in doc.get('tests', []) if 'number' in t)} with a number; "
          f"{len(bad)} problem(s)")
    sys.exit(1 if bad or not n else 0)


if __name__ == "__main__":
    main()
