"""The drift engine: one profile against a baseline profile, one verdict per field.

Used by both front ends, the in-stream monitor (`observer.py`, `guard drift status`) and the
CI report (`guard drift report`), on the same mergeable profiles, so the same data gets the
same verdicts in both.

A change drifts a field only when it is both
- *significant*: each aspect of each field is one hypothesis test with a measured p-value
  (presence, nulls, JSON types, value distribution, category mix, new categories; and the
  window's quarantine rate and undeclared fields), and the whole family is corrected with
  Holm's method, so the chance that a stable sample raises any alert stays under
  `p_value` however many fields there are; and
- *material*: an effect size at or over its threshold (absolute/relative rate change,
  Wasserstein distance in baseline standard deviations, KS distance, PSI, Jensen-Shannon
  distance, a type's share), so large samples do not drift on trivia.
A field whose sample is too small to test (fewer than `min_values` values for its
distribution or categories) is "insufficient data", not "ok"; a profile with fewer than
`min_records` records is not checked at all. Absent and null are counted and tested apart.
Timestamps and dates are checked for presence, nulls and types only: time moves on by design.
Volume (record rate) is outside the family: it alerts on its threshold alone, at any
window size (a drop is what leaves a time window small; below `min_records` the change must
also be significant on its own).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Literal

import numpy as np

from guard.monitoring import statistics as st
from guard.monitoring.alerts import WINDOW_FIELD, Alert, describe_values
from guard.monitoring.field_profile import LONG_CATEGORY, FieldProfile
from guard.monitoring.plan import FieldPlan, SubjectPlan
from guard.monitoring.profile import WindowProfile
from guard.monitoring.thresholds import FieldThresholds, WindowThresholds

GRID = st.GRID  # kept here for readers of profiles (status) that summarise distributions
State = Literal["ok", "drift", "insufficient data"]
_NO_DISTRIBUTION = {"timestamp", "date", "boolean", "object"}


@dataclass
class Candidate:
    """An effect over its threshold, waiting for its test's corrected significance."""

    statistic: str
    value: float
    threshold: float
    baseline_value: float | None
    current_value: float | None
    detail: dict[str, Any] = dc_field(default_factory=dict)
    # Extra condition on the measured p-value (chi2_p: p below this as well).
    p_below: float | None = None


@dataclass
class TestResult:
    """One hypothesis test of one aspect of one field; `level` and `significant` after Holm."""

    field: str
    aspect: str
    p_value: float
    candidates: list[Candidate]
    effects: dict[str, float]  # every effect size measured for the aspect, over or under
    level: float = 0.0
    significant: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "aspect": self.aspect,
            "p_value": _r(self.p_value),
            "significance_level": _r(self.level),
            "significant": self.significant,
            "effects": {k: _r(v) for k, v in self.effects.items()},
        }


@dataclass
class FieldVerdict:
    field: str
    state: State = "ok"
    # How its values were compared: categories, value (numbers), length (strings, arrays),
    # or presence only (timestamps, dates, objects, booleans without categories).
    compared_by: str = "presence"
    tests: list[TestResult] = dc_field(default_factory=list)
    insufficient: list[str] = dc_field(default_factory=list)  # aspects left untested: too few
    alerts: list[Alert] = dc_field(default_factory=list)

    @property
    def statistics(self) -> list[str]:
        return [a.statistic for a in self.alerts]

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "compared_by": self.compared_by,
            "alerts": self.statistics,
            "insufficient": self.insufficient,
            "tests": [t.to_json() for t in self.tests],
        }


@dataclass
class Assessment:
    """Everything the engine concluded for one profile against one baseline."""

    state: State
    alerts: list[Alert]
    fields: dict[str, FieldVerdict]  # declared fields, by path
    undeclared: dict[str, FieldVerdict]  # undeclared paths that were tested
    window: FieldVerdict  # window-level checks
    tests: int  # the size of the corrected family
    alpha: float | None


