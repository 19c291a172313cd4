"""How the CEL library was chosen (docs/rules.md): three candidates from PyPI on the guard's
needs. Each must handle the issue's example rule and `has()`, and report a missing key,
division by zero and integer overflow as errors; then a 3-rule set is timed on one ~280 B
order (wall clock, best of 5 x 5,000). Candidates not installed are skipped:

    pip install common-expression-language cel-python   # cel-expr-python is a dependency
    python -m benchmarks.cel_choice

Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable
from typing import Any

ORDER = {
    "order_id": "3f1c2a9e-5b7d-4c1e-9a2f-0d8e6b4c7a11",
    "customer_email": "ada@example.com",
    "amount": 129.5,
    "currency": "CHF",
    "quantity": 3,
    "created_at": "2026-11-21T09:15:00Z",
    "channel": "web",
    "shipping": {"country": "CH", "postcode": "8001"},
    "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
}
RULES = [
    "record.currency != 'CHF' || (has(record.shipping) && record.shipping.country == 'CH')",
    "record.amount <= 50000.0 * double(record.quantity)",
    "!has(record.items) || size(record.items) <= record.quantity",
]
PROBES = {
    "issue example": RULES[0],
    "has() on absent": "has(record.coupon)",
    "missing key": "record.coupon == 'X'",
    "division by zero": "record.quantity / 0 > 1",
    "overflow": "record.quantity * 9223372036854775807 > 0",
}

Compile = Callable[[str], Any]
Run = Callable[[list[Any], dict[str, Any]], list[Any]]


def measure(name: str, compile_: Compile, run: Run) -> None:
    print(f"== {name}")
    ctx = {"record": ORDER}
    for probe, expr in PROBES.items():
        try:
            out: Any = run([compile_(expr)], ctx)[0]
        except Exception as exc:
            out = f"raises {type(exc).__name__}: {str(exc)[:70]}"
        print(f"  {probe:<18} {out!r:.100}")
    programs = [compile_(r) for r in RULES]
    print(f"  3 rules -> {run(programs, ctx)}")
    n = 5000
    best = min(timeit.repeat(lambda: run(programs, ctx), number=n, repeat=5))
    print(f"  3-rule set: {best / n * 1e6:.1f} us/record")


def main() -> None:
    print(f"order: {len(json.dumps(ORDER, separators=(',', ':')))} B")
    try:
        import cel  # common-expression-language (Rust)

        def run_rust(programs: list[Any], ctx: dict[str, Any]) -> list[Any]:
            context = cel.Context()  # built once per record, shared by the rules
            context.add_variable("record", ctx["record"])
            return [p.execute(context) for p in programs]

        measure("common-expression-language", cel.compile, run_rust)
    except ImportError:
        print("== common-expression-language: not installed")

    from cel_expr_python import cel as google

    env = google.NewEnv(variables={"record": google.Type.DYN})

    def run_google(programs: list[Any], ctx: dict[str, Any]) -> list[Any]:
        activation = env.Activation(ctx)  # built once per record, shared by the rules
        return [p.eval(activation).plain_value() for p in programs]

    measure("cel-expr-python", env.compile, run_google)
    try:
        import celpy  # cel-python

        cenv = celpy.Environment()

        def run_celpy(programs: list[Any], ctx: dict[str, Any]) -> list[Any]:
            activation = {"record": celpy.json_to_cel(ctx["record"])}
            return [p.evaluate(activation) for p in programs]

        measure("cel-python", lambda e: cenv.program(cenv.compile(e)), run_celpy)
    except ImportError:
        print("== cel-python: not installed")


if __name__ == "__main__":
    main()
