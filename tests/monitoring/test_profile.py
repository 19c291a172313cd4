"""Window profiles: exact counters, sketch read-outs, merging, serialisation, bounded memory."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from guard.config.settings import MonitoringSettings
from guard.contracts import load_registry
from guard.contracts.registry import Registry
from guard.monitoring.plan import SubjectPlan, plan_subject
from guard.monitoring.profile import WindowProfile
from tests.monitoring.helpers import profile_values
from tests.monitoring.streams import stream, write_schemas


def _plan(registry: Registry, **monitoring: Any) -> SubjectPlan:
    return plan_subject(registry.subject("events"), MonitoringSettings(**monitoring))


ID = "123e4567-e89b-42d3-a456-426614174000"


def _enc(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_counts_nulls_missing_and_type_mix_exactly(registry: Registry) -> None:
    values = [
        _enc({"id": ID, "amount": 1.5, "country": "DE", "qty": 1, "paid": True, "note": None}),
        _enc({"id": ID, "amount": 2, "country": "DE", "qty": "2", "paid": False}),
        _enc({"id": ID, "amount": "3", "country": "FR", "qty": 3, "paid": True, "note": "n"}),
        b"not json",
    ]
    p = profile_values(registry, _plan(registry), values)
    assert (p.records, p.profiled, p.quarantined) == (4, 3, 3)
    note, amount, qty = p.fields["note"], p.fields["amount"], p.fields["qty"]
    assert (note.missing, note.nulls, dict(note.types)) == (1, 1, {"string": 1})
    assert dict(amount.types) == {"number": 1, "integer": 1, "string": 1}
    assert dict(qty.types) == {"integer": 2, "string": 1}
    assert p.reasons["not_json"] == 1 and p.reasons["wrong_type"] == 2


def test_numeric_quantiles_come_from_the_value_summary_within_its_accuracy(
    registry: Registry,
) -> None:
    rng = np.random.default_rng(3)
    amounts = rng.lognormal(3.0, 0.5, 20_000)
    values = [
        _enc({"id": ID, "amount": float(a), "country": "DE", "qty": 1, "paid": True})
        for a in amounts
    ]
    fp = profile_values(registry, _plan(registry), values, batch=1000).fields["amount"]
    assert fp.numeric is not None and fp.numeric.n == 20_000
    got = fp.quantiles([0.1, 0.5, 0.9])
    assert got is not None
    for rank, q in zip([0.1, 0.5, 0.9], got, strict=True):
        exact = float(np.quantile(amounts, rank, method="inverted_cdf"))
        assert abs(q - exact) <= exact * fp.numeric.accuracy * 1.01


def test_category_counts_are_exact_for_enum_like_fields_and_absent_for_uuids(
    registry: Registry,
) -> None:
    values = stream(3000, seed=4)
    p = profile_values(registry, _plan(registry), values)
    truth: dict[str, int] = {}
    for v in values:
        c = json.loads(v)["country"]
        truth[c] = truth.get(c, 0) + 1
    assert p.fields["country"].category_counts() == truth
    assert p.fields["country"].categories_exact()
    assert p.fields["id"].categories is None  # format: uuid is an identifier, not a category
    assert p.fields["paid"].category_counts() is not None  # booleans are categories


def test_merging_two_halves_equals_profiling_the_whole(registry: Registry) -> None:
    plan = _plan(registry)
    values = stream(8000, seed=5)
    whole = profile_values(registry, plan, values)
    merged = profile_values(registry, plan, values[:3000]).merge(
        profile_values(registry, plan, values[3000:])
    )
    assert (merged.records, merged.profiled, merged.valid) == (
        whole.records,
        whole.profiled,
        whole.valid,
    )
    for path, fw in whole.fields.items():
        fm = merged.fields[path]
        assert (fm.missing, fm.nulls, fm.types) == (fw.missing, fw.nulls, fw.types), path
        if fw.categories_exact():
            assert fm.category_counts() == fw.category_counts(), path
        assert (
            abs(fm.distinct_estimate() - fw.distinct_estimate())
            <= 0.03 * fw.distinct_estimate() + 1
        )
    qa = merged.fields["amount"].quantiles([0.25, 0.5, 0.75])
    qb = whole.fields["amount"].quantiles([0.25, 0.5, 0.75])
    assert qa is not None and qb is not None
    assert np.allclose(qa, qb, rtol=0.05)


def test_serialisation_round_trip_keeps_every_statistic(registry: Registry) -> None:
    p = profile_values(
        registry, _plan(registry), stream(2000, seed=6), timestamps=list(range(2000))
    )
    back = WindowProfile.from_json(json.loads(json.dumps(p.to_json())))
    assert (back.records, back.valid, back.quarantined, back.profiled, back.reasons) == (
        p.records,
        p.valid,
        p.quarantined,
        p.profiled,
        p.reasons,
    )
    assert (back.first_ts_ms, back.last_ts_ms) == (0, 1999)
    assert back.record_rate() == p.record_rate() and p.record_rate() is not None
    ranks = [0.05, 0.5, 0.95]
    for path, fp in p.fields.items():
        fb = back.fields[path]
        assert (fb.missing, fb.nulls, fb.types) == (fp.missing, fp.nulls, fp.types)
        assert fb.quantiles(ranks) == fp.quantiles(ranks)
        assert fb.category_counts() == fp.category_counts()
        assert fb.distinct_estimate() == fp.distinct_estimate()
        if fp.lengths is not None:
            assert fb.lengths is not None and fb.lengths.n == fp.lengths.n


def test_memory_is_bounded_whatever_the_stream_length(tmp_path: Path) -> None:
    """A profile of 200k records is no bigger than one of 20k: sketches have a fixed maximum,
    even for a free-text field tracked as categorical."""
    contract = (
        "subject: events\nversion: 1\nfields:\n"
        "  text: {type: string, drift: {categorical: true}}\n"
        "  n: {type: number}\n"
    )
    registry = load_registry(write_schemas(tmp_path, contract))
    plan = _plan(registry)
    rng = random.Random(1)

    def make(n: int) -> list[bytes]:
        return [_enc({"text": f"t{rng.getrandbits(40)}", "n": rng.random()}) for _ in range(n)]

    small = len(json.dumps(profile_values(registry, plan, make(20_000), batch=2000).to_json()))
    large = len(json.dumps(profile_values(registry, plan, make(200_000), batch=2000).to_json()))
    assert large < small * 1.3
    assert large < 60_000


def test_undeclared_fields_are_counted_for_valid_and_quarantined_records(
    registry: Registry,
) -> None:
    ok = {"id": ID, "amount": 1, "country": "DE", "qty": 1, "paid": True, "promo": "P1"}
    bad = {**ok, "qty": 0, "extra": 1}
    p = profile_values(registry, _plan(registry), [_enc(ok), _enc(ok), _enc(bad)])
    assert dict(p.unknown_fields) == {"promo": 3, "extra": 1}


def test_undeclared_paths_beyond_the_cap_count_as_overflow(registry: Registry) -> None:
    plan = _plan(registry, sketch={"max_unknown_fields": 2})
    base = {"id": ID, "amount": 1, "country": "DE", "qty": 1, "paid": True}
    values = [_enc({**base, f"k{i}": 1}) for i in range(5)]
    p = profile_values(registry, plan, values)
    assert len(p.unknown_fields) == 2 and p.unknown_overflow == 3


def test_partition_spans_merge_and_profiles_without_timestamp_sketches_still_load(
    registry: Registry,
) -> None:
    """Halves merge to the rate of the whole; a profile written before the per-partition
    timestamp sketch (`[records, first, last]`) reads back, timed from first to last."""
    plan = _plan(registry)
    values, stamps = stream(4000, seed=7), [i * 10 for i in range(4000)]
    whole = profile_values(registry, plan, values, stamps)
    halves = profile_values(registry, plan, values[:1500], stamps[:1500]).merge(
        profile_values(registry, plan, values[1500:], stamps[1500:])
    )
    assert whole.record_rate() == pytest.approx(100, rel=0.03)
    assert halves.record_rate() == pytest.approx(100, rel=0.03)
    old = halves.to_json()
    old["partitions"] = {k: v[:3] for k, v in old["partitions"].items()}
    back = WindowProfile.from_json(json.loads(json.dumps(old)))
    assert back.record_rate() == pytest.approx(3999 / 39.99)
    # Merged with a new-style span, the partition falls back to first..last as well.
    assert back.copy().merge(whole).record_rate() == pytest.approx(7999 / 39.99)


@pytest.mark.parametrize("few", [1, 2, 3])
def test_a_partition_with_one_to_three_records_leaves_the_record_rate_to_the_others(
    registry: Registry, few: int
) -> None:
    """A source partition with a single record in the window made the trimmed span ask
    the timestamp sketch for rank 1.5 (ValueError), in every window check, history summary
    and `guard drift status`; with too few records to trim it simply has no span."""
    plan = _plan(registry)
    window = profile_values(registry, plan, stream(1000, seed=7), [i * 10 for i in range(1000)])
    window.merge(
        profile_values(
            registry, plan, stream(few, seed=8), [i * 500 for i in range(few)], partitions=("e/9",)
        )
    )
    assert window.partitions["e/9"].n == few
    assert window.record_rate() == pytest.approx(100, rel=0.03)


def test_profiles_of_instances_with_different_value_accuracy_merge(registry: Registry) -> None:
    """Two instances during a change of `monitoring.sketch.value_accuracy`: merging their
    windows (`guard drift status`) raised ValueError; the second's bins now go into the
    first's, with exact moments."""
    fine, coarse = (_plan(registry, sketch={"value_accuracy": acc}) for acc in (0.005, 0.02))
    a = profile_values(registry, fine, stream(500, seed=1))
    b = profile_values(registry, coarse, stream(500, seed=2))
    whole = profile_values(registry, fine, stream(500, seed=1) + stream(500, seed=2))
    merged = a.copy().merge(b)
    m, w = merged.fields["amount"].numeric, whole.fields["amount"].numeric
    assert m is not None and w is not None
    assert (m.n, m.min, m.max) == (w.n, w.min, w.max)
    assert m.mean == pytest.approx(w.mean) and m.variance == pytest.approx(w.variance)
    assert m.get_quantile(0.5) == pytest.approx(w.get_quantile(0.5), rel=0.03)


