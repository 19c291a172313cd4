"""The bench's command line: which contenders --only names."""

from __future__ import annotations

import pytest

from benchmarks.bench import contender_names


def test_only_accepts_a_contender_whose_name_holds_a_comma() -> None:
    got = contender_names("guard confluent,confluent tx copy, flush,Quix Streams EOS")
    assert got == ["guard confluent", "confluent tx copy, flush", "Quix Streams EOS"]


def test_only_names_an_unknown_contender_in_its_error() -> None:
    with pytest.raises(SystemExit, match="no contender named 'guard rust'"):
        contender_names("guard confluent,guard rust")
