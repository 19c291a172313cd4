"""The per-record check alone (bytes in, verdict out), against what pydantic and msgspec offer.

No broker, no routing: each row decodes a record's bytes and runs the contract's compiled check
(`Contract.check`, pydantic-core over plain dicts) for the version the record names.

- guard: `guard.validation.decode.decode` (the jiter fast path, exact fallback) + the check;
- guard, exact path only: `decode_exact` (stdlib decoder with hooks) + the check, as before;
- stdlib json.loads + check, msgspec.json.decode + check: faster decoders, no poison rules;
- pydantic-core validate_json: the contract's own validator reading the bytes itself (no
  dict for rules, unknown fields or monitoring afterwards, so not a drop-in).

Besides CPU microseconds per record (process time, best of --rounds), each row says how many
of the poison records (duplicate key, NaN, 2^70, 1e400, deep nesting, lone surrogate, bad
UTF-8; all valid orders otherwise) it let through. Prints; asserts nothing.

Usage: python -m benchmarks.record_check [--records N] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from pydantic import TypeAdapter

from benchmarks.dataset import Dataset, records
from guard.contracts import load_registry
from guard.contracts.compile import checked_type
from guard.demo.samples import good_order
from guard.validation.decode import Limits, decode, decode_exact

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
LIMITS = Limits()
Check = Callable[[bytes, int], bool]  # (value, version) -> accepted


def _poison() -> list[bytes]:
    """Valid v2 orders (v2 allows unknown fields) with one poison in an extra field, and a
    duplicate of a declared one: only the decoder's rules can refuse them."""
    order = json.dumps(good_order(random.Random(3)), separators=(",", ":"))[:-1]
    extras = [
        ',"quantity":2',  # duplicate key
        ',"score":NaN',
        ',"score":1180591620717411303424',  # 2^70
        ',"score":1e400',  # overflows to infinity
        ',"deep":' + "[" * 100 + "]" * 100,
        ',"note":"\\ud800"',  # lone surrogate escape
    ]
    out = [(order + extra + "}").encode() for extra in extras]
    out.append((order + ',"note":"').encode() + b'\xff"}')  # invalid UTF-8
    return out


def checks() -> dict[str, Check]:
    subject = load_registry(SCHEMAS).subject("orders")
    by_version = {v: c.check for v, c in subject.versions.items()}
    json_by_version = {
        v: TypeAdapter[Any](checked_type(c.spec)).validator.validate_json
        for v, c in subject.versions.items()
    }

    def with_decoder(decoder: Callable[[bytes], Any]) -> Check:
        def check(value: bytes, version: int) -> bool:
            try:
                obj = decoder(value)
                by_version[version](obj)
            except Exception:
                return False
            return True

        return check

    def guard_decoder(fn: Callable[[bytes, Limits], Any]) -> Callable[[bytes], Any]:
        def decoder(value: bytes) -> Any:
            obj, error = fn(value, LIMITS)
            if error is not None:
                raise ValueError(error.code)
            return obj

        return decoder

    def pydantic_json(value: bytes, version: int) -> bool:
        try:
            json_by_version[version](value)
        except Exception:
            return False
        return True

    return {
        "guard (jiter fast path + exact fallback)": with_decoder(guard_decoder(decode)),
        "guard, exact path only (stdlib + hooks)": with_decoder(guard_decoder(decode_exact)),
        "json.loads + contract check": with_decoder(json.loads),
        "msgspec.json.decode + contract check": with_decoder(msgspec.json.decode),
        "pydantic-core validate_json": pydantic_json,
    }


def _version(headers: list[tuple[str, bytes]]) -> int:
    for key, value in headers:
        if key == "schema-version" and value in (b"1", b"2"):
            return int(value)
    return 2  # no header (or an unknown one): the newest version


def best_us(inputs: list[tuple[bytes, int]], check: Check, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for value, version in inputs:
            check(value, version)
        best = min(best, time.process_time() - start)
    return best / len(inputs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows = checks()
    poison = _poison()
    datasets = (Dataset("250B", 0.0), Dataset("250B", 0.20), Dataset("2KB", 0.20))
    inputs = {
        ds.name: [(r.value, _version(r.headers)) for r in records(ds, args.records)]
        for ds in datasets
    }
    names = list(inputs)
    print(f"CPU us per record (best of {args.rounds} rounds of {args.records:,} records)")
    print(f"| check | {' | '.join(names)} | poison let through |")
    print(f"|---|{'---|' * len(names)}---|")
    for name, check in rows.items():
        cells = [f"{best_us(inputs[n], check, args.rounds):.1f}" for n in names]
        passed = sum(check(p, 2) for p in poison)
        print(f"| {name} | {' | '.join(cells)} | {passed} of {len(poison)} |")


if __name__ == "__main__":
    main()
