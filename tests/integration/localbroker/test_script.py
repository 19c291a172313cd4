"""`scripts/kafka-local`: fetch once, then start, status and stop a broker from the shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from guard.localbroker import fetch
from tests.fixtures.brokers import CLUSTER_GROUP
from tests.fixtures.paths import REPO

pytestmark = pytest.mark.integration
SCRIPT = REPO / "scripts" / "kafka-local"


def _script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=420, env=env
    )


def test_a_second_fetch_reuses_the_cache_without_maven(tmp_path: Path) -> None:
    first = fetch()  # fetched earlier in the session (or now)
    no_maven = tmp_path / "bin"
    no_maven.mkdir()
    for tool in ("bash", "dirname", "java", "python3"):  # everything but mvn
        found = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        if found:
            (no_maven / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(no_maven), "PYTHON": sys.executable}
    result = _script(env, "fetch")
    assert result.returncode == 0, result.stderr[-1500:]
    assert first.version in result.stdout


def test_start_status_stop_from_the_shell(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    state = str(tmp_path / "broker.json")
    started = _script(env, "start", "--state", state)
    try:
        assert started.returncode == 0, started.stderr[-1500:]
        assert started.stdout.startswith("bootstrap=127.0.0.1:")
        assert _script(env, "status", "--state", state).returncode == 0
    finally:
        stopped = _script(env, "stop", "--state", state)
    assert stopped.returncode == 0, stopped.stderr[-1500:]
    assert _script(env, "status", "--state", state).returncode != 0


def test_start_with_the_same_data_dir_restarts_on_the_same_port(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    state, data = str(tmp_path / "broker.json"), str(tmp_path / "data")
    first = _script(env, "start", "--state", state, "--data-dir", data)
    try:
        assert first.returncode == 0, first.stderr[-1500:]
        assert _script(env, "stop", "--state", state).returncode == 0
        second = _script(env, "start", "--state", state, "--data-dir", data)
        assert second.returncode == 0, second.stderr[-1500:]
        bootstrap = first.stdout.splitlines()[0]
        assert second.stdout.splitlines()[0] == bootstrap, "same port after a restart"
    finally:
        stopped = _script(env, "stop", "--state", state)
    assert stopped.returncode == 0, stopped.stderr[-1500:]


@pytest.mark.timeout(900)
@pytest.mark.xdist_group(CLUSTER_GROUP)  # one 3-node cluster at a time (tests/fixtures/brokers.py)
def test_a_three_broker_cluster_kills_and_restarts_one_node_in_place(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    state = str(tmp_path / "cluster.json")
    started = _script(env, "start", "--brokers", "3", "--state", state)
    try:
        assert started.returncode == 0, started.stderr[-1500:]
        lines = started.stdout.splitlines()
        assert lines[0].startswith("bootstrap=127.0.0.1:") and lines[0].count(",") == 2
        node2 = next(line for line in lines if line.startswith("node.2="))
        assert node2.startswith("node.2=running")
        assert _script(env, "kill", "--node", "2", "--state", state).returncode == 0
        status = _script(env, "status", "--state", state)
        assert status.returncode == 1, status.stdout
        assert "status=degraded" in status.stdout and "node.2=stopped" in status.stdout
        restarted = _script(env, "restart", "--node", "2", "--state", state)
        assert restarted.returncode == 0, restarted.stderr[-1500:]
        status = _script(env, "status", "--state", state)
        assert status.returncode == 0, status.stdout
        address = node2.split("bootstrap=")[1].split()[0]
        assert "node.2=running" in status.stdout and f"bootstrap={address}" in status.stdout
    finally:
        stopped = _script(env, "stop", "--state", state)
    assert stopped.returncode == 0, stopped.stderr[-1500:]
    assert _script(env, "status", "--state", state).returncode == 3
