"""What a replay writes: signed lineage a keyed guard trusts, and no growth over round trips."""

from __future__ import annotations

from guard.quarantine.trust import H_SIGNATURE, EnvelopeTrust, sign
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


def test_a_pinned_replay_of_an_ambiguous_record_writes_one_version_header() -> None:
    ambiguous = [("schema-version", b"9"), ("schema-version", b"2")]
    outcome = _classifier(version=2).classify(_quarantined(GOOD_V2, headers=ambiguous))
    _, _, headers = replay_output(outcome, "r1", "2026-11-21T10:00:00.000Z", "schema-version")
    assert [(n, v) for n, v in headers if n == "schema-version"] == [("schema-version", b"2")]


def test_the_signature_covers_the_version_header() -> None:
    key, value, headers = _passed(attempt=2)
    assert ("schema-version", b"2") in headers
    changed = [(n, b"1" if n == "schema-version" else v) for n, v in headers]
    assert EnvelopeTrust(KEY).admit(key, value, changed)[1] == 0
    added = [("schema-version", b"1"), *headers]
    assert EnvelopeTrust(KEY).admit(key, value, added)[1] == 0


def test_replayed_records_carry_the_quarantine_coordinates_they_came_from() -> None:
    _, _, headers = _passed()
    found = dict(headers)
    assert found["guard.replay.id"] == b"r1"
    assert (
        found["guard.replay.quarantine.partition"],
        found["guard.replay.quarantine.offset"],
    ) == (
        b"0",
        b"7",
    )


def test_a_verbatim_re_send_elsewhere_is_untrusted_the_same_offset_again_is_not() -> None:
    key, value, headers = _passed(attempt=2)
    trust = EnvelopeTrust(KEY)
    assert trust.admit(key, value, headers, at=("orders", 0, 40)) == (headers, 2)
    assert trust.admit(key, value, headers, at=("orders", 0, 40)) == (headers, 2)  # a retry
    resent, attempts = trust.admit(key, value, headers, at=("orders", 1, 3))
    assert attempts == 0 and ("guard.untrusted.replay.id", b"r1") in resent


def test_the_lineage_memory_is_bounded() -> None:
    key, value, headers = _passed(attempt=2)
    trust = EnvelopeTrust(KEY, memory=2)
    unsigned = [(n, v) for n, v in headers if n not in (H_SIGNATURE, "guard.replay.id")]
    for offset in range(3):
        other = [*unsigned, ("guard.replay.id", b"x%d" % offset)]
        other.append((H_SIGNATURE, sign(KEY, key, value, other)))
        assert trust.admit(key, value, other, at=("orders", 0, offset))[1] == 2
    assert len(trust._first_seen) == 2  # the oldest lineage was forgotten
