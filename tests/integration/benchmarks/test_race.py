"""The race's verdict on a contender's output, read back read_committed from the real broker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks import topics
from benchmarks.contenders import Job, by_name
from benchmarks.dataset import HEADLINE, Record, load, records
from benchmarks.race import Result, verify
from guard.localbroker import LocalKafka
from tests.fixtures.paths import SCHEMAS

pytestmark = pytest.mark.integration
N = 30


def _job(kafka: LocalKafka, unique: Callable[[str], str], tmp_path: Path) -> Job:
    group = unique("bench")
    job = Job(
        bootstrap=kafka.bootstrap_servers, source=f"{group}.in", valid=f"{group}.valid",
        dlq=f"{group}.dlq", group=group, records=N, batch=10, idle=5.0, workdir=tmp_path,
        json_schemas=tmp_path, schemas=SCHEMAS,
    )  # fmt: skip
    topics.create(job.bootstrap, [job.valid, job.dlq])
    return job


def _split(job: Job, batch: list[Record]) -> Result:
    load(job.bootstrap, job.valid, [r for r in batch if r.valid])
    load(job.bootstrap, job.dlq, [r for r in batch if not r.valid])
    result = Result("guard kafka-python", "guard", HEADLINE.name, 0, N)
    result.expected_valid = sum(r.valid for r in records(HEADLINE, N))
    verify(by_name("guard kafka-python"), job, result, handled=N)
    return result


def test_every_record_once_passes_and_counts_the_split(
    kafka: LocalKafka, unique: Callable[[str], str], tmp_path: Path
) -> None:
    job = _job(kafka, unique, tmp_path)
    result = _split(job, list(records(HEADLINE, N)))
    assert result.status == "ok", result.error
    assert (result.out_valid, result.out_invalid, result.distinct_keys) == (24, 6, N)
    assert result.verdicts_agree


def test_a_contender_that_duplicates_a_record_fails(
    kafka: LocalKafka, unique: Callable[[str], str], tmp_path: Path
) -> None:
    job = _job(kafka, unique, tmp_path)
    batch = list(records(HEADLINE, N))
    result = _split(job, [*batch, batch[0]])
    assert result.status == "FAILED"
    assert "duplicated 1 records" in result.error


def test_a_contender_that_loses_a_record_fails(
    kafka: LocalKafka, unique: Callable[[str], str], tmp_path: Path
) -> None:
    job = _job(kafka, unique, tmp_path)
    result = _split(job, list(records(HEADLINE, N))[1:])
    assert result.status == "FAILED"
    assert "lost 1 records" in result.error


def test_a_record_in_both_outputs_fails(
    kafka: LocalKafka, unique: Callable[[str], str], tmp_path: Path
) -> None:
    job = _job(kafka, unique, tmp_path)
    batch = list(records(HEADLINE, N))
    moved = Record(batch[0].key, batch[0].value, batch[0].headers, valid=not batch[0].valid)
    result = _split(job, [*batch, moved])
    assert result.status == "FAILED"
