"""kafka-python's errors in the guard's terms: what rejoins (new clients), what is retried."""

from __future__ import annotations

import kafka.errors as kerr

from guard.errors import RejoinRequiredError, TransientTransportError
from guard.transport.kafka_python.errors import classify


def test_an_offset_commit_refused_for_a_stale_membership_rejoins() -> None:
    # As kafka-python's transaction manager raises it for UnknownMemberId / IllegalGeneration.
    for stale in ("UnknownMemberIdError", "IllegalGenerationError"):
        exc = kerr.CommitFailedError(
            f"Transaction offset commit failed due to consumer group metadata mismatch: {stale}"
        )
        assert isinstance(classify("send offsets", exc), RejoinRequiredError)


def test_other_commit_failures_are_retried() -> None:
    error = classify("send offsets", kerr.CommitFailedError("rebalance in progress"))
    assert type(error) is TransientTransportError
