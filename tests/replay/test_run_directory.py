"""replay_source over a quarantine directory: dry run, replay, reruns and a crash mid-run."""

from __future__ import annotations

import base64
import json
import random
import shutil
import threading
from collections import Counter
from pathlib import Path

import pytest

from guard.contracts import load_registry
from guard.demo.samples import good_order
from guard.errors import RegistryUnavailableError, TransientTransportError
from guard.filemode import validate_files
from guard.quarantine.sources import DirectorySource, ReplayRun
from guard.replay import (
    Classifier,
    DirectorySink,
    ReplayJob,
    ReplayOptions,
    replay_all,
    replay_source,
)
from guard.replay import run as run_module
from guard.replay.plan import Outcome
from tests.fixtures.paths import SCHEMAS


@pytest.fixture
def quarantine_dir(tmp_path: Path) -> Path:
    """20 v2-shaped orders checked against v1 only: all quarantined; 15 pass v2, 5 never will."""
    rng = random.Random(1)
    lines = []
    for i in range(20):
        order = good_order(rng, 2)
        if i % 4 == 0:
            order["amount"] = "bad"
        lines.append(json.dumps(order))
    data = tmp_path / "in.jsonl"
    data.write_text("\n".join(lines) + "\n")
    qdir = tmp_path / "q"
    summary = validate_files(load_registry(SCHEMAS), "orders", [str(data)], qdir, accepted=[1])
    assert summary.quarantined == 20
    return qdir


def _run(
    qdir: Path,
    *,
    dry_run: bool = False,
    max_records: int | None = None,
    sink: DirectorySink | None = None,
) -> dict[str, object]:
    source = DirectorySource(qdir)
    classifier = Classifier(load_registry(SCHEMAS), {}, handled=source.handled())
    options = ReplayOptions(
        "r" + str(len(list(qdir.rglob("*.jsonl")))),
        dry_run=dry_run,
        assume_yes=True,
        max_records=max_records,
        batch_size=4,
    )
    make = (
        (lambda: sink)
        if sink
        else (lambda: DirectorySink(qdir, options.replay_id, "2026-11-21T10:00:00Z", False))
    )
    return replay_source(source, classifier, make, options, "replayed").to_json()  # type: ignore[arg-type,return-value]


