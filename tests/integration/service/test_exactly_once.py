"""The guard service on the real broker: nothing lost or duplicated across stops and crashes."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from guard.config import KafkaSettings, load_settings
from guard.contracts import load_registry
from guard.demo.samples import Sample, sample_stream
from guard.localbroker import LocalKafka
from guard.service import build_service
from guard.transport.factory import ensure_topics
from guard.verify import ReadRecord, read_topic
from tests.fixtures.group_members import wait_until_each_member_owns_partitions
from tests.fixtures.guard_process import GuardProcess
from tests.fixtures.paths import SCHEMAS
from tests.integration.service.kafka_helpers import (
    produce_in_transactions,
    produce_samples,
    write_config,
)

pytestmark = pytest.mark.integration

PARTITIONS = 3


def _create(bootstrap: str, topic: str, partitions: int = PARTITIONS) -> None:
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {topic: partitions})


def _produce(
    bootstrap: str, topic: str, samples: list[Sample], partitions: int = PARTITIONS
) -> dict[tuple[int, int], Sample]:
    """Produce the samples round-robin over partitions; map (partition, offset) -> sample."""
    return produce_samples(bootstrap, topic, samples, partitions)


def _config(
    tmp_path: Path, client: str, bootstrap: str, source: str, group: str, **extra: object
) -> Path:
    """The service tests' config, with batches of 40."""
    batch = {"max_records": 40, "poll_timeout_ms": 200}
    return write_config(tmp_path, bootstrap, source, group, client, **{"batch": batch, **extra})


def _assert_exactly_once(
    bootstrap: str, source: str, placed: dict[tuple[int, int], Sample], client: str
) -> None:
    by_key = {s.key: pos for pos, s in placed.items()}
    landed: Counter[tuple[int, int]] = Counter()
    verdicts: dict[tuple[int, int], str | None] = {}
    for r in read_topic(bootstrap, f"{source}.valid", client=client):
        landed[by_key[r.key]] += 1
        verdicts[by_key[r.key]] = None
    for r in read_topic(bootstrap, f"{source}.quarantine", client=client):
        src = r.envelope["source"]
        assert src["topic"] == source
        pos = (src["partition"], src["offset"])
        landed[pos] += 1
        verdicts[pos] = r.envelope["reasons"][0]
        assert r.key == placed[pos].key and r.value == placed[pos].value  # original bytes
    missing = sorted(set(placed) - set(landed))
    assert not missing, f"every input offset appears; missing {len(missing)}: " + str(
        Counter(placed[p].expected for p in missing)
    )
    assert [pos for pos, n in landed.items() if n != 1] == [], "and appears exactly once"
    assert verdicts == {pos: s.expected for pos, s in placed.items()}


