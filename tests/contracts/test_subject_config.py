"""subject.yaml: compatibility mode and Schema Registry ids pinned per version."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.contracts.subject_config import load_subject_config
from guard.errors import ContractError


def _subject(tmp_path: Path, text: str) -> Path:
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "subject.yaml").write_text(text)
    return tmp_path


def test_ids_pinned_per_version_map_each_id_to_its_version(tmp_path: Path) -> None:
    config = load_subject_config(
        _subject(tmp_path, "schema_ids: {1: 101, 2: [102, 205]}\n"), "orders"
    )
    assert config.version_by_id() == {101: 1, 102: 2, 205: 2}


def test_one_id_pinned_to_two_versions_is_a_contract_error(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="id 101 is pinned to versions 1 and 2"):
        load_subject_config(_subject(tmp_path, "schema_ids: {1: 101, 2: 101}\n"), "orders")


def test_no_subject_file_means_no_pinned_ids(tmp_path: Path) -> None:
    assert load_subject_config(tmp_path, "orders").version_by_id() == {}