def _replayed_values(qdir: Path) -> list[bytes]:
    return [
        base64.b64decode(json.loads(line)["value_b64"])
        for path in sorted((qdir / "replayed").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def test_dry_run_reports_what_would_pass_and_writes_nothing(quarantine_dir: Path) -> None:
    before = sorted(p.name for p in quarantine_dir.rglob("*"))
    report = _run(quarantine_dir, dry_run=True)
    assert (report["passed"], report["still_failing"]) == (15, 5)
    assert sorted(p.name for p in quarantine_dir.rglob("*")) == before


def test_replay_writes_each_passing_record_once_with_its_original_bytes(
    quarantine_dir: Path,
) -> None:
    originals = {
        base64.b64decode(json.loads(line)["value_b64"])
        for path in quarantine_dir.glob("*.jsonl")
        for line in path.read_text().splitlines()
    }
    assert _run(quarantine_dir)["passed"] == 15
    values = _replayed_values(quarantine_dir)
    assert len(values) == len(set(values)) == 15 and set(values) <= originals


def test_a_second_replay_replays_nothing_again(quarantine_dir: Path) -> None:
    _run(quarantine_dir)
    again = _run(quarantine_dir)
    assert again["passed"] == 0 and len(_replayed_values(quarantine_dir)) == 15


class _CrashingSink(DirectorySink):
    def __init__(self, qdir: Path) -> None:
        super().__init__(qdir, "crash", "2026-11-21T10:00:00Z", False)
        self.batches = 0

    def write(self, outcomes: list[Outcome], run: ReplayRun) -> None:
        if self.batches == 2:
            raise KeyboardInterrupt  # the process dies between two batches
        super().write(outcomes, run)
        self.batches += 1


def test_a_replay_interrupted_midway_and_rerun_writes_each_record_once(
    quarantine_dir: Path,
) -> None:
    with pytest.raises(KeyboardInterrupt):
        _run(quarantine_dir, sink=_CrashingSink(quarantine_dir))
    assert 0 < len(_replayed_values(quarantine_dir)) < 15
    _run(quarantine_dir)
    values = _replayed_values(quarantine_dir)
    assert len(values) == len(set(values)) == 15


def _requeued(qdir: Path) -> Counter[tuple[str, str, str]]:
    """(quarantined copy it came from, attempt) of every requeued line."""
    found: Counter[tuple[str, str, str]] = Counter()
    for path in qdir.glob("requeued-*.jsonl"):
        for line in path.read_text().splitlines():
            h = json.loads(line)["headers"]
            found[
                (
                    h["guard.replay.quarantine.file"],
                    h["guard.replay.quarantine.line"],
                    h["guard.attempt"],
                )
            ] += 1
    return found


def test_an_interrupted_replay_and_a_rerun_requeue_what_one_replay_requeues(
    quarantine_dir: Path, tmp_path: Path
) -> None:
    once = tmp_path / "once"
    shutil.copytree(quarantine_dir, once)
    _run(once)
    with pytest.raises(KeyboardInterrupt):
        _run(quarantine_dir, sink=_CrashingSink(quarantine_dir))
    assert 0 < sum(_requeued(quarantine_dir).values()) < 5, "the crash landed midway"
    _run(quarantine_dir)
    assert sorted(_requeued(quarantine_dir)) == sorted(_requeued(once))
    assert set(_requeued(quarantine_dir).values()) == {1}
    assert {attempt for _, _, attempt in _requeued(quarantine_dir)} == {"2"}


def test_a_replay_stopped_by_max_is_resumed_by_the_next_one(quarantine_dir: Path) -> None:
    _run(quarantine_dir, max_records=3)
    _run(quarantine_dir)
    assert set(_requeued(quarantine_dir).values()) == {1}
    assert {attempt for _, _, attempt in _requeued(quarantine_dir)} == {"2"}
    assert len(_requeued(quarantine_dir)) == 5 and len(_replayed_values(quarantine_dir)) == 15


def test_the_replay_after_a_finished_one_takes_a_fresh_snapshot(quarantine_dir: Path) -> None:
    _run(quarantine_dir)
    again = _run(quarantine_dir)
    assert again["still_failing"] == 5, "the requeued copies are replayed once more"
    attempts = Counter(attempt for _, _, attempt in _requeued(quarantine_dir))
    assert attempts == Counter({"2": 5, "3": 5})


def test_max_limits_the_records_written(quarantine_dir: Path) -> None:
    report = _run(quarantine_dir, max_records=6)
    assert report["passed"] + report["still_failing"] == 6  # type: ignore[operator]


def test_still_failing_records_are_requeued_with_attempt_plus_one(quarantine_dir: Path) -> None:
    _run(quarantine_dir)
    [requeued] = list(quarantine_dir.glob("requeued-*.jsonl"))
    headers = [json.loads(line)["headers"] for line in requeued.read_text().splitlines()]
    assert len(headers) == 5
    assert {h["guard.attempt"] for h in headers} == {"2"} and {
        h["guard.reasons"] for h in headers
    } == {"wrong_type"}
    assert all(h["guard.replay.quarantine.file"].startswith("orders-") for h in headers)


def _job(qdir: Path, sink: DirectorySink | None = None) -> ReplayJob:
    source = DirectorySource(qdir)
    classifier = Classifier(load_registry(SCHEMAS), {}, handled=source.handled())
    make = (
        (lambda: sink)
        if sink
        else (lambda: DirectorySink(qdir, "j" + qdir.name, "2026-11-21T10:00:00Z", False))
    )
    return ReplayJob(source, classifier, make, "replayed")  # type: ignore[arg-type]


def test_max_is_one_budget_across_all_quarantines(quarantine_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "q2"
    shutil.copytree(quarantine_dir, other)
    reports = replay_all(
        [_job(quarantine_dir), _job(other)], ReplayOptions("m", assume_yes=True, max_records=8)
    )
    assert sum(r.passed + r.still_failing for r in reports) == 8


def test_a_stop_request_ends_even_the_checking_pass(quarantine_dir: Path) -> None:
    stop = threading.Event()
    stop.set()
    job = _job(quarantine_dir)
    report = replay_source(
        job.source, job.classifier, job.make_sink, ReplayOptions("s", dry_run=True), "t", stop=stop
    )
    assert report.interrupted and report.passed + report.still_failing == 0


def test_a_replay_that_waited_at_its_prompt_does_not_repeat_what_another_replay_did(
    quarantine_dir: Path,
) -> None:
    def confirm_after_someone_else_replayed(_plan: object) -> bool:
        assert _run(quarantine_dir)["passed"] == 15  # operator A, while B waits at the prompt
        return True

    job = _job(quarantine_dir)
    report = replay_source(
        job.source,
        job.classifier,
        job.make_sink,
        ReplayOptions("b"),
        "t",
        confirm=confirm_after_someone_else_replayed,
    )
    assert report.passed == 0
    values = _replayed_values(quarantine_dir)
    assert len(values) == len(set(values)) == 15


class _LandsThenFails(DirectorySink):
    """The first write lands, then reports a transient failure (a commit that timed out)."""

    def __init__(self, qdir: Path) -> None:
        super().__init__(qdir, "landed", "2026-11-21T10:00:00Z", False)
        self.failed = False

    def write(self, outcomes: list[Outcome], run: ReplayRun) -> None:
        super().write(outcomes, run)
        if not self.failed:
            self.failed = True
            raise TransientTransportError("no answer to the commit")


def test_a_batch_whose_commit_landed_but_failed_is_not_written_twice(quarantine_dir: Path) -> None:
    job = _job(quarantine_dir, _LandsThenFails(quarantine_dir))
    report = replay_source(
        job.source,
        job.classifier,
        job.make_sink,
        ReplayOptions("r", assume_yes=True, batch_size=100),
        "t",
    )
    assert report.passed == 15
    values = _replayed_values(quarantine_dir)
    assert len(values) == len(set(values)) == 15


def test_replayed_records_carry_the_version_that_accepted_them(quarantine_dir: Path) -> None:
    _run(quarantine_dir)
    headers = [
        json.loads(line)["headers"]
        for path in (quarantine_dir / "replayed").glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert {h["schema-version"] for h in headers} == {"2"}


class _RegistryBlips(Classifier):
    """A classifier whose Schema Registry look-up fails twice (a registry restarting)."""

    failures = 2

    def classify(self, item):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise RegistryUnavailableError("schema registry http://r/schemas/ids/7: HTTP 503")
        return super().classify(item)


def test_a_registry_blip_while_judging_is_retried_not_the_end_of_the_replay(
    quarantine_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before, the first RegistryUnavailableError ended the replay (exit 3).
    monkeypatch.setattr(run_module, "_CLASSIFY_BACKOFF_S", 0.01)
    source = DirectorySource(quarantine_dir)
    classifier = _RegistryBlips(load_registry(SCHEMAS), {}, handled=source.handled())
    options = ReplayOptions("r-blip", assume_yes=True, batch_size=4)
    sink = DirectorySink(quarantine_dir, "r-blip", "2026-11-21T10:00:00Z", False)
    report = replay_source(source, classifier, lambda: sink, options, "replayed").to_json()
    assert (report["passed"], report["still_failing"]) == (15, 5)
    assert classifier.failures == 0
