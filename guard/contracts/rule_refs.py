"""What a rule expression refers to, found by scanning its tokens (no CEL library needed).

Two load-time checks the CEL checker cannot make with `record` declared as a dynamic value:
every `record.a.b` path must name fields the contract version declares, and comprehension
macros (`all`, `exists`, `exists_one`, `map`, `filter`) may not nest, nor may a comprehension's
body read an array of the record (`t in record.allowed` scans it once per element: a nested
loop in all but name), so evaluating a rule costs at most time linear in the record's size
(the record itself is bounded by `max_bytes` / `max_depth`). CEL has no loops or recursion
besides these macros.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from guard.contracts.spec import FieldSpec

ROOT = "record"
COMPREHENSIONS = frozenset({"all", "exists", "exists_one", "map", "filter"})
MAX_COMPREHENSION_DEPTH = 1

# CEL string literals (raw/bytes prefixes, triple quotes), `//` comments (skipped, like
# space), identifiers, numbers, other symbols.
_TOKEN = re.compile(
    r"""(?P<str>[rRbB]{0,2}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
    |(?P<comment>//[^\n]*)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<num>\d[\w.]*)
    |(?P<space>\s+)
    |(?P<sym>.)""",
    re.VERBOSE,
)


class RuleRefError(ValueError):
    """A rule names something the contract does not declare; `offset` is where in `expr`."""

    def __init__(self, offset: int, problem: str) -> None:
        self.offset, self.problem = offset, problem
        super().__init__(problem)


@dataclass(frozen=True)
class Refs:
    paths: tuple[tuple[str, ...], ...]  # every `record.a.b` selection, as ('a', 'b')
    # True when `record` is used other than through `.field` (indexing, passed whole):
    # the evaluator then hands the rule the whole record instead of the named fields only.
    whole_record: bool

    @property
    def top_level(self) -> frozenset[str]:
        return frozenset(p[0] for p in self.paths)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    offset: int


def tokens(expr: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(expr):
        kind = m.lastgroup or "sym"
        if kind not in {"space", "comment"}:
            out.append(_Tok(kind, m.group(), m.start()))
    return out


def scan(expr: str, fields: dict[str, FieldSpec]) -> Refs:
    """The field paths `expr` selects under `record`; RuleRefError for an undeclared field or
    comprehensions nested too deep."""
    toks = tokens(expr)
    _check_nesting(toks)
    _check_bodies(toks, fields)
    paths: list[tuple[str, ...]] = []
    whole = False
    for i, tok in enumerate(toks):
        if tok.kind != "ident" or tok.text != ROOT:
            continue
        if i > 0 and toks[i - 1].text == ".":  # `x.record` is a field of something else
            continue
        path = list(_selections(toks, i + 1))
        if not path:
            whole = True
            continue
        _check_path(path, fields)
        paths.append(tuple(name for name, _ in path))
    return Refs(tuple(paths), whole)


def _selections(toks: list[_Tok], start: int) -> Iterator[tuple[str, int]]:
    """`.a.b` after `record`, stopping before a method call (`.size()`)."""
    i = start
    while i + 1 < len(toks) and toks[i].text == "." and toks[i + 1].kind == "ident":
        if i + 2 < len(toks) and toks[i + 2].text == "(":
            return
        yield toks[i + 1].text, toks[i + 1].offset
        i += 2


def _check_path(path: list[tuple[str, int]], fields: dict[str, FieldSpec]) -> None:
    scope: dict[str, FieldSpec] | None = fields
    where = ROOT
    for name, offset in path:
        if scope is None:
            raise RuleRefError(offset, f"{where} has no fields, so {where}.{name} does not exist")
        spec = scope.get(name)
        if spec is None:
            known = ", ".join(scope) or "none"
            raise RuleRefError(
                offset, f"{where}.{name} is not a field of this version (fields: {known})"
            )
        where = f"{where}.{name}"
        scope = spec.fields if spec.type == "object" else None


def _check_nesting(toks: list[_Tok]) -> None:
    stack: list[bool] = []  # one entry per open parenthesis: is it a comprehension's?
    for i, tok in enumerate(toks):
        if tok.text == "(":
            macro = (
                i >= 2
                and toks[i - 1].kind == "ident"
                and toks[i - 1].text in COMPREHENSIONS
                and toks[i - 2].text == "."
            )
            if macro and sum(stack) >= MAX_COMPREHENSION_DEPTH:
                raise RuleRefError(
                    toks[i - 1].offset,
                    f"comprehensions ({', '.join(sorted(COMPREHENSIONS))}) may not nest: "
                    "a rule's cost must stay linear in the record's size",
                )
            stack.append(macro)
        elif tok.text == ")" and stack:
            stack.pop()


def _check_bodies(toks: list[_Tok], fields: dict[str, FieldSpec]) -> None:
    """Inside a comprehension's parentheses, `record` may select numbers and booleans; a
    string or an object only as the operand of a comparison (or of has(), or an object's
    size); an array only for its size or has(). Anything else (`in`, `+`, a method, an index,
    parentheses or a function around it) may scan it once per element, so its cost grows
    with the square of the record's size (2.5 s for one ~450 KB record, 34 s for a string
    search). The whole `record` is refused there for the same reason. The array a
    comprehension ranges over comes before its parentheses."""
    stack: list[bool] = []
    for i, tok in enumerate(toks):
        if tok.text == "(":
            macro = (
                i >= 2
                and toks[i - 1].kind == "ident"
                and toks[i - 1].text in COMPREHENSIONS
                and toks[i - 2].text == "."
            )
            stack.append(macro)
        elif tok.text == ")" and stack:
            stack.pop()
        elif tok.kind == "ident" and tok.text == ROOT and any(stack):
            if i > 0 and toks[i - 1].text == ".":
                continue
            path = list(_selections(toks, i + 1))
            if not path:
                raise RuleRefError(
                    tok.offset,
                    "inside a comprehension, select fields of record (record.a), not the whole "
                    "record: a rule's cost must stay linear in the record's size",
                )
            spec = field_at(fields, tuple(name for name, _ in path))
            end = i + 1 + 2 * len(path)  # the token after the selected path
            sized = (
                end + 2 < len(toks)
                and toks[end].text == "."
                and toks[end + 1].text == "size"
                and toks[end + 2].text == "("
            ) or (  # size(record.a) as record.a.size(), or has(record.a): never a scan
                i >= 2
                and toks[i - 1].text == "("
                and toks[i - 2].text in {"size", "has"}
                and (i < 3 or toks[i - 3].text != ".")
                and end < len(toks)
                and toks[end].text == ")"
            )
            where = ".".join((ROOT, *(name for name, _ in path)))
            compared = _compared(toks, i, end)
            if spec is not None and spec.type == "object" and not (compared or sized):
                raise RuleRefError(
                    tok.offset,
                    f"inside a comprehension, select fields of {where} by name ({where}.a) or "
                    "compare it whole; an index or a function reads what is not known to be a "
                    "scalar, and a rule's cost must stay linear in the record's size",
                )
            if spec is not None and spec.type == "string" and not compared:
                raise RuleRefError(
                    tok.offset,
                    f"inside a comprehension, {where} (a string) may be compared (==, <, in "
                    "a list literal) but not searched, measured, converted or joined: that "
                    "would be done once per element, and a rule's cost must stay linear in "
                    "the record's size",
                )
            if spec is not None and spec.type == "array" and not sized:
                raise RuleRefError(
                    tok.offset,
                    f"inside a comprehension, {where} (an array) would be read once per "
                    "element: a rule's cost must stay linear in the record's size (only its "
                    ".size() may be used there; a set of allowed values belongs in the rule "
                    "as a list literal, or in the field's enum)",
                )


_COMPARISON_START = frozenset({"=", "!", "<", ">", "in"})  # ==, !=, <, <=, >, >=, in
_COMPARISON_END = frozenset({"=", "<", ">", "in"})
_TIGHTER = frozenset({".", "[", "+", "-", "*", "/", "%", "!"})  # bind before a comparison


def _compared(toks: list[_Tok], i: int, end: int) -> bool:
    """Whether the selection toks[i:end] is, as it stands, an operand of a comparison (or of
    has()): its value then goes nowhere else (not into a method, an index, `+`, a function,
    a list or a conditional), so the comparison is all it costs."""
    before = toks[i - 1].text if i > 0 else ""
    after = toks[end].text if end < len(toks) else ""
    if after in {".", "[", "+", "-", "*", "/", "%"} or before in _TIGHTER:
        return False
    if before == "(" and i >= 2 and toks[i - 2].text == "has" and after == ")":
        return True
    if after == "!":
        return end + 1 < len(toks) and toks[end + 1].text == "="
    return after in _COMPARISON_START or before in _COMPARISON_END


def field_at(fields: dict[str, FieldSpec], path: tuple[str, ...]) -> FieldSpec | None:
    """The field a selection path names (None when a contract declares no such field)."""
    scope: dict[str, FieldSpec] | None = fields
    spec: FieldSpec | None = None
    for name in path:
        spec = (scope or {}).get(name)
        if spec is None:
            return None
        scope = spec.fields if spec.type == "object" else None
    return spec


def position(expr: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of `offset` in `expr`."""
    line = expr.count("\n", 0, offset) + 1
    column = offset - (expr.rfind("\n", 0, offset) + 1) + 1
    return line, column
