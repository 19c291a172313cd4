"""Schema Registry's compatibility modes, by name.

A dependency-free module so the CLI can offer them as choices without importing the
contracts machinery (pydantic, YAML) just to print `--help`.
"""

from __future__ import annotations

from typing import Literal, get_args

Mode = Literal[
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
]
MODES: tuple[Mode, ...] = get_args(Mode)
DEFAULT_MODE: Mode = "BACKWARD"
