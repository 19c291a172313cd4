"""The wait of one commit step: short at first and after one miss (what a dead node costs),
doubled from the second miss in a row, capped at the request timeout, short again after a
commit."""

from __future__ import annotations

from guard.config.settings import KafkaSettings
from guard.transport.steps import StepLimit, first_step_ms


def test_a_step_waits_half_the_transaction_timeout_twice_then_doubles_to_the_request_timeout() -> (
    None
):
    limit = StepLimit(KafkaSettings(request_timeout_ms=30_000, transaction_timeout_ms=10_000))
    seen = [limit.current_s]
    for _ in range(5):
        limit.ran_out()
        seen.append(limit.current_s)
    assert seen == [5.0, 5.0, 10.0, 20.0, 30.0, 30.0]
    limit.committed()
    assert limit.current_s == 5.0
    limit.ran_out()
    assert limit.current_s == 5.0, "a commit starts the count of misses again"


def test_the_first_step_wait_stays_within_one_second_and_the_request_timeout() -> None:
    assert (
        first_step_ms(KafkaSettings(request_timeout_ms=3_000, transaction_timeout_ms=60_000))
        == 3_000
    )
    assert (
        first_step_ms(KafkaSettings(request_timeout_ms=30_000, transaction_timeout_ms=1_000))
        == 1_000
    )


def test_a_limit_can_start_shorter_and_still_doubles_from_the_second_miss() -> None:
    limit = StepLimit(KafkaSettings(request_timeout_ms=30_000), first_s=2.0)
    limit.ran_out()
    assert limit.current_s == 2.0
    limit.ran_out()
    assert limit.current_s == 4.0


def test_a_first_wait_above_the_request_timeout_is_capped_by_it() -> None:
    assert StepLimit(KafkaSettings(request_timeout_ms=1_000), first_s=2.0).current_s == 1.0
