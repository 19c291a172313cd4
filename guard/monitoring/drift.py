"""Drift checks: one window's profile against the subject's baseline.

Window level: volume (record rate), quarantine-rate spike, new and vanished undeclared fields.
Per field: null and missing rates (absolute and relative change, each also significant by an
exact binomial test), JSON type mix, and, from the sketches, PSI over the baseline's deciles,
the Kolmogorov-Smirnov distance (significance by the sketch library's own KS test, which
accounts for sketch error) and a normalised Wasserstein distance for numeric fields; for
enum-like fields, new categories, the Jensen-Shannon distance and a chi-square test.

The statistics themselves come from scipy and DataSketches; this module only decides which
to compute, on what, and compares them with the thresholds.
"""

from __future__ import annotations

from collections import Counter

import datasketches as ds  # type: ignore[import-untyped]
import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import binomtest, chi2_contingency, entropy, ks_2samp, wasserstein_distance

from guard.monitoring.alerts import WINDOW_FIELD, Alert, describe_values
from guard.monitoring.field_profile import FieldProfile
from guard.monitoring.plan import FieldPlan, SubjectPlan
from guard.monitoring.profile import WindowProfile
from guard.monitoring.thresholds import WindowThresholds

DECILES = [i / 10 for i in range(1, 10)]
GRID = np.linspace(0.005, 0.995, 100).tolist()  # quantile grid standing in for each sample
PSI_FLOOR = 1e-4  # an empty bin counts as this share, so PSI stays finite


def check_window(plan: SubjectPlan, current: WindowProfile, baseline: WindowProfile) -> list[Alert]:
    """Every threshold the window crosses, as alerts (empty when it looks like the baseline)."""
    w = plan.window
    if current.records < w.min_records or baseline.records == 0:
        return []
    alerts = _window_checks(plan.subject, w, current, baseline)
    if current.profiled == 0 or baseline.profiled == 0:
        return alerts
    for fplan in plan.fields:
        fc, fb = current.fields.get(fplan.path), baseline.fields.get(fplan.path)
        if fc is not None and fb is not None:
            alerts.extend(
                _FieldCheck(plan, fplan, fc, current.profiled, fb, baseline.profiled).run()
            )
    return alerts


def significant(k: int, n: int, p0: float, p_value: float | None, greater: bool = False) -> bool:
    """Whether k of n is unlikely under rate p0 (exact binomial test), or no test is set."""
    if p_value is None:
        return True
    if n <= 0:
        return False
    p0 = min(max(p0, 0.0), 1.0)
    result = binomtest(k, n, p0, alternative="greater") if greater else binomtest(k, n, p0)
    return bool(result.pvalue < p_value)


