"""Sequential detection between window closes: a two-sided CUSUM per numeric field.

A window is judged when it closes, so a drift that starts mid-window waited for that close
(half diluted) or the next: its delay was set by where it fell, not by how large it was.
Here every value of a monitored field is standardised with the baseline's exact mean and
sd, z = (x - mean) / sd, and fed in stream order to Page's two-sided CUSUM,

    S+ = max(0, S+ + z - k),  S- = max(0, S- - z - k),  alert when either exceeds h,

so a shift of d sd is found after about h / (d - k) values wherever it starts. k
(`reference_sd`, 0.1) is half the smallest shift it is tuned for (0.2 sd). h comes from the
false-alarm budget: `false_alarm` (2%) is the chance that a stable stream raises any CUSUM
alert within `horizon_records` (30,000: six 5,000-record windows), split evenly over the
subject's monitored fields and both directions (Bonferroni). Each side then needs an
in-control average run length ARL0 >= horizon / -ln(1 - budget), and h is solved from
Siegmund's approximation for unit-variance increments,

    ARL0(h) = (exp(2 k b) - 2 k b - 1) / (2 k^2),  b = h + 1.166,

with k lowered by two standard errors of the baseline mean (1 / sqrt(n) sd): the values are
standardised by the baseline's estimate, and an estimate off by 0.007 sd (20,000 records)
already made alerts 1.4 times as frequent as the budget (2.8% of 1,000 simulated runs for a
2% budget, before this margin).

`benchmarks/sequential_calibration.py` measures the rates and delays by simulation on
seeded records (docs/drift-engine.md has the figures). The guarantee assumes the values of
a stable stream are independent with the baseline's mean and sd; heavy tails or
autocorrelation make alerts more frequent than the budget.

After an alert the field's CUSUM restarts from zero, and that field and direction stay
quiet until the window closes (`rearm`): a lasting drift raises one early alert per
window, and the window's own tests report it at the close.

Monitored: fields declared integer/number, compared by value (not enum-like), whose
baseline has at least `min_values` values and a positive sd. Values are fed a batch at a
time with numpy: the recursion is Lindley's, S_t = C_t - min(-S_0, min_{j<=t} C_j) over the
running sum C of z - k, so no Python loop runs per record.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

from guard.config.settings import SequentialSettings
from guard.monitoring.alerts import Alert
from guard.monitoring.drift import is_categorical
from guard.monitoring.plan import FieldPlan, SubjectPlan
from guard.monitoring.profile import WindowProfile
from guard.monitoring.quantiles import ValueSummary

STATISTIC = "cusum_mean"
_SIEGMUND = 1.166


def arl0(h: float, k: float) -> float:
    """Siegmund's in-control average run length of a one-sided CUSUM (unit variance)."""
    b = 2 * k * (h + _SIEGMUND)
    return (math.expm1(b) - b) / (2 * k * k)


def threshold(k: float, false_alarm: float, horizon: int, fields: int) -> float:
    """h such that `fields` two-sided CUSUMs raise any alert within `horizon` values with
    chance at most `false_alarm` (Bonferroni over fields and sides)."""
    per_side = false_alarm / (2 * max(fields, 1))
    target = horizon / -math.log1p(-per_side)
    high = 1.0
    while arl0(high, k) < target:  # bracket the root, then solve
        high *= 2
    return float(brentq(lambda h: arl0(h, k) - target, 0.0, high))


@dataclass(frozen=True)
class _Side:
    s: float = 0.0  # the CUSUM statistic
    run: int = 0  # values since it last stood at zero (where the change began)


@dataclass(frozen=True)
class _Field:
    path: str
    parts: tuple[str, ...]
    mean: float
    sd: float
    lo: float = -math.inf  # values are clipped to [lo, hi] (see `_standard`)
    hi: float = math.inf
    up: _Side = _Side()
    down: _Side = _Side()
    quiet: frozenset[str] = frozenset()  # directions already alerted in this window


def _feed_side(side: _Side, y: npt.NDArray[np.float64], h: float) -> tuple[_Side, int | None]:
    """Run one side over increments y; (state after, index of the first alert or None).
    On an alert the state is the one at the alert (the caller restarts after it)."""
    c = np.cumsum(y)
    s = c - np.minimum(np.minimum.accumulate(c), -side.s)
    over = np.flatnonzero(s > h)
    end = int(over[0]) if len(over) else len(y) - 1
    zeros = np.flatnonzero(s[: end + 1] <= 0.0)
    run = end - int(zeros[-1]) if len(zeros) else side.run + end + 1
    return _Side(float(s[end]), run), (end if len(over) else None)


