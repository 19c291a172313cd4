"""Shadow rollout in file mode: a candidate's counts equal what it quarantines once promoted."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from guard.cli.main import cli
from guard.contracts import load_registry
from guard.demo.samples import sample_stream
from guard.errors import InputError
from guard.filemode import validate_files
from guard.shadow.files import shadow_files
from guard.validation.validator import AcceptedVersions
from tests.fixtures.paths import REPO

ROOT = REPO
EXAMPLE = ROOT / "examples" / "shadow"


def _input(tmp_path: Path) -> Path:
    """Demo samples (good and broken orders) plus orders that break v3's rules."""
    rng = random.Random(3)
    lines = [s.value for s in sample_stream(300, bad_share=0.3, seed=4) if s.value is not None]
    for line in (ROOT / "examples" / "data" / "orders-rules.jsonl").read_bytes().splitlines():
        lines.insert(rng.randrange(len(lines)), line)
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(v.replace(b"\n", b" ") for v in lines) + b"\n")
    return path


# Under `all`, a record breaking v3's rules is still accepted by v2 once v3 is promoted.
@pytest.mark.parametrize(("accepted", "rule_failed"), [("latest", 2), ("all", 0)])
def test_shadow_counts_equal_what_the_promoted_version_quarantines(
    tmp_path: Path, accepted: AcceptedVersions, rule_failed: int
) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(EXAMPLE, schemas)
    data = _input(tmp_path)
    [shadow] = shadow_files(load_registry(schemas), "orders", [str(data)], accepted)
    before = validate_files(
        load_registry(schemas), "orders", [str(data)], tmp_path / "q0", accepted
    )

    result = CliRunner().invoke(
        cli, ["schemas", "promote", "--schemas-dir", str(schemas), "-s", "orders", "-v", "3"]
    )
    assert result.exit_code == 0, result.output
    after = validate_files(load_registry(schemas), "orders", [str(data)], tmp_path / "1", accepted)

    assert shadow.records == after.total
    assert shadow.would_quarantine == after.quarantined
    assert shadow.by_reason == after.by_reason
    assert shadow.by_rule == after.by_rule
    assert shadow.would_quarantine - shadow.newly_quarantined + shadow.newly_passing == (
        before.quarantined
    )
    assert shadow.by_reason["rule_failed"] == rule_failed


def test_validate_candidate_prints_the_candidates_counts_and_keeps_the_exit_status() -> None:
    data = ROOT / "examples" / "data" / "orders-rules.jsonl"
    result = CliRunner().invoke(
        cli,
        ["validate", "-s", "orders", "--schemas-dir", str(EXAMPLE), "--candidate", "--json",
         "--quarantine-dir", "/nonexistent-not-written", str(data)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # v2 (enforced) passes all four
    [candidate] = json.loads(result.output)["candidates"]
    assert candidate["version"] == 3
    assert candidate["would_quarantine"] == 2
    assert candidate["by_rule"] == {
        "chf_ships_to_switzerland (quarantine)": 1,
        "amount_per_unit_plausible (quarantine)": 1,
        "lines_within_quantity (warn)": 1,
    }
    assert [s["line"] for s in candidate["samples"]] == [2, 3]


def test_promote_refuses_what_breaks_the_mode_and_changes_nothing(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(EXAMPLE, schemas)
    (schemas / "orders" / "subject.yaml").write_text("compatibility: BACKWARD\n")
    before = (schemas / "orders" / "v3.yaml").read_text()
    result = CliRunner().invoke(
        cli, ["schemas", "promote", "--schemas-dir", str(schemas), "-s", "orders", "-v", "3"]
    )
    assert result.exit_code == 1
    assert "not promoted, 2 BACKWARD breaks" in result.output
    assert (schemas / "orders" / "v3.yaml").read_text() == before


def test_promote_keeps_comments_and_makes_the_version_latest(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(EXAMPLE, schemas)
    result = CliRunner().invoke(
        cli, ["schemas", "promote", "--schemas-dir", str(schemas), "-s", "orders", "-v", "3"]
    )
    assert result.exit_code == 0, result.output
    text = (schemas / "orders" / "v3.yaml").read_text()
    assert "status: active" in text and "# Shadow rollout" in text
    assert load_registry(schemas).subject("orders").latest == 3


def test_a_subject_without_candidates_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no version with status: candidate"):
        shadow_files(load_registry(ROOT / "schemas"), "orders", ["x.jsonl"])


def test_candidate_versions_are_never_enforced() -> None:
    subject = load_registry(EXAMPLE).subject("orders")
    assert subject.active == [2] and subject.candidates == [3] and subject.latest == 2
