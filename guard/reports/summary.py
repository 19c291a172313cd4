"""One side's summary of one field, read from its profile: counts, shares and aggregates.

Absent (the key is not there) and null (the key holds null) are counted apart. The distinct
count is the HLL estimate capped at the values counted. Record values are not shown unless
`expose` (the report's --show-values): numbers are summarised by mean and spread (over the
sketch's quantile grid), while category labels of categorical fields, which the report
compares by label, are shown as shares.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from guard.monitoring.drift import distinct_estimate
from guard.monitoring.field_profile import FieldProfile

_TOP = 15


def side_summary(fp: FieldProfile, records: int, expose: bool, categorical: bool) -> dict[str, Any]:
    present = sum(fp.types.values())
    out: dict[str, Any] = {
        "records": records,
        "absent": fp.missing,
        "null": fp.nulls,
        "present": present,
        "absent_rate": _share(fp.missing, records),
        "null_rate": _share(fp.nulls, records),
        "types": dict(fp.types.most_common()),
        "distinct": distinct_estimate(fp),
    }
    if fp.numeric is not None and not fp.numeric.is_empty():
        out["mean"], out["std"] = _r(fp.numeric.mean), _r(fp.numeric.std)
        if expose:
            lo, mid, hi = fp.numeric.get_quantiles([0.0, 0.5, 1.0])
            out.update(min=_r(lo), median=_r(mid), max=_r(hi))
    if fp.lengths is not None and not fp.lengths.is_empty():
        p50, p95 = fp.lengths.get_quantiles([0.5, 0.95])
        out["length_p50"], out["length_p95"] = _r(p50), _r(p95)
    counts = fp.category_counts()
    if categorical and counts:
        total = max(int(fp.categories.total_weight), 1) if fp.categories is not None else 1
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:_TOP]
        out["shares"] = {k: _r(v / total) for k, v in top}
    return out


def _share(k: int, n: int) -> float | None:
    return _r(k / n) if n else None


def _r(x: float | None) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), 6)
