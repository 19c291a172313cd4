"""History-aware checks: a window judged against the stream's own recent windows.

The baseline says what the data should look like; it does not say how volume, the
quarantine rate or a null rate usually move. A guard that pages on every Monday-morning
volume swing gets muted. So each closed window leaves a small summary (records, record
rate, quarantine rate, null rate per field) in a bounded history per subject, kept on the
profiles topic so every instance starts from the same history (profiles_topic.py), and
each metric is judged against that history by a strategy configured per metric and per
field (`monitoring.history`), as Deequ's anomaly-detection strategies judge metric history:

- `rate_of_change`: the change from the previous window must stay within `max_increase`
  and `max_decrease` (absolute for rates; relative to the previous value for volume).
- `seasonal`: the value is compared with the same time of day (`period: daily`) or of week
  (`weekly`) in up to the last SEASONS periods: expected = their mean, and the band is
  `tolerance` residual sds wide either side, at least `min_band` (absolute for rates,
  relative for volume). The residual sd is estimated robustly (MAD) from every seasonal
  difference in the history (a window against the one a period before it), so one spike
  does not widen it; with fewer than MIN_PAIRS such pairs or no same-phase window, the
  metric is not judged yet (insufficient history).

Each alert names the strategy, the expected range and how many windows it was judged on.
These checks sit outside the family-wise correction of `drift.py` (they have no p-value),
like volume; their false-alarm rate on a seasonal stable stream is measured by
`benchmarks/history_calibration.py` (docs/drift-engine.md).
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from guard.config.settings import HistoryRule, HistorySettings
from guard.monitoring.alerts import WINDOW_FIELD, Alert
from guard.monitoring.profile import WindowProfile

PERIODS = {"daily": 86_400.0, "weekly": 7 * 86_400.0}
SEASONS = 4  # same-phase windows averaged for the expected value
MIN_PAIRS = 8  # seasonal differences needed before the residual sd is trusted
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class WindowSummary:
    """What the history keeps of one closed window."""

    subject: str
    instance: str
    index: int  # this instance's running count of summaries (its slot on the topic)
    at: float  # epoch seconds: the middle of its record timestamps, else when it started
    span: float  # seconds the window covered (0 when unknown)
    records: int
    quarantined: int
    volume: float | None  # records per second per partition (WindowProfile.record_rate)
    null_rates: dict[str, float] = field(default_factory=dict)

    @property
    def quarantine_rate(self) -> float:
        return self.quarantined / self.records if self.records else 0.0

    def metric(self, name: str) -> float | None:
        if name == "volume":
            return self.volume
        if name == "quarantine_rate":
            return self.quarantine_rate
        return self.null_rates.get(name.removeprefix("null_rate:"))

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "instance": self.instance,
            "index": self.index,
            "at": self.at,
            "span": self.span,
            "records": self.records,
            "quarantined": self.quarantined,
            "volume": self.volume,
            "null_rates": self.null_rates,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WindowSummary:
        volume = data.get("volume")
        return cls(
            str(data["subject"]),
            str(data["instance"]),
            int(data["index"]),
            float(data["at"]),
            float(data.get("span", 0.0)),
            int(data["records"]),
            int(data["quarantined"]),
            None if volume is None else float(volume),
            {str(k): float(v) for k, v in data.get("null_rates", {}).items()},
        )


def summarize(profile: WindowProfile, instance: str, index: int) -> WindowSummary:
    first, last = profile.first_ts_ms, profile.last_ts_ms
    if first is not None and last is not None:
        at, span = (first + last) / 2000, (last - first) / 1000
    else:
        meta = profile.meta
        start = meta.started_at if meta is not None else 0.0
        end = meta.ended_at if meta is not None and meta.ended_at is not None else start
        at, span = start, end - start
    n = profile.profiled
    nulls = {p: fp.nulls / n for p, fp in sorted(profile.fields.items())} if n else {}
    return WindowSummary(
        profile.subject,
        instance,
        index,
        at,
        span,
        profile.records,
        profile.quarantined,
        profile.record_rate(),
        nulls,
    )


@dataclass(frozen=True)
class Judgement:
    """One metric of one window against the history: its expected range and verdict."""

    metric: str  # volume, quarantine_rate, null_rate:<path>
    strategy: str
    value: float
    expected: float
    low: float
    high: float
    windows: int  # history windows it was judged on

    @property
    def anomalous(self) -> bool:
        return not self.low <= self.value <= self.high

    def alert(self, subject: str, rule: HistoryRule) -> Alert:
        name, _, path = self.metric.partition(":")
        bound = self.high if self.value > self.high else self.low
        detail: dict[str, Any] = {
            "strategy": self.strategy,
            "expected_low": _r(self.low),
            "expected_high": _r(self.high),
            "history_windows": self.windows,
        }
        if self.strategy == "seasonal":
            detail["period"] = rule.period
        return Alert(
            subject,
            path or WINDOW_FIELD,
            f"history_{name}",
            self.value,
            bound,
            self.expected,
            self.value,
            detail,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "strategy": self.strategy,
            "value": _r(self.value),
            "expected": _r(self.expected),
            "expected_low": _r(self.low),
            "expected_high": _r(self.high),
            "history_windows": self.windows,
            "anomalous": self.anomalous,
        }


def rule_for(cfg: HistorySettings, subject: str, metric: str) -> HistoryRule:
    if metric == "volume":
        return cfg.volume
    if metric == "quarantine_rate":
        return cfg.quarantine_rate
    path = metric.removeprefix("null_rate:")
    return cfg.fields.get(subject, {}).get(path, cfg.null_rate)


def judge(
    cfg: HistorySettings,
    current: WindowSummary,
    history: Sequence[WindowSummary],
    min_records: int = 0,
) -> list[Judgement]:
    """Every metric of `current` the history can judge (history: older windows only).

    Rates (quarantine, nulls) of a window with fewer than `min_records` records are too
    noisy to judge (one null in 20 records is 5%) or to judge by: such a window's rates are
    neither judged nor a reference for later windows. Its volume is judged."""
    metrics = ["volume", "quarantine_rate"] + [f"null_rate:{p}" for p in current.null_rates]
    rate_history = [h for h in history if h.records >= min_records]
    out = []
    for metric in metrics:
        rule = rule_for(cfg, current.subject, metric)
        value = current.metric(metric)
        if value is None or rule.strategy == "off":
            continue
        relative = metric == "volume"
        if not relative and current.records < min_records:
            continue
        past = history if relative else rate_history
        if rule.strategy == "rate_of_change":
            j = _rate_of_change(metric, rule, value, past, relative)
        else:
            j = _seasonal(metric, rule, current, value, past, relative)
        if j is not None:
            out.append(j)
    return out


def _rate_of_change(
    metric: str,
    rule: HistoryRule,
    value: float,
    history: Sequence[WindowSummary],
    relative: bool,
) -> Judgement | None:
    previous = next((v for h in reversed(history) if (v := h.metric(metric)) is not None), None)
    if previous is None:
        return None
    scale = abs(previous) if relative else 1.0
    up = math.inf if rule.max_increase is None else rule.max_increase * scale
    down = math.inf if rule.max_decrease is None else rule.max_decrease * scale
    return Judgement(metric, "rate_of_change", value, previous, previous - down, previous + up, 1)


def _seasonal(
    metric: str,
    rule: HistoryRule,
    current: WindowSummary,
    value: float,
    history: Sequence[WindowSummary],
    relative: bool,
) -> Judgement | None:
    period = PERIODS[rule.period]
    points = sorted((h.at, v, h.span) for h in history if (v := h.metric(metric)) is not None)
    if not points:
        return None
    ats = [at for at, _v, _span in points]
    lags = range(1, SEASONS + 1)
    same_values = [
        v for lag in lags if (v := _at(points, ats, current.at - lag * period)) is not None
    ]
    pairs = [
        v - before
        for at, v, _span in points
        if (before := _at(points, ats, at - period)) is not None
    ]
    if not same_values or len(pairs) < MIN_PAIRS:
        return None
    expected = statistics.fmean(same_values)
    center = statistics.median(pairs)
    mad = statistics.median(abs(d - center) for d in pairs)
    sd = MAD_TO_SD * mad / math.sqrt(2)  # a difference of two windows: twice the variance
    half = rule.tolerance * sd * math.sqrt(1 + 1 / len(same_values))
    floor = rule.min_band * (abs(expected) if relative else 1.0)
    half = max(half, floor)
    return Judgement(
        metric, "seasonal", value, expected, expected - half, expected + half, len(pairs)
    )


def _at(points: Sequence[tuple[float, float, float]], ats: list[float], t: float) -> float | None:
    """The value of the window nearest to time t, if it covers t (within half its span);
    `points` sorted by time, `ats` their times."""
    i = bisect.bisect_left(ats, t)
    best: tuple[float, float] | None = None
    for at, v, span in points[max(i - 1, 0) : i + 1]:
        gap = abs(at - t)
        if gap <= max(span, 1.0) / 2 and (best is None or gap < best[0]):
            best = (gap, v)
    return None if best is None else best[1]


def _r(x: float) -> float | None:
    return float(f"{x:.6g}") if math.isfinite(x) else None