def _truncate(b64_text: str) -> str:
    import base64

    raw = base64.b64decode(b64_text)
    return base64.b64encode(raw[: len(raw) // 2]).decode()


@pytest.mark.parametrize(
    "damage",
    ["truncated_hll", "negative_nulls", "huge_missing", "huge_key", "nested_keys", "accuracy_0"],
)
def test_a_malformed_profile_is_a_value_error_not_a_crash(registry: Registry, damage: str) -> None:
    """A damaged profile (the profiles topic, a baseline file) must be refused as malformed
    (ValueError: `guard drift status` counts it unreadable, a baseline is a contract error):
    these raised IndexError, OverflowError or ZeroDivisionError, or loaded and then failed
    inside the drift tests (negative or 2^70 counts)."""
    plan = _plan(registry)
    data = json.loads(json.dumps(profile_values(registry, plan, stream(500, seed=1)).to_json()))
    fields = data["fields"]
    if damage == "truncated_hll":
        fields["country"]["distinct"] = _truncate(fields["country"]["distinct"])
    elif damage == "negative_nulls":
        fields["note"]["nulls"] = -5
    elif damage == "huge_missing":
        fields["qty"]["missing"] = 2**70
    elif damage == "huge_key":
        fields["amount"]["numeric"]["keys"][3] = 2**70
    elif damage == "nested_keys":
        fields["amount"]["numeric"]["keys"][0] = []
    else:
        fields["amount"]["numeric"]["accuracy"] = 0
    with pytest.raises(ValueError):
        WindowProfile.from_json(data)
