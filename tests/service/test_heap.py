"""settled_heap: the collector stays out of the way of a batch loop once start-up is over, and
is itself again after it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.fixtures.paths import REPO

# Routes 40 batches of 500 records (the service's default batch) and counts the collections
# of each generation, with the interpreter's defaults or inside settled_heap. In a child
# process: settled_heap changes the collector for the whole interpreter while it lasts.
_CHILD = textwrap.dedent(
    """
    import gc, json, sys
    from guard.contracts import load_registry
    from guard.routing import RoutePlan, Router
    from guard.service.heap import settled_heap
    from guard.transport.base import InRecord
    from guard.validation import RecordValidator

    validator = RecordValidator(load_registry(sys.argv[1]).subject("orders"), "all")
    router = Router({"orders": RoutePlan("orders", validator, "v", "q", 3, 3)}, "schema-version")
    value = json.dumps({
        "order_id": "6f1c7c4e-2b1a-4c8e-9d3a-1b2c3d4e5f60", "customer_email": "a@example.com",
        "amount": 3.5, "currency": "EUR", "quantity": 2, "created_at": "2026-01-01T00:00:00Z",
    }).encode()
    runs = [0, 0, 0]

    def loop():
        gc.callbacks.append(lambda phase, info: phase == "stop" and runs.__setitem__(
            info["generation"], runs[info["generation"]] + 1))
        kept = []  # the service keeps a batch's records alive until it commits
        for b in range(40):
            batch = [InRecord("orders", i % 3, b * 500 + i, 1, b"k", value,
                              [("schema-version", b"1")]) for i in range(500)]
            kept = [batch, router.route(batch)]
        gc.callbacks.clear()

    if sys.argv[2] == "settled":
        with settled_heap():
            loop()
    else:
        loop()
    print(json.dumps(runs))
    """
)


def _collections(mode: str) -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(REPO / "schemas"), mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    runs: list[int] = json.loads(out.stdout)
    return runs


def test_a_settled_heap_runs_no_full_collection_and_few_young_ones_over_forty_batches() -> None:
    default, settled = _collections("default"), _collections("settled")
    assert default[0] > 40, default  # the contrast: a young collection every few dozen records
    assert settled[2] == 0, settled
    assert settled[0] <= 10, settled


def test_the_collector_is_the_interpreters_own_again_after_the_loop() -> None:
    import gc

    from guard.service.heap import settled_heap

    before = gc.get_threshold()
    with settled_heap():
        assert gc.get_threshold()[0] > before[0] and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
