"""Which `__consumer_offsets` partition holds a group's offsets, as the broker computes it
(guard/transport/stale_transactions.py)."""

from __future__ import annotations

import pytest

from guard.transport.stale_transactions import offsets_partition


@pytest.mark.parametrize(
    ("group", "java_hash"),
    [
        ("hello", 99162322),
        ("Hello World", -862545276),  # negative: the broker takes its absolute value
        ("Aa", 2112),
        ("BB", 2112),
        ("\N{GRINNING FACE}", 31 * 0xD83D + 0xDE00),  # two UTF-16 units, as Java counts
    ],
)
def test_the_partition_is_the_java_hash_code_of_the_group_modulo_the_partitions(
    group: str, java_hash: int
) -> None:
    assert offsets_partition(group, 50) == abs(java_hash) % 50


def test_a_group_whose_hash_code_is_the_smallest_int_maps_to_partition_0() -> None:
    assert offsets_partition("polygenelubricants", 50) == 0  # hashCode == Integer.MIN_VALUE
