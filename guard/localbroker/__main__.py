"""``python -m guard.localbroker fetch|start|stop|status`` -- a local Kafka for demos and tests.

``start`` leaves the broker running in its own session and records it in a JSON state file, so
``stop``/``status`` work from any later shell.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from guard.localbroker.broker import LocalKafka
from guard.localbroker.fetch import BrokerError, cache_root, fetch

logger = logging.getLogger(__name__)

NOT_RUNNING = 3  # LSB "program is not running", as `status` exit code


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # kafka-python logs every (re)connect at INFO; readiness polling makes that pure noise.
    logging.getLogger("kafka").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        result: int = args.func(args)
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kafka-local", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    state_help = "state file (default: <cache>/broker.json)"
    version_help = "Kafka version (default: $GUARD_KAFKA_VERSION or newest 4.x)"

    p = sub.add_parser("fetch", help="download the Kafka jars into the cache")
    p.add_argument("--kafka-version", help=version_help)
    p.add_argument("--refresh", action="store_true", help="re-resolve the newest 4.x release")
    p.set_defaults(func=_fetch)

    p = sub.add_parser("start", help="start a broker (detached unless --foreground)")
    p.add_argument("--kafka-version", help=version_help)
    p.add_argument("--data-dir", type=Path, help="kept after stop (default: fresh temp dir)")
    p.add_argument("--timeout", type=float, default=120.0, help="readiness timeout, seconds")
    p.add_argument("--foreground", action="store_true", help="run until Ctrl-C")
    p.add_argument("--state", type=Path, help=state_help)
    p.set_defaults(func=_start)

    p = sub.add_parser("stop", help="stop the broker recorded in the state file")
    p.add_argument("--state", type=Path, help=state_help)
    p.add_argument("--timeout", type=float, default=30.0, help="SIGTERM grace, seconds")
    p.set_defaults(func=_stop)

    p = sub.add_parser("status", help=f"show the broker; exit {NOT_RUNNING} if not running")
    p.add_argument("--state", type=Path, help=state_help)
    p.set_defaults(func=_status)
    return parser


def _fetch(args: argparse.Namespace) -> int:
    dist = fetch(args.kafka_version, refresh=args.refresh)
    print(f"version={dist.version}\nlib={dist.lib_dir}")
    return 0


def _start(args: argparse.Namespace) -> int:
    state_file = _state_path(args.state)
    if not args.foreground:
        state = _read_state(state_file)
        if state and is_kafka_pid(int(state["pid"])):
            logger.info("already running (pid %s)", state["pid"])
            _print_state(state)
            return 0
    kafka = LocalKafka(args.data_dir, version=args.kafka_version, start_timeout=args.timeout)
    if args.foreground:
        return _run_foreground(kafka)
    kafka.start()
    assert kafka.pid is not None
    state = {
        "pid": kafka.pid,
        "bootstrap": kafka.bootstrap_servers,
        "version": kafka.version,
        "data_dir": str(kafka.data_dir),
        "owns_data_dir": kafka.owns_data_dir,
        "log": str(kafka.log_file),
    }
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(state, indent=2) + "\n")
    kafka.detach()
    _print_state(state)
    return 0


def _run_foreground(kafka: LocalKafka) -> int:
    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # so SIGTERM also goes through stop() below

    signal.signal(signal.SIGTERM, on_term)
    with kafka:
        print(f"bootstrap={kafka.bootstrap_servers}\nlog={kafka.log_file}", flush=True)
        try:
            while kafka.is_running():
                time.sleep(1.0)
        except KeyboardInterrupt:
            logger.info("stopping kafka")
            return 0
    logger.error("kafka exited on its own; see %s", kafka.log_file)
    return 1


def _stop(args: argparse.Namespace) -> int:
    state_file = _state_path(args.state)
    state = _read_state(state_file)
    if state is None:
        print("not running (no state file)")
        return 0
    pid = int(state["pid"])
    if is_kafka_pid(pid):
        stop_pid(pid, args.timeout)
        print(f"stopped pid={pid}")
    else:
        print(f"not running (stale pid={pid})")
    if state.get("owns_data_dir"):
        shutil.rmtree(state["data_dir"], ignore_errors=True)
    state_file.unlink(missing_ok=True)
    return 0


def _status(args: argparse.Namespace) -> int:
    state = _read_state(_state_path(args.state))
    if state is None or not is_kafka_pid(int(state["pid"])):
        print("status=stopped")
        return NOT_RUNNING
    print("status=running")
    _print_state(state)
    return 0


def _state_path(given: Path | None) -> Path:
    return given or cache_root() / "broker.json"


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise BrokerError(f"corrupt state file {path}: {exc}") from exc
    return state


def _print_state(state: dict[str, Any]) -> None:
    # bootstrap first: scripts can take the first line
    for key in ("bootstrap", "version", "pid", "data_dir", "log"):
        print(f"{key}={state[key]}")


def is_kafka_pid(pid: int) -> bool:
    """True if ``pid`` is alive and runs ``kafka.Kafka`` (guards against a recycled pid)."""
    try:
        return _alive(pid) and b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def stop_pid(pid: int, timeout: float) -> None:
    """SIGTERM a broker we did not start (Kafka shuts down cleanly), SIGKILL after ``timeout``."""
    for sig, grace in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _alive(pid):
            return
        logger.warning("kafka pid %d survived %s for %.0fs", pid, sig.name, grace)
    raise BrokerError(f"could not stop kafka pid {pid}")


def _alive(pid: int) -> bool:
    try:
        # Not our child, so no wait(): a zombie still answers kill(0), its /proc state is 'Z'.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


if __name__ == "__main__":
    sys.exit(main())
