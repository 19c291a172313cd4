"""Replay on the real broker: after a contract release, exactly the records that now pass reach
the clean topic, exactly once, across a crash mid-replay and repeated replays."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaProducer

from guard.config import KafkaSettings, load_settings
from guard.contracts import load_registry
from guard.demo.samples import good_order
from guard.localbroker import LocalKafka
from guard.quarantine.sources import RUN_KEY, state_topic_for
from guard.service import build_service
from guard.transport.factory import ensure_topics
from guard.verify import ReadRecord, read_topic
from tests.fixtures.paths import SCHEMAS

pytestmark = pytest.mark.integration
PARTITIONS = 2


def _mix(n: int) -> list[tuple[bytes, bytes, str]]:
    """(key, value, group): v1-valid, needs v2 (a v2 field / a v2 currency), or broken for good."""
    rng = random.Random(42)
    out = []
    for i in range(n):
        order = good_order(rng, version=1)
        group = ("v1", "new_field", "new_currency", "broken")[i % 4]
        if group == "new_field":
            order["channel"] = "app"  # unknown to v1 (reject); declared by v2
        elif group == "new_currency":
            order["currency"] = "CHF"  # not in v1's enum; in v2's
        elif group == "broken":
            order["amount"] = "12.50"  # wrong type in every version
        out.append((f"k{i:05d}".encode(), json.dumps(order).encode(), group))
    return out


def _guard_config(
    tmp_path: Path, client: str, bootstrap: str, source: str, group: str, schemas: Path
) -> Path:
    path = tmp_path / "guard.yaml"
    path.write_text(
        json.dumps(
            {
                "kafka": {
                    "client": client,
                    "bootstrap_servers": bootstrap,
                    "group_id": group,
                    "request_timeout_ms": 15000,
                },
                "schemas_dir": str(schemas),
                "batch": {"max_records": 200},
                "topics": {source: {"subject": "orders"}},
            }
        )
    )
    return path


def _replay(config: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "guard", "replay", "--config", str(config), "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def _guard(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "guard", *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    [report] = json.loads(out)
    return report  # type: ignore[no-any-return]


def _handled(bootstrap: str, state_topic: str) -> int:
    """Quarantined copies the replay state marks as handled (not the run marker)."""
    return len({r.key for r in read_topic(bootstrap, state_topic)} - {RUN_KEY.encode()})


def _requeued(quarantine: list[ReadRecord]) -> Counter[tuple[bytes | None, int]]:
    """(key, attempt) of every copy a replay wrote back to the quarantine."""
    return Counter((r.key, r.envelope["attempt"]) for r in quarantine if r.envelope["attempt"] > 1)


def _replayed(clean: list[ReadRecord]) -> Counter[bytes]:
    return Counter(
        r.key for r in clean if any(k == "guard.replay.id" for k, _ in r.headers) and r.key
    )


@pytest.fixture
def quarantined_mix(  # type: ignore[no-untyped-def]
    kafka: LocalKafka, kafka_client: str, unique: Callable[[str], str], tmp_path: Path
):
    """A source topic run through the guard with contract v1 only: 3/4 of it quarantined."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    schemas = tmp_path / "schemas"
    (schemas / "orders").mkdir(parents=True)
    shutil.copy(SCHEMAS / "orders" / "v1.yaml", schemas / "orders" / "v1.yaml")
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {source: PARTITIONS})
    mix = _mix(1200)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i, (key, value, _) in enumerate(mix):
        producer.send(source, key=key, value=value, partition=i % PARTITIONS)
    producer.flush(timeout=60)
    producer.close(timeout=10)
    config = _guard_config(tmp_path, kafka_client, bootstrap, source, unique("group"), schemas)
    settings = load_settings(config)
    summary = build_service(settings, load_registry(schemas)).run(max_records=len(mix))
    assert summary.stats.valid == 300 and summary.stats.quarantined == 900
    # The fix: release v2, which accepts the new field and the new currency.
    shutil.copy(SCHEMAS / "orders" / "v2.yaml", schemas / "orders" / "v2.yaml")
    return bootstrap, source, config, {key: group for key, _, group in mix}


