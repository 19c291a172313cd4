"""What every fault scenario shares: sizes, a mixed input stream with a verdict per record, a
config, and an audit that reads the outputs back with its own read_committed reader.

Sizes are small by default (CI, minutes); `GUARD_FAULTS_FULL=1` runs the full sizes behind the
figures in docs/reliability.md, and `GUARD_FAULTS_FIGURES=<file>` appends each scenario's
figures there as one JSON line.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from guard.config import KafkaSettings
from guard.demo.samples import good_order
from guard.transport.factory import ensure_topics
from guard.verify import read_topic
from tests.fixtures.configs import guard_config
from tests.fixtures.configs import write_config as write_guard_config
from tests.fixtures.guard_process import GuardProcess

FULL = os.environ.get("GUARD_FAULTS_FULL") == "1"
# Every scenario: a broker test of the fault suite, with room for the full sizes.
MARKS = [
    pytest.mark.integration,
    pytest.mark.faults,
    pytest.mark.timeout(7200 if FULL else 900),
]
CATCH_UP_S = 3600 if FULL else 300


@dataclass(frozen=True)
class Sizes:
    records: int  # input records of the kill scenarios
    kills: int  # random SIGKILLs during the mixed stream
    tx_kills: int  # SIGKILLs that must land inside an open transaction
    outage_s: float  # how long the broker stays down
    fuzz_cases: int  # hostile records through file mode, and through the service


SIZES = (
    Sizes(records=500_000, kills=20, tx_kills=10, outage_s=20.0, fuzz_cases=100_000)
    if FULL
    else Sizes(records=12_000, kills=2, tx_kills=1, outage_s=8.0, fuzz_cases=2_000)
)
PARTITIONS = 3
MAX_BYTES = 4_096  # limits.max_bytes in the scenarios' config: the too_large records pass it


def digest(value: bytes | None) -> bytes | None:
    return None if value is None else hashlib.blake2b(value, digest_size=8).digest()


# -- the input: unique keys, and the verdict each record must get ------------------------------


def _bad(rng: random.Random, kind: str) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    order = good_order(rng)
    enc = json.dumps(order, separators=(",", ":")).encode()
    if kind == "not_json":
        return b"order_id=42&amount=3", []
    if kind == "not_utf8":
        return b'{"order_id": "\xff\xfe"}', []
    if kind == "empty_value":
        return b"", []
    if kind == "null_value":
        return None, []
    if kind == "too_large":
        return json.dumps({**order, "note": "x" * MAX_BYTES}).encode(), []
    if kind == "too_deep":
        return b'{"a":' * 100 + b"1" + b"}" * 100, []
    if kind == "not_finite":
        return enc[:-1] + b',"score":NaN}', []
    if kind == "duplicate_key":
        return enc[:-1] + b',"amount":1}', []
    if kind == "wrong_type":
        return json.dumps({**order, "amount": "12.50"}).encode(), []
    if kind == "missing_field":
        del order["customer_email"]
        return json.dumps(order).encode(), []
    if kind == "unknown_version":
        return enc, [("schema-version", b"v9")]
    if kind == "not_in_enum":
        return json.dumps({**order, "currency": "JPY"}).encode(), []
    raise ValueError(kind)


BAD_KINDS = (
    "not_json",
    "not_utf8",
    "empty_value",
    "null_value",
    "too_large",
    "too_deep",
    "not_finite",
    "duplicate_key",
    "wrong_type",
    "missing_field",
    "unknown_version",
    "not_in_enum",
)


@dataclass(frozen=True)
class Input:
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]]
    expected: str | None  # the first reason code, None for a valid record


def mixed_stream(n: int, seed: int, bad_share: float = 0.3) -> Iterator[Input]:
    """`n` records with unique keys; about `bad_share` malformed, cycling through every kind."""
    rng = random.Random(seed)
    for i in range(n):
        key = f"in-{seed}-{i:07d}".encode()
        if rng.random() < bad_share:
            kind = BAD_KINDS[i % len(BAD_KINDS)]
            value, headers = _bad(rng, kind)
            yield Input(key, value, headers, kind)
        else:
            version = rng.choice([1, 2])
            order = json.dumps(good_order(rng, version), separators=(",", ":")).encode()
            yield Input(key, order, [("schema-version", str(version).encode())], None)


def create_topic(bootstrap: str, topic: str, client: str, partitions: int = PARTITIONS) -> None:
    settings = KafkaSettings(client=client, bootstrap_servers=bootstrap)  # type: ignore[arg-type]
    ensure_topics(settings, {topic: partitions})


def produce(
    bootstrap: str, topic: str, records: Iterable[Input], partitions: int = PARTITIONS
) -> dict[bytes, str | None]:
    """Produce round-robin over partitions; the expected verdict by key."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        batch_size=256 * 1024,
        max_request_size=16 * 1024 * 1024,
    )
    expected: dict[bytes, str | None] = {}
    try:
        futures = []
        for i, rec in enumerate(records):
            futures.append(
                producer.send(
                    topic,
                    key=rec.key,
                    value=rec.value,
                    headers=rec.headers,
                    partition=i % partitions,
                )
            )
            expected[rec.key] = rec.expected
        producer.flush(timeout=300)
        for future in futures:  # flush waits for each send to end, not to succeed
            future.get(timeout=30)
    finally:
        producer.close(timeout=30)
    return expected


