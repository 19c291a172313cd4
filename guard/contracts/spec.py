"""The declarative contract file format: one YAML file per subject version.

These models describe the *file*, not the records. They reject unknown keys and impossible
combinations (a `pattern` on an integer, `minimum > maximum`, an enum value of the wrong
type or one the field's own bounds, lengths, pattern or format refuse, or a timestamp/date
field's format), so a broken contract fails at start-up instead of on the first record.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Literal, Self, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, model_validator

from guard.contracts.formats import IMPLIED_FORMATS, fits_format, fits_pattern

FieldType = Literal[
    "string", "integer", "number", "boolean", "timestamp", "date", "object", "array"
]
StringFormat = Literal["date-time", "date", "email", "uuid", "uri"]
UnknownFieldPolicy = Literal["reject", "allow", "strip"]
# `candidate`: evaluated beside the enforced versions (shadow rollout) but never enforced.
Status = Literal["active", "retired", "candidate"]
RuleAction = Literal["quarantine", "warn"]

# JSON numbers usually land in 64-bit integer columns downstream; an integer field without an
# explicit range is held to that, so `integers too large for the field` are caught by default.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_NUMERIC = {"integer", "number"}
_STRINGY = {"string"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


_NO_LIMIT = 1e9


def _threshold(lo: float, hi: float) -> Callable[[object], float | Literal[False]]:
    """Validates a drift threshold: a number in (lo, hi], or `false`/`off` (check off)."""

    def check(value: object) -> float | Literal[False]:
        if value is False or value == "off":
            return False
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number, or false/off to switch the check off")
        number = float(value)
        if not (lo < number <= hi and math.isfinite(number)):
            if hi >= _NO_LIMIT:
                raise ValueError("must be a number above 0, or false/off")
            raise ValueError(f"must be in ({lo:g}, {hi:g}], or false/off")
        return number

    return check


_JSON_INPUT = float | bool
Rate: TypeAlias = Annotated[
    float | Literal[False], PlainValidator(_threshold(0.0, 1.0), json_schema_input_type=_JSON_INPUT)
]
Positive: TypeAlias = Annotated[
    float | Literal[False],
    PlainValidator(_threshold(0.0, _NO_LIMIT), json_schema_input_type=_JSON_INPUT),
]
PValue: TypeAlias = Annotated[
    float | Literal[False], PlainValidator(_threshold(0.0, 0.5), json_schema_input_type=_JSON_INPUT)
]


class DriftSpec(BaseModel):
    """Per-field drift thresholds (`drift:` on a field); unset keys keep the configured defaults.

    A number sets the threshold, `false` (or `off`) switches that check off for the field.
    Which keys apply depends on the field's type: distribution checks (psi, ks, wasserstein)
    need a numeric field, category checks (js, chi2_p, new_categories, categorical) a string,
    integer or boolean one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    null_rate_abs: Rate | None = None  # |null share now - baseline| at or above this
    null_rate_rel: Positive | None = None  # |change| / baseline null share at or above this
    missing_rate_abs: Rate | None = None  # |missing share now - baseline|
    type_change: Rate | None = None  # share of present values of a type the baseline lacked
    psi: Positive | None = None  # population stability index over baseline deciles
    ks: Rate | None = None  # Kolmogorov-Smirnov distance (and significant per sketch error)
    wasserstein: Positive | None = None  # Wasserstein distance / baseline spread
    js: Rate | None = None  # Jensen-Shannon distance of category frequencies (base 2)
    chi2_p: PValue | None = None  # chi-square p-value below this
    new_categories: bool | None = None  # a value the (enum-like) baseline never saw
    categorical: bool | None = None  # force (true) or forbid (false) category treatment