def test_replay_after_a_contract_release_is_exactly_once_across_a_crash_and_reruns(
    quarantined_mix,
    kafka_client: str,
    subprocess_env: dict[str, str],  # type: ignore[no-untyped-def]
) -> None:
    bootstrap, source, config, groups = quarantined_mix
    should_pass = {k for k, g in groups.items() if g in ("new_field", "new_currency")}

    stats = _guard(subprocess_env, "quarantine", "stats", "--config", str(config), "--json")
    assert json.loads(stats)[f"{source}.quarantine"]["by_reason"] == {
        "unknown_field": 300,
        "not_in_enum": 300,
        "wrong_type": 300,
    }
    shown = [
        json.loads(line)
        for line in _guard(
            subprocess_env, "quarantine", "show", "--config", str(config), "--limit", "3"
        ).splitlines()
    ]
    assert len(shown) == 3 and all("value" not in r and r["key"] == "<hidden>" for r in shown)

    dry = _finish(_replay(config, subprocess_env, "--dry-run"))
    assert (dry["passed"], dry["still_failing"]) == (600, 300)
    assert dry["still_failing_by_reason"] == {"wrong_type": 300}
    assert _replayed(read_topic(bootstrap, f"{source}.valid", client=kafka_client)) == Counter(), (
        "a dry run writes nothing"
    )

    # Kill a real replay midway (small batches make it take a while), then run it again.
    crashed = _replay(config, subprocess_env, "--yes", "--batch", "5")
    state_topic = state_topic_for(f"{source}.quarantine")
    deadline = time.monotonic() + 120
    # Killed once it has requeued some still-failing records (they sit in one partition). It
    # is frozen while each look reads the topic, so it cannot finish between the look that
    # finds them and the kill (a fast replay once did, between two looks 0.2 s apart).
    while True:
        crashed.send_signal(signal.SIGSTOP)
        assert crashed.poll() is None, "replay finished before it could be interrupted"
        if _requeued(read_topic(bootstrap, f"{source}.quarantine")):
            break
        assert time.monotonic() < deadline
        crashed.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    crashed.kill()
    crashed.wait(timeout=30)
    handled_before_rerun = _handled(bootstrap, state_topic)
    assert 0 < handled_before_rerun < 900, "the kill landed midway"
    requeued_by_the_crash = _requeued(read_topic(bootstrap, f"{source}.quarantine"))
    assert requeued_by_the_crash, "the crashed run requeued some still-failing records"

    rerun = _finish(_replay(config, subprocess_env, "--yes"))
    assert rerun["skipped"]["already_handled"] == handled_before_rerun  # type: ignore[index]
    clean = read_topic(bootstrap, f"{source}.valid", client=kafka_client)
    assert _replayed(clean) == Counter({k: 1 for k in should_pass}), (
        "exactly the passing ones, once"
    )
    broken = {k for k, g in groups.items() if g == "broken"}
    assert _requeued(read_topic(bootstrap, f"{source}.quarantine")) == Counter(
        {(k, 2): 1 for k in broken}
    ), "the crash and the rerun requeued each still-failing record once, at attempt 2"

    again = _finish(_replay(config, subprocess_env, "--yes"))
    assert again["passed"] == 0
    assert len(read_topic(bootstrap, f"{source}.valid", client=kafka_client)) == len(clean), (
        "nothing new appears"
    )

    # Replayed records carry the original key/value and point back at both copies.
    sample = next(r for r in clean if r.key in should_pass)
    headers = dict(sample.headers)
    assert headers["guard.source.topic"] == source.encode()
    assert headers["guard.replay.quarantine.topic"] == f"{source}.quarantine".encode()
    assert sample.partition == int(headers["guard.source.partition"])


def test_still_failing_records_are_requeued_with_new_errors_until_the_loop_guard(
    quarantined_mix,
    kafka_client: str,
    subprocess_env: dict[str, str],  # type: ignore[no-untyped-def]
) -> None:
    bootstrap, source, config, groups = quarantined_mix
    _finish(_replay(config, subprocess_env, "--yes", "--reason", "wrong_type"))
    quarantine = read_topic(bootstrap, f"{source}.quarantine", client=kafka_client)
    requeued = [r for r in quarantine if r.envelope["attempt"] == 2]
    assert len(requeued) == 300 and {groups[r.key] for r in requeued} == {"broken"}  # type: ignore[index]
    assert all(r.envelope["versions_tried"] == [2] for r in requeued), "re-checked against v2"
    for attempt in (3, 4):  # replayed twice, three times
        again = _finish(_replay(config, subprocess_env, "--yes", "--reason", "wrong_type"))
        assert again["still_failing"] == 300, f"attempt {attempt - 1} -> {attempt}"
    guarded = _finish(_replay(config, subprocess_env, "--yes", "--reason", "wrong_type"))
    assert (guarded["still_failing"], guarded["skipped"]["loop_guard"]) == (0, 300)  # type: ignore[index]
    # The filter kept the other 600 untouched: a later replay still finds them.
    rest = _finish(_replay(config, subprocess_env, "--yes"))
    assert rest["passed"] == 600


