"""Records too large for their target: quarantined, or written envelope-only, never dropped,
by the router in the one pass that builds them."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace

from guard.config.settings import GuardSettings
from guard.contracts import load_registry
from guard.demo.samples import good_order
from guard.quarantine.envelope import read_envelope
from guard.routing.fit import H_OMITTED, envelope_only, record_size
from guard.routing.router import Router
from guard.service.runner import build_router, build_validators
from guard.transport.base import InRecord, OutRecord
from tests.fixtures.paths import SCHEMAS

GOOD = json.dumps(good_order(random.Random(1))).encode()


def _router(valid: int = 10_000, quarantine: int = 10_000) -> Router:
    """A router whose targets accept records up to `valid` / `quarantine` bytes."""
    settings = GuardSettings(topics={"orders": {"subject": "orders"}})  # type: ignore[arg-type]
    router = build_router(settings, build_validators(settings, load_registry(SCHEMAS)))
    plan = router.plans["orders"]
    router.update_plans({"orders": replace(plan, valid_limit=valid, quarantine_limit=quarantine)})
    return router


def _rec(
    value: bytes, offset: int = 0, headers: list[tuple[str, bytes | None]] | None = None
) -> InRecord:
    return InRecord(
        "orders", 2, offset, 1_700_000_000_000, b"k", value, headers or [("trace", b"t1")]
    )


def test_records_that_fit_pass_unchanged() -> None:
    records = [_rec(GOOD), _rec(b"not json", 1)]
    fitted = _router().route(records)
    unlimited = _router(2**31, 2**31).route(records)
    assert [(r.topic, r.key, r.value) for r in fitted.records] == [
        (r.topic, r.key, r.value) for r in unlimited.records
    ]
    assert fitted.oversize == [] and fitted.records[0].value == GOOD


def test_a_valid_record_too_large_for_the_clean_topic_is_quarantined_intact() -> None:
    assert _router().route([_rec(GOOD)]).stats.valid == 1
    fitted = _router(100, 10_000).route([_rec(GOOD)])
    [change] = fitted.oversize
    [out] = fitted.records
    assert out.topic == "orders.quarantine" and out.key == b"k" and out.value == GOOD
    env = read_envelope(out.headers)
    assert env["reasons"] == ["too_large_for_target"]
    assert env["source"]["partition"] == 2 and env["source"]["offset"] == 0
    assert ("trace", b"t1") in out.headers
    assert (fitted.stats.valid, fitted.stats.quarantined) == (0, 1)
    assert fitted.stats.by_reason["too_large_for_target"] == 1
    assert not fitted.verdicts[0][1].ok
    assert change.action == "quarantined" and change.target == "orders.valid"


def test_a_quarantine_copy_too_large_is_written_envelope_only_with_size_and_digest() -> None:
    big = b"x" * 5000  # not JSON
    fitted = _router(10_000, 3000).route([_rec(big, 7)])
    [change] = fitted.oversize
    [out] = fitted.records
    headers = dict(out.headers)
    assert out.topic == "orders.quarantine" and out.value == b"" and out.key == b"k"
    assert headers[H_OMITTED] == b"value"
    assert headers[f"{H_OMITTED}.value.size"] == b"5000"
    assert headers[f"{H_OMITTED}.value.sha256"] == hashlib.sha256(big).hexdigest().encode()
    env = read_envelope(out.headers)
    assert env["reasons"] == ["not_json"] and env["source"]["offset"] == 7
    assert record_size(out) <= 3000
    assert change.action == "envelope-only" and change.omitted == ("value",)


def test_a_valid_record_too_large_for_both_targets_ends_envelope_only_in_quarantine() -> None:
    fitted = _router(100, len(GOOD) + 100).route([_rec(GOOD)])
    [out] = fitted.records
    assert out.topic == "orders.quarantine" and out.value == b""
    assert read_envelope(out.headers)["reasons"] == ["too_large_for_target"]
    assert [c.action for c in fitted.oversize] == ["quarantined", "envelope-only"]


def test_original_headers_then_the_key_are_left_out_when_the_value_alone_is_not_enough() -> None:
    out = OutRecord("q", b"k" * 400, b"v" * 1000, [("h", b"x" * 2000), ("guard.reasons", b"r")])
    shrunk, omitted = envelope_only(out, 700)
    assert omitted == ("value", "headers", "key")
    assert shrunk.key is None and shrunk.value == b""
    names = [k for k, _ in shrunk.headers]
    assert "h" not in names and "guard.reasons" in names
    assert dict(shrunk.headers)[f"{H_OMITTED}.key.size"] == b"400"


def test_under_connect_headers_an_envelope_only_copy_keeps_its_source_coordinates() -> None:
    """Under `header_style: connect` the coordinates travel only as `__connect.errors.*`,
    part of the envelope: leaving out the original headers keeps them (before: they went
    with the producer's headers, and the copy named no source topic, partition or offset
    to fetch the original from)."""
    settings = GuardSettings(
        topics={"orders": {"subject": "orders"}},  # type: ignore[arg-type]
        quarantine={"header_style": "connect"},  # type: ignore[arg-type]
    )
    router = build_router(settings, build_validators(settings, load_registry(SCHEMAS)))
    plan = router.plans["orders"]
    router.update_plans({"orders": replace(plan, quarantine_limit=4000)})
    mine = [(f"trace{i}", b"x" * 1000) for i in range(6)]
    [out] = router.route([_rec(b"not json", 7, mine)]).records
    headers = dict(out.headers)
    assert headers[H_OMITTED] == b"value,headers"
    assert not any(k.startswith("trace") for k in headers)
    assert headers["__connect.errors.topic"] == b"orders"
    env = read_envelope(out.headers)
    assert (env["source"]["topic"], env["source"]["partition"], env["source"]["offset"]) == (
        "orders",
        2,
        7,
    )
    digest = hashlib.sha256(b"".join(k.encode() + v for k, v in mine)).hexdigest()
    assert headers[f"{H_OMITTED}.headers.sha256"] == digest.encode()
    assert record_size(out) <= 4000