def test_every_input_offset_lands_exactly_once_across_sigterm_and_sigkill(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    _create(bootstrap, source)
    samples = list(sample_stream(1200, bad_share=0.3, seed=11, large_bytes=150_000))
    placed = _produce(bootstrap, source, samples)
    config = _config(tmp_path, kafka_client, bootstrap, source, unique("group"))

    # 1. Stop midway with SIGTERM: drains, commits and exits 0.
    first = GuardProcess(config, subprocess_env, "first")
    first.wait_for_commits(3)
    first.proc.send_signal(signal.SIGTERM)
    stopped = first.finish(timeout=60)
    assert stopped["stopped_by"] == "SIGTERM" and 0 < stopped["records"] < len(samples)  # type: ignore[operator]

    # 2. Crash midway with SIGKILL: the open transaction must never become visible.
    second = GuardProcess(config, subprocess_env, "second")
    second.wait_for_commits(3)
    second.kill()

    # 3. Run to the end.
    GuardProcess(config, subprocess_env, "third", "--idle-timeout", "5").finish()
    _assert_exactly_once(bootstrap, source, placed, kafka_client)


def test_records_of_aborted_upstream_transactions_are_never_checked_or_forwarded(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """An upstream exactly-once producer writes the source: its aborted records sit in the
    log between committed ones and must stay invisible to the guard."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    _create(bootstrap, source)
    samples = list(sample_stream(650, bad_share=0.3, seed=7, large_bytes=150_000))
    # 13 transactions of 50, every second one aborted; the log ends with a commit marker.
    placed, aborted = produce_in_transactions(bootstrap, source, samples, 50, abort_every=2)
    assert len(aborted) == 300 and len(placed) == 350
    config = _config(tmp_path, kafka_client, bootstrap, source, unique("group"))
    total = str(len(placed))
    done = GuardProcess(
        config, subprocess_env, "upstream", "--max-records", total, "--idle-timeout", "120"
    ).finish()
    assert done["records"] == len(placed), done

    aborted_keys = {s.key for s in aborted.values()}
    valid = read_topic(bootstrap, f"{source}.valid", client=kafka_client)
    quarantined = read_topic(bootstrap, f"{source}.quarantine", client=kafka_client)
    assert [r.key for r in valid if r.key in aborted_keys] == []
    sources = [
        (r.envelope["source"]["partition"], r.envelope["source"]["offset"]) for r in quarantined
    ]
    assert [pos for pos in sources if pos in aborted] == []
    _assert_exactly_once(bootstrap, source, placed, kafka_client)


def test_two_instances_in_one_group_share_the_work_exactly_once(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """The second instance joins mid-stream: the rebalance must neither lose nor repeat records."""
    bootstrap, source, group = kafka.bootstrap_servers, unique("orders"), unique("group")
    _create(bootstrap, source)
    samples = list(sample_stream(4000, bad_share=0.2, seed=5, large_bytes=150_000))
    placed = _produce(bootstrap, source, samples[:2000])
    config = _config(tmp_path, kafka_client, bootstrap, source, group, batch={"max_records": 10})
    a = GuardProcess(
        config, {**subprocess_env, "GUARD_KAFKA__INSTANCE_ID": "a"}, "a", "--idle-timeout", "12"
    )
    a.wait_for_commits(5)
    b = GuardProcess(
        config, {**subprocess_env, "GUARD_KAFKA__INSTANCE_ID": "b"}, "b", "--idle-timeout", "12"
    )
    # The second half goes in once b owns partitions: a fast `a` may have drained the first.
    wait_until_each_member_owns_partitions(bootstrap, group, members=2)
    placed |= _produce(bootstrap, source, samples[2000:])
    done_a, done_b = a.finish(), b.finish()
    assert done_b["records"], "the second instance took over partitions"
    assert done_a["records"] + done_b["records"] >= len(samples)  # type: ignore[operator]
    _assert_exactly_once(bootstrap, source, placed, kafka_client)


def test_ten_megabyte_value_is_quarantined_intact_and_the_next_record_flows(
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str], tmp_path: Path
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    _create(bootstrap, source, partitions=1)
    huge = b'{"order_id": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    good = next(s for s in sample_stream(50) if s.expected is None)
    _produce(bootstrap, source, [Sample(b"huge", huge, [], "too_large"), good], partitions=1)
    settings = load_settings(
        _config(tmp_path, kafka_client, bootstrap, source, unique("group"), limits={})
    )
    summary = build_service(settings, load_registry(SCHEMAS)).run(max_records=2)
    assert (summary.stats.valid, summary.stats.quarantined) == (1, 1)
    [q] = _read_once_settled(bootstrap, f"{source}.quarantine", kafka_client, 1)
    assert q.key == b"huge" and q.value == huge and q.envelope["reasons"] == ["too_large"]
    valid = _read_once_settled(bootstrap, f"{source}.valid", kafka_client, 1)
    assert [r.key for r in valid] == [good.key]


def _read_once_settled(bootstrap: str, topic: str, client: str, n: int) -> list[ReadRecord]:
    """`read_topic` once `n` records are readable: a commit is acknowledged before the broker
    has written its markers, so a read right after it may still end before the records (the
    last stable offset moves when the markers land; seen in CI with the 10 MB record)."""
    deadline = time.monotonic() + 60
    while len(records := read_topic(bootstrap, topic, client=client)) < n:
        assert time.monotonic() < deadline, f"{topic}: {len(records)} of {n} records readable"
        time.sleep(0.2)
    return records
