"""The soak's figures table (benchmarks/soak.py): what it reports from its samples and faults.
The soak itself runs for tens of minutes against a cluster, outside `make test`."""

from __future__ import annotations

from benchmarks.soak import Fault, Figures, Sample, render


def _figures() -> Figures:
    figures = Figures("confluent", 3, 30, 100, produced=1_000)
    figures.samples = [
        Sample(0.0, 1.0, None, 0),  # the guard just forked: not its start figure
        Sample(60.0, 60.0, 120, 500),
        Sample(120.0, 80.0, 900, 900),
        Sample(180.0, None, None, 1_000),  # the guard was down
        Sample(240.0, 70.0, 10, 1_000),
    ]
    figures.faults = [Fault("leader-kill", 61.0, "node 2", 20.5, 4, 3.2, 11.0)]
    figures.audit = {"inputs": 1_000, "lost": 0, "duplicated": 0, "altered": 0, "wrong_verdict": 0}
    return figures


def test_rss_starts_a_minute_in_and_lag_is_the_largest_sample() -> None:
    figures = _figures()
    assert figures.rss() == {"start": 60.0, "end": 70.0, "max": 80.0}
    assert figures.lag_max() == 900


def test_the_table_has_the_audit_and_one_row_per_fault() -> None:
    table = render(_figures())
    assert "| lost / duplicated / altered / wrong verdict | 0 / 0 / 0 / 0 |" in table
    assert "| guard RSS start / end / max | 60 / 70 / 80 MB |" in table
    assert "| 1 | 61 s | leader-kill | node 2 | 20.5 s | 4 | 3.2 s | 11.0 s |" in table
