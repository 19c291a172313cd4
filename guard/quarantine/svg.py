"""Small inline SVG charts for the quarantine report: no library, no script, no fetch.

Deterministic (same data, same bytes) and self-contained, so report.html opens offline. Every
bar carries a `<title>` (its key, time and count) that a browser shows on hover.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

PALETTE = (
    "#4C78A8",
    "#F58518",
    "#54A24B",
    "#E45756",
    "#72B7B2",
    "#EECA3B",
    "#B279A2",
    "#FF9DA6",
    "#9D755D",
    "#BAB0AC",
)
_W, _H, _LEFT, _BOTTOM, _TOP = 720, 200, 48, 28, 8


def stacked_bars(starts: list[int], series: dict[str, list[int]], width_s: int) -> str:
    """Records per time bucket, one colour per key, stacked; a legend below."""
    if not starts:
        return '<p class="empty">no records with a quarantine time</p>'
    totals = [sum(col) for col in zip(*series.values(), strict=True)] or [0]
    peak = max(max(totals), 1)
    plot_w = _W - _LEFT - 8
    plot_h = _H - _BOTTOM - _TOP
    step = plot_w / len(starts)
    bar_w = max(step * 0.85, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {_W} {_H}" '
        f'width="{_W}" height="{_H}" role="img">',
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_W - 8}" y2="{_TOP + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{_LEFT - 4}" y="{_TOP + 8}" text-anchor="end">{peak}</text>',
        f'<text x="{_LEFT - 4}" y="{_TOP + plot_h}" text-anchor="end">0</text>',
    ]
    base = [0] * len(starts)
    for n, (key, counts) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        for i, count in enumerate(counts):
            if not count:
                continue
            h = plot_h * count / peak
            y = _TOP + plot_h - plot_h * base[i] / peak - h
            x = _LEFT + i * step
            when = _label(starts[i], width_s)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(key)} · {when}: {count}</title></rect>'
            )
            base[i] += count
    for i in sorted({0, len(starts) // 2, len(starts) - 1}):
        x = _LEFT + i * step + bar_w / 2
        parts.append(
            f'<text x="{x:.1f}" y="{_H - 10}" text-anchor="middle">'
            f"{_label(starts[i], width_s)}</text>"
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><i style="background:{PALETTE[n % len(PALETTE)]}"></i>'
        f"{escape(key)} ({sum(counts)})</span>"
        for n, (key, counts) in enumerate(series.items())
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _label(start: int, width_s: int) -> str:
    at = datetime.fromtimestamp(start, UTC)
    if width_s >= 86400:
        return at.strftime("%Y-%m-%d")
    return at.strftime("%m-%d %H:%M")
