"""`guard run` processes on the real broker: a hung client call, a stop that cannot finish,
and a dead broker all end the process on time with the documented exit code; so does a
SIGTERM in each state (an outage, the start-up wait for the broker, no partition assigned,
a rejoin)."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import KafkaException

from guard.localbroker import LocalKafka
from guard.localbroker.broker import free_port
from tests.fixtures.guard_process import GuardProcess
from tests.fixtures.paths import REPO
from tests.integration.service.kafka_helpers import (
    assert_each_offset_once,
    create,
    produce,
    write_config,
)
from tests.integration.service.test_rejoin import INSTANCE, _take_over_membership

pytestmark = pytest.mark.integration

REQUEST_TIMEOUT_MS = 2000  # keeps the stall timeout (> 3 x this) short


def _timeouts(**service: float) -> dict[str, object]:
    return {
        "kafka_extra": {
            "request_timeout_ms": REQUEST_TIMEOUT_MS,
            "transaction_timeout_ms": 2 * REQUEST_TIMEOUT_MS,
        },
        "service": {"stall_timeout_s": 8.0, "stop_grace_s": 3.0, **service},
    }


def _hang_child(
    config: Path, env: dict[str, str], where: str, good: int
) -> tuple[subprocess.Popen[str], Path]:
    log = config.parent / f"hang-{where}.stderr"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.service.hang_child",
            where,
            str(good),
            "run",
            "--config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env=env,
        cwd=REPO,
    )
    return proc, log


def _wait_for(log: Path, text: str, proc: subprocess.Popen[str], timeout: float = 90) -> float:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        if proc.poll() is not None:
            pytest.fail(f"exited early ({proc.returncode}): {log.read_text()[-1500:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {text!r} in time: {log.read_text()[-1500:]}")
        time.sleep(0.05)
    return time.monotonic()


def _fatal_line(log: Path) -> dict[str, object]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if '"watchdog:' in line]
    assert len(lines) == 1, log.read_text()[-2000:]
    return lines[0]


def test_a_poll_that_spins_forever_ends_the_process_with_exit_3_and_one_fatal_line(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    create(bootstrap, source, 3)
    produce(bootstrap, source, 90, partitions=3)
    config = write_config(tmp_path, bootstrap, source, unique("group"), kafka_client, **_timeouts())
    proc, log = _hang_child(config, subprocess_env, "poll", good=4)
    _wait_for(log, "hang_child: spinning in poll", proc)
    proc.wait(timeout=120)  # the poll spins forever: only the watchdog can end the process
    assert proc.returncode == 3, log.read_text()[-2000:]
    # The watchdog's own clock says it waited out the stall timeout; an upper bound would
    # measure the machine, not the guard.
    fatal = _fatal_line(log)
    assert fatal["level"] == "critical" and fatal["cause"] == "stalled" and fatal["step"] == "poll"
    assert fatal["exit_code"] == 3 and float(fatal["held_s"]) >= 8.0  # type: ignore[arg-type]


def test_sigterm_while_a_commit_hangs_exits_3_within_the_grace_and_loses_nothing(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    create(bootstrap, source, 3)
    placed = produce(bootstrap, source, 300, partitions=3)
    config = write_config(
        tmp_path, bootstrap, source, unique("group"), kafka_client, **_timeouts(stall_timeout_s=60)
    )
    proc, log = _hang_child(config, subprocess_env, "commit", good=2)
    _wait_for(log, "hang_child: spinning in commit", proc)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    took = time.monotonic() - sent
    assert proc.returncode == 3, log.read_text()[-2000:]
    # The watchdog cuts the grace by one check interval (0.1 s here) so the exit lands within
    # it: it waited out the grace. The cause says the grace ended it, not the 60 s stall
    # timeout; an upper bound on `took` would measure the machine, not the guard.
    assert took >= 3.0 - 0.5
    fatal = _fatal_line(log)
    assert fatal["cause"] == "stop-grace-exceeded" and fatal["step"] == "commit"
    assert float(fatal["held_s"]) >= 3.0 - 0.5  # type: ignore[arg-type]
    assert fatal["in_flight"], "the batch in flight is named"

    # The batch that was in flight was never committed: the next run processes it once.
    GuardProcess(config, subprocess_env, "after", "--idle-timeout", "5").finish()
    assert_each_offset_once(bootstrap, source, placed, kafka_client)


def test_a_stop_frozen_holding_the_interpreter_lock_is_ended_with_every_threads_stack(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """The close after a SIGTERM blocks inside a C call that keeps the interpreter lock, so
    the watchdog thread never runs again: the lock-free last resort writes every thread's
    stack to the log and the kernel's SIGALRM ends the process; it never hangs."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    create(bootstrap, source, 3)
    produce(bootstrap, source, 90, partitions=3)
    config = write_config(tmp_path, bootstrap, source, unique("group"), kafka_client, **_timeouts())
    proc, log = _hang_child(config, subprocess_env, "close", good=0)
    try:
        _wait_for(log, '"batch committed"', proc)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    finally:
        proc.kill()  # a frozen child outliving a failed test
    text = log.read_text()
    assert proc.returncode == -signal.SIGALRM, text[-2000:]
    assert "hang_child: frozen in close" in text
    dump = text.split("hang_child: frozen in close", 1)[1]
    assert "most recent call first" in dump and "in _freeze" in dump, dump[-2000:]
    assert '"watchdog:' not in text  # the watchdog thread never ran again