class Cusum:
    """The CUSUMs of one subject's monitored fields; immutable, `feed` returns the next."""

    def __init__(
        self, subject: str, fields: tuple[_Field, ...], k: float, h: float, cfg: SequentialSettings
    ) -> None:
        self.subject, self.fields, self.k, self.h, self.cfg = subject, fields, k, h, cfg

    @classmethod
    def for_baseline(
        cls, plan: SubjectPlan, baseline: WindowProfile, cfg: SequentialSettings
    ) -> Cusum | None:
        """The detector for a baseline; None when off or no field qualifies."""
        if not cfg.enabled:
            return None
        fields = tuple(
            _Field(f.path, f.parts, *_standard(base.numeric))
            for f in plan.fields
            if (base := baseline.fields.get(f.path)) is not None
            and base.numeric is not None
            and _monitored(f, plan, base.numeric.n, _standard(base.numeric)[1])
            and not is_categorical(f.thresholds, plan.window, base)
        )
        if not fields:
            return None
        k = cfg.reference_sd
        # The baseline mean is itself an estimate: off by a standard error or two, one side
        # drifts towards h faster. h is set for k less two standard errors of the smallest
        # baseline, so the budget holds for the mean the baseline measured, not the true one.
        n_min = min(
            base.numeric.n for f in fields if (base := baseline.fields[f.path]).numeric is not None
        )
        k_safe = max(k - 2 / math.sqrt(n_min), k / 4)
        h = threshold(k_safe, cfg.false_alarm, cfg.horizon_records, len(fields))
        return cls(plan.subject, fields, k, h, cfg)

    def feed(
        self, records: Sequence[dict[str, Any] | None], offset: int
    ) -> tuple[Cusum, list[Alert]]:
        """Feed one batch of records (None: undecodable) in stream order; `offset` is how
        many records the window held before the batch (alerts say where they fired)."""
        alerts: list[Alert] = []
        fields = []
        for f in self.fields:
            positions, values = _column(records, f.parts)
            f2 = f
            start = 0
            while start < len(values):
                z = (np.clip(values[start:], f.lo, f.hi) - f.mean) / f.sd
                up, at_up = _feed_side(f2.up, z - self.k, self.h)
                down, at_down = _feed_side(f2.down, -z - self.k, self.h)
                hits = [a for a in (at_up, at_down) if a is not None]
                if not hits:
                    f2 = replace(f2, up=up, down=down)
                    break
                at = min(hits)
                side, direction = (up, "up") if at_up == at else (down, "down")
                if direction not in f2.quiet:
                    position = offset + positions[start + at] + 1
                    alerts.append(self._alert(f, side, direction, position))
                # Restart after the alert; the direction stays quiet until the window closes.
                f2 = replace(f2, up=_Side(), down=_Side(), quiet=f2.quiet | {direction})
                start += at + 1
            fields.append(f2)
        return Cusum(self.subject, tuple(fields), self.k, self.h, self.cfg), alerts

    def rearm(self) -> Cusum:
        """A window closed: every field and direction may alert again."""
        fields = tuple(replace(f, quiet=frozenset()) for f in self.fields)
        return Cusum(self.subject, fields, self.k, self.h, self.cfg)

    def _alert(self, f: _Field, side: _Side, direction: str, position: int) -> Alert:
        # The change is estimated to have begun `run` values back, with mean shift
        # k + S / run (in sd) since then.
        shift = self.k + side.s / max(side.run, 1)
        signed = shift if direction == "up" else -shift
        return Alert(
            self.subject,
            f.path,
            STATISTIC,
            side.s,
            self.h,
            f.mean,
            f.mean + signed * f.sd,
            {
                "direction": direction,
                "shift_sd": round(signed, 4),
                "values_since_change": side.run,
                "records_into_window": position,
                "reference_sd": self.k,
                "false_alarm": self.cfg.false_alarm,
                "horizon_records": self.cfg.horizon_records,
            },
        )


# A baseline whose exact sd is over OUTLIER_RATIO times the sd of its values winsorized at
# WINSOR_TAIL owes it to a few extreme values (one 1e30 among 5,000 amounts made the sd
# 1.4e28 and every z about 0: the CUSUM could never alert). Such a field is standardised
# by the winsorized mean and sd, and its values are clipped to the same bounds, so a stable
# stream still feeds the CUSUM unit-variance increments (and one extreme value in it
# cannot alert on its own). For other fields (a normal one: ratio about 1.0) nothing
# changes: the exact mean and sd, no clipping.
WINSOR_TAIL = 0.001
OUTLIER_RATIO = 2.0


def _standard(v: ValueSummary) -> tuple[float, float, float, float]:
    """(mean, sd, lo, hi) a field's values are standardised and clipped with."""
    mean, sd, lo, hi = v.winsorized(WINSOR_TAIL)
    if math.isfinite(v.std) and v.std <= OUTLIER_RATIO * sd:
        return v.mean, v.std, -math.inf, math.inf
    return mean, sd, lo, hi


def _monitored(f: FieldPlan, plan: SubjectPlan, n: int, sd: float) -> bool:
    return f.type in {"integer", "number"} and n >= plan.window.min_values and sd > 0


def _column(
    records: Sequence[dict[str, Any] | None], parts: tuple[str, ...]
) -> tuple[list[int], npt.NDArray[np.float64]]:
    """(record positions, values) of a field's numbers in a batch (no booleans)."""
    positions: list[int] = []
    values: list[float] = []
    for i, r in enumerate(records):
        v: Any = r
        for name in parts:
            v = v.get(name) if type(v) is dict else None
        if (type(v) is int and abs(v) < 1e300) or (type(v) is float and math.isfinite(v)):
            positions.append(i)
            values.append(float(v))
    return positions, np.asarray(values, dtype=np.float64)