_NUMERIC_CHECKS = ("psi", "ks", "wasserstein")
_CATEGORY_CHECKS = ("js", "chi2_p", "new_categories", "categorical")


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FieldType
    description: str | None = None
    required: bool = True
    nullable: bool = False
    enum: list[str | int | float | bool] | None = Field(default=None, min_length=1)
    minimum: float | int | None = None
    maximum: float | int | None = None
    exclusive_minimum: float | int | None = None
    exclusive_maximum: float | int | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    pattern: str | None = None
    format: StringFormat | None = None
    fields: dict[str, FieldSpec] | None = None
    unknown_fields: UnknownFieldPolicy | None = None
    items: FieldSpec | None = None
    min_items: int | None = Field(default=None, ge=0)
    max_items: int | None = Field(default=None, ge=0)
    drift: DriftSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        t = self.type
        if self.drift is not None:
            check_drift(t, self.drift)
        ranged = (self.minimum, self.maximum, self.exclusive_minimum, self.exclusive_maximum)
        if any(v is not None for v in ranged) and t not in _NUMERIC:
            raise ValueError(f"numeric ranges apply only to integer/number fields, not {t}")
        # NaN compares false with everything (`minimum: .nan` would refuse every record) and
        # an infinite bound is no bound or refuses every finite value: neither means anything.
        if any(
            isinstance(v, float) and not math.isfinite(v) for v in (*ranged, *(self.enum or ()))
        ):
            raise ValueError(
                "numeric bounds and enum values must be finite numbers (not NaN or inf)"
            )
        if t == "integer" and any(isinstance(v, float) and not v.is_integer() for v in ranged):
            raise ValueError("an integer field's bounds must be whole numbers")
        lengths = (self.min_length, self.max_length, self.pattern, self.format)
        if any(v is not None for v in lengths) and t not in _STRINGY:
            raise ValueError(
                f"min_length/max_length/pattern/format apply only to string fields, not {t}"
            )
        if (self.fields is not None or self.unknown_fields is not None) and t != "object":
            raise ValueError(f"'fields'/'unknown_fields' apply only to object fields, not {t}")
        if t == "object" and not self.fields:
            raise ValueError("an object field needs a non-empty 'fields' mapping")
        items_set = (self.items, self.min_items, self.max_items)
        if any(v is not None for v in items_set) and t != "array":
            raise ValueError(f"'items'/'min_items'/'max_items' apply only to arrays, not {t}")
        if t == "array" and self.items is None:
            raise ValueError("an array field needs an 'items' spec")
        if self.enum is not None:
            if t in {"object", "array"}:
                raise ValueError(f"'enum' does not apply to {t} fields")
            bad = [v for v in self.enum if not _enum_value_fits(t, v)]
            if bad:
                raise ValueError(f"enum values {bad!r} are not of type {t}")
        _check_order("minimum", self.minimum, "maximum", self.maximum)
        _check_range(t == "integer", ranged)
        _check_order("min_length", self.min_length, "max_length", self.max_length)
        _check_order("min_items", self.min_items, "max_items", self.max_items)
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        _check_enum_values(self)
        for name in self.fields or {}:
            _check_name(name)
        return self


