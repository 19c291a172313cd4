"""`guard run` exit codes: config and contract problems are 2, an unreachable broker is 3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.paths import SCHEMAS


def _run(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guard", "run", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_missing_config_file_exits_2_naming_the_file(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    proc = _run(tmp_path / "nope.yaml", subprocess_env)
    assert proc.returncode == 2
    fatal = json.loads(proc.stderr.strip().splitlines()[-1])
    assert (fatal["event"], fatal["exit_code"]) == ("fatal", 2) and "nope.yaml" in fatal["error"]


def test_invalid_config_exits_2_naming_the_key(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    config = tmp_path / "guard.yaml"
    config.write_text(
        json.dumps({"topics": {"t": {"subject": "orders"}}, "batch": {"max_records": 0}})
    )
    proc = _run(config, subprocess_env)
    assert proc.returncode == 2
    assert "batch.max_records" in proc.stderr


def test_unknown_subject_exits_2_before_touching_the_broker(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    config = tmp_path / "guard.yaml"
    config.write_text(
        json.dumps(
            {
                "kafka": {"bootstrap_servers": "127.0.0.1:1"},
                "schemas_dir": str(SCHEMAS),
                "topics": {"t": {"subject": "no-such-subject"}},
            }
        )
    )
    proc = _run(config, subprocess_env)
    assert proc.returncode == 2
    assert "no-such-subject" in proc.stderr


def test_unreachable_broker_exits_3_with_a_broker_error(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    config = tmp_path / "guard.yaml"
    config.write_text(
        json.dumps(
            {
                "kafka": {"bootstrap_servers": "127.0.0.1:1", "request_timeout_ms": 1000},
                "schemas_dir": str(SCHEMAS),
                "topics": {"t": {"subject": "orders"}},
                # A short streak: the verdict is the same after 3 failures as after 20.
                "retry": {"max_attempts": 3, "initial_backoff_ms": 10, "max_backoff_ms": 50},
            }
        )
    )
    proc = _run(config, subprocess_env, "--idle-timeout", "1")
    assert proc.returncode == 3, proc.stderr[-1500:]
    lines = proc.stderr.strip().splitlines()
    assert all(line.startswith("{") for line in lines), "every line is JSON"
    fatal = [json.loads(line) for line in lines if '"fatal"' in line]
    assert len(fatal) == 1 and fatal[0]["exit_code"] == 3 and fatal[0]["level"] == "critical"
    assert fatal[0]["error"].startswith("broker:")
    assert json.loads(lines[-1])["event"] == "fatal"


def test_an_internal_error_exits_4_not_1(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A crash must never look like "data failed" (1) to CI."""
    from click.testing import CliRunner

    import guard.filemode
    from guard.cli.main import cli

    def boom(*_args: object, **_kw: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(guard.filemode, "validate_files", boom)
    result = CliRunner().invoke(
        cli, ["validate", "-s", "orders", "--schemas-dir", str(SCHEMAS), "-"], input="{}\n"
    )
    assert result.exit_code == 4 and "internal error" in result.output


def test_the_cli_entry_point_loads_no_heavy_library() -> None:
    """`guard --help` (and every command's start) must not pay for pydantic, YAML or Kafka."""
    code = (
        "import sys, guard.cli.main; "
        "heavy = {'pydantic', 'yaml', 'kafka', 'structlog', 'numpy', 'pandas'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_an_internal_error_in_run_is_one_structured_fatal_line_exit_4(  # type: ignore[no-untyped-def]
    monkeypatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    import guard.service
    from guard.cli.main import cli

    def boom(*_args: object, **_kw: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(guard.service.GuardService, "run", boom)
    config = tmp_path / "guard.yaml"
    config.write_text(
        json.dumps({"schemas_dir": str(SCHEMAS), "topics": {"t": {"subject": "orders"}}})
    )
    result = CliRunner().invoke(cli, ["run", "-c", str(config)], env={})
    assert result.exit_code == 4
    last = json.loads(result.stderr.strip().splitlines()[-1])
    assert (last["event"], last["exit_code"], last["level"]) == ("fatal", 4, "critical")
    assert "RuntimeError: bug" in last["exception"]


@pytest.mark.parametrize(
    ("client", "props", "refusal"),
    [
        ("kafka-python", {"fetch_speed": 9}, "kafka-python has no consumer property"),
        ("confluent", {"fetch.speed": 9}, "librdkafka refuses consumer properties"),
    ],
)
def test_a_pass_through_property_the_client_refuses_exits_2_before_touching_the_broker(
    tmp_path: Path, subprocess_env: dict[str, str], client: str, props: dict[str, int], refusal: str
) -> None:
    config = tmp_path / "guard.yaml"
    kafka = {
        "client": client,
        "bootstrap_servers": "127.0.0.1:1",
        "request_timeout_ms": 1000,
        "consumer_properties": props,
    }
    config.write_text(
        json.dumps(
            {
                "kafka": kafka,
                "schemas_dir": str(SCHEMAS),
                "topics": {"t": {"subject": "orders"}},
                "retry": {"outage_budget_s": 5},
            }
        )
    )
    proc = _run(config, subprocess_env, "--idle-timeout", "1")
    assert proc.returncode == 2, proc.stderr[-1500:]
    fatal = json.loads(proc.stderr.strip().splitlines()[-1])
    assert f"kafka.consumer_properties: {refusal}" in fatal["error"]
    assert '"starting"' not in proc.stderr  # refused at load, before the service starts
