"""Which `__consumer_offsets` partition holds a group's offsets, as the broker computes it, and
when the stale-transaction watch looks (guard/transport/stale_transactions.py)."""

from __future__ import annotations

import time

import pytest
from kafka.errors import KafkaTimeoutError

from guard.config.settings import KafkaSettings
from guard.transport import stale_transactions
from guard.transport.stale_transactions import Found, StaleTransactionWatch, offsets_partition


@pytest.mark.parametrize(
    ("group", "java_hash"),
    [
        ("hello", 99162322),
        ("Hello World", -862545276),  # negative: the broker takes its absolute value
        ("Aa", 2112),
        ("BB", 2112),
        ("\N{GRINNING FACE}", 31 * 0xD83D + 0xDE00),  # two UTF-16 units, as Java counts
    ],
)
def test_the_partition_is_the_java_hash_code_of_the_group_modulo_the_partitions(
    group: str, java_hash: int
) -> None:
    assert offsets_partition(group, 50) == abs(java_hash) % 50


def test_a_group_whose_hash_code_is_the_smallest_int_maps_to_partition_0() -> None:
    assert offsets_partition("polygenelubricants", 50) == 0  # hashCode == Integer.MIN_VALUE


def _watch(monkeypatch: pytest.MonkeyPatch, results: list[Found | Exception]) -> list[int]:
    """Kick a watch whose looks return `results` in turn; wait until it has stopped."""
    calls: list[int] = []

    def end(_settings: KafkaSettings) -> Found:
        calls.append(1)
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    monkeypatch.setattr(stale_transactions, "end_timed_out_transactions", end)
    watch = StaleTransactionWatch(KafkaSettings())
    watch.kick()
    deadline = time.monotonic() + 60
    while (thread := watch._thread) is not None and thread.is_alive():
        assert time.monotonic() < deadline, "the watch never stopped"
        time.sleep(0.01)
    return calls


def test_a_watch_looks_again_when_the_soonest_open_transaction_runs_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _watch(monkeypatch, [Found(1, [], 0.01), Found(1, ["g-dead"], None)])
    assert len(calls) == 2


def test_a_watch_whose_look_fails_stops_without_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _watch(monkeypatch, [KafkaTimeoutError("list transactions")])
    assert len(calls) == 1


def test_a_watch_makes_at_most_a_bounded_number_of_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    results: list[Found | Exception] = [Found(1, [], 0.0)] * (stale_transactions.MAX_ROUNDS + 3)
    assert len(_watch(monkeypatch, results)) == stale_transactions.MAX_ROUNDS
