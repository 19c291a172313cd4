"""ingest-guard: validate Kafka records against versioned contracts; quarantine the rest.

The stable Python API lives in `guard.api` (docs/api.md); its names can be imported from
`guard` too (`from guard import load_contracts`). They are loaded on first use (PEP 562
module `__getattr__`), so `import guard` — and with it `guard --help` — loads no pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guard._version import __version__

if TYPE_CHECKING:
    from guard.api import (
        ContractError,
        Contracts,
        FieldError,
        GuardError,
        HeaderStyle,
        PayloadFormat,
        Reason,
        Validator,
        Verdict,
        load_contracts,
    )

# guard.api.__all__ plus the version (tests/test_api.py checks they agree).
__all__ = [
    "ContractError",
    "Contracts",
    "FieldError",
    "GuardError",
    "HeaderStyle",
    "PayloadFormat",
    "Reason",
    "Validator",
    "Verdict",
    "__version__",
    "load_contracts",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        import guard.api

        return getattr(guard.api, name)
    raise AttributeError(f"module 'guard' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
