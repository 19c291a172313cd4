"""`guard shadow status` reading the shadow topic: every instance run's last snapshot."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from guard.config.settings import GuardSettings, Route
from guard.shadow import status

GOOD: dict[str, Any] = {
    "instance": "i",
    "run": "r",
    "subject": "orders",
    "version": 3,
    "records": 4,
    "would_quarantine": 2,
    "newly_quarantined": 2,
    "newly_passing": 0,
    "by_reason": {"rule_failed": 2},
    "by_rule": {},
    "samples": [],
}


def test_a_snapshot_of_another_shape_is_counted_unreadable_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = [GOOD, {**GOOD, "run": "x", "by_reason": ["rule_failed"]}, {**GOOD, "by_rule": 1}]

    class Reader:
        def latest(self, topic: str, timeout_s: float) -> dict[bytes, Any]:
            return {b"%d" % i: SimpleNamespace(value=json.dumps(v).encode()) for i, v in
                    enumerate(values)}  # fmt: skip

        def close(self) -> None:
            pass

    monkeypatch.setattr(status, "open_reader", lambda kafka: Reader())
    read = status.read_shadow(GuardSettings(topics={"orders": Route(subject="orders")}))
    assert (read.unreadable, read.runs) == (2, 1)
    assert [(c.version, c.would_quarantine) for c in read.counts] == [(3, 2)]
