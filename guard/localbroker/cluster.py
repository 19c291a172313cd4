"""Run a local replicated KRaft cluster: N combined broker+controller nodes on 127.0.0.1.

Each node is a `LocalKafka` (same jars, start, stop and log handling) that renders a static
quorum (``controller.quorum.voters``) instead of a standalone one and formats its storage with
the cluster's shared id. Topics, the internal ones included, get three replicas and a min ISR
of 2 (`render_server_properties`), so one node can be killed without losing a write.
"""

from __future__ import annotations

import atexit
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from guard.localbroker.broker import (
    HOST,
    LocalKafka,
    PortInUse,
    describe_brokers,
    free_port,
    init_transactions_probe,
    random_cluster_id,
    render_server_properties,
)
from guard.localbroker.fetch import BrokerError

logger = logging.getLogger(__name__)

CLUSTER_FILE = "cluster.json"  # in the cluster's data dir: id, node ids and ports
_BIND_ATTEMPTS = 3


class ClusterNode(LocalKafka):
    """One node of a `LocalKafkaCluster`: fixed ports, static quorum, shared cluster id.

    It starts its JVM without waiting (a lone node of a 3-voter quorum never becomes ready);
    the cluster waits for all of them together."""

    def __init__(
        self,
        node_id: int,
        data_dir: Path,
        *,
        client_port: int,
        controller_port: int,
        voters: str,
        cluster_id: str,
        replication: int,
        version: str | None = None,
        cache_dir: Path | None = None,
        extra_properties: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            data_dir, version=version, cache_dir=cache_dir, extra_properties=extra_properties
        )
        self.node_id = node_id
        self.ports = (client_port, controller_port)
        self._voters, self._cluster_id, self._replication = voters, cluster_id, replication

    def spawn(self) -> None:
        """Launch the JVM (formatting its storage the first time); readiness is the cluster's."""
        if self.is_running():
            return
        self.version  # noqa: B018 -- fetch (or hit the cache) before any JVM work
        assert self._dist is not None
        self._spawn(self._dist)
        self._record_ports()

    @property
    def bootstrap_address(self) -> str:
        """This node's client address, whether or not it is running."""
        return f"{HOST}:{self.ports[0]}"

    def signal_stop(self) -> None:
        """SIGTERM without waiting (a whole-cluster stop signals every node first)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    def check_alive(self) -> None:
        """Raise if the JVM exited (port clash: `PortInUse`), with its log tail."""
        self._check_alive()

    def _ports(self) -> tuple[int, int]:
        return self.ports

    def _properties(self, client_port: int, controller_port: int) -> str:
        return render_server_properties(
            client_port=client_port,
            controller_port=controller_port,
            log_dir=self.data_dir / "kraft-logs",
            node_id=self.node_id,
            quorum_voters=self._voters,
            replication=self._replication,
            extra=self._extra,
        )

    def _format_options(self) -> list[str]:
        # No --standalone: the voters are static, in server.properties, the same for all nodes.
        return ["-t", self._cluster_id]


class LocalKafkaCluster:
    """A throw-away ``brokers``-node Kafka 4.x cluster on 127.0.0.1 (context manager).

    ``data_dir`` defaults to a fresh temp dir, deleted on stop(); a given dir is kept, and a
    cluster made again on it (the CLI's ``kill``/``restart`` from another shell) finds its
    nodes, ports and cluster id in ``<data_dir>/cluster.json``. ``kill_node`` (SIGKILL or
    SIGTERM) and ``start_node`` bring one node down and back in place (same ports, same data).
    Ready means: every running node answers a metadata request listing every running node, and
    a transactional producer initialises (its coordinator is available).
    """

    def __init__(
        self,
        brokers: int = 3,
        data_dir: Path | None = None,
        *,
        version: str | None = None,
        cache_dir: Path | None = None,
        start_timeout: float = 180.0,
        extra_properties: Mapping[str, str] | None = None,
    ) -> None:
        if brokers < 1:
            raise BrokerError(f"a cluster needs at least one broker, not {brokers}")
        self.owns_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="guard-kc-"))
        self._brokers = brokers
        self._version, self._cache_dir = version, cache_dir
        self.start_timeout = start_timeout
        self._extra = dict(extra_properties or {})
        self.nodes: dict[int, ClusterNode] = {}
        self._layout()

    # -- addresses -----------------------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        """Every node's client address: a client reaches the cluster while any one is up."""
        return ",".join(node.bootstrap_address for node in self._node_list())

    @property
    def version(self) -> str:
        return self._node_list()[0].version

    def node(self, node_id: int) -> ClusterNode:
        if node_id not in self.nodes:
            raise BrokerError(f"no node {node_id} (nodes: {sorted(self.nodes)})")
        return self.nodes[node_id]

    def running(self) -> list[int]:
        return [n.node_id for n in self._node_list() if n.is_running()]

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> LocalKafkaCluster:
        """Start every node that is not running and block until the cluster is ready."""
        started = time.monotonic()
        try:
            for attempt in range(1, _BIND_ATTEMPTS + 1):
                try:
                    for node in self._node_list():
                        node.spawn()
                    self.wait_ready()
                    break
                except PortInUse:
                    if self._formatted():
                        raise  # recorded ports stay: the quorum knows them
                    logger.warning("port clash starting the cluster (attempt %d)", attempt)
                    self._kill_all()
                    self._layout(fresh_ports=True)
            else:
                raise BrokerError(f"the cluster found no free ports in {_BIND_ATTEMPTS} attempts")
        except BaseException:
            self.stop(timeout=5.0)
            raise
        atexit.register(self.stop)
        took = time.monotonic() - started
        logger.info("kafka cluster ready on %s in %.1fs", self.bootstrap_servers, took)
        return self

    def kill_node(self, node_id: int, *, hard: bool = True, timeout: float = 30.0) -> None:
        """Take one node down in place: SIGKILL (a crash) or, with ``hard=False``, SIGTERM (a
        controlled shutdown that moves its leaderships away first)."""
        self.node(node_id).stop_in_place(timeout, hard=hard)

    def start_node(self, node_id: int) -> None:
        """Bring a node back on its ports and data; block until the cluster is ready again."""
        self.node(node_id).spawn()
        self.wait_ready()

    def restart_node(self, node_id: int, *, hard: bool = False) -> None:
        self.kill_node(node_id, hard=hard)
        self.start_node(node_id)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every node (SIGTERM, SIGKILL after ``timeout``); drop a temp data dir."""
        atexit.unregister(self.stop)
        self._kill_all(timeout)
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def detach(self) -> None:
        """Let the nodes outlive this object and this Python (the CLI's ``start``)."""
        atexit.unregister(self.stop)
        self.owns_data_dir = False
        for node in self._node_list():
            node.detach()

    def __enter__(self) -> LocalKafkaCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- readiness -----------------------------------------------------------------------------

    def wait_ready(self, nodes: Iterable[int] | None = None, timeout: float | None = None) -> None:
        """Block until every node of ``nodes`` (default: the running ones) answers metadata
        listing all of them, and a transactional producer initialises on the cluster."""
        want = set(self.running() if nodes is None else nodes)
        limit = self.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        stage, last_error = "metadata", "none"
        while True:
            for node_id in want:
                self.nodes[node_id].check_alive()
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                raise BrokerError(
                    f"kafka cluster not ready after {limit:.0f}s (waiting for {stage}; last "
                    f"error: {last_error})\n{self.log_tails(want)}"
                )
            try:
                if stage == "metadata":
                    for node_id in sorted(want):
                        seen = describe_brokers(
                            self.nodes[node_id].bootstrap_address, min(remaining_ms, 5_000)
                        )
                        if not want <= seen:
                            raise _NotYet(f"node {node_id} lists brokers {sorted(seen)}")
                    stage = "transaction coordinator"
                init_transactions_probe(self.bootstrap_servers, min(remaining_ms, 30_000))
                return
            except (KafkaError, OSError, _NotYet) as exc:
                last_error = repr(exc)
                time.sleep(0.3)

    def wait_in_sync(self, timeout: float = 120.0) -> None:
        """Block until every partition of every topic has all its replicas in sync (after a
        node came back: what an operator checks before bouncing the next one)."""
        deadline = time.monotonic() + timeout
        lagging: list[str] = ["(not asked yet)"]
        while True:
            try:
                lagging = under_replicated(self.bootstrap_servers)
                if not lagging:
                    return
            except (KafkaError, OSError) as exc:
                lagging = [repr(exc)]
            if time.monotonic() > deadline:
                raise BrokerError(f"replicas not in sync after {timeout:.0f}s: {lagging[:5]}")
            time.sleep(0.5)

    def log_tails(self, nodes: Iterable[int] | None = None, lines: int = 20) -> str:
        chosen = sorted(self.nodes) if nodes is None else sorted(nodes)
        return "\n".join(f"=== node {i}\n{self.nodes[i].log_tail(lines)}" for i in chosen)

    # -- internals -----------------------------------------------------------------------------

    def _node_list(self) -> list[ClusterNode]:
        return [self.nodes[i] for i in sorted(self.nodes)]

    def _formatted(self) -> bool:
        return any(
            (node.data_dir / "kraft-logs" / "meta.properties").exists()
            for node in self._node_list()
        )

    def _layout(self, *, fresh_ports: bool = False) -> None:
        """Nodes, ports and cluster id: as recorded in ``cluster.json``, else fresh ones."""
        record = self.data_dir / CLUSTER_FILE
        layout: dict[str, object] | None = None
        if not fresh_ports:
            try:
                layout = json.loads(record.read_text())
            except (OSError, ValueError):
                layout = None
        if layout is None:
            taken: set[int] = set()
            ports: dict[str, list[int]] = {}
            for node_id in range(1, self._brokers + 1):
                pair = []
                for _ in range(2):
                    port = free_port()
                    while port in taken:
                        port = free_port()
                    taken.add(port)
                    pair.append(port)
                ports[str(node_id)] = pair
            old_id = self._recorded_cluster_id(record)
            layout = {"cluster_id": old_id or random_cluster_id(), "ports": ports}
            self.data_dir.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps(layout, indent=2) + "\n")
        ports_by_node = {int(k): v for k, v in dict(layout["ports"]).items()}  # type: ignore[call-overload]
        voters = ",".join(f"{i}@{HOST}:{ports_by_node[i][1]}" for i in sorted(ports_by_node))
        replication = min(3, len(ports_by_node))
        self.nodes = {
            i: ClusterNode(
                i,
                self.data_dir / f"node-{i}",
                client_port=ports_by_node[i][0],
                controller_port=ports_by_node[i][1],
                voters=voters,
                cluster_id=str(layout["cluster_id"]),
                replication=replication,
                version=self._version,
                cache_dir=self._cache_dir,
                extra_properties=self._extra,
            )
            for i in sorted(ports_by_node)
        }
        self._brokers = len(self.nodes)

    @staticmethod
    def _recorded_cluster_id(record: Path) -> str | None:
        try:
            return str(json.loads(record.read_text())["cluster_id"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _kill_all(self, timeout: float = 30.0) -> None:
        # SIGTERM to all at once: one by one, the last node's controlled shutdown would wait
        # for a controller quorum that has already gone.
        for node in self._node_list():
            node.signal_stop()
        for node in self._node_list():
            node.stop_in_place(timeout)


class _NotYet(Exception):
    pass


def under_replicated(bootstrap: str, topics: list[str] | None = None) -> list[str]:
    """``topic:partition`` of every partition whose ISR is smaller than its replica set."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="localbroker-isr",
        request_timeout_ms=10_000,
        bootstrap_timeout_ms=10_000,
    )
    try:
        described = admin.describe_topics(topics)
    finally:
        admin.close()
    return [
        f"{topic['name']}:{part['partition_index']}"
        for topic in described
        for part in topic["partitions"]
        if set(part["isr_nodes"]) != set(part["replica_nodes"])
    ]
