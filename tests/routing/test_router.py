"""Router: routing decisions per record, with no broker."""

from __future__ import annotations

import dataclasses
import json

import pytest

from guard.contracts import load_registry
from guard.quarantine.envelope import read_envelope
from guard.quarantine.trust import H_SIGNATURE, EnvelopeTrust, sign
from guard.routing import RoutePlan, Router, merge_routed
from guard.routing.router import mirror_partition
from guard.transport.base import InRecord
from guard.validation import RecordValidator
from tests.fixtures.paths import SCHEMAS

GOOD = {
    "order_id": "6f1c7c4e-2b1a-4c8e-9d3a-1b2c3d4e5f60",
    "customer_email": "a@example.com",
    "amount": 3.5,
    "currency": "EUR",
    "quantity": 2,
    "created_at": "2026-01-01T00:00:00Z",
}


def _router(tombstones: str = "quarantine", partitions: int | None = 3) -> Router:
    validator = RecordValidator(load_registry(SCHEMAS).subject("orders"), "all")
    plan = RoutePlan(
        "orders", validator, "orders.valid", "orders.quarantine", partitions, partitions
    )
    return Router({"orders": plan}, "schema-version", tombstones)  # type: ignore[arg-type]


def _rec(value: bytes | None, offset: int = 0, partition: int = 1, headers=None) -> InRecord:
    return InRecord(
        "orders",
        partition,
        offset,
        1_700_000_000_000 + offset,
        b"k%d" % offset,
        value,
        headers or [("trace", b"t1")],
    )


def test_valid_record_keeps_key_value_headers_timestamp_and_partition() -> None:
    value = json.dumps(GOOD).encode()
    routed = _router().route([_rec(value, offset=7)])
    [out] = routed.records
    assert (out.topic, out.key, out.value, out.headers, out.timestamp_ms, out.partition) == (
        "orders.valid",
        b"k7",
        value,
        [("trace", b"t1")],
        1_700_000_000_007,
        1,
    )


def test_quarantined_record_keeps_original_bytes_and_adds_envelope() -> None:
    value = b'{"order_id": 1, "amount": "x"}'
    routed = _router().route([_rec(value, offset=3)])
    [out] = routed.records
    assert out.topic == "orders.quarantine"
    assert (out.key, out.value, out.timestamp_ms, out.partition) == (
        b"k3",
        value,
        1_700_000_000_003,
        1,
    )
    assert out.headers[0] == ("trace", b"t1")
    env = read_envelope(out.headers)
    assert env["source"] == {
        "topic": "orders",
        "partition": 1,
        "offset": 3,
        "timestamp_ms": 1_700_000_000_003,
        "file": None,
        "line": None,
    }
    assert "wrong_type" in env["reasons"] and env["attempt"] == 1


def test_offsets_are_next_offset_per_partition() -> None:
    good = json.dumps(GOOD).encode()
    batch = [_rec(good, 4, 0), _rec(b"x", 5, 0), _rec(good, 9, 2)]
    assert _router().route(batch).offsets == {("orders", 0): 6, ("orders", 2): 10}


def test_partition_is_left_to_the_producer_when_target_has_fewer_partitions() -> None:
    routed = _router(partitions=1).route([_rec(json.dumps(GOOD).encode(), partition=2)])
    assert routed.records[0].partition is None


@pytest.mark.parametrize(
    ("policy", "topic"), [("quarantine", "orders.quarantine"), ("forward", "orders.valid")]
)
def test_tombstone_policy_decides_where_null_values_go(policy: str, topic: str) -> None:
    routed = _router(tombstones=policy).route([_rec(None)])
    assert routed.records[0].topic == topic
    assert routed.records[0].value is None


def test_stats_count_verdicts_and_reasons() -> None:
    good = json.dumps(GOOD).encode()
    stats = _router().route([_rec(good), _rec(b""), _rec(b"nope"), _rec(good)]).stats
    assert (stats.valid, stats.quarantined) == (2, 2)
    assert stats.by_reason == {"empty_value": 1, "not_json": 1}


