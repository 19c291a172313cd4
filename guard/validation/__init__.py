"""Per-record validation: decoding guards, contract checks, version resolution."""

from guard.validation.decode import Limits, decode
from guard.validation.reasons import FieldError, Reason
from guard.validation.validator import AcceptedVersions, RecordValidator, Verdict

__all__ = [
    "AcceptedVersions",
    "FieldError",
    "Limits",
    "Reason",
    "RecordValidator",
    "Verdict",
    "decode",
]
