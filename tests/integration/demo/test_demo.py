"""The README's main job: `guard demo` runs end to end and accounts for every record."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from guard.demo.samples import MALFORMED_KINDS

pytestmark = pytest.mark.integration


def test_demo_routes_every_record_and_loses_none(subprocess_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "guard", "demo"],
        capture_output=True,
        text=True,
        timeout=600,
        env=subprocess_env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    match = re.search(r"(\d+) in = (\d+) valid \+ (\d+) quarantined = (\d+) out; lost: (\d+)", out)
    assert match, out[-2000:]
    total, valid, quarantined, accounted, lost = map(int, match.groups())
    assert (total, accounted, lost) == (2000, 2000, 0)
    assert valid + quarantined == total and quarantined > 0
    for reason in MALFORMED_KINDS:
        assert re.search(rf"^\s+{reason}\s+\d+$", out, re.MULTILINE), (
            f"{reason} missing from report"
        )