def check_window(plan: SubjectPlan, current: WindowProfile, baseline: WindowProfile) -> list[Alert]:
    """Every drift the profile shows against the baseline, as alerts (empty when none)."""
    return assess(plan, current, baseline).alerts


def assess(plan: SubjectPlan, current: WindowProfile, baseline: WindowProfile) -> Assessment:
    w = plan.window
    fields = {f.path: FieldVerdict(f.path) for f in plan.fields}
    window = FieldVerdict(WINDOW_FIELD)
    if baseline.records == 0:
        for v in fields.values():
            v.state = "insufficient data"
        return Assessment("insufficient data", [], fields, {}, window, 0, w.p_value)
    # Below `min_records` only the schema is checked (new, vanished and retyped fields):
    # those are facts about the records seen, reported at any sample size with their counts.
    # A baseline as small as that cannot say what stable looks like either.
    schema_only = current.records < w.min_records or baseline.records < w.min_records
    # Volume is judged at any size: a drop is what makes a time window small.
    volume = _volume(plan.subject, w, current, baseline, small=schema_only)
    if not schema_only:
        window.tests.extend(_quarantine(w, current, baseline))
    undeclared: dict[str, FieldVerdict] = {}
    tests, rare = _undeclared(w, current, baseline)
    for t in tests:
        undeclared.setdefault(t.field, FieldVerdict(t.field)).tests.append(t)
    window.tests.extend(_new_fields(current, baseline, rare))
    if not current.profiled or not baseline.profiled:  # no record decoded: fields unknown
        for v in fields.values():
            v.state = "insufficient data"
    else:
        for fplan in plan.fields:
            fc, fb = current.fields.get(fplan.path), baseline.fields.get(fplan.path)
            if fc is not None and fb is not None:
                check = _FieldCheck(plan, fplan, fc, current.profiled, fb, baseline.profiled)
                check.run(fields[fplan.path], schema_only)
    verdicts = [window, *undeclared.values(), *fields.values()]
    family = [t for v in verdicts for t in v.tests]
    if w.p_value is None:
        for t in family:
            t.level, t.significant = 1.0, True
    else:
        for t, (level, passed) in zip(
            family, st.holm([t.p_value for t in family], w.p_value), strict=True
        ):
            t.level, t.significant = level, passed
    window.alerts.extend(volume)
    for v in verdicts:
        for t in v.tests:
            if t.significant:
                v.alerts.extend(_alerts(plan.subject, t))
        if v.alerts:
            v.state = "drift"
    alerts = [a for v in verdicts for a in v.alerts]
    state: State = "drift" if alerts else "insufficient data" if schema_only else "ok"
    return Assessment(state, alerts, fields, undeclared, window, len(family), w.p_value)


def _alerts(subject: str, t: TestResult) -> list[Alert]:
    return [
        Alert(
            subject,
            t.field,
            c.statistic,
            c.value,
            c.threshold,
            c.baseline_value,
            c.current_value,
            c.detail,
            p_value=t.p_value,
            significance_level=t.level,
        )
        for c in t.candidates
        if c.p_below is None or t.p_value < c.p_below
    ]


# -- window level -------------------------------------------------------------------------


def _quarantine(w: WindowThresholds, cur: WindowProfile, base: WindowProfile) -> list[TestResult]:
    limit = w.quarantine_rate_abs
    q_b, q_c = base.quarantine_rate, cur.quarantine_rate
    p = st.two_rates(base.quarantined, base.records, cur.quarantined, cur.records, greater=True)
    if limit is None or p is None:
        return []
    candidates = []
    if q_c - q_b >= limit:
        reasons = {"reasons": dict(cur.reasons.most_common(5))}
        candidates.append(Candidate("quarantine_rate", q_c - q_b, limit, q_b, q_c, reasons))
    return [TestResult(WINDOW_FIELD, "quarantine_rate", p, candidates, {"abs": q_c - q_b})]


