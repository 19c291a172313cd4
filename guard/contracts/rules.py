"""A contract version's business rules, compiled once with CEL and evaluated per record.

CEL comes from Google's C++ implementation (`cel-expr-python`), chosen by measurement
(docs/rules.md). Evaluation never raises: an expression that fails at run time (a missing key,
division by zero, integer overflow, a value CEL cannot hold) is an `error` outcome, which the
validator turns into the `rule_error` reason. Cost is bounded at load (contracts/rule_refs.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from guard.contracts.rule_refs import ROOT, RuleRefError, position, scan
from guard.contracts.spec import INT64_MAX, INT64_MIN, ContractSpec, FieldSpec, RuleSpec

OutcomeKind = Literal["failed", "error"]
_CEL_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*)")


class RuleCompileError(ValueError):
    """A rule that does not compile; `line`/`column` are 1-based positions in its `expr`."""

    def __init__(self, rule: str, line: int, column: int, problem: str) -> None:
        self.rule, self.line, self.column, self.problem = rule, line, column, problem
        super().__init__(f"rule {rule!r} (line {line}, column {column}): {problem}")


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """A rule that did not hold for a record (passing rules leave no outcome)."""

    rule: RuleSpec
    kind: OutcomeKind  # `failed`: evaluated to false; `error`: could not be evaluated
    detail: str  # value-free description of an error ('' for `failed`)


@dataclass(frozen=True)
class CompiledRule:
    spec: RuleSpec
    program: Any  # cel_expr_python Expression


@dataclass(frozen=True)
class RuleSet:
    """The compiled rules of one version. Thread-safe: evaluation keeps no state."""

    rules: tuple[CompiledRule, ...] = ()
    keys: frozenset[str] = frozenset()  # top-level fields any rule selects
    whole_record: bool = False  # some rule uses `record` other than through `.field`
    # Every rule ANDed into one program: true exactly when every rule is true (CEL's `&&`
    # is true only if both sides are), so the common case costs one evaluation.
    conjunction: Any = None
    # The selected top-level fields that hold `number` values (directly or inside), each with
    # how to hand its value to CEL as doubles: JSON `100` and `100.0` are the same number.
    doubles: tuple[tuple[str, Callable[[Any], Any]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def evaluate(self, record: dict[str, Any]) -> list[RuleOutcome]:
        """The rules that do not hold for `record`, in file order."""
        # Only the fields rules select are converted to CEL values: a record's other fields
        # (an unchecked 2 KB blob, say) cost nothing.
        data = record if self.whole_record else {k: record[k] for k in self.keys if k in record}
        if self.doubles:
            data = dict(data) if data is record else data  # the record itself is not changed
            for key, to_double in self.doubles:
                if key in data:
                    data[key] = to_double(data[key])
        bound = {ROOT: data}
        if self.conjunction is not None:
            try:
                if self.conjunction.eval(data=bound).plain_value() is True:
                    return []
            except Exception:  # a value CEL refused: find out which rule, one by one
                pass
        try:
            activation = _env().Activation(bound)
        except Exception as exc:  # a value CEL cannot hold (an integer beyond 64 bits)
            detail = describe_error(str(exc))
            return [RuleOutcome(r.spec, "error", detail) for r in self.rules]
        out: list[RuleOutcome] = []
        for rule in self.rules:
            try:
                result = rule.program.eval(activation)
                value = result.plain_value()
            except Exception as exc:  # the C++ runtime refused a value mid-evaluation
                out.append(RuleOutcome(rule.spec, "error", describe_error(str(exc))))
                continue
            if value is True:
                continue
            if value is False:
                out.append(RuleOutcome(rule.spec, "failed", ""))
                continue
            kind = result.type().name()
            detail = describe_error(value) if kind == "ERROR" else f"gave {kind}, not a boolean"
            out.append(RuleOutcome(rule.spec, "error", detail))
        return out


def compile_rules(spec: ContractSpec) -> RuleSet:
    """Compile every rule of `spec`; RuleCompileError names the first that does not compile."""
    if not spec.rules:
        return RuleSet()
    compiled: list[CompiledRule] = []
    keys: set[str] = set()
    whole = False
    for rule in spec.rules:
        try:
            refs = scan(rule.expr, spec.fields)
        except RuleRefError as exc:
            line, column = position(rule.expr, exc.offset)
            raise RuleCompileError(rule.name, line, column, exc.problem) from None
        program = _compile(rule)
        keys |= refs.top_level
        whole = whole or refs.whole_record
        compiled.append(CompiledRule(rule, program))
    conjunction = None
    if len(compiled) > 1:
        # Each expression ends its own line: a trailing `// comment` in one rule must not
        # swallow the `)` and the rules after it (that either fails to compile or, with a
        # multi-line rule next, compiles to a weaker program that skips rules).
        try:
            conjunction = _env().compile(" && ".join(f"({r.expr}\n)" for r in spec.rules))
        except Exception:  # deeper than the parser's limit (32) though each rule is not:
            conjunction = None  # the rules are evaluated one by one, as when one is refused
    else:
        conjunction = compiled[0].program
    doubles = tuple(
        (name, to_double)
        for name, fs in spec.fields.items()
        if (whole or name in keys) and (to_double := _doubles(fs)) is not None
    )
    return RuleSet(tuple(compiled), frozenset(keys), whole, conjunction, doubles)


def _doubles(fs: FieldSpec) -> Callable[[Any], Any] | None:
    """How to give CEL a value of field `fs` with every `number` in it a double (a JSON
    number without a fraction decodes to an int, and CEL has no `int / double`); None when
    the field holds no `number`. Values the field checks let through only: null stays null,
    unknown keys of an object stay as they are."""
    if fs.type == "number":
        return _double
    if fs.type == "array" and fs.items is not None:
        item = _doubles(fs.items)
        if item is None:
            return None
        return lambda v: [item(x) for x in v] if type(v) is list else v
    if fs.type == "object" and fs.fields:
        inner = tuple((k, f) for k, sub in fs.fields.items() if (f := _doubles(sub)) is not None)
        if not inner:
            return None
        return lambda v: _object_doubles(v, inner) if type(v) is dict else v
    return None


def _double(v: Any) -> Any:
    # An integer beyond 64 bits (never past the decoder) stays as it is: a rule_error.
    return float(v) if type(v) is int and INT64_MIN <= v <= INT64_MAX else v


def _object_doubles(v: dict[str, Any], inner: tuple[tuple[str, Callable[[Any], Any]], ...]) -> Any:
    out = dict(v)
    for key, to_double in inner:
        if key in out:
            out[key] = to_double(out[key])
    return out


def _compile(rule: RuleSpec) -> Any:
    try:
        program = _env().compile(rule.expr)
    except Exception as exc:  # the library raises RuntimeError with `<input>:L:C: message`
        text = str(exc)
        m = _CEL_POSITION.search(text)
        if m is None:
            raise RuleCompileError(rule.name, 1, 1, text.splitlines()[0]) from None
        line, column = int(m.group(1)), int(m.group(2))
        raise RuleCompileError(rule.name, line, column, m.group(3)) from None  # 1-based
    kind = program.return_type().name()
    if kind not in {"BOOL", "DYN"}:
        raise RuleCompileError(rule.name, 1, 1, f"evaluates to {kind}, not a boolean")
    return program


@cache
def _env() -> Any:
    from cel_expr_python import cel
    from cel_expr_python.ext.ext_math import ExtMath
    from cel_expr_python.ext.ext_strings import ExtStrings

    # The strings and math extensions, as Confluent's and Conduktor's CEL environments offer.
    return cel.NewEnv(variables={ROOT: cel.Type.DYN}, extensions=[ExtStrings(), ExtMath()])


# CEL's messages for run-time errors, reduced to value-free descriptions (logs and envelopes
# carry no record values unless the user opts in).
_ERRORS = (
    (re.compile(r'Key not found in map : "([^"]{0,64})"'), "no field {0!r} in the record"),
    (re.compile(r"no such key"), "a missing key"),
    (re.compile(r"divide by zero|division by zero|modulus by zero", re.I), "division by zero"),
    (re.compile(r"overflow", re.I), "integer overflow"),
    (re.compile(r"out of range", re.I), "a number outside CEL's 64-bit range"),
    (re.compile(r"No matching overloads found : ([^\n]{0,120})"), "no operator for {0}"),
    (re.compile(r"conversion failed", re.I), "a value that does not convert"),
    (re.compile(r"non-message type|no such field", re.I), "a selection on a non-object value"),
    (re.compile(r"regular expression", re.I), "an invalid regular expression"),
    # The C++ runtime stops a program after 10,000 comprehension iterations (not settable).
    (
        re.compile(r"Iteration budget exceeded"),
        "comprehensions over more than CEL's budget of 10,000 elements",
    ),
)
_CODE = re.compile(r"^([A-Z_]+):")


def describe_error(text: str) -> str:
    """A value-free description of one CEL evaluation error."""
    for pattern, description in _ERRORS:
        m = pattern.search(text)
        if m is not None:
            return description.format(*m.groups())
    code = _CODE.match(text)
    return f"evaluation error ({code.group(1) if code else 'unknown'})"
