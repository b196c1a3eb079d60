#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""flamesvg.py: folded stacks to a static SVG flame graph.

  flamesvg.py [--title T] [--subtitle S] FOLDED OUT.svg
  flamesvg.py --diff [--title T] BASE.folded NEW.folded OUT.svg
  flamesvg.py --diff --per B,N [--unit U] [--title T] BASE.folded NEW.folded OUT.svg

The picture needs no browser session: any SVG viewer shows it. A frame's
colour is a hash of its name, so a function has the same colour in every
graph. In --diff mode the layout is NEW's, and each frame is coloured by the
change of its share of samples: red grew, blue shrank (NEW vs BASE, both
normalised to their totals so runs of different length compare). With
--per B,N both are divided instead by their count of a unit (B and N exits,
say), so a frame is red if it costs more per unit, whatever the rest did;
the layout is then the larger of the two per stack (a parent is the sum of
its children's), so code that shrank or went away stays visible in blue.
"""
import argparse
import gzip
import hashlib
import html
import os
import sys

WIDTH = 1200
ROW = 16
PAD = 10
HEADER = 50
MIN_PX = 0.3


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


def read_folded(path):
    """Return {stack tuple: count}. Each line is 'a;b;c COUNT'; a path
    ending in .gz is read through gzip."""
    stacks = {}
    try:
        with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line:
                    continue
                stack, _, count = line.rpartition(" ")
                if not stack or not count.isdigit():
                    die(f"{path}:{n}: not a folded stack line")
                key = tuple(stack.split(";"))
                stacks[key] = stacks.get(key, 0) + int(count)
    except (OSError, EOFError, UnicodeDecodeError) as e:
        die(f"cannot read {path}: {getattr(e, 'strerror', None) or e}")
    return stacks


class Node:
    __slots__ = ("name", "count", "children")

    def __init__(self, name):
        self.name = name
        self.count = 0
        self.children = {}


def build_tree(stacks):
    root = Node("all")
    for stack, count in stacks.items():
        root.count += count
        node = root
        for frame in stack:
            node = node.children.setdefault(frame, Node(frame))
            node.count += count
    return root


def path_shares(stacks, total=None):
    """Share of all samples (or per TOTAL) under each frame path (each
    prefix of a stack)."""
    total = total or sum(stacks.values()) or 1
    shares = {}
    for stack, count in stacks.items():
        for i in range(1, len(stack) + 1):
            shares[stack[:i]] = shares.get(stack[:i], 0) + count / total
    return shares


def name_colour(name):
    h = hashlib.md5(name.encode()).digest()
    # Warm palette as in classic flame graphs; kernel and user frames differ
    # in hue only through their names.
    return f"rgb({205 + h[0] % 50},{80 + h[1] % 130},{h[2] % 60})"


def diff_colour(delta):
    # delta: change in share of all samples, -1..1. Saturates at 5 points.
    k = min(abs(delta) / 0.05, 1.0)
    fade = int(255 - 200 * k)
    if delta > 0:
        return f"rgb(255,{fade},{fade})"
    if delta < 0:
        return f"rgb({fade},{fade},255)"
    return "rgb(230,230,230)"


def render(root, out, title, subtitle, colour_of, tip_of=None):
    depth = 0
    rects = []
    scale = (WIDTH - 2 * PAD) / max(root.count, 1)

    def walk(node, x, level, path):
        nonlocal depth
        w = node.count * scale
        if w < MIN_PX:
            return
        depth = max(depth, level)
        rects.append((node, x, level, w, path))
        cx = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            walk(child, cx, level + 1, path + (child.name,))
            cx += child.count * scale

    walk(root, PAD, 0, ())
    height = HEADER + (depth + 1) * ROW + PAD
    lines = [
        '<?xml version="1.0" standalone="no"?>',
        f'<svg version="1.1" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#f8f8f8"/>',
        f'<text x="{WIDTH // 2}" y="20" font-family="Verdana" font-size="15" '
        f'text-anchor="middle">{html.escape(title)}</text>',
        f'<text x="{WIDTH // 2}" y="38" font-family="Verdana" font-size="11" '
        f'text-anchor="middle" fill="#555">{html.escape(subtitle)}</text>',
    ]
    for node, x, level, w, path in rects:
        y = height - PAD - (level + 1) * ROW
        pct = 100.0 * node.count / max(root.count, 1)
        tip = tip_of(node, path) if tip_of else f"{node.name} ({node.count} samples, {pct:.2f}%)"
        fill = colour_of(node, path)
        lines.append(f'<g><title>{html.escape(tip)}</title>'
                     f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" '
                     f'height="{ROW - 1}" fill="{fill}" rx="2"/>')
        chars = int(w / 7)
        if chars >= 3:
            label = node.name if len(node.name) <= chars else node.name[:chars - 2] + ".."
            lines.append(f'<text x="{x + 3:.1f}" y="{y + ROW - 4}" '
                         f'font-family="Verdana" font-size="11">'
                         f'{html.escape(label)}</text>')
        lines.append("</g>")
    lines.append("</svg>")
    tmp = out + ".tmp"
    try:
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, out)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        die(f"cannot write {out}: {e.strerror}")


def main():
    ap = argparse.ArgumentParser(description="folded stacks to an SVG flame graph")
    ap.add_argument("--diff", action="store_true", help="BASE NEW OUT: differential graph")
    ap.add_argument("--title", default="Flame graph")
    ap.add_argument("--subtitle", default="")
    ap.add_argument("--per", metavar="B,N", help="--diff: normalise by these unit counts")
    ap.add_argument("--unit", default="unit", help="--per: what B and N count")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    want = 3 if a.diff else 2
    if len(a.files) != want:
        die(f"expected {want} file arguments, got {len(a.files)}")
    if a.diff and a.per:
        try:
            bu, nu = (float(x) for x in a.per.split(","))
            if bu <= 0 or nu <= 0:
                raise ValueError
        except ValueError:
            die(f"--per wants two positive numbers B,N, not '{a.per}'")
        base, new = read_folded(a.files[0]), read_folded(a.files[1])
        if not base or not new:
            die(f"{a.files[0] if not base else a.files[1]} has no samples")
        bper, nper = path_shares(base, bu), path_shares(new, nu)
        btotal = sum(base.values()) / bu
        # Integer layout weights, 1/1000 of a unit each: the larger side.
        layout = {k: max(1, round(1000 * max(base.get(k, 0) / bu, new.get(k, 0) / nu)))
                  for k in set(base) | set(new)}
        root = build_tree({k: v for k, v in layout.items() if v})
        sub = a.subtitle or (f"per {a.unit}, {btotal:.1f} -> {sum(new.values()) / nu:.1f}; "
                             f"red: more per {a.unit} than baseline, blue: less; "
                             "width: the larger of the two")
        render(root, a.files[2], a.title, sub,
               lambda n, p: diff_colour((nper.get(p, 0) - bper.get(p, 0)) / btotal) if p
               else "rgb(230,230,230)",
               lambda n, p: f"{n.name} ({bper.get(p, btotal if not p else 0):.2f} -> "
                            f"{nper.get(p, sum(new.values()) / nu if not p else 0):.2f} per {a.unit})")
    elif a.diff:
        base, new = read_folded(a.files[0]), read_folded(a.files[1])
        if not new:
            die(f"{a.files[1]} has no samples")
        bshare, nshare = path_shares(base), path_shares(new)
        root = build_tree(new)
        sub = a.subtitle or "red: larger share of samples than baseline, blue: smaller"
        render(root, a.files[2], a.title, sub,
               lambda n, p: diff_colour(nshare.get(p, 0) - bshare.get(p, 0)) if p else "rgb(230,230,230)")
    else:
        stacks = read_folded(a.files[0])
        if not stacks:
            die(f"{a.files[0]} has no samples")
        render(build_tree(stacks), a.files[1], a.title,
               a.subtitle or f"{sum(stacks.values())} samples",
               lambda n, p: name_colour(n.name))


if __name__ == "__main__":
    main()