def _volume(
    subject: str, w: WindowThresholds, cur: WindowProfile, base: WindowProfile, small: bool
) -> list[Alert]:
    """Record rate against the baseline's. In a window below `min_records` (`small`), the
    rate of a few records is noisy, so the change must also be significant: the span of
    its gaps against a Poisson process at the baseline rate (`statistics.rate_change`)."""
    rate_b, span = base.record_rate(), cur.record_span()
    if w.volume_rel is None or not rate_b or span is None:
        return []
    gaps, seconds = span
    rate_c = gaps / seconds
    change = abs(rate_c - rate_b) / rate_b
    if change < w.volume_rel:
        return []
    p, level = None, None
    if small and w.p_value is not None:
        p, level = st.rate_change(gaps, seconds, rate_b), w.p_value
        if p >= level:
            return []
    detail = {"records": cur.records} if small else {}
    return [
        Alert(
            subject, WINDOW_FIELD, "volume", change, w.volume_rel, rate_b, rate_c, detail, p, level
        )
    ]


def silence(
    subject: str,
    w: WindowThresholds,
    base: WindowProfile,
    silent: Mapping[str, float],
    *,
    window_records: int | None = None,
    window_seconds: float | None = None,
) -> Alert | None:
    """A volume alert for source partitions (`silent`: "<topic>/<partition>" -> seconds it
    gave no record) when the baseline had records coming on them: zero records from Poisson
    processes at the partitions' baseline rates has probability exp(-expected). Every gap
    between records is such a test, so that probability is taken once per gap of a window
    (`window_records`, or the baseline rate times `window_seconds`) before it is tested
    against `p_value`: a source at its baseline rate is then alerted at most `p_value` of its
    windows, as the window checks are. Partitions the baseline did not time (a file
    baseline, a partition it never saw, or one that was as quiet then) expect nothing, so
    they never alert."""
    if w.volume_rel is None or w.p_value is None:
        return None
    rates = {}
    for source in sorted(silent):
        span = base.partitions.get(source)
        if span is None:
            continue
        gaps, timed = span.timed()
        if timed >= 1.0 and gaps > 0:
            rates[source] = gaps / timed
    rate_b = sum(rates.values())
    expected = sum(rate * silent[source] for source, rate in rates.items())
    gaps = 1.0
    if window_records is not None:
        gaps = float(window_records)
    elif window_seconds is not None:
        gaps = max(rate_b * window_seconds, 1.0)
    p = min(gaps * math.exp(-expected), 1.0)
    if not rates or p >= w.p_value:
        return None
    detail = {
        "silent_seconds": round(max(silent[source] for source in rates), 1),
        "expected_records": round(expected, 1),
        "partitions": sorted(rates),
    }
    return Alert(
        subject, WINDOW_FIELD, "volume", 1.0, w.volume_rel, rate_b, 0.0, detail, p, w.p_value
    )


def _undeclared(
    w: WindowThresholds, cur: WindowProfile, base: WindowProfile
) -> tuple[list[TestResult], dict[str, int]]:
    """New undeclared fields, and undeclared fields the baseline had that are now gone; and
    the new fields too rare to test on their own (see `_new_fields`)."""
    out: list[TestResult] = []
    rare: dict[str, int] = {}
    n_b, n_c = base.profiled, cur.profiled
    if not n_b or not n_c:
        return out, rare
    if w.new_fields:
        for path, k in sorted(cur.unknown_fields.items()):
            if path in base.unknown_fields:
                continue
            p = st.two_rates(0, n_b, k, n_c, greater=True)
            if p is None:
                continue
            if w.p_value is not None and p >= w.p_value:
                # None in the baseline is the most extreme table its margins allow, so this
                # test could never pass: not a test of its own (Tarone), pooled instead.
                rare[path] = k
                continue
            share = k / n_c
            c = Candidate("new_field", share, 0.0, 0.0, share, {"records": k})
            out.append(TestResult(path, "presence", p, [c], {"share": share}))
    if w.missing_fields is not None:
        for path, k in sorted(base.unknown_fields.items()):
            share = k / n_b
            if share < w.missing_fields or path in cur.unknown_fields:
                continue
            p = st.two_rates(k, n_b, 0, n_c)
            if p is not None:
                c = Candidate("missing_field", share, w.missing_fields, share, 0.0)
                out.append(TestResult(path, "presence", p, [c], {"share": share}))
    return out, rare


