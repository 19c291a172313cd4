"""What both backends' checks of `kafka.producer_properties` / `kafka.consumer_properties`
share: client settings the guard does not model are passed through to the chosen client as
they are, but never one the guard owns (exactly-once depends on it) or models as a setting of
its own. Each backend's `config.py` holds its tables and checks the names its client knows.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Literal

from guard.config.settings import PropertyValue

Role = Literal["producer", "consumer"]


def refuse_reserved(
    role: Role,
    props: Mapping[str, PropertyValue],
    owned: Set[str],
    modelled: Mapping[str, str],
) -> None:
    """Raise ValueError naming the first property the guard owns or models (`modelled` maps
    the client's name to the `kafka.*` setting to use instead)."""
    for name in props:
        if name in owned:
            raise ValueError(f"{role} property {name!r} is set by the guard and cannot be changed")
        if name in modelled:
            raise ValueError(f"{role} property {name!r}: use the setting kafka.{modelled[name]}")
