"""The replay state: the run marker (what it keeps across replays, and the markers of older
versions) and the markers of handled copies."""

from __future__ import annotations

import pytest

from guard.config.settings import KafkaSettings
from guard.quarantine.sources import ReplayRun, TopicSource
from guard.transport.base import OutRecord
from guard.transport.memory import MemoryBroker


def test_a_run_marker_keeps_the_quarantine_topics_id() -> None:
    run = ReplayRun("r1", {"0": 7}, finished=True, source_id="Jk68277WQx288O20y7Utvg")
    assert ReplayRun.from_json(run.to_json()) == run


def test_a_marker_written_before_topic_ids_were_kept_still_reads() -> None:
    old = b'{"end": {"0": 7}, "finished": false, "replay_id": "r1"}'
    assert ReplayRun.from_json(old) == ReplayRun("r1", {"0": 7}, finished=False, source_id=None)


@pytest.mark.parametrize("marker", [b"not json", b"[1]", b'"x"', b'{"status": 5}'])
def test_a_copys_damaged_state_marker_still_marks_it_handled(
    memory_kafka: MemoryBroker, marker: bytes
) -> None:
    """Only a replay writes a copy's key to the state, with its output: whatever its value
    became, the copy was handled, and reading it is no crash (before: JSONDecodeError or
    AttributeError out of guard replay and guard quarantine stats/show/report, exit 4)."""
    memory_kafka.create("orders.quarantine", 1)
    memory_kafka.append(OutRecord("orders.quarantine.replay-state", b"0/0", marker, []))
    memory_kafka.append(
        OutRecord("orders.quarantine.replay-state", b"0/1", b'{"status": "requeued"}', [])
    )
    source = TopicSource(KafkaSettings(), "orders.quarantine")
    assert source.handled() == {"0/0": "replayed", "0/1": "requeued"}
