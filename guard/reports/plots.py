"""One inline SVG per field: baseline vs current distribution, and missing share.

Self-contained (no fonts, scripts or images fetched when viewed) and deterministic (fixed
hash salt, no date metadata), so two runs on the same data give the same bytes.
"""

from __future__ import annotations

import io
import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from guard.reports.findings import FieldRow

BASELINE, CURRENT = "#4C78A8", "#F58518"
_MAX_CATEGORIES = 15
_BINS = 40
_FLOAT_MAX = float(np.finfo(np.float64).max)
_HUGE = 1e300  # a range beyond this is drawn scaled (see _distribution)

plt.rcParams.update(
    {
        "svg.fonttype": "none",  # text stays text: small, searchable, no embedded glyphs
        "svg.hashsalt": "ingest-guard",
        "font.size": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def field_svg(row: FieldRow, expose: bool) -> str:
    """An SVG element (no XML prolog) for one field, drawn from its two profiles."""
    fig, (dist, missing) = plt.subplots(
        1, 2, figsize=(7.2, 2.3), gridspec_kw={"width_ratios": [4, 1]}, layout="constrained"
    )
    try:
        how = row.verdict.compared_by
        if how in {"value", "length"}:
            _distribution(dist, row, how, expose)
        elif how == "categories":
            _bars(dist, row)
        else:
            dist.axis("off")
            dist.text(0.5, 0.5, "compared on presence, nulls and types", ha="center", va="center")
        _missing(missing, row)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    return re.sub(r"<!--.*?-->", "", svg, flags=re.S)


def _distribution(ax: Axes, row: FieldRow, how: str, expose: bool) -> None:
    """Shares per bin from each KLL sketch (its PMF), over bins spanning both."""
    kb = row.baseline.numeric if how == "value" else row.baseline.lengths
    kc = row.current.numeric if how == "value" else row.current.lengths
    sketches = [k for k in (kb, kc) if k is not None and not k.is_empty()]
    if not sketches:
        _empty(ax)
        return
    # Bin edges from the 1st..99th percentiles, so a few outliers do not squash the plot.
    lo = min(float(k.get_quantile(0.01)) for k in sketches)
    hi = max(float(k.get_quantile(0.99)) for k in sketches)
    if hi <= lo:  # one value: a small range around it (bounded, for values near the limit)
        half = max(0.5, abs(lo) * 1e-6)
        lo, hi = max(lo - half, -_FLOAT_MAX), min(lo + half, _FLOAT_MAX)
    # Halved, then doubled: hi - lo overflows for values near the float limit (+-1.7e308
    # are valid JSON numbers); and matplotlib sums the edges it draws (NaN when that
    # overflows: it raised, exit 4), so such a range is drawn in units of `scale`.
    edges = np.linspace(lo / 2, hi / 2, _BINS + 1) * 2
    big = max(abs(lo), abs(hi))
    scale = 10.0 ** math.floor(math.log10(big)) if big > _HUGE else 1.0
    for sketch, color, name in ((kb, BASELINE, "baseline"), (kc, CURRENT, "current")):
        if sketch is None or sketch.is_empty():
            continue
        pmf = np.asarray(sketch.get_pmf(edges[1:-1].tolist()), dtype=np.float64)
        ax.stairs(pmf, edges / scale, color=color, lw=1.5, label=name)
    unit = f" (x {scale:g})" if scale != 1.0 else ""
    ax.set_xlabel(("value" if how == "value" else "length (characters / elements)") + unit)
    ax.set_ylabel("share")
    if how == "value" and not expose:
        ax.set_xticks([])  # axis values would show record values; shapes only
        ax.set_xlabel("value (axis hidden without --show-values)")
    ax.legend(frameon=False)


def _bars(ax: Axes, row: FieldRow) -> None:
    b = row.baseline.category_counts() or {}
    c = row.current.category_counts() or {}
    if not b and not c:
        _empty(ax)
        return
    nb, nc = max(sum(b.values()), 1), max(sum(c.values()), 1)
    ranked = sorted(b.keys() | c.keys(), key=lambda k: (-(b.get(k, 0) / nb + c.get(k, 0) / nc), k))
    labels = ranked[:_MAX_CATEGORIES]
    x = np.arange(len(labels))
    ax.bar(x - 0.2, [b.get(k, 0) / nb for k in labels], 0.4, color=BASELINE, label="baseline")
    ax.bar(x + 0.2, [c.get(k, 0) / nc for k in labels], 0.4, color=CURRENT, label="current")
    ax.set_xticks(x, [_short(k) for k in labels], rotation=30 if len(labels) > 6 else 0)
    ax.set_ylabel("share")
    ax.legend(frameon=False)


def _missing(ax: Axes, row: FieldRow) -> None:
    """Absent and null shares, stacked, per side: counted apart everywhere."""
    n_b, n_c = max(row.n_baseline, 1), max(row.n_current, 1)
    absent = [row.baseline.missing / n_b, row.current.missing / n_c]
    null = [row.baseline.nulls / n_b, row.current.nulls / n_c]
    ax.bar([0, 1], absent, color=[BASELINE, CURRENT], label="absent")
    ax.bar([0, 1], null, bottom=absent, color="#999999", label="null")
    for i in (0, 1):
        ax.text(
            i, absent[i] + null[i] + 0.02, f"{absent[i]:.0%}+{null[i]:.0%}", ha="center", fontsize=6
        )
    ax.set_xticks([0, 1], ["base", "curr"])
    ax.set_ylim(0, 1.1)
    ax.set_title("absent + null", fontsize=8)


def _empty(ax: Axes) -> None:
    ax.axis("off")
    ax.text(0.5, 0.5, "no values", ha="center", va="center")


def _short(label: str) -> str:
    return label if len(label) <= 14 else label[:13] + "…"
