"""Hypothesis strategies for JSON documents, shared by the tests that fuzz decoding and rules."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def json_scalars(
    *, finite: bool = True, big_ints: bool = True, text_size: int = 12
) -> st.SearchStrategy[Any]:
    """null, booleans, integers (within +-2^70, or unbounded unless `big_ints`), floats (NaN
    and infinities too unless `finite`) and short strings."""
    integers = st.integers(min_value=-(2**70), max_value=2**70) if big_ints else st.integers()
    return (
        st.none()
        | st.booleans()
        | integers
        | st.floats(allow_nan=not finite, allow_infinity=not finite)
        | st.text(max_size=text_size)
    )


def json_values(
    *, finite: bool = True, big_ints: bool = True, text_size: int = 12, leaves: int = 20
) -> st.SearchStrategy[Any]:
    """Those scalars nested in lists and string-keyed dicts."""
    return st.recursive(
        json_scalars(finite=finite, big_ints=big_ints, text_size=text_size),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(max_size=text_size // 2 + 2), inner, max_size=4)
        ),
        max_leaves=leaves,
    )