def test_forged_guard_headers_reach_the_clean_topic_only_renamed() -> None:
    headers = [("guard.attempt", b"99"), ("guard.null.value", b"1"), ("trace", None)]
    [out] = _router().route([_rec(json.dumps(GOOD).encode(), headers=headers)]).records
    assert out.topic == "orders.valid"
    assert out.headers == [
        ("guard.untrusted.attempt", b"99"),
        ("guard.untrusted.null.value", b"1"),
        ("trace", None),
    ]


@pytest.mark.parametrize("forged", [b"99", b"-1000000"])
def test_a_forged_attempt_does_not_feed_the_loop_guard(forged: bytes) -> None:
    [out] = _router().route([_rec(b"{", headers=[("guard.attempt", forged)])]).records
    env = read_envelope(out.headers)
    assert env["attempt"] == 1
    assert ("guard.untrusted.attempt", forged) in out.headers


def test_a_signed_replay_record_counts_its_attempts_on() -> None:
    lineage = [("guard.source.topic", b"orders"), ("guard.attempt", b"2")]
    headers = [*lineage, (H_SIGNATURE, sign(b"key", b"k0", b"{", lineage))]
    router = _router()
    router.trust = EnvelopeTrust(b"key")
    [out] = router.route([_rec(b"{", headers=headers)]).records
    assert read_envelope(out.headers)["attempt"] == 3
    assert not any(n.startswith("guard.untrusted.") for n, _ in out.headers)


def test_a_record_with_a_malformed_header_key_is_quarantined_whatever_its_value() -> None:
    bad = b"\xfe".decode("utf-8", "surrogateescape")
    rec = InRecord(
        "orders",
        0,
        4,
        1,
        b"k",
        json.dumps(GOOD).encode(),
        [("a", b"1"), (bad, b"x")],
        header_error="header key is not valid UTF-8 (header 1)",
    )
    routed = _router().route([rec])
    [out] = routed.records
    assert out.topic == "orders.quarantine" and out.value == rec.value
    assert read_envelope(out.headers)["reasons"] == ["malformed_header"]
    assert out.headers[:3] == [
        ("a", b"1"),
        ("guard.malformed.header.1.key", b"\xfe"),
        ("guard.malformed.header.1.value", b"x"),
    ]
    assert routed.stats.by_reason == {"malformed_header": 1}
    assert not routed.verdicts[0][1].ok


def test_a_record_whose_headers_could_not_be_read_at_all_is_quarantined() -> None:
    """A client that cannot read any header (confluent's headers() raising) gives no headers."""
    rec = InRecord("orders", 0, 4, 1, b"k", b"{}", [], header_error="headers unreadable")
    [out] = _router().route([rec]).records
    env = read_envelope(out.headers)
    assert out.topic == "orders.quarantine" and env["reasons"][0] == "malformed_header"
    assert env["errors"][0]["message"] == "headers unreadable"


def test_connect_header_style_names_the_instance_as_the_task() -> None:
    from guard.contracts import load_registry
    from guard.routing.router import RoutePlan, Router
    from guard.transport.base import InRecord
    from guard.validation.validator import RecordValidator
    from tests.fixtures.paths import SCHEMAS

    validator = RecordValidator(load_registry(SCHEMAS).subject("orders"))
    plan = RoutePlan("src", validator, "src.valid", "src.quarantine")
    router = Router({"src": plan}, "schema-version", header_style="connect", task_id="guard-7")
    routed = router.route([InRecord("src", 0, 5, 0, b"k", b"not json", [])])
    (out,) = routed.records
    headers = dict(out.headers)
    assert headers["__connect.errors.task.id"] == b"guard-7"
    assert headers["__connect.errors.offset"] == b"5"
    assert "guard.source.offset" not in headers