class RuleSpec(BaseModel):
    """A business rule across fields: a CEL expression over `record` that must be true."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$", max_length=64)
    expr: str = Field(min_length=1, max_length=4000)
    message: str | None = Field(default=None, max_length=500)
    on_failure: RuleAction = "quarantine"


class ContractSpec(BaseModel):
    """One version of one subject, exactly as written in `schemas/<subject>/v<N>.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    version: int = Field(ge=1)
    status: Status = "active"
    description: str | None = None
    unknown_fields: UnknownFieldPolicy = "reject"
    fields: dict[str, FieldSpec] = Field(min_length=1)
    rules: list[RuleSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self) -> Self:
        if self.subject in (".", ".."):  # schemas/<subject>/ would be schemas/ or its parent
            raise ValueError(f"subject {self.subject!r} is not a directory name under schemas/")
        for name in self.fields:
            _check_name(name)
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return self


def _enum_value_fits(t: str, v: object) -> bool:
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, int | float) and not isinstance(v, bool)
    if t == "boolean":
        return isinstance(v, bool)
    return isinstance(v, str)


def check_drift(t: str, drift: DriftSpec) -> None:
    """Raise ValueError when `drift` sets a check that does not apply to a `t` field."""
    given = drift.model_fields_set
    numeric = [k for k in _NUMERIC_CHECKS if k in given]
    if numeric and t not in _NUMERIC:
        raise ValueError(f"drift: {_keys(numeric)} only to integer/number fields, not {t}")
    category = [k for k in _CATEGORY_CHECKS if k in given]
    if category and t not in {"string", "integer", "boolean"}:
        raise ValueError(f"drift: {_keys(category)} only to string/integer/boolean fields, not {t}")


def _keys(keys: list[str]) -> str:
    return f"{keys[0]} applies" if len(keys) == 1 else f"{', '.join(keys)} apply"


def _check_order(lo_name: str, lo: float | None, hi_name: str, hi: float | None) -> None:
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"{lo_name} ({lo}) is greater than {hi_name} ({hi})")


def _check_range(whole: bool, ranged: tuple[float | None, ...]) -> None:
    """Refuse bounds no value satisfies: `exclusive_minimum: 5` with `maximum: 5`, or an
    integer field between `exclusive_minimum: 4` and `exclusive_maximum: 5`."""
    minimum, maximum, exclusive_minimum, exclusive_maximum = ranged
    lows = [(v, k, False) for v, k in ((minimum, "minimum"),) if v is not None]
    lows += [(v, k, True) for v, k in ((exclusive_minimum, "exclusive_minimum"),) if v is not None]
    highs = [(v, k, False) for v, k in ((maximum, "maximum"),) if v is not None]
    highs += [(v, k, True) for v, k in ((exclusive_maximum, "exclusive_maximum"),) if v is not None]
    for lo, lo_name, lo_open in lows:
        for hi, hi_name, hi_open in highs:
            if whole:  # whole bounds: an exclusive one is the next integer, inclusive
                lo_i, hi_i = lo + (1 if lo_open else 0), hi - (1 if hi_open else 0)
                empty = lo_i > hi_i
            else:
                empty = lo > hi or (lo == hi and (lo_open or hi_open))
            if empty:
                raise ValueError(f"no value fits both {lo_name} ({lo}) and {hi_name} ({hi})")


def _check_enum_values(fs: FieldSpec) -> None:
    """Refuse enum values the field's own other constraints refuse (`enum: [1, 50]` with
    `maximum: 10`): no record could carry them, so the contract does not mean what it says."""
    problems = [
        f"enum value {v!r} can never pass: {why}"
        for v in fs.enum or ()
        if (why := _refused_by(fs, v)) is not None
    ]
    if problems:
        raise ValueError("; ".join(problems))


def _refused_by(fs: FieldSpec, v: str | int | float | bool) -> str | None:
    """The field's declared constraint that refuses `v` as the record check would, or None."""
    if isinstance(v, bool):
        return None  # boolean fields have no constraints besides their type
    if isinstance(v, str):
        if fs.min_length is not None and len(v) < fs.min_length:
            return f"shorter than min_length ({fs.min_length})"
        if fs.max_length is not None and len(v) > fs.max_length:
            return f"longer than max_length ({fs.max_length})"
        # The record check's engine (Rust regex, not `re`: `$` before a final newline, POSIX
        # classes differ), unanchored like it; a pattern it cannot compile fails at compile.
        if fs.pattern is not None and fits_pattern(fs.pattern, v) is False:
            return f"does not match pattern {fs.pattern!r}"
        fmt = fs.format or IMPLIED_FORMATS.get(fs.type)  # a timestamp/date field's own format
        if fmt is not None and not fits_format(fmt, v):
            return f"not a valid {fmt}"
        return None
    if fs.minimum is not None and v < fs.minimum:
        return f"below minimum ({fs.minimum})"
    if fs.maximum is not None and v > fs.maximum:
        return f"above maximum ({fs.maximum})"
    if fs.exclusive_minimum is not None and v <= fs.exclusive_minimum:
        return f"not above exclusive_minimum ({fs.exclusive_minimum})"
    if fs.exclusive_maximum is not None and v >= fs.exclusive_maximum:
        return f"not below exclusive_maximum ({fs.exclusive_maximum})"
    return None


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"field name {name!r} must match {_NAME.pattern}")
