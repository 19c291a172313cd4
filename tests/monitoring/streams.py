"""Synthetic, seeded streams for monitoring tests: stable, or drifting at a known record.

Subject `events` (written to a temporary schemas directory by `write_schemas`):
an id, an amount (log-normal), an enum-like country without an enum in the contract, a
nullable note (2% null), an integer quantity and a boolean, under `unknown_fields: allow`.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

EVENTS_V1 = """\
subject: events
version: 1
unknown_fields: allow
fields:
  id: {type: string, format: uuid}
  amount: {type: number, minimum: 0}
  country: {type: string}
  note: {type: string, required: false, nullable: true}
  qty: {type: integer, minimum: 1}
  paid: {type: boolean}
"""

COUNTRIES = ["DE", "FR", "NL", "ES"]
COUNTRY_WEIGHTS = [0.4, 0.3, 0.2, 0.1]
DRIFTS = ("null_rate", "new_category", "new_field", "amount_shift", "qty_type")


def write_schemas(root: Path, contract: str = EVENTS_V1) -> Path:
    folder = root / "events"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "v1.yaml").write_text(contract, encoding="utf-8")
    return root


def event(rng: random.Random, drift: str | None = None) -> dict[str, Any]:
    null_share = 0.40 if drift == "null_rate" else 0.02
    countries, weights = COUNTRIES, COUNTRY_WEIGHTS
    if drift == "new_category":
        countries, weights = [*COUNTRIES, "PL"], [0.36, 0.27, 0.18, 0.09, 0.10]
    amount = rng.lognormvariate(3.0, 0.5) * (1.6 if drift == "amount_shift" else 1.0)
    qty: Any = rng.randint(1, 5)
    if drift == "qty_type" and rng.random() < 0.05:
        qty = str(qty)
    out: dict[str, Any] = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "amount": round(amount, 2),
        "country": rng.choices(countries, weights)[0],
        "qty": qty,
        "paid": rng.random() < 0.7,
    }
    r = rng.random()  # note: 38% missing, then null (2%, or 40% drifted), else a string
    if r >= 0.38:
        out["note"] = None if r < 0.38 + null_share else f"n{rng.randint(1, 99)}"
    if drift == "new_field" and rng.random() < 0.3:
        out["promo"] = f"P{rng.randint(1, 9)}"
    return out


def stream(n: int, seed: int, drift: str | None = None, drift_at: int | None = None) -> list[bytes]:
    """`n` encoded records; from record `drift_at` on, the named drift applies."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        active = drift if drift_at is not None and i >= drift_at else None
        out.append(json.dumps(event(rng, active), separators=(",", ":")).encode())
    return out
