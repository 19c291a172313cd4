"""The wheel works on its own: built from this checkout, installed into a fresh venv with
nothing else, its `guard` runs the demo, validates a file and checks the sample contracts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.paths import REPO

# One xdist group: the built wheel's venv is a module fixture, which every worker taking one of
# these tests would otherwise build again.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("wheel")]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{cmd}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A fresh venv holding only the wheel and its declared dependencies; a work dir outside
    the checkout, so nothing is imported from the repository by accident."""
    root = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUARD_", "PYTHON", "VIRTUAL"))}
    for var in ("GUARD_KAFKA_CACHE", "GUARD_KAFKA_VERSION"):  # where the broker jars are cached
        if var in os.environ:
            env[var] = os.environ[var]
    dist = root / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
        root,
        env,
    )
    (wheel,) = dist.glob("ingest_guard-*.whl")
    venv.create(root / "venv", with_pip=True)
    bin_dir = root / "venv" / "bin"
    _run([str(bin_dir / "pip"), "install", "-q", str(wheel)], root, env)
    work = root / "work"
    work.mkdir()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    yield work, env


def test_installed_wheel_checks_contracts_outside_the_checkout(
    installed: tuple[Path, dict[str, str]],
) -> None:
    work, env = installed
    shutil.copytree(REPO / "schemas", work / "schemas", dirs_exist_ok=True)
    out = _run(["guard", "schemas", "check"], work, env)
    assert "orders" in out


def test_installed_wheel_validates_a_file(installed: tuple[Path, dict[str, str]]) -> None:
    work, env = installed
    shutil.copytree(REPO / "schemas", work / "schemas", dirs_exist_ok=True)
    sample = REPO / "examples" / "data" / "orders-baseline.jsonl"
    out = _run(["guard", "validate", "--subject", "orders", "--json", str(sample)], work, env)
    assert '"valid"' in out


def test_installed_wheel_runs_the_demo_with_its_packaged_contracts(
    installed: tuple[Path, dict[str, str]],
) -> None:
    work, env = installed
    demo = work / "demo"  # no schemas/ here: the demo must use the copy inside the wheel
    demo.mkdir(exist_ok=True)
    out = _run(["guard", "demo"], demo, env, timeout=900)
    assert "lost: 0" in out
