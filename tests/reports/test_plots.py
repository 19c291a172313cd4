"""Per-field plots of a drift report."""

from __future__ import annotations

import pytest

from guard.config.settings import SketchSettings
from guard.contracts.spec import FieldSpec
from guard.monitoring.drift import FieldVerdict
from guard.monitoring.field_profile import FieldProfile
from guard.reports.findings import FieldRow
from guard.reports.plots import field_svg


def _profile(values: list[float]) -> FieldProfile:
    fp = FieldProfile(SketchSettings())
    fp.update(list(values), False)
    return fp


@pytest.mark.parametrize("expose", [False, True])
def test_values_near_the_float_limit_are_plotted_not_a_crash(expose: bool) -> None:
    """+-1.7e308 are valid JSON numbers: the plot's bin edges overflowed (hi - lo, and
    matplotlib's sum of the edges), and `guard drift report` stopped with 'Nan values in
    "edges" are disallowed' (exit 4)."""
    extreme = [1.7e308, -1.7e308] * 50 + [0.5] * 100
    row = FieldRow(
        "score",
        FieldSpec(type="number"),
        FieldVerdict("score", compared_by="value"),
        _profile(extreme),
        _profile([1.0, -1.0] * 100),
        0,
        200,
        200,
    )
    svg = field_svg(row, expose)
    assert svg.startswith("<svg") and "NaN" not in svg
