"""Which fields are profiled and with which thresholds: defaults, contract, config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from guard.config.settings import MonitoringSettings
from guard.contracts import load_registry
from guard.errors import ConfigError
from guard.monitoring.plan import SubjectPlan, plan_subject
from tests.monitoring.streams import write_schemas

CONTRACT = """\
subject: events
version: 1
fields:
  id: {type: string, format: uuid}
  kind: {type: string}
  level: {type: integer, enum: [1, 2, 3]}
  amount: {type: number, drift: {psi: 0.5, ks: off}}
  ok: {type: boolean}
  address:
    type: object
    fields:
      country: {type: string, drift: {js: 0.3}}
  tags: {type: array, items: {type: string}}
"""


def _plan(tmp_path: Path, **monitoring: Any) -> SubjectPlan:
    registry = load_registry(write_schemas(tmp_path, CONTRACT))
    return plan_subject(registry.subject("events"), MonitoringSettings(**monitoring))


def test_nested_object_fields_are_profiled_as_dotted_paths(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    assert plan.paths == (
        "id",
        "kind",
        "level",
        "amount",
        "ok",
        "address",
        "address.country",
        "tags",
    )


def test_categories_are_tracked_for_enum_like_fields_only(tmp_path: Path) -> None:
    tracked = {f.path for f in _plan(tmp_path).fields if f.categories}
    assert tracked == {"kind", "level", "ok", "address.country"}


def test_config_field_override_beats_contract_which_beats_defaults(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        thresholds={"psi": 0.3, "js": 0.2},
        fields={"events": {"amount": {"ks": 0.25}}},
    )
    by_path = {f.path: f.thresholds for f in plan.fields}
    assert (by_path["amount"].psi, by_path["amount"].ks) == (0.5, 0.25)  # contract, config field
    assert by_path["address.country"].js == 0.3  # contract
    assert by_path["kind"].js == 0.2  # config default


def test_a_config_override_for_an_undeclared_field_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"monitoring\.fields\.events\.amout: .* no field 'amout'"
    ):
        _plan(tmp_path, fields={"events": {"amout": {"psi": 0.3}}})


def test_a_config_override_of_the_wrong_kind_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="psi applies only to integer/number fields"):
        _plan(tmp_path, fields={"events": {"kind": {"psi": 0.3}}})