@pytest.mark.parametrize("style", ["connect", "both"])
def test_connect_header_styles_keep_a_producers_own_connect_error_headers(style: str) -> None:
    """A record from an upstream Connect dead-letter queue carries `__connect.errors.*`
    headers of its own: they are its data, kept in front of the guard's envelope, whose values
    are the ones read back (the last of each name)."""
    validator = RecordValidator(load_registry(SCHEMAS).subject("orders"))
    plan = RoutePlan("src", validator, "src.valid", "src.quarantine")
    router = Router({"src": plan}, "schema-version", header_style=style)  # type: ignore[arg-type]
    upstream = [("__connect.errors.topic", b"upstream-dlq"), ("w", b"1")]
    [out] = router.route([InRecord("src", 0, 5, 0, b"k", b"not json", upstream)]).records
    assert list(out.headers[:2]) == upstream
    envelope = read_envelope(out.headers)
    assert (envelope["source"]["topic"], envelope["source"]["offset"]) == ("src", 5)


def test_slices_of_a_batch_merge_into_the_batch_routed_whole() -> None:
    batch = [_rec(json.dumps(GOOD).encode() if i % 3 else b"{bad", offset=i) for i in range(7)]
    whole = _router().route(batch)
    merged = merge_routed([_router().route(batch[:3]), _router().route(batch[3:])])
    assert [r.key for r in merged.records] == [r.key for r in whole.records]
    assert merged.offsets == whole.offsets == {("orders", 1): 7}
    assert (merged.stats.valid, merged.stats.quarantined) == (whole.stats.valid, 3)
    assert merged.stats.by_reason == whole.stats.by_reason
    assert [rec.offset for rec, _ in merged.verdicts] == list(range(7))


@pytest.mark.parametrize(
    "versions", [[b"9", b"2"], [b"2", b"2"], [b"1", b"v2", b"V2"], [None, b"2"]]
)
def test_two_or_more_version_headers_are_quarantined_as_ambiguous(
    versions: list[bytes | None],
) -> None:
    """Whatever their values (equal ones too): a reader taking the first and one taking the
    last could judge the record by different contracts."""
    headers = [("schema-version", v) for v in versions]
    [out] = _router().route([_rec(json.dumps(GOOD).encode(), headers=headers)]).records
    assert out.topic == "orders.quarantine"
    env = read_envelope(out.headers)
    assert env["reasons"] == ["ambiguous_version"]
    assert env["versions_tried"] == []
    assert [(n, v) for n, v in out.headers if n == "schema-version"] == headers


def test_one_version_header_is_not_ambiguous() -> None:
    headers = [("schema-version", b"2"), ("trace", b"t")]
    [out] = _router().route([_rec(json.dumps(GOOD).encode(), headers=headers)]).records
    assert out.topic == "orders.valid"


def test_a_re_sent_signed_replay_record_is_not_a_new_trusted_attempt() -> None:
    lineage = [
        ("guard.attempt", b"2"),
        ("guard.replay.id", b"r1"),
        ("guard.replay.quarantine.offset", b"7"),
    ]
    headers = [*lineage, (H_SIGNATURE, sign(b"key", b"k0", b"{", lineage))]
    router = _router()
    router.trust = EnvelopeTrust(b"key")
    first = _rec(b"{", offset=0, headers=headers)
    resent = dataclasses.replace(first, offset=9)  # the same record, verbatim, re-sent
    [again] = router.route([first]).records  # the same offset again: a retried batch
    [out_first] = router.route([first]).records
    [out_resent] = router.route([resent]).records
    assert read_envelope(again.headers)["attempt"] == 3
    assert read_envelope(out_first.headers)["attempt"] == 3
    assert read_envelope(out_resent.headers)["attempt"] == 1
    assert ("guard.untrusted.replay.id", b"r1") in out_resent.headers


@pytest.mark.parametrize(
    ("partition", "count", "expected"), [(2, 3, 2), (3, 3, None), (0, None, None), (-1, 3, None)]
)
def test_mirror_partition_names_a_target_partition_only_when_it_exists(
    partition: int, count: int | None, expected: int | None
) -> None:
    assert mirror_partition(partition, count) == expected
