"""The replay run marker: what it keeps across replays, and the markers of older versions."""

from __future__ import annotations

from guard.quarantine.sources import ReplayRun


def test_a_run_marker_keeps_the_quarantine_topics_id() -> None:
    run = ReplayRun("r1", {"0": 7}, finished=True, source_id="Jk68277WQx288O20y7Utvg")
    assert ReplayRun.from_json(run.to_json()) == run


def test_a_marker_written_before_topic_ids_were_kept_still_reads() -> None:
    old = b'{"end": {"0": 7}, "finished": false, "replay_id": "r1"}'
    assert ReplayRun.from_json(old) == ReplayRun("r1", {"0": 7}, finished=False, source_id=None)