def write_config(
    tmp_path: Path, bootstrap: str, source: str, group: str, client: str, **extra: Any
) -> Path:
    """The fault suite's config; a dict in `extra` is merged into the section it names."""
    config = guard_config(
        bootstrap, source, group, client,
        kafka={"instance_id": "faults", "request_timeout_ms": 15000},
        limits={"max_bytes": MAX_BYTES},
        batch={"max_records": 200, "poll_timeout_ms": 200},
        log={"level": "DEBUG"},
        topics={source: {"subject": "orders", "accepted_versions": "all"}},
    )  # fmt: skip
    for key, value in extra.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return write_guard_config(tmp_path / f"guard-{group}.yaml", config)


class Scenario(NamedTuple):
    bootstrap: str
    source: str
    group: str
    expected: dict[bytes, str | None]  # key -> the first reason code (None: valid)
    config: Path


def mixed_scenario(
    bootstrap: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    client: str,
    seed: int,
    records: int | None = None,
    **config: Any,
) -> Scenario:
    """A source topic loaded with `mixed_stream(records or SIZES.records, seed)`, a fresh
    group, and the guard's config for them (`config` as for `write_config`): how every
    mixed-stream scenario starts."""
    source, group = unique("orders"), unique("group")
    create_topic(bootstrap, source, client)
    expected = produce(bootstrap, source, mixed_stream(records or SIZES.records, seed=seed))
    return Scenario(
        bootstrap,
        source,
        group,
        expected,
        write_config(tmp_path, bootstrap, source, group, client, **config),
    )


# -- progress and transactions, seen from outside the guard -------------------------------------


def group_lag(bootstrap: str, group: str, topic: str) -> int | None:
    """Records of `topic` the group has not committed yet (None before its first commit).
    The consumer only fetches the group's offsets: it never joins the group."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        isolation_level="read_committed",
        request_timeout_ms=15_000,
    )
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = consumer.end_offsets(tps)
        # Bounded: offsets held by an open (or hanging) transaction would be waited on for
        # ever, and the caller's own timeout and guard-exit check would never run.
        committed = {tp: consumer.committed(tp, timeout_ms=10_000) for tp in tps}
        if all(offset is None for offset in committed.values()):
            return None
        return sum(ends[tp] - (committed[tp] or 0) for tp in tps)
    finally:
        consumer.close(autocommit=False)


def wait_caught_up(
    bootstrap: str, group: str, topic: str, timeout: float, guard: GuardProcess | None = None
) -> float:
    """Block until the group has committed every record of `topic`; seconds it took. Fails
    at once when `guard` exits, with the end of its log (why it exited)."""
    started = time.monotonic()
    while True:
        if guard is not None and guard.proc.poll() is not None:
            raise AssertionError(
                f"the guard exited ({guard.proc.returncode}) before {group} caught up on "
                f"{topic}: {guard.log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if group_lag(bootstrap, group, topic) == 0:
                return time.monotonic() - started
        except (KafkaError, OSError):
            pass  # the broker is restarting: ask again
        if time.monotonic() - started > timeout:
            raise AssertionError(f"group {group} did not catch up on {topic} in {timeout:.0f}s")
        time.sleep(0.5)


class OpenTransactionProbe:
    """Counts the records written by transactions that are still open on `topics`: high
    watermark minus last stable offset, summed over their partitions. Its two consumers live
    as long as the probe, so it can be asked again and again while a guard runs."""

    def __init__(self, bootstrap: str, topics: Iterable[str]) -> None:
        self._topics = list(topics)
        self._uncommitted = KafkaConsumer(
            bootstrap_servers=bootstrap, isolation_level="read_uncommitted"
        )
        self._committed = KafkaConsumer(
            bootstrap_servers=bootstrap, isolation_level="read_committed"
        )

    def records(self) -> int:
        tps = [
            TopicPartition(t, p)
            for t in self._topics
            for p in self._uncommitted.partitions_for_topic(t) or ()
        ]
        high, stable = self._uncommitted.end_offsets(tps), self._committed.end_offsets(tps)
        return sum(high[tp] - stable[tp] for tp in tps)

    def wait_until_open(self, timeout_s: float) -> bool:
        """Ask until an open transaction holds records (the event a kill waits for)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.records() > 0:
                return True
        return False

    def close(self) -> None:
        self._uncommitted.close()
        self._committed.close()


def open_transaction_records(bootstrap: str, topics: Iterable[str]) -> int:
    """Records written by transactions that are still open on `topics`, asked once."""
    probe = OpenTransactionProbe(bootstrap, topics)
    try:
        return probe.records()
    finally:
        probe.close()


