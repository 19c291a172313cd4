"""Map pydantic error types to stable reason codes, without echoing input values."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic_core import ErrorDetails

from guard.validation.reasons import FieldError, Reason

_BY_TYPE: dict[str, Reason] = {
    "missing": Reason.MISSING_FIELD,
    "extra_forbidden": Reason.UNKNOWN_FIELD,
    "not_in_enum": Reason.NOT_IN_ENUM,
    "literal_error": Reason.NOT_IN_ENUM,
    "bad_format": Reason.BAD_FORMAT,
    "string_pattern_mismatch": Reason.PATTERN_MISMATCH,
    "string_too_short": Reason.BAD_LENGTH,
    "string_too_long": Reason.BAD_LENGTH,
    "too_short": Reason.BAD_LENGTH,
    "too_long": Reason.BAD_LENGTH,
    "greater_than": Reason.OUT_OF_RANGE,
    "greater_than_equal": Reason.OUT_OF_RANGE,
    "less_than": Reason.OUT_OF_RANGE,
    "less_than_equal": Reason.OUT_OF_RANGE,
    "finite_number": Reason.OUT_OF_RANGE,
    "int_parsing_size": Reason.OUT_OF_RANGE,
    "string_unicode": Reason.LONE_SURROGATE,  # a lone surrogate escape: valid UTF-8 bytes
}

_VALUE_REPR_LIMIT = 200


def map_errors(
    errors: Sequence[ErrorDetails], version: int, expose_values: bool
) -> tuple[FieldError, ...]:
    out: list[FieldError] = []
    for err in errors:
        etype: str = err["type"]
        value = err.get("input")
        code = _BY_TYPE.get(etype)
        if etype == "float_type" and isinstance(value, int) and not isinstance(value, bool):
            code = Reason.OUT_OF_RANGE  # an integer literal too large for a float
        if code is None:
            if etype.endswith("_type") or etype in {"model_type", "model_attributes_type"}:
                code = Reason.NULL_NOT_ALLOWED if value is None else Reason.WRONG_TYPE
            else:
                code = Reason.INVALID
        message = "null is not allowed" if code is Reason.NULL_NOT_ALLOWED else err["msg"]
        shown = repr(value)[:_VALUE_REPR_LIMIT] if expose_values and etype != "missing" else None
        out.append(FieldError(_path(err["loc"]), code, message, version, shown))
    return tuple(out)


def _path(loc: tuple[int | str, ...]) -> str:
    """('items', 3, 'sku') -> 'items[3].sku'."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(f".{item}" if parts else item)
    return "".join(parts)
