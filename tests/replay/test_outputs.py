"""What a replay writes: signed lineage a keyed guard trusts, and no growth over round trips."""

from __future__ import annotations

from guard.quarantine.trust import H_SIGNATURE, EnvelopeTrust
from guard.replay.outputs import replay_output
from guard.replay.plan import Decision
from tests.replay.test_plan import GOOD_V2, _classifier, _quarantined

KEY = b"replay-key"


def _passed(attempt: int = 2, headers: list | None = None, key: bytes | None = KEY):  # type: ignore[no-untyped-def]
    outcome = _classifier().classify(_quarantined(GOOD_V2, attempt=attempt, headers=headers))
    assert outcome.decision is Decision.PASS
    return replay_output(outcome, "r1", "2026-11-21T10:00:00.000Z", "schema-version", key)


def test_a_keyed_replay_signs_what_it_sends_and_the_guard_trusts_its_attempts() -> None:
    key, value, headers = _passed(attempt=2)
    assert [n for n, _ in headers].count(H_SIGNATURE) == 1
    assert EnvelopeTrust(KEY).admit(key, value, headers) == (headers, 2)


def test_without_a_key_replay_writes_no_signature_and_the_guard_trusts_nothing() -> None:
    key, value, headers = _passed(key=None)
    assert H_SIGNATURE not in dict(headers)
    assert EnvelopeTrust(KEY).admit(key, value, headers)[1] == 0


def test_untrusted_lineage_from_an_earlier_round_is_replaced_not_stacked() -> None:
    earlier = [("trace", b"t"), ("guard.untrusted.attempt", b"1"), ("guard.untrusted.x", b"y")]
    _, _, headers = _passed(headers=earlier)
    names = [n for n, _ in headers]
    assert "guard.untrusted.attempt" not in names  # this replay writes guard.attempt afresh
    assert ("guard.untrusted.x", b"y") in headers and ("trace", b"t") in headers
