"""The heavy libraries load only when monitoring runs: not for `guard --help`, not with
monitoring off (checked the way an operator would, with `python -X importtime`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = {"numpy", "scipy", "datasketches", "_datasketches", "prometheus_client"}


def _imported(stderr: str) -> set[str]:
    """Top-level package names from `-X importtime` lines ("import time: self | cum | name")."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_guard_help_and_the_monitoring_commands_help_import_no_heavy_library() -> None:
    code = (
        "import guard.cli.baseline, guard.cli.drift_status, guard.config.settings\n"
        "from guard.cli.main import cli\n"
        "for args in (['--help'],):\n"
        "    try: cli(args)\n"
        "    except SystemExit: pass\n"
        "for command in (guard.cli.baseline.baseline, guard.cli.drift_status.status):\n"
        "    try: command(['--help'])\n"
        "    except SystemExit: pass\n"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    imported = _imported(done.stderr)
    assert "guard" in imported and "click" in imported, "importtime output was read"
    assert not imported & HEAVY


def test_a_missing_monitoring_library_is_a_config_error_with_an_install_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import guard.monitoring
    from guard.errors import ConfigError

    real = guard.monitoring.find_spec
    monkeypatch.setattr(
        guard.monitoring, "find_spec", lambda name: None if name == "datasketches" else real(name)
    )
    with pytest.raises(
        ConfigError, match=r"needs datasketches: pip install 'ingest-guard\[monitoring\]'"
    ):
        guard.monitoring.require_libraries()
