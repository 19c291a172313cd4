"""One inline SVG per field: baseline vs current distribution, and missing share.

Self-contained (no fonts, scripts or images fetched when viewed) and deterministic (fixed
hash salt, no date metadata), so two runs on the same data give the same bytes.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes

from guard.reports.stats import FieldDrift

BASELINE, CURRENT = "#4C78A8", "#F58518"
_MAX_CATEGORIES = 15
_MAX_BINS = 40

plt.rcParams.update(
    {
        "svg.fonttype": "none",  # text stays text: small, searchable, no embedded glyphs
        "svg.hashsalt": "ingest-guard",
        "font.size": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def field_svg(d: FieldDrift) -> str:
    """An SVG element (no XML prolog) for one field."""
    fig, (dist, nulls) = plt.subplots(
        1, 2, figsize=(7.2, 2.3), gridspec_kw={"width_ratios": [4, 1]}, layout="constrained"
    )
    try:
        if d.kind in {"numeric", "text"}:
            _histogram(dist, d)
        elif d.kind == "categorical":
            _bars(dist, d)
        elif d.kind == "time":
            _times(dist, d)
        else:
            dist.axis("off")
            dist.text(0.5, 0.5, "present or missing only", ha="center", va="center")
        _missing(nulls, d)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    return re.sub(r"<!--.*?-->", "", svg, flags=re.S)


def _histogram(ax: Axes, d: FieldDrift) -> None:
    b = np.asarray(d.baseline.values, dtype=float)
    c = np.asarray(d.current.values, dtype=float)
    both = np.concatenate([b, c])
    if not len(both):
        _empty(ax)
        return
    edges = np.histogram_bin_edges(both, bins="auto")
    if len(edges) > _MAX_BINS + 1:
        edges = np.linspace(both.min(), both.max(), _MAX_BINS + 1)
    _step_hists(ax, b, c, edges)
    what = {"length": "length (characters)", "size": "number of elements"}.get(d.measure, "value")
    ax.set_xlabel(what)
    ax.set_ylabel("share")
    ax.legend(frameon=False)


FloatArray = npt.NDArray[np.float64]


def _step_hists(ax: Axes, b: FloatArray, c: FloatArray, edges: FloatArray) -> None:
    """Baseline and current as step histograms of shares over the same bins."""
    for values, color, name in ((b, BASELINE, "baseline"), (c, CURRENT, "current")):
        if len(values):
            weights = np.full(len(values), 1 / len(values))
            ax.hist(
                values,
                bins=list(map(float, edges)),
                weights=weights,
                histtype="step",
                lw=1.5,
                color=color,
                label=name,
            )


def _bars(ax: Axes, d: FieldDrift) -> None:
    b, c = Counter(d.baseline.values), Counter(d.current.values)
    if not b and not c:
        _empty(ax)
        return
    nb, nc = max(sum(b.values()), 1), max(sum(c.values()), 1)
    ranked = sorted(b.keys() | c.keys(), key=lambda k: -(b[k] / nb + c[k] / nc))
    labels = ranked[:_MAX_CATEGORIES]
    x = np.arange(len(labels))
    ax.bar(x - 0.2, [b[k] / nb for k in labels], 0.4, color=BASELINE, label="baseline")
    ax.bar(x + 0.2, [c[k] / nc for k in labels], 0.4, color=CURRENT, label="current")
    ax.set_xticks(x, [_short(k) for k in labels], rotation=30 if len(labels) > 6 else 0)
    ax.set_ylabel("share")
    ax.legend(frameon=False)


def _times(ax: Axes, d: FieldDrift) -> None:
    b, c = _epochs(d.baseline.values), _epochs(d.current.values)
    if not len(b) and not len(c):
        _empty(ax)
        return
    both = np.concatenate([b, c])
    edges = np.linspace(both.min(), both.max() + 1, 31)
    _step_hists(ax, b, c, edges)
    ticks = np.linspace(edges[0], edges[-1], 4)
    ax.set_xticks(ticks, [datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d") for t in ticks])
    ax.set_ylabel("share")
    ax.legend(frameon=False)


def _missing(ax: Axes, d: FieldDrift) -> None:
    rates = [d.baseline.null_rate or 0.0, d.current.null_rate or 0.0]
    bars = ax.bar([0, 1], rates, color=[BASELINE, CURRENT])
    ax.bar_label(bars, labels=[f"{r:.0%}" for r in rates], fontsize=7)
    ax.set_xticks([0, 1], ["base", "curr"])
    ax.set_ylim(0, 1)
    ax.set_title("missing", fontsize=8)


def _epochs(values: list[object]) -> np.ndarray:
    out: list[float] = []
    for v in values:
        if isinstance(v, str):
            try:
                out.append(datetime.fromisoformat(v.upper().replace("Z", "+00:00")).timestamp())
            except ValueError:
                continue
    return np.asarray(out, dtype=float)


def _empty(ax: Axes) -> None:
    ax.axis("off")
    ax.text(0.5, 0.5, "no values", ha="center", va="center")


def _short(label: str) -> str:
    return label if len(label) <= 14 else label[:13] + "…"
