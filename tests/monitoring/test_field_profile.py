"""One field's profile: a column of values updates exact counters and bounded sketches."""

from __future__ import annotations

import numpy as np

from guard.config.settings import SketchSettings
from guard.monitoring.field_profile import MISSING, FieldProfile


def test_a_column_updates_counters_and_every_sketch_in_one_call() -> None:
    fp = FieldProfile(SketchSettings())
    fp.update([1, 2.5, "ab", None, MISSING, True, False, True, [1, 2, 3], {"k": 1}], True)
    assert (fp.missing, fp.nulls) == (1, 1)
    assert dict(fp.types) == {
        "integer": 1,
        "number": 1,
        "string": 1,
        "boolean": 3,
        "array": 1,
        "object": 1,
    }
    assert fp.numeric is not None and sorted(fp.numeric.get_quantiles([0.0, 1.0])) == [1.0, 2.5]
    assert fp.lengths is not None and fp.lengths.n == 2  # "ab" and the 3-item array
    assert fp.category_counts() == {"1": 1, "ab": 1, "true": 2, "false": 1}
    assert round(fp.distinct_estimate()) == 5  # 1, 2.5, "ab", true, false


def test_no_sketch_exists_until_a_value_of_its_kind_arrives() -> None:
    fp = FieldProfile(SketchSettings())
    fp.update([None, MISSING], track_categories=True)
    assert (fp.numeric, fp.lengths, fp.distinct, fp.categories) == (None, None, None, None)


def test_an_integer_beyond_float_range_is_profiled_as_an_outlier() -> None:
    fp = FieldProfile(SketchSettings())
    fp.update([1, 2**1100, -(2**1100), 3.5], track_categories=False)
    assert fp.numeric is not None and fp.numeric.n == 4
    assert fp.numeric.get_max_value() > 1e300 and np.isfinite(fp.numeric.get_min_value())


def test_merge_copies_sketches_rather_than_sharing_them() -> None:
    a, b = FieldProfile(SketchSettings()), FieldProfile(SketchSettings())
    b.update([1.0, 2.0], track_categories=False)
    a.merge(b)
    b.update([3.0], track_categories=False)
    assert a.numeric is not None and a.numeric.n == 2
