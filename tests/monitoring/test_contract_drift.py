"""The optional `drift:` thresholds on a contract field, validated strictly at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.contracts.registry import load_contract
from guard.errors import ContractError


def _contract(tmp_path: Path, field: str) -> Path:
    folder = tmp_path / "events"
    folder.mkdir()
    path = folder / "v1.yaml"
    path.write_text(f"subject: events\nversion: 1\nfields:\n  {field}\n")
    return path


def test_drift_thresholds_load_with_the_contract(tmp_path: Path) -> None:
    path = _contract(
        tmp_path, "amount: {type: number, drift: {psi: 0.3, ks: off, null_rate_abs: 0.05}}"
    )
    drift = load_contract(path).spec.fields["amount"].drift
    assert drift is not None
    assert (drift.psi, drift.ks, drift.null_rate_abs, drift.js) == (0.3, False, 0.05, None)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("name: {type: string, drift: {psi: 0.2}}", "psi applies only to integer/number fields"),
        ("n: {type: number, drift: {js: 0.1}}", "js applies only to string/integer/boolean"),
        ("n: {type: number, drift: {psi: 0}}", "drift.psi: must be a number above 0"),
        ("n: {type: number, drift: {ks: 1.5}}", r"drift.ks: must be in \(0, 1\]"),
        ("n: {type: number, drift: {ks: true}}", "drift.ks: must be a number, or false/off"),
        ("n: {type: number, drift: {ks: '0.1'}}", "drift.ks: must be a number, or false/off"),
        ("n: {type: number, drift: {pis: 0.2}}", "drift.pis: Extra inputs are not permitted"),
    ],
)
def test_a_bad_drift_mapping_fails_at_load_naming_field_and_key(
    tmp_path: Path, field: str, message: str
) -> None:
    with pytest.raises(ContractError, match=message) as info:
        load_contract(_contract(tmp_path, field))
    assert info.value.field == field.split(":")[0]
