"""What contract rules cost: the `orders` contract with the three rules of
examples/rules/orders/v3.yaml, against the same contract without them.

`rules_schemas(dest)` writes a copy of schemas/ whose orders v2 (the version the race's
records name) carries the three rules; the race's `+rules` contenders run the guard on it
(the rules hold on every valid record of the race's inputs, so verdicts and read-back counts
are unchanged, and every valid v2 record pays for all three). `main()` measures the per-record
CPU of routing valid ~250 B v2 orders in process, with and without the rules. Prints figures;
asserts nothing.

Usage: python -m benchmarks.rules [--records N] [--batch B] [--rounds R]
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

import yaml

from benchmarks.routing import _enc, batched, best_us
from guard.contracts import load_registry
from guard.demo.samples import good_order
from guard.logs import configure_logging
from guard.routing import RoutePlan, Router
from guard.transport.base import InRecord
from guard.validation import RecordValidator

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "schemas"
EXAMPLE_RULES = REPO / "examples" / "rules" / "orders" / "v3.yaml"


def rules_schemas(dest: Path) -> Path:
    """A copy of schemas/ with the example's three rules on orders v2; returns `dest`."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(SCHEMAS, dest)
    v2 = dest / "orders" / "v2.yaml"
    doc = yaml.safe_load(v2.read_text(encoding="utf-8"))
    doc["rules"] = yaml.safe_load(EXAMPLE_RULES.read_text(encoding="utf-8"))["rules"]
    v2.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    # Rules make v2 stricter than v1: FORWARD holds (docs/rules.md, "Compatibility").
    (dest / "orders" / "subject.yaml").write_text("compatibility: FORWARD\n", encoding="utf-8")
    return dest


def _records(n: int, seed: int = 5) -> list[InRecord]:
    """Valid v2 orders with a shipping address, ~250 B, like the race's headline input."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        order = good_order(rng, 2)
        order["shipping"] = {"country": rng.choice(["DE", "FR", "GB", "US"]), "postcode": "10115"}
        headers: list[tuple[str, bytes | None]] = [("schema-version", b"2")]
        out.append(
            InRecord("orders", i % 3, i, 1_700_000_000_000 + i, b"k%d" % i, _enc(order), headers)
        )
    return out


def _router(schemas: Path) -> Router:
    validator = RecordValidator(load_registry(schemas).subject("orders"), "all")
    plan = RoutePlan("orders", validator, "orders.valid", "orders.quarantine", 3, 3)
    return Router({"orders": plan}, "schema-version")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench" / "schemas-rules")
    args = parser.parse_args()
    configure_logging("WARNING")
    recs = _records(args.records)
    size = sum(len(r.value or b"") for r in recs) / len(recs)
    batches = batched(recs, args.batch)
    plain, ruled = _router(SCHEMAS), _router(rules_schemas(args.out))
    for r in (plain, ruled):  # the rules hold on every record: verdicts are the same
        assert all(r.route(b).stats.quarantined == 0 for b in batches)

    def route_all(r: Router) -> None:
        for b in batches:
            r.route(b)

    # Interleaved, best of the rounds: other load on the machine disturbs both alike.
    without = with_rules = float("inf")
    for _ in range(args.rounds):
        without = min(without, best_us(len(recs), 1, lambda: route_all(plain)))
        with_rules = min(with_rules, best_us(len(recs), 1, lambda: route_all(ruled)))
    extra = with_rules - without
    print(f"{len(recs):,} valid v2 orders of {size:.0f} B, batches of {args.batch}, "
          f"best of {args.rounds} interleaved rounds (CPU time):")  # fmt: skip
    print(f"  route, no rules        {without:7.2f} us/record")
    print(f"  route, three rules     {with_rules:7.2f} us/record")
    print(f"  rules add              {extra:7.2f} us/record ({extra / without:.0%} of routing)")


if __name__ == "__main__":
    main()
