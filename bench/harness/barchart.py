#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""barchart.py: a grouped horizontal bar chart as a self-contained SVG (and
a PNG of it through rsvg-convert), one group per case, one bar per kernel,
every bar labelled with its value. Used by bench_report.py for summary.md's
charts; no plotting library needed.

Each bar carries data-series, data-category and data-value attributes, so
that a test (or a person with a text editor) can check what it shows.
"""
import os
import shutil
import subprocess
from xml.sax.saxutils import escape

COLOURS = ["#6b8fb5", "#e07b39", "#7a9e5c", "#a36fb0"]
WIDTH = 760
LABEL_W = 180          # case names
VALUE_W = 80           # the value after the longest bar
RATIO_W = 70           # the ratio column at the right
BAR_H = 14
BAR_GAP = 3
GROUP_GAP = 12
FONT = "font-family='DejaVu Sans, Verdana, sans-serif'"


def svg(title, subtitle, series, rows, fmt="{:.3f}", ratio_head="ratio", per_row=False,
        spans=None):
    """title, subtitle: text. series: the kernels, in bar order. rows: a
    list of (category, [value per series or None], ratio text or None).
    Bars share one linear scale from 0, or with PER_ROW each case has its
    own (for figures that differ by orders of magnitude between cases);
    None is drawn as 'n/a'. spans: per row, per series, (min, max) or None,
    drawn as a whisker across the bar."""
    spans = spans or [[None] * len(series) for _ in rows]

    def row_top(vs, sp):
        v = [x for x in vs if x is not None] + [hi for s in sp if s for hi in s[1:]]
        return max(v) if v and max(v) > 0 else 1.0
    tops = [row_top(vs, sp) for (_, vs, _), sp in zip(rows, spans)]
    if not per_row:
        tops = [max(tops + [1e-300])] * len(rows)
    bar_w = WIDTH - LABEL_W - VALUE_W - RATIO_W - 20
    head = 64
    group_h = len(series) * (BAR_H + BAR_GAP) - BAR_GAP
    height = head + len(rows) * (group_h + GROUP_GAP) + 16
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' "
           f"viewBox='0 0 {WIDTH} {height}' {FONT}>",
           f"<rect width='{WIDTH}' height='{height}' fill='white'/>",
           f"<text x='10' y='22' font-size='16' font-weight='bold'>{escape(title)}</text>",
           f"<text x='10' y='40' font-size='11' fill='#444'>{escape(subtitle)}</text>"]
    x = LABEL_W
    for i, s in enumerate(series):
        out.append(f"<rect x='{x}' y='48' width='10' height='10' fill='{COLOURS[i % len(COLOURS)]}'/>")
        out.append(f"<text x='{x + 14}' y='57' font-size='11'>{escape(s)}</text>")
        x += 14 + 8 * len(s) + 20
    if any(r is not None for _, _, r in rows):
        out.append(f"<text x='{WIDTH - 10}' y='57' font-size='11' text-anchor='end' "
                   f"fill='#444'>{escape(ratio_head)}</text>")
    y = head
    for (cat, vs, ratio), top, sp in zip(rows, tops, spans):
        out.append(f"<text x='{LABEL_W - 8}' y='{y + group_h / 2 + 4:.1f}' font-size='12' "
                   f"text-anchor='end'>{escape(cat)}</text>")
        for i, v in enumerate(vs):
            by = y + i * (BAR_H + BAR_GAP)
            attrs = (f"data-series='{escape(series[i])}' data-category='{escape(cat)}' "
                     f"data-value='{'' if v is None else repr(float(v))}'")
            if v is None:
                out.append(f"<text x='{LABEL_W + 4}' y='{by + BAR_H - 3}' font-size='11' "
                           f"fill='#888' {attrs}>n/a</text>")
                continue
            w = max(bar_w * v / top, 0.0)
            out.append(f"<rect x='{LABEL_W}' y='{by}' width='{w:.2f}' height='{BAR_H}' "
                       f"fill='{COLOURS[i % len(COLOURS)]}' {attrs}>"
                       f"<title>{escape(cat)}, {escape(series[i])}: {fmt.format(v)}</title></rect>")
            end = w
            if sp[i]:
                lo, hi = (LABEL_W + bar_w * x / top for x in sp[i])
                mid = by + BAR_H / 2
                out.append(f"<path d='M{lo:.2f},{mid} H{hi:.2f} M{lo:.2f},{by + 3} V{by + BAR_H - 3} "
                           f"M{hi:.2f},{by + 3} V{by + BAR_H - 3}' stroke='#222' fill='none' "
                           f"data-span='{escape(cat)}/{escape(series[i])}'/>")
                end = max(w, hi - LABEL_W)
            out.append(f"<text x='{LABEL_W + end + 4:.2f}' y='{by + BAR_H - 3}' "
                       f"font-size='11'>{escape(fmt.format(v))}</text>")
        if ratio is not None:
            out.append(f"<text x='{WIDTH - 10}' y='{y + group_h / 2 + 4:.1f}' font-size='12' "
                       f"text-anchor='end' font-weight='bold'>{escape(ratio)}</text>")
        y += group_h + GROUP_GAP
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write(path_stem, text):
    """Write PATH_STEM.svg, and PATH_STEM.png if rsvg-convert is installed.
    Returns None, or why there is no PNG."""
    with open(path_stem + ".svg.tmp", "w") as f:
        f.write(text)
    os.replace(path_stem + ".svg.tmp", path_stem + ".svg")
    if not shutil.which("rsvg-convert"):
        return "no rsvg-convert (Debian package librsvg2-bin)"
    r = subprocess.run(["rsvg-convert", "-f", "png", "-o", path_stem + ".png.tmp",
                        path_stem + ".svg"], stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        if os.path.exists(path_stem + ".png.tmp"):
            os.unlink(path_stem + ".png.tmp")
        return "rsvg-convert failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    os.replace(path_stem + ".png.tmp", path_stem + ".png")
    return None