def _new_fields(cur: WindowProfile, base: WindowProfile, rare: dict[str, int]) -> list[TestResult]:
    """New undeclared fields each too rare to test, taken together (window level).

    New keys that differ from record to record (ids or names used as keys, a producer bug)
    were each in one record: every record could carry one and nothing was flagged, while
    hundreds of such tests diluted the family for every other field. They are one test
    here: the records carrying them (at most the records with any undeclared path), with
    the paths beyond the tracked maximum when the baseline had none, against none in the
    baseline."""
    untracked = cur.unknown_overflow if base.unknown_overflow == 0 else 0
    k = sum(rare.values()) + untracked
    if not k or not base.profiled or not cur.profiled:
        return []
    k = min(k, cur.profiled if cur.unknown_records is None else cur.unknown_records)
    p = st.two_rates(0, base.profiled, k, cur.profiled, greater=True)
    if p is None:
        return []
    share = k / cur.profiled
    detail = {"records": k, "fields": len(rare), "untracked": untracked}
    cand = Candidate("new_fields", share, 0.0, 0.0, share, detail)
    return [TestResult(WINDOW_FIELD, "undeclared", p, [cand], {"share": share})]


# -- one field ----------------------------------------------------------------------------


class _FieldCheck:
    def __init__(
        self,
        plan: SubjectPlan,
        fplan: FieldPlan,
        cur: FieldProfile,
        n_cur: int,
        base: FieldProfile,
        n_base: int,
    ) -> None:
        self.path, self.t, self.declared = fplan.path, fplan.thresholds, fplan.type
        self.w = plan.window
        self.expose_values = plan.expose_values
        self.cur, self.base, self.n_cur, self.n_base = cur, base, n_cur, n_base
        self.verdict = FieldVerdict(fplan.path)

    def test(
        self, aspect: str, p: float | None, candidates: list[Candidate], **effects: float
    ) -> None:
        if p is not None:
            self.verdict.tests.append(TestResult(self.path, aspect, p, candidates, effects))

    def run(self, verdict: FieldVerdict, schema_only: bool = False) -> None:
        """Every check of the field; `schema_only`: only whether it vanished or changed
        type (a sample too small for the rest, which is then "insufficient data")."""
        self.verdict = verdict
        if self._presence(schema_only):
            return  # the field vanished: nothing else to compare
        if schema_only:
            self._types(schema_only)
            verdict.insufficient.append("sample")
            verdict.state = "insufficient data"  # drift, if found, overrides it later
            return
        self._nulls()
        self._types()
        if self._is_categorical():
            verdict.compared_by = "categories"
            self._categories()
        elif self.declared not in _NO_DISTRIBUTION:
            numeric = self.declared in {"integer", "number"}
            verdict.compared_by = "value" if numeric else "length"
            self._distribution()
        if verdict.insufficient:
            verdict.state = "insufficient data"  # drift, if found, overrides it later

    # -- presence, nulls, types -----------------------------------------------------------

    def _presence(self, schema_only: bool = False) -> bool:
        """Missing share (absent, not null); True when the field vanished entirely.
        `schema_only`: only whether it vanished."""
        k_b, k_c = self.base.missing, self.cur.missing
        r_b, r_c = k_b / self.n_base, k_c / self.n_cur
        had, now = 1 - r_b, 1 - r_c
        p = st.two_rates(k_b, self.n_base, k_c, self.n_cur)
        limit = self.w.missing_fields
        if limit is not None and had >= limit and now == 0.0:
            counts = {"records": self.n_cur, "baseline_present": self.n_base - k_b}
            self.test("presence", p, [Candidate("missing_field", had, limit, had, now, counts)])
            return True
        if schema_only:
            return False
        cands = []
        limit_abs = self.t.missing_rate_abs
        if limit_abs is not None and abs(r_c - r_b) >= limit_abs:
            cands.append(Candidate("missing_rate_abs", abs(r_c - r_b), limit_abs, r_b, r_c))
        self.test("presence", p, cands, abs=abs(r_c - r_b))
        return False

    def _nulls(self) -> None:
        """Null share of all records (a present key holding null)."""
        k_b, k_c = self.base.nulls, self.cur.nulls
        r_b, r_c = k_b / self.n_base, k_c / self.n_cur
        delta = abs(r_c - r_b)
        cands = []
        limit_abs, limit_rel = self.t.null_rate_abs, self.t.null_rate_rel
        if limit_abs is not None and delta >= limit_abs:
            cands.append(Candidate("null_rate_abs", delta, limit_abs, r_b, r_c))
        elif limit_rel is not None and r_b > 0 and delta / r_b >= limit_rel:
            cands.append(Candidate("null_rate_rel", delta / r_b, limit_rel, r_b, r_c))
        effects = {"abs": delta} | ({"rel": delta / r_b} if r_b > 0 else {})
        self.test("nulls", st.two_rates(k_b, self.n_base, k_c, self.n_cur), cands, **effects)

    def _types(self, schema_only: bool = False) -> None:
        """The JSON type mix; `schema_only` (a small sample): only types the baseline never
        had, each by Fisher's exact test (one-sided), since chi-square needs larger counts."""
        base, cur = self._type_mix(self.base), self._type_mix(self.cur)
        total_b, total_c = sum(base.values()), sum(cur.values())
        if total_b == 0 or total_c == 0:
            return  # a field appearing or vanishing is a presence change, checked above
        names = sorted(base.keys() | cur.keys())
        if schema_only:
            for name in names:
                if base[name] or not cur[name] or self.t.type_change is None:
                    continue
                share = cur[name] / total_c
                p = st.two_rates(0, total_b, cur[name], total_c, greater=True)
                detail = {"type": name, "records": cur[name]}
                cand = Candidate("type_change", share, self.t.type_change, 0.0, share, detail)
                self.test("types", p, [cand] if share >= self.t.type_change else [], share=share)
            return
        p = st.homogeneity([base[n] for n in names], [cur[n] for n in names])
        cands, worst = [], 0.0
        for name in names:
            s_b, s_c = base[name] / total_b, cur[name] / total_c
            worst = max(worst, s_c - s_b)
            if self.t.type_change is not None and s_c - s_b >= self.t.type_change:
                detail = {"type": name, "records": cur[name]}
                cands.append(
                    Candidate("type_change", s_c - s_b, self.t.type_change, s_b, s_c, detail)
                )
        self.test("types", p, cands, share=worst)

    def _type_mix(self, fp: FieldProfile) -> Counter[str]:
        """JSON types seen; for a `number` field, whole numbers (`2` vs `2.0`) are numbers."""
        mix = Counter(fp.types)
        if self.declared == "number" and "integer" in mix:
            mix["number"] += mix.pop("integer")
        return mix

    # -- value distributions --------------------------------------------------------------

    def _distribution(self) -> None:
        numeric = self.declared in {"integer", "number"}
        kb = self.base.numeric if numeric else self.base.lengths
        kc = self.cur.numeric if numeric else self.cur.lengths
        n_b = 0 if kb is None else kb.n
        n_c = 0 if kc is None else kc.n
        if n_b == 0:
            return  # nothing to compare with (a field the baseline never had values for)
        if kb is None or kc is None or n_b < self.w.min_values or n_c < self.w.min_values:
            self.verdict.insufficient.append("distribution")
            return
        distance, p = st.ks(kb, kc)
        # Alerts carry exact means (aggregates); medians are record values, named only on
        # opt-in.
        mean_b, mean_c = kb.mean, kc.mean
        extra: dict[str, Any] = {"measure": "value" if numeric else "length"}
        extra |= {"shift_sd": _r((mean_c - mean_b) / kb.std) if kb.std > 0 else 0.0}
        if self.expose_values:
            extra |= {"median_baseline": kb.get_quantile(0.5), "median": kc.get_quantile(0.5)}
        effects = {"ks": distance, "wasserstein": st.wasserstein_sd(kb, kc)}
        psi, bins = st.psi(kb, kc)
        effects["psi"] = psi
        cands = []
        for name, limit in (
            ("psi", self.t.psi),
            ("ks", self.t.ks),
            ("wasserstein", self.t.wasserstein),
        ):
            if limit is not None and effects[name] >= limit:
                detail = extra | ({"bins": bins} if name == "psi" else {})
                cands.append(Candidate(name, effects[name], limit, mean_b, mean_c, detail))
        self.test("distribution", p, cands, **effects)

    # -- categories -------------------------------------------------------------------------

    def _is_categorical(self) -> bool:
        return is_categorical(self.t, self.w, self.base)

    def _categories(self) -> None:
        base_counts = self.base.category_counts() or {}
        cur_counts = self.cur.category_counts() or {}
        assert self.base.categories is not None
        total_b = int(self.base.categories.total_weight)
        total_c = 0 if self.cur.categories is None else int(self.cur.categories.total_weight)
        if total_b < self.w.min_values or total_c < self.w.min_values:
            self.verdict.insufficient.append("categories")
            return
        new = [c for c in cur_counts if c not in base_counts]
        if self.t.new_categories and new:
            k = sum(cur_counts[c] for c in new)
            p = st.two_rates(0, total_b, k, total_c, greater=True)
            cand = Candidate(
                "new_category",
                float(len(new)),
                0.0,
                float(len(base_counts)),
                float(len(cur_counts)),
                {"records": k, **describe_values(new, self.expose_values)},
            )
            self.test("new_categories", p, [cand], share=k / total_c)
        names = sorted(base_counts.keys() | cur_counts.keys())
        # The rest (values a purged sketch no longer lists) as one more bucket.
        vec_b = [base_counts.get(n, 0) for n in names] + [
            max(0, total_b - sum(base_counts.values()))
        ]
        vec_c = [cur_counts.get(n, 0) for n in names] + [max(0, total_c - sum(cur_counts.values()))]
        top = max(base_counts, key=lambda n: base_counts[n])
        top_b, top_c = base_counts[top] / total_b, cur_counts.get(top, 0) / total_c
        if sum(vec_c) == 0:
            return
        distance = st.js_distance(vec_b, vec_c)
        cands = []
        if self.t.js is not None and distance >= self.t.js:
            cands.append(
                Candidate("js", distance, self.t.js, top_b, top_c, {"categories": len(names)})
            )
        p = st.homogeneity(vec_b, vec_c)
        if self.t.chi2_p is not None and p is not None:
            cands.append(
                Candidate(
                    "chi2",
                    p,
                    self.t.chi2_p,
                    top_b,
                    top_c,
                    {"categories": len(names)},
                    self.t.chi2_p,
                )
            )
        self.test("categories", p, cands, js=distance)


def is_categorical(t: FieldThresholds, w: WindowThresholds, base: FieldProfile) -> bool:
    """Whether a field is compared by categories: set so, or its baseline is enum-like.

    Only while the baseline's category counts are exact: a field with more distinct values
    than the sketch holds (`categorical: true` on a code with hundreds of values) keeps
    only its frequent values, and every other value then looked new in every window (a
    stable sample raised new_category and js). It is compared by value or length then."""
    counts = base.category_counts()
    if counts is None or not base.categories_exact():
        return False
    if t.categorical is not None:
        return t.categorical
    present = sum(base.types.values())
    labels = len(counts) - (LONG_CATEGORY in counts)  # long strings are no label of their own
    return (
        0 < labels <= w.categorical_max
        and present >= w.min_values
        and labels <= present / 2  # values repeat: enum-like, not identifiers
    )


def distinct_estimate(fp: FieldProfile) -> int:
    """HLL's distinct count, never more than the values it counted (sketch error aside)."""
    present = sum(n for t, n in fp.types.items() if t not in {"object", "array"})
    return min(round(fp.distinct_estimate()), present)


def _r(x: float | None) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return float(f"{x:.6g}")
