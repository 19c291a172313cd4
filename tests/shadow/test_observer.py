"""The service's shadow observer, without a broker: routing untouched, counts staged with the
batch and applied only after its commit, one cumulative snapshot per candidate and batch."""

from __future__ import annotations

import json
from typing import Any

from prometheus_client import CollectorRegistry

from guard.config.settings import GuardSettings, Route
from guard.contracts import load_registry
from guard.routing import RoutePlan, Router
from guard.routing.fit import record_size
from guard.shadow.metrics import ShadowMetrics
from guard.shadow.observer import ShadowObserver
from guard.transport.base import InRecord, OutRecord, TimestampWindow
from guard.validation import RecordValidator
from tests.shadow.test_files import EXAMPLE, ROOT

LINES = (ROOT / "examples" / "data" / "orders-rules.jsonl").read_bytes().splitlines()


def _setup() -> tuple[ShadowObserver, Router, CollectorRegistry]:
    settings = GuardSettings(topics={"orders": Route(subject="orders")}, schemas_dir=EXAMPLE)
    registry = load_registry(EXAMPLE)
    metrics = CollectorRegistry()
    observer = ShadowObserver(settings, registry, ShadowMetrics(metrics))
    validator = RecordValidator(registry.subject("orders"), "latest")
    router = Router({"orders": RoutePlan("orders", validator, "o.valid", "o.q", 1, 1)}, "v")
    return observer, router, metrics


def _batch(start: int) -> list[InRecord]:
    return [
        InRecord("orders", 0, start + i, 1, b"k%d" % (start + i), line, [])
        for i, line in enumerate(LINES)
    ]


def test_candidates_never_change_routing_and_counts_follow_commits() -> None:
    observer, router, metrics = _setup()
    assert observer.active
    routed = router.route(_batch(0))
    assert routed.stats.valid == 4  # v2 enforces: all four pass
    [snapshot] = observer.before_commit(routed)
    assert snapshot.topic == "guard.shadow"
    value = json.loads(snapshot.value or b"")
    assert (value["version"], value["records"], value["would_quarantine"]) == (3, 4, 2)
    assert [s["offset"] for s in value["samples"]] == [1, 2]
    assert observer.totals == {}  # staged only
    observer.after_abort()  # the batch is polled again
    assert observer.totals == {}
    assert (
        metrics.get_sample_value(
            "guard_shadow_records_total",
            {"subject": "orders", "version": "3", "outcome": "would_quarantine"},
        )
        is None
    )

    observer.before_commit(router.route(_batch(0)))
    observer.after_commit()
    [snapshot] = observer.before_commit(router.route(_batch(4)))
    observer.after_commit()
    value = json.loads(snapshot.value or b"")
    assert (value["records"], value["would_quarantine"]) == (8, 4)  # cumulative per run
    assert snapshot.key == f"{observer.instance}/{observer.run}/orders/v3".encode()
    assert observer.totals[("orders", 3)].by_reason == {"rule_failed": 4}
    labels = {"subject": "orders", "version": "3"}
    assert (
        metrics.get_sample_value(
            "guard_shadow_records_total", {**labels, "outcome": "would_quarantine"}
        )
        == 4
    )
    assert (
        metrics.get_sample_value(
            "guard_shadow_rule_hits_total", {**labels, "rule": "lines_within_quantity (warn)"}
        )
        == 2
    )


def test_an_empty_batch_publishes_nothing() -> None:
    observer, router, _ = _setup()
    assert observer.before_commit(router.route([])) == []


def test_a_header_naming_a_candidate_says_so() -> None:
    validator = RecordValidator(load_registry(EXAMPLE).subject("orders"), "all")
    verdict = validator.validate(LINES[0], b"3")
    assert verdict.reasons == ("retired_version",)
    assert "candidate (shadow rollout), not enforced yet" in verdict.errors[0].message


def test_a_record_with_two_version_headers_is_ambiguous_for_the_candidate_too() -> None:
    settings = GuardSettings(topics={"orders": Route(subject="orders")}, schemas_dir=EXAMPLE)
    registry = load_registry(EXAMPLE)
    observer = ShadowObserver(settings, registry)
    validator = RecordValidator(registry.subject("orders"), "latest")
    plan = RoutePlan("orders", validator, "o.valid", "o.q", 1, 1)
    router = Router({"orders": plan}, settings.version_header)
    # LINES[0] passes v3; both headers name it, which the promoted route still refuses.
    headers = [("schema-version", b"3"), ("schema-version", b"3")]
    routed = router.route([InRecord("orders", 0, 0, 1, b"k", LINES[0], headers)])
    assert [v.reasons for _, v in routed.verdicts] == [("ambiguous_version",)]
    [snapshot] = observer.before_commit(routed)
    value = json.loads(snapshot.value or b"")
    assert (value["would_quarantine"], value["newly_passing"]) == (1, 0)
    assert value["by_reason"] == {"ambiguous_version": 1}


