"""benchmarks/pipelining.py copies every record once, in sequence and pipelined alike.

Its figures are printed by the benchmark, never checked here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from benchmarks import dataset, topics
from benchmarks.pipelining import copy
from guard.localbroker import LocalKafka
from tests.fixtures.committed import read_committed

pytestmark = pytest.mark.integration

RECORDS = 1_200  # more than two batches of 500, and a short last one


@pytest.mark.parametrize("pipelined", [False, True], ids=["in sequence", "pipelined"])
@pytest.mark.parametrize("holds_lock", [True, False], ids=["holds the lock", "sleeps"])
def test_the_copy_commits_every_record_exactly_once(
    kafka: LocalKafka, unique: Callable[[str], str], pipelined: bool, holds_lock: bool
) -> None:
    source, target = unique("in"), unique("out")
    topics.create(kafka.bootstrap_servers, [source, target])
    sent = list(dataset.records(dataset.HEADLINE, RECORDS))
    dataset.load(kafka.bootstrap_servers, source, sent)
    run = copy(kafka.bootstrap_servers, source, target, RECORDS, 1.0, holds_lock, pipelined)
    copied = read_committed(kafka.bootstrap_servers, target, RECORDS)
    assert Counter(r.key for r in copied) == Counter(r.key for r in sent)
    assert run.steps.batches >= 3 and run.records_per_s > 0