def test_to_source_sends_passing_records_back_through_the_live_guard(
    quarantined_mix,
    kafka_client: str,
    subprocess_env: dict[str, str],  # type: ignore[no-untyped-def]
) -> None:
    bootstrap, source, config, groups = quarantined_mix
    # With a key, replay signs the lineage it sends back, so the live guard keeps it.
    keyed = json.loads(config.read_text())
    config.write_text(json.dumps({**keyed, "quarantine": {"hmac_key": "replay-signing-key"}}))
    report = _finish(
        _replay(config, subprocess_env, "--yes", "--to-source", "--reason", "not_in_enum")
    )
    assert report["passed"] == 300
    settings = load_settings(config)
    registry = load_registry(settings.schemas_dir)
    summary = build_service(settings, registry).run(max_records=300)
    assert (summary.stats.valid, summary.stats.quarantined) == (300, 0)
    back = _replayed(read_topic(bootstrap, f"{source}.valid", client=kafka_client))
    assert {groups[k] for k in back} == {"new_currency"} and sum(back.values()) == 300


def _delete_topic(bootstrap: str, topic: str) -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        admin.delete_topics([topic], timeout_ms=15000)
        deadline = time.monotonic() + 60
        while topic in admin.list_topics():  # deletion completes in the background
            assert time.monotonic() < deadline, f"{topic} still listed"
            time.sleep(0.2)
    finally:
        admin.close()


def test_a_quarantine_topic_created_again_is_not_read_against_its_old_replay_state(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """The state keys copies by `<partition>/<offset>`: a quarantine topic deleted and created
    again (by the guard itself, say) restarts its offsets, and its new copies would pass for
    handled ones and never be replayed. The replay names the stale state instead (exit 2);
    with it deleted, the new copies are replayed."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    schemas = tmp_path / "schemas"
    (schemas / "orders").mkdir(parents=True)
    shutil.copy(SCHEMAS / "orders" / "v1.yaml", schemas / "orders" / "v1.yaml")
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), {source: 1})
    config = _guard_config(tmp_path, kafka_client, bootstrap, source, unique("group"), schemas)
    rng = random.Random(7)

    def quarantine(keys: list[bytes]) -> None:  # CHF: v1 refuses it, v2 takes it
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        for key in keys:
            order = {**good_order(rng, version=1), "currency": "CHF"}
            producer.send(source, key=key, value=json.dumps(order).encode(), partition=0)
        producer.flush(timeout=60)
        producer.close(timeout=10)
        summary = build_service(load_settings(config), load_registry(schemas)).run(
            max_records=len(keys)
        )
        assert summary.stats.quarantined == len(keys)

    old = [b"old%d" % i for i in range(4)]
    quarantine(old)
    shutil.copy(SCHEMAS / "orders" / "v2.yaml", schemas / "orders" / "v2.yaml")  # the fix
    assert _finish(_replay(config, subprocess_env, "--yes"))["passed"] == 4

    _delete_topic(bootstrap, f"{source}.quarantine")
    shutil.move(schemas / "orders" / "v2.yaml", tmp_path / "v2.yaml")  # v1 only again
    new = [b"new%d" % i for i in range(3)]
    quarantine(new)  # the guard creates the quarantine topic again: offsets 0-2
    shutil.move(tmp_path / "v2.yaml", schemas / "orders" / "v2.yaml")

    refused = _replay(config, subprocess_env, "--yes")
    _, err = refused.communicate(timeout=300)
    state_topic = state_topic_for(f"{source}.quarantine")
    assert refused.returncode == 2, err[-2000:]
    assert state_topic in err and "created again" in err

    _delete_topic(bootstrap, state_topic)
    assert _finish(_replay(config, subprocess_env, "--yes"))["passed"] == 3
    clean = read_topic(bootstrap, f"{source}.valid", client=kafka_client)
    assert sorted(r.key for r in clean) == sorted(old + new)
