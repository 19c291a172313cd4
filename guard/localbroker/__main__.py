"""``python -m guard.localbroker fetch|start|stop|status|kill|restart`` -- a local Kafka for
demos and tests.

``start`` leaves the broker (``--brokers 3``: a replicated cluster) running in its own session
and records it in a JSON state file, so ``stop``/``status`` and, on a cluster, ``kill``/``restart``
of one node by id work from any later shell.
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
from guard.localbroker.cluster import LocalKafkaCluster
from guard.localbroker.fetch import BrokerError, cache_root, fetch

logger = logging.getLogger(__name__)

NOT_RUNNING = 3  # LSB "program is not running", as `status` exit code
DEGRADED = 1  # `status` of a cluster with some nodes down (LSB: "dead, but a pid file exists")


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
    p.add_argument(
        "--brokers", type=int, default=1, help="nodes; 3 = a cluster with RF 3, min ISR 2"
    )
    p.add_argument("--timeout", type=float, default=180.0, help="readiness timeout, seconds")
    p.add_argument("--foreground", action="store_true", help="run until Ctrl-C")
    p.add_argument("--state", type=Path, help=state_help)
    p.set_defaults(func=_start)

    p = sub.add_parser("stop", help="stop the broker recorded in the state file")
    p.add_argument("--state", type=Path, help=state_help)
    p.add_argument("--timeout", type=float, default=30.0, help="SIGTERM grace, seconds")
    p.set_defaults(func=_stop)

    p = sub.add_parser(
        "status",
        help=f"show the broker(s); exit {NOT_RUNNING} if none runs, {DEGRADED} if a node is down",
    )
    p.add_argument("--state", type=Path, help=state_help)
    p.set_defaults(func=_status)

    p = sub.add_parser("kill", help="take one node of a cluster down in place (SIGKILL)")
    p.add_argument("--node", type=int, required=True, help="node id (1..brokers)")
    p.add_argument("--graceful", action="store_true", help="SIGTERM: a controlled shutdown")
    p.add_argument("--timeout", type=float, default=30.0, help="SIGTERM grace, seconds")
    p.add_argument("--state", type=Path, help=state_help)
    p.set_defaults(func=_kill)

    p = sub.add_parser(
        "restart", help="(re)start one node of a cluster in place (same ports and data)"
    )
    p.add_argument("--node", type=int, required=True, help="node id (1..brokers)")
    p.add_argument("--timeout", type=float, default=180.0, help="readiness timeout, seconds")
    p.add_argument("--state", type=Path, help=state_help)
    p.set_defaults(func=_restart)
    return parser


def _fetch(args: argparse.Namespace) -> int:
    dist = fetch(args.kafka_version, refresh=args.refresh)
    print(f"version={dist.version}\nlib={dist.lib_dir}")
    return 0


def _start(args: argparse.Namespace) -> int:
    state_file = _state_path(args.state)
    if not args.foreground:
        state = _read_state(state_file)
        if state and any(is_kafka_pid(pid) for pid in _pids(state).values()):
            logger.info("already running (pids %s)", sorted(_pids(state).values()))
            _print_state(state)
            return 0
    if args.brokers > 1:
        if args.foreground:
            raise BrokerError("--foreground runs a single broker; a cluster runs detached")
        return _start_cluster(args, state_file)
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
    _write_state(state_file, state)
    kafka.detach()
    _print_state(state)
    return 0


def _start_cluster(args: argparse.Namespace, state_file: Path) -> int:
    cluster = LocalKafkaCluster(
        args.brokers, args.data_dir, version=args.kafka_version, start_timeout=args.timeout
    )
    cluster.start()
    state = {
        "bootstrap": cluster.bootstrap_servers,
        "version": cluster.version,
        "data_dir": str(cluster.data_dir),
        "owns_data_dir": cluster.owns_data_dir,
        "nodes": {
            str(node.node_id): {
                "pid": node.pid,
                "bootstrap": node.bootstrap_address,
                "log": str(node.log_file),
            }
            for node in cluster.nodes.values()
        },
    }
    cluster.detach()
    _write_state(state_file, state)
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
    live = {name: pid for name, pid in _pids(state).items() if is_kafka_pid(pid)}
    for pid in live.values():
        # Every node first: one by one, the last node's controlled shutdown would wait for a
        # controller quorum that has already gone.
        os.kill(pid, signal.SIGTERM)
    for name, pid in _pids(state).items():
        if name in live:
            stop_pid(pid, args.timeout)
            print(f"stopped {name} pid={pid}")
        else:
            print(f"not running {name} (stale pid={pid})")
    if state.get("owns_data_dir"):
        shutil.rmtree(state["data_dir"], ignore_errors=True)
    state_file.unlink(missing_ok=True)
    return 0


def _status(args: argparse.Namespace) -> int:
    state = _read_state(_state_path(args.state))
    alive = _alive_by_name(state) if state else {}
    if state is None or not any(alive.values()):
        print("status=stopped")
        return NOT_RUNNING
    print("status=running" if all(alive.values()) else "status=degraded")
    _print_state(state)
    return 0 if all(alive.values()) else DEGRADED


def _kill(args: argparse.Namespace) -> int:
    state_file = _state_path(args.state)
    state, node = _cluster_node(state_file, args.node)
    pid = node.get("pid")
    if pid is None or not is_kafka_pid(int(pid)):
        print(f"node {args.node} not running")
    elif args.graceful:
        stop_pid(int(pid), args.timeout)
        print(f"stopped node {args.node} pid={pid}")
    else:
        os.kill(int(pid), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _alive(int(pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        print(f"killed node {args.node} pid={pid}")
    node["pid"] = None
    _write_state(state_file, state)
    return 0


def _restart(args: argparse.Namespace) -> int:
    state_file = _state_path(args.state)
    state, node = _cluster_node(state_file, args.node)
    if node.get("pid") is not None and is_kafka_pid(int(node["pid"])):
        stop_pid(int(node["pid"]), 30.0)
    cluster = LocalKafkaCluster(
        len(state["nodes"]),
        Path(state["data_dir"]),
        version=state["version"],
        start_timeout=args.timeout,
    )
    cluster.owns_data_dir = False  # never delete the data of a cluster made in another shell
    restarted = cluster.node(args.node)
    up = {int(n) for n, info in state["nodes"].items() if _node_alive(info)} | {args.node}
    restarted.spawn()
    try:
        cluster.wait_ready(up)
    finally:
        node["pid"] = restarted.pid
        restarted.detach()
        _write_state(state_file, state)
    print(f"restarted node {args.node} pid={node['pid']} bootstrap={node['bootstrap']}")
    return 0


def _cluster_node(state_file: Path, node_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    state = _read_state(state_file)
    if state is None or "nodes" not in state:
        raise BrokerError(f"no cluster recorded in {state_file} (start --brokers 3 first)")
    if str(node_id) not in state["nodes"]:
        raise BrokerError(f"no node {node_id} (nodes: {', '.join(state['nodes'])})")
    node: dict[str, Any] = state["nodes"][str(node_id)]
    return state, node


def _pids(state: dict[str, Any]) -> dict[str, int]:
    """The recorded broker pids by name (``node.<id>`` on a cluster), skipping killed nodes."""
    if "nodes" in state:
        return {
            f"node.{n}": int(node["pid"])
            for n, node in state["nodes"].items()
            if node.get("pid") is not None
        }
    return {"broker": int(state["pid"])}


def _node_alive(node: dict[str, Any]) -> bool:
    return node.get("pid") is not None and is_kafka_pid(int(node["pid"]))


def _alive_by_name(state: dict[str, Any]) -> dict[str, bool]:
    """Every recorded broker, killed cluster nodes included, and whether it runs."""
    if "nodes" in state:
        return {f"node.{n}": _node_alive(node) for n, node in state["nodes"].items()}
    return {"broker": is_kafka_pid(int(state["pid"]))}


def _write_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2) + "\n")


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
        if key in state:
            print(f"{key}={state[key]}")
    for node_id, node in state.get("nodes", {}).items():
        up = "running" if _node_alive(node) else "stopped"
        where = f"bootstrap={node['bootstrap']} log={node['log']}"
        print(f"node.{node_id}={up} pid={node.get('pid')} {where}")


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
