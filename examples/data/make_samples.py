"""Write the example data for `guard drift report` (deterministic; run from anywhere).

    python examples/data/make_samples.py

- orders-baseline.jsonl         1,000 orders: what "normal" looks like;
- orders-current-stable.jsonl     500 orders from the same process (another seed): no drift;
- orders-current-drifted.jsonl    500 orders after a bad release: larger amounts, a USD/CHF
  currency mix, most orders from the app, coupons everywhere, an undeclared `gift_wrap`
  field, and a few records that break the contract (negative amount, zero quantity items).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from guard.demo.samples import good_order

HERE = Path(__file__).resolve().parent


def order(rng: random.Random) -> dict[str, Any]:
    o = good_order(rng, version=2)
    if rng.random() < 0.4:
        o["shipping"] = {
            "country": rng.choice(["DE", "FR", "NL", "GB", "CH"]),
            "postcode": f"{rng.randint(1000, 99999)}",
        }
    if rng.random() < 0.2:
        o["coupon"] = rng.choice(["WELCOME10", "SPRING24", "VIP2026"])
    return o


def drifted(rng: random.Random, i: int) -> dict[str, Any]:
    o = order(rng)
    o["amount"] = round(o["amount"] * 1.8 + 40, 2)
    o["currency"] = rng.choice(["USD", "USD", "USD", "CHF", "EUR"])
    o["channel"] = rng.choice(["app", "app", "app", "web"])
    if rng.random() < 0.7:
        o["coupon"] = rng.choice(["WELCOME10", "SPRING24", "VIP2026", "FLASH50"])
    if rng.random() < 0.3:
        o["gift_wrap"] = rng.random() < 0.5
    if i % 100 == 7:
        o["amount"] = -5.0  # breaks minimum: 0
    if i % 100 == 42:
        o["items"] = [{"sku": "SKU-1", "qty": 0}]  # breaks items[].qty minimum: 1
    return o


def write(name: str, records: list[dict[str, Any]]) -> None:
    lines = (json.dumps(r, separators=(",", ":")) for r in records)
    (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    base = random.Random(1001)
    write("orders-baseline.jsonl", [order(base) for _ in range(1000)])
    stable = random.Random(2002)
    write("orders-current-stable.jsonl", [order(stable) for _ in range(500)])
    bad = random.Random(3003)
    write("orders-current-drifted.jsonl", [drifted(bad, i) for i in range(500)])


if __name__ == "__main__":
    main()
