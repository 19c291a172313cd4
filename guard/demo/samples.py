"""A deterministic sample stream of orders: mostly valid, plus every kind of malformed record.

Each sample carries the reason code the guard must give it (None for valid), so the demo and
the tests can check every verdict, not just counts.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sample:
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]]
    expected: str | None  # the first reason code expected, None when the record is valid


def good_order(rng: random.Random, version: int = 2) -> dict[str, Any]:
    order: dict[str, Any] = {
        "order_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "customer_email": f"customer{rng.randint(1, 9999)}@example.com",
        "amount": round(rng.uniform(1, 500), 2),
        "currency": rng.choice(["EUR", "USD", "GBP"]),
        "quantity": rng.randint(1, 20),
        "created_at": f"2026-11-{rng.randint(1, 20):02d}T{rng.randint(0, 23):02d}:15:00Z",
    }
    if version >= 2:
        order["channel"] = rng.choice(["web", "app", "store"])
        if rng.random() < 0.3:
            order["items"] = [{"sku": f"SKU-{rng.randint(1, 99)}", "qty": rng.randint(1, 3)}]
    return order


def _enc(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _malformed(
    rng: random.Random, kind: str, large_bytes: int
) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    o = good_order(rng)
    if kind == "not_json":
        return b"order_id=42&amount=3", []
    if kind == "not_utf8":
        return b'{"order_id": "\xff\xfe"}', []
    if kind == "empty_value":
        return b"", []
    if kind == "null_value":
        return None, []
    if kind == "too_large":
        return _enc({**o, "note": "x" * large_bytes}), []
    if kind == "too_deep":
        return b'{"a":' * 10_000 + b"1" + b"}" * 10_000, []
    if kind == "not_finite":
        return _enc(o)[:-1] + b',"score":NaN}', []
    if kind == "duplicate_key":
        return _enc(o)[:-1] + b',"amount":1}', []
    if kind == "out_of_range":
        o["quantity"] = 2**70  # an integer far beyond the field (and int64)
        return _enc(o), []
    if kind == "wrong_type":
        o["amount"] = "12.50"
        return _enc(o), []
    if kind == "missing_field":
        del o["customer_email"]
        return _enc(o), []
    if kind == "unknown_version":
        return _enc(o), [("schema-version", b"v9")]
    if kind == "not_in_enum":
        o["currency"] = "JPY"
        return _enc(o), []
    if kind == "pattern_mismatch":
        o["coupon"] = "save 10%!"
        return _enc(o), []
    raise ValueError(kind)


MALFORMED_KINDS = (
    "not_json",
    "not_utf8",
    "empty_value",
    "null_value",
    "too_large",
    "too_deep",
    "not_finite",
    "duplicate_key",
    "out_of_range",
    "wrong_type",
    "missing_field",
    "unknown_version",
    "not_in_enum",
    "pattern_mismatch",
)


def sample_stream(
    n: int,
    bad_share: float = 0.2,
    seed: int = 7,
    large_bytes: int = 2 * 1024 * 1024,
    old_versions: bool = False,
) -> Iterator[Sample]:
    """`n` records; about `bad_share` malformed, cycling through every malformed kind. With
    `old_versions`, a quarter of the valid ones are v1 records naming v1 in their header:
    valid only where the route accepts v1 (`accepted_versions: all`), not under `latest`."""
    rng = random.Random(seed)
    bad_seen = 0
    for i in range(n):
        key = f"order-{i:06d}".encode()
        if rng.random() < bad_share:
            kind = MALFORMED_KINDS[bad_seen % len(MALFORMED_KINDS)]
            bad_seen += 1
            value, headers = _malformed(rng, kind, large_bytes)
            yield Sample(key, value, headers, kind)
        else:
            version = rng.choice([1, 2, 2, 2]) if old_versions else 2
            order = good_order(rng, version)
            headers = [("schema-version", str(version).encode())] if rng.random() < 0.5 else []
            if version == 1 and not headers:
                headers = [("schema-version", b"1")]  # v1 records without a header would hit v2
            yield Sample(key, _enc(order), headers, None)