def _window_checks(
    subject: str, w: WindowThresholds, cur: WindowProfile, base: WindowProfile
) -> list[Alert]:
    out: list[Alert] = []
    rate_b, rate_c = base.record_rate(), cur.record_rate()
    if w.volume_rel is not None and rate_b and rate_c is not None:
        change = abs(rate_c - rate_b) / rate_b
        if change >= w.volume_rel:
            out.append(Alert(subject, WINDOW_FIELD, "volume", change, w.volume_rel, rate_b, rate_c))
    q_b, q_c = base.quarantine_rate, cur.quarantine_rate
    if (
        w.quarantine_rate_abs is not None
        and q_c - q_b >= w.quarantine_rate_abs
        and significant(cur.quarantined, cur.records, q_b, w.p_value, greater=True)
    ):
        reasons = dict(cur.reasons.most_common(5))
        out.append(
            Alert(
                subject,
                WINDOW_FIELD,
                "quarantine_rate",
                q_c - q_b,
                w.quarantine_rate_abs,
                q_b,
                q_c,
                {"reasons": reasons},
            )
        )
    if cur.profiled and w.new_fields:
        for path, n in sorted(cur.unknown_fields.items()):
            if path not in base.unknown_fields:
                share = n / cur.profiled
                out.append(
                    Alert(subject, path, "new_field", share, 0.0, 0.0, share, {"records": n})
                )
    if base.profiled and w.missing_fields is not None:
        for path, n in sorted(base.unknown_fields.items()):
            share = n / base.profiled
            if share >= w.missing_fields and path not in cur.unknown_fields:
                out.append(
                    Alert(subject, path, "missing_field", share, w.missing_fields, share, 0.0)
                )
    return out


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
        self.subject, self.path = plan.subject, fplan.path
        self.t = fplan.thresholds
        self.declared = fplan.type
        self.w = plan.window
        self.expose_values = plan.expose_values
        self.cur, self.base, self.n_cur, self.n_base = cur, base, n_cur, n_base
        self.alerts: list[Alert] = []

    def alert(
        self,
        statistic: str,
        value: float,
        threshold: float,
        baseline_value: float | None,
        current_value: float | None,
        **detail: object,
    ) -> None:
        self.alerts.append(
            Alert(
                self.subject,
                self.path,
                statistic,
                value,
                threshold,
                baseline_value,
                current_value,
                detail,
            )
        )

    def run(self) -> list[Alert]:
        if not self._presence():
            self._rate("null_rate", self.cur.nulls, self.base.nulls)
            self._types()
            self._numeric()
            self._categories()
        return self.alerts

    # -- presence, nulls, types ---------------------------------------------------------

    def _presence(self) -> bool:
        """Missing-field and missing-rate checks; True when the field vanished entirely."""
        had = (self.n_base - self.base.missing) / self.n_base
        now = (self.n_cur - self.cur.missing) / self.n_cur
        limit = self.w.missing_fields
        if limit is not None and had >= limit and now == 0.0:
            self.alert("missing_field", had, limit, had, now)
            return True
        self._rate("missing_rate", self.cur.missing, self.base.missing)
        return False

    def _rate(self, name: str, k_cur: int, k_base: int) -> None:
        r_b, r_c = k_base / self.n_base, k_cur / self.n_cur
        delta = abs(r_c - r_b)
        limit_abs = getattr(self.t, f"{name}_abs")
        if limit_abs is not None and delta >= limit_abs:
            if significant(k_cur, self.n_cur, r_b, self.w.p_value):
                self.alert(f"{name}_abs", delta, limit_abs, r_b, r_c)
            return
        limit_rel = getattr(self.t, f"{name}_rel", None)
        if (
            limit_rel is not None
            and r_b > 0
            and delta / r_b >= limit_rel
            and significant(k_cur, self.n_cur, r_b, self.w.p_value)
        ):
            self.alert(f"{name}_rel", delta / r_b, limit_rel, r_b, r_c)

    def _types(self) -> None:
        limit = self.t.type_change
        base, cur = self._type_mix(self.base), self._type_mix(self.cur)
        total_b, total_c = sum(base.values()), sum(cur.values())
        if limit is None or total_b == 0 or total_c == 0:
            return  # a field appearing or vanishing is a presence change, checked above
        for name, k in sorted(cur.items()):
            s_b, s_c = base.get(name, 0) / total_b, k / total_c
            if s_c - s_b >= limit and significant(k, total_c, s_b, self.w.p_value, greater=True):
                self.alert("type_change", s_c - s_b, limit, s_b, s_c, type=name)

    def _type_mix(self, fp: FieldProfile) -> Counter[str]:
        """JSON types seen; for a `number` field, whole numbers (`2` vs `2.0`) are numbers."""
        mix = Counter(fp.types)
        if self.declared == "number" and "integer" in mix:
            mix["number"] += mix.pop("integer")
        return mix

    # -- numeric distributions ----------------------------------------------------------

    def _numeric(self) -> None:
        kb, kc = self.base.numeric, self.cur.numeric
        need = self.w.min_values
        if kb is None or kc is None or kb.n < need or kc.n < need:
            return
        grid_b = np.asarray(kb.get_quantiles(GRID), dtype=np.float64)
        grid_c = np.asarray(kc.get_quantiles(GRID), dtype=np.float64)
        # Alerts carry means (aggregates); medians are record values, named only on opt-in.
        mean_b, mean_c = float(grid_b.mean()), float(grid_c.mean())
        extra: dict[str, object] = {}
        if self.expose_values:
            extra = {"median_baseline": kb.get_quantile(0.5), "median": kc.get_quantile(0.5)}
        if self.t.psi is not None:
            splits = sorted(set(kb.get_quantiles(DECILES)))
            p_b = np.maximum(np.asarray(kb.get_pmf(splits)), PSI_FLOOR)
            p_c = np.maximum(np.asarray(kc.get_pmf(splits)), PSI_FLOOR)
            p_b, p_c = p_b / p_b.sum(), p_c / p_c.sum()
            psi = float(entropy(p_c, p_b) + entropy(p_b, p_c))  # PSI = symmetric KL
            if psi >= self.t.psi:
                self.alert("psi", psi, self.t.psi, mean_b, mean_c, bins=len(p_b), **extra)
        if self.t.ks is not None:
            distance = float(ks_2samp(grid_b, grid_c).statistic)
            p = self.w.p_value
            if distance >= self.t.ks and (p is None or ds.ks_test(kb, kc, p)):
                self.alert("ks", distance, self.t.ks, mean_b, mean_c, p_value=p, **extra)
        if self.t.wasserstein is not None:
            spread = float(np.std(grid_b)) or max(abs(mean_b), 1.0)
            value = float(wasserstein_distance(grid_b, grid_c)) / spread
            if value >= self.t.wasserstein:
                self.alert("wasserstein", value, self.t.wasserstein, mean_b, mean_c, **extra)

    # -- categories ---------------------------------------------------------------------

    def _is_categorical(self, counts: dict[str, int]) -> bool:
        if self.t.categorical is not None:
            return self.t.categorical
        present = sum(self.base.types.values())
        return (
            self.base.categories_exact()
            and 0 < len(counts) <= self.w.categorical_max
            and present >= self.w.min_values
            and len(counts) <= present / 2  # values repeat: enum-like, not identifiers
        )

    def _categories(self) -> None:
        base_counts, cur_counts = self.base.category_counts(), self.cur.category_counts()
        if base_counts is None or cur_counts is None or not self._is_categorical(base_counts):
            return
        if self.t.new_categories:
            new = [c for c in cur_counts if c not in base_counts]
            if new:
                self.alert(
                    "new_category",
                    float(len(new)),
                    0.0,
                    float(len(base_counts)),
                    float(len(cur_counts)),
                    records=sum(cur_counts[c] for c in new),
                    **describe_values(new, self.expose_values),
                )
        assert self.base.categories is not None and self.cur.categories is not None
        total_b, total_c = self.base.categories.total_weight, self.cur.categories.total_weight
        if total_b < self.w.min_values or total_c < self.w.min_values:
            return
        names = sorted(set(base_counts) | set(cur_counts))
        # The rest (values a purged sketch no longer lists) as one more bucket.
        vec_b = [base_counts.get(n, 0) for n in names] + [
            max(0, total_b - sum(base_counts.values()))
        ]
        vec_c = [cur_counts.get(n, 0) for n in names] + [max(0, total_c - sum(cur_counts.values()))]
        top = max(base_counts, key=lambda n: base_counts[n])
        top_b, top_c = base_counts[top] / total_b, cur_counts.get(top, 0) / total_c
        if self.t.js is not None:
            distance = float(jensenshannon(vec_b, vec_c, base=2))
            if distance >= self.t.js:
                self.alert("js", distance, self.t.js, top_b, top_c, categories=len(names))
        if self.t.chi2_p is not None:
            table = np.asarray([vec_b, vec_c], dtype=np.float64)
            table = table[:, table.sum(axis=0) > 0]
            if table.shape[1] >= 2:
                p = float(chi2_contingency(table).pvalue)
                if p < self.t.chi2_p:
                    self.alert("chi2", p, self.t.chi2_p, top_b, top_c, categories=len(names))