def test_a_dead_broker_ends_in_exit_3_after_the_outage_budget(
    kafka_client: str, unique: Callable[[str], str], tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    budget, max_backoff_s = 6.0, 1.0
    config = write_config(
        tmp_path,
        dead,
        unique("orders"),
        unique("group"),
        kafka_client,
        retry={"initial_backoff_ms": 100, "max_backoff_ms": 1000, "outage_budget_s": budget},
        **_timeouts(),
    )
    started = time.monotonic()
    guard = GuardProcess(config, subprocess_env, "dead")
    guard.proc.wait(timeout=120)
    took = time.monotonic() - started
    text = guard.log.read_text()
    assert guard.proc.returncode == 3, text[-2000:]
    assert "outage_budget_s=6" in text
    # One attempt (a bootstrap timeout) ends the first failure; the budget counts from there;
    # the attempt running when it runs out finishes; plus interpreter start-up, generously.
    attempt_s = REQUEST_TIMEOUT_MS / 1000
    assert budget <= took < attempt_s + budget + attempt_s + max_backoff_s + 20
    print(f"dead broker: exit 3 after {took:.1f} s (outage_budget_s={budget})")


_SIGNAL_AT_START_UP = """
import os, signal, sys
import guard.transport.factory as factory
real = factory.load_checked_settings
def signalled(path):  # `guard run` calls this after its early handlers, before the service's
    os.kill(os.getpid(), signal.SIGTERM)
    return real(path)
factory.load_checked_settings = signalled
sys.argv = ["guard", "run", "--config", sys.argv[1]]
from guard.cli.main import main
main()
"""


def test_a_sigterm_while_the_run_is_still_starting_up_exits_0(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """A SIGTERM that lands while `guard run` still imports its modules, before the service
    has its own handlers, is a stop like any other (exit 0), not Python's default death."""
    bootstrap, source = kafka.bootstrap_servers, unique("orders")
    create(bootstrap, source, 1)
    config = write_config(tmp_path, bootstrap, source, unique("group"), kafka_client)
    done = subprocess.run(
        [sys.executable, "-c", _SIGNAL_AT_START_UP, str(config)],
        capture_output=True,
        text=True,
        env=subprocess_env,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["stopped_by"] == "SIGTERM" and summary["records"] == 0


def test_sigterm_during_an_outage_exits_within_the_grace(
    kafka_client: str, unique: Callable[[str], str], tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    dead = f"127.0.0.1:{free_port()}"
    grace = 5.0  # longer than one attempt (a 2 s bootstrap timeout): the loop returns itself
    config = write_config(
        tmp_path,
        dead,
        unique("orders"),
        unique("group"),
        kafka_client,
        retry={"initial_backoff_ms": 100, "max_backoff_ms": 1000, "outage_budget_s": 300},
        **_timeouts(stop_grace_s=grace),
    )
    guard = GuardProcess(config, subprocess_env, "outage")
    _wait_for(guard.log, "transient broker failure", guard.proc)
    sent = time.monotonic()
    guard.proc.send_signal(signal.SIGTERM)
    summary = guard.finish(timeout=60)  # asserts exit 0
    took = time.monotonic() - sent
    assert summary["stopped_by"] == "SIGTERM" and summary["records"] == 0
    assert took < grace
    print(f"SIGTERM during an outage: exit 0 after {took:.1f} s (grace {grace} s)")


def test_sigterm_while_a_connected_guard_waits_out_an_outage_exits_0_within_the_grace(
    private_kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """The broker stops under a guard that is committing; SIGTERM once the guard has seen
    the failure. With a grace longer than the longest client call (3 x request timeout), the
    call returns, the loop skips the abort (it would wait on the dead broker; the next
    instance aborts the transaction) and exits 0 within the grace, as the README says."""
    bootstrap, source = private_kafka.bootstrap_servers, unique("orders")
    create(bootstrap, source, 3)
    produce(bootstrap, source, 3000, partitions=3)
    grace = 3 * REQUEST_TIMEOUT_MS / 1000 + 4
    config = write_config(
        tmp_path,
        bootstrap,
        source,
        unique("group"),
        kafka_client,
        retry={"initial_backoff_ms": 100, "max_backoff_ms": 1000, "outage_budget_s": 300},
        **_timeouts(stop_grace_s=grace, stall_timeout_s=60),
    )
    guard = GuardProcess(config, subprocess_env, "outage")
    guard.wait_for_commits(2)
    private_kafka.stop_in_place()
    _wait_for(guard.log, "transient broker failure", guard.proc, timeout=120)
    sent = time.monotonic()
    guard.proc.send_signal(signal.SIGTERM)
    summary = guard.finish(timeout=60)  # asserts exit 0
    took = time.monotonic() - sent
    assert summary["stopped_by"] == "SIGTERM"
    assert "stop requested while the broker fails" in guard.log.read_text()
    print(f"SIGTERM in an outage ({kafka_client}): exit 0 after {took:.1f} s (grace {grace} s)")


def _members(bootstrap: str, group: str) -> dict[str, int]:
    """The group's static members (group.instance.id) and how many partitions each holds."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    (described,) = admin.describe_consumer_groups([group], request_timeout=10).values()
    return {
        str(m.group_instance_id): len(m.assignment.topic_partitions)
        for m in described.result(timeout=15).members
    }


def test_sigterm_to_a_member_with_no_partition_assigned_exits_0(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """Two instances on a one-partition topic: one holds it, the other idles with nothing
    assigned. SIGTERM to the idle one ends it with exit 0 (a signal stop, README), not a
    watchdog exit 3 at the grace; the other one carries on."""
    bootstrap, source, group = kafka.bootstrap_servers, unique("orders"), unique("group")
    create(bootstrap, source, 1)
    produce(bootstrap, source, 100, partitions=1)
    guards = {}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        config = write_config(
            tmp_path / name,
            bootstrap,
            source,
            group,
            kafka_client,
            kafka_extra={"instance_id": name, "session_timeout_ms": 6000},
        )
        guards[name] = GuardProcess(config, subprocess_env, name)
    deadline, members = time.monotonic() + 120, {}
    while sorted(members.values()) != [0, 1]:
        assert time.monotonic() < deadline, f"the group never settled: {members}"
        time.sleep(0.5)
        with contextlib.suppress(KafkaException):  # its coordinator not loaded yet: ask again
            members = _members(bootstrap, group)
    idle = next(name for name, held in members.items() if held == 0)
    sent = time.monotonic()
    summary = guards[idle].terminate(timeout=120)  # asserts exit 0
    took = time.monotonic() - sent
    assert summary["stopped_by"] == "SIGTERM"
    busy = guards["b" if idle == "a" else "a"]
    assert busy.proc.poll() is None, busy.log.read_text()[-2000:]
    busy.terminate()
    print(f"SIGTERM with no partition assigned ({kafka_client}): exit 0 after {took:.1f} s")


def test_sigterm_during_a_rejoin_exits_0(
    kafka: LocalKafka,
    kafka_client: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    """A guard fenced out of its static membership closes its clients and joins again; a
    SIGTERM as soon as it says so (while it closes, backs off or connects anew) ends it with
    exit 0 within the grace, as any signal stop."""
    bootstrap, source, group = kafka.bootstrap_servers, unique("orders"), unique("group")
    create(bootstrap, source, 3)
    produce(bootstrap, source, 600, partitions=3)
    config = write_config(
        tmp_path,
        bootstrap,
        source,
        group,
        kafka_client,
        kafka_extra={"instance_id": INSTANCE, "session_timeout_ms": 6000},
        batch={"max_records": 5, "poll_timeout_ms": 200},
    )
    guard = GuardProcess(config, subprocess_env, "guard")
    guard.wait_for_commits(2)
    _take_over_membership(bootstrap, group, source)
    _wait_for(guard.log, "rejoining the group with new clients", guard.proc, timeout=120)
    sent = time.monotonic()
    summary = guard.terminate(timeout=120)  # asserts exit 0
    took = time.monotonic() - sent
    assert summary["stopped_by"] == "SIGTERM"
    print(f"SIGTERM during a rejoin ({kafka_client}): exit 0 after {took:.1f} s")
