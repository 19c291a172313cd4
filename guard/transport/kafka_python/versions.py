"""Which kafka-python the adaptations of its internals were written against."""

from __future__ import annotations

import inspect
from typing import Any

import kafka

# Versions whose internals this backend's adaptations were read line by line against.
KNOWN = ("3.0.",)


def still_has(obj: Any, *needles: str) -> bool:
    """On a version read, whether `obj`'s source still holds every `needle` (the code an
    adaptation works around); False without shipped source: it cannot tell."""
    if not kafka.__version__.startswith(KNOWN):
        return False
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        return False
    return all(needle in source for needle in needles)