def scrape_counters(port: int, client: str) -> dict[str, float]:
    """The guard's outage counters for `client`, from its `/metrics` on `port`."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("client") == client and sample.name.endswith(
                ("_total", "_progress")
            ):
                key = sample.name + "".join(
                    f"{{{k}={v}}}" for k, v in sorted(sample.labels.items()) if k != "client"
                )
                out[key] = out.get(key, 0.0) + sample.value
    return out


# -- the audit ---------------------------------------------------------------------------------


@dataclass
class Audit:
    """Where every input offset landed, read back with read_committed."""

    inputs: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong_verdict: int = 0
    altered: int = 0  # a copy whose key, value or partition differs from its input
    lost_keys: list[bytes | None] = field(default_factory=list)
    by_verdict: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    @property
    def problems(self) -> dict[str, int]:
        found = {
            "lost": self.lost,
            "duplicated": self.duplicated,
            "wrong_verdict": self.wrong_verdict,
            "altered": self.altered,
        }
        return {k: v for k, v in found.items() if v}

    def note(self, text: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(text)


def audit(
    bootstrap: str,
    source: str,
    client: str,
    expected: dict[bytes, str | None] | None = None,
    valid_topic: str | None = None,
    quarantine_topic: str | None = None,
) -> Audit:
    """Every input offset of `source` must appear exactly once across the clean and quarantine
    topics: a clean copy (same key, value and partition; found by its unique key) or a
    quarantine copy (original key and value; found by its envelope's guard.source.*). With
    `expected`, each must also have the verdict the input was built to get."""
    read = lambda topic: read_topic(bootstrap, topic, 300.0, client)  # noqa: E731
    # A killed member's open transaction holds read_committed readers at its first offset
    # until the broker aborts it (transaction_timeout_ms, 60 s, plus its 10 s check): what
    # a downstream consumer sees then is what counts, so wait for it, then read.
    outputs = [valid_topic or f"{source}.valid", quarantine_topic or f"{source}.quarantine"]
    deadline = time.monotonic() + 120
    while open_transaction_records(bootstrap, outputs) and time.monotonic() < deadline:
        time.sleep(1)
    inputs = {(r.partition, r.offset): (r.key, digest(r.value)) for r in read(source)}
    by_key = {key: pos for pos, (key, _) in inputs.items()}
    landed: Counter[tuple[int, int]] = Counter()
    result = Audit(inputs=len(inputs))
    verdicts: dict[tuple[int, int], str | None] = {}
    for r in read(valid_topic or f"{source}.valid"):
        pos = by_key.get(r.key)  # type: ignore[arg-type]
        if pos is None:
            result.altered += 1
            result.note(f"clean record with unknown key {r.key!r}")
            continue
        landed[pos] += 1
        verdicts[pos] = None
        if digest(r.value) != inputs[pos][1] or r.partition != pos[0]:
            result.altered += 1
            result.note(f"clean copy of {pos} altered or moved to partition {r.partition}")
    for r in read(quarantine_topic or f"{source}.quarantine"):
        src = r.envelope.get("source", {})
        pos = (src.get("partition"), src.get("offset"))
        if src.get("topic") != source or pos not in inputs:
            result.altered += 1
            result.note(f"quarantine copy with source {src}")
            continue
        landed[pos] += 1  # type: ignore[index]
        verdicts[pos] = (r.envelope.get("reasons") or ["?"])[0]  # type: ignore[index]
        if (r.key, digest(r.value)) != inputs[pos]:  # type: ignore[index]
            result.altered += 1
            result.note(f"quarantine copy of {pos} altered")
    result.lost_keys = [inputs[pos][0] for pos in inputs if landed[pos] == 0]
    result.lost = len(result.lost_keys)
    result.duplicated = sum(1 for n in landed.values() if n > 1)
    for pos, verdict in verdicts.items():
        result.by_verdict[verdict or "valid"] += 1
        if expected is not None and landed[pos] == 1:
            want = expected.get(inputs[pos][0])  # type: ignore[arg-type]
            if verdict != want:
                result.wrong_verdict += 1
                result.note(f"{pos}: got {verdict}, expected {want}")
    return result


# -- figures -----------------------------------------------------------------------------------


def record_figures(scenario: str, client: str, **figures: Any) -> None:
    """Print a scenario's figures, and append them to $GUARD_FAULTS_FIGURES when it is set."""
    line = {"scenario": scenario, "client": client, "full": FULL, **figures}
    for key, value in list(line.items()):
        if isinstance(value, Audit):
            line[key] = {
                "inputs": value.inputs,
                **{k: getattr(value, k) for k in ("lost", "duplicated", "wrong_verdict")},
                "altered": value.altered,
                "by_verdict": dict(value.by_verdict.most_common()),
            }
    text = json.dumps(line, default=str)
    print(f"FIGURES {text}")
    target = os.environ.get("GUARD_FAULTS_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