def test_a_forwarded_tombstone_with_a_malformed_header_is_quarantined_for_the_candidate_too() -> (
    None
):
    settings = GuardSettings(
        topics={"orders": Route(subject="orders")}, schemas_dir=EXAMPLE, tombstones="forward"
    )
    registry = load_registry(EXAMPLE)
    observer = ShadowObserver(settings, registry)
    validator = RecordValidator(registry.subject("orders"), "latest")
    plan = RoutePlan("orders", validator, "o.valid", "o.q", 1, 1)
    router = Router({"orders": plan}, settings.version_header, tombstones="forward")
    tombstone = InRecord("orders", 0, 0, 1, b"k", None, [], header_error="header key not UTF-8")
    routed = router.route([tombstone])
    assert [v.reasons for _, v in routed.verdicts] == [("malformed_header",)]
    [snapshot] = observer.before_commit(routed)
    value = json.loads(snapshot.value or b"")
    assert (value["would_quarantine"], value["newly_passing"]) == (1, 0)
    assert value["by_reason"] == {"malformed_header": 1}


def _routed_and_counted(plan_limits: dict[str, Any], timestamp_ms: int = 1) -> dict[str, Any]:
    """LINES through a router whose clean topic has `plan_limits`, then the candidate's
    snapshot (v3 passes LINES[0] and LINES[3], v2 passes all four)."""
    settings = GuardSettings(topics={"orders": Route(subject="orders")}, schemas_dir=EXAMPLE)
    registry = load_registry(EXAMPLE)
    observer = ShadowObserver(settings, registry)
    validator = RecordValidator(registry.subject("orders"), "latest")
    plan = RoutePlan("orders", validator, "o.valid", "o.q", 1, 1, **plan_limits)
    router = Router({"orders": plan}, settings.version_header)
    batch = [
        InRecord("orders", 0, i, timestamp_ms, b"k%d" % i, line, []) for i, line in enumerate(LINES)
    ]
    routed = router.route(batch)
    assert routed.stats.valid == 0  # the live route quarantines all four at the target
    [snapshot] = observer.before_commit(routed)
    value: dict[str, Any] = json.loads(snapshot.value or b"")
    return value


def test_a_record_too_large_for_the_clean_topic_is_quarantined_for_the_candidate_too() -> None:
    value = _routed_and_counted({"valid_limit": 200})
    assert (value["would_quarantine"], value["newly_passing"]) == (4, 0)
    assert value["by_reason"] == {"rule_failed": 2, "too_large_for_target": 2}


def test_a_timestamp_the_clean_topic_refuses_is_quarantined_for_the_candidate_too() -> None:
    window = TimestampWindow(before_ms=24 * 3600 * 1000, after_ms=3600 * 1000)
    value = _routed_and_counted({"valid_window": window}, timestamp_ms=1)  # in 1970
    assert (value["would_quarantine"], value["newly_passing"]) == (4, 0)
    assert value["by_reason"] == {"rule_failed": 2, "timestamp_outside_target": 2}


def test_the_candidate_meets_the_size_limit_with_the_headers_the_router_admitted() -> None:
    """A producer's `guard.note` header goes to the clean topic as `guard.untrusted.note`
    (10 bytes more): the limit is measured on that, for the candidate as for the route."""
    settings = GuardSettings(topics={"orders": Route(subject="orders")}, schemas_dir=EXAMPLE)
    registry = load_registry(EXAMPLE)
    observer = ShadowObserver(settings, registry)
    as_sent = OutRecord("o.valid", b"k0", LINES[0], [("guard.note", b"x")])
    validator = RecordValidator(registry.subject("orders"), "latest")
    plan = RoutePlan("orders", validator, "o.valid", "o.q", 1, 1, valid_limit=record_size(as_sent))
    router = Router({"orders": plan}, settings.version_header)
    routed = router.route([InRecord("orders", 0, 0, 1, b"k0", LINES[0], [("guard.note", b"x")])])
    assert [v.reasons for _, v in routed.verdicts] == [("too_large_for_target",)]
    [snapshot] = observer.before_commit(routed)
    value = json.loads(snapshot.value or b"")
    assert (value["would_quarantine"], value["newly_passing"]) == (1, 0)
    assert value["by_reason"] == {"too_large_for_target": 1}
