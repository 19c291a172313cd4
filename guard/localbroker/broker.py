"""Run a single-node KRaft Kafka broker (combined broker+controller) from the cached jars."""

from __future__ import annotations

import atexit
import base64
import json
import logging
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError

from guard.localbroker.fetch import BrokerError, KafkaDist, fetch, find_java
from guard.localbroker.jvm import PROFILES, ClassArchive, JvmProfile

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
# StorageTool is a one-shot JVM: C1 only and a serial GC make it start noticeably faster.
TOOL_JVM_OPTS = ("-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # tests push a 10 MB value through
_BIND_ATTEMPTS = 3
PORTS_FILE = "ports.json"  # in the data dir: a restart on the same data keeps its ports


def render_server_properties(
    *,
    client_port: int,
    controller_port: int,
    log_dir: Path,
    node_id: int = 1,
    extra: Mapping[str, str] | None = None,
    extra_listeners: Mapping[str, int] | None = None,
    quorum_voters: str | None = None,
    replication: int = 1,
) -> str:
    """server.properties for one combined-mode node; ``extra`` overrides any key.

    A single node (the default) pairs with ``format --standalone`` (KIP-853 dynamic quorum).
    A cluster node gets the static ``quorum_voters`` (``1@host:port,2@...``) and
    ``replication`` 3: every topic, the internal ones included, on three replicas with a
    min ISR of 2, so one node may be lost without losing a write or a transaction.

    ``extra_listeners`` adds client listeners named after their security protocol
    (``{"SASL_PLAINTEXT": port, "SSL": port}``); PLAINTEXT stays the inter-broker listener.
    """
    added = dict(extra_listeners or {})
    client = "".join(f",{name}://{HOST}:{port}" for name, port in added.items())
    listeners = f"PLAINTEXT://{HOST}:{client_port},CONTROLLER://{HOST}:{controller_port}{client}"
    protocols = "".join(f",{name}:{name}" for name in added)
    quorum = (
        {"controller.quorum.voters": quorum_voters}
        if quorum_voters
        else {"controller.quorum.bootstrap.servers": f"{HOST}:{controller_port}"}
    )
    rf, min_isr = str(replication), str(min(replication, 2))
    props: dict[str, str] = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "listeners": listeners,
        "advertised.listeners": listeners,
        "listener.security.protocol.map": f"PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT{protocols}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        **quorum,
        "log.dirs": str(log_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "true",
        # Internal topics default to RF 3 / min ISR 2; on one node transactions would hang.
        "default.replication.factor": rf,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": min_isr,
        # 50 partitions each by default: needless start-up work on a 2-core test box.
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.num.partitions": "4",
        "group.initial.rebalance.delay.ms": "0",
        "message.max.bytes": str(MAX_MESSAGE_BYTES),
        "replica.fetch.max.bytes": str(MAX_MESSAGE_BYTES),
    }
    props.update(extra or {})
    return "".join(f"{key}={value}\n" for key, value in props.items())


def free_port() -> int:
    """A port the OS just handed out; racy by nature, so start() retries on bind errors."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def random_cluster_id() -> str:
    """Same shape as Kafka's ``Uuid.randomUuid()``: url-safe base64, unpadded, not starting '-'.

    Generated here rather than with ``StorageTool random-uuid`` to save a JVM start.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class LocalKafka:
    """A throw-away single-node Kafka 4.x broker on 127.0.0.1 (context manager).

    ``data_dir`` defaults to a fresh temp dir, deleted on stop(); a given dir is kept and, if
    already formatted, reused -- on the ports it had before, recorded in ``<data_dir>/ports.json``,
    so clients keep their bootstrap address across restarts. ``stop_in_place()`` then
    ``start()`` restarts this broker in place (same port, same data), for outage tests.
    ``version`` defaults to ``$GUARD_KAFKA_VERSION`` or newest 4.x.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        version: str | None = None,
        cache_dir: Path | None = None,
        start_timeout: float = 120.0,
        extra_properties: Mapping[str, str] | None = None,
        extra_listeners: Sequence[str] = (),
        format_args: Sequence[str] = (),
        jvm: JvmProfile = "quick",
    ) -> None:
        """``extra_listeners``: security protocols to serve on ports of their own (see
        `listener_bootstrap`); ``format_args``: added to the storage format (e.g. ``--add-scram``);
        ``jvm``: "quick" starts faster, "steady" (G1, C2) is for benchmarks (localbroker/jvm.py).
        """
        self._dist: KafkaDist | None = None
        self._requested_version = version
        self._cache_dir = cache_dir
        self.owns_data_dir = data_dir is None
        self._data_dir = Path(data_dir) if data_dir else None
        self._start_timeout = start_timeout
        self._extra = dict(extra_properties or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self._client_port = self._controller_port = 0
        self._listener_names = tuple(extra_listeners)
        self._format_args = tuple(format_args)
        self._jvm = jvm
        self._archive_pending: tuple[ClassArchive, Path | None] | None = None
        self.listener_ports: dict[str, int] = {}

    def listener_bootstrap(self, protocol: str) -> str:
        """The bootstrap address of an extra listener (`extra_listeners`)."""
        if protocol not in self.listener_ports:
            raise BrokerError(f"no {protocol} listener (started: {sorted(self.listener_ports)})")
        return f"{HOST}:{self.listener_ports[protocol]}"

    @property
    def bootstrap_servers(self) -> str:
        if not self._client_port:
            raise BrokerError("broker not started")
        return f"{HOST}:{self._client_port}"

    @property
    def version(self) -> str:
        if self._dist is None:
            self._dist = fetch(self._requested_version, cache_dir=self._cache_dir)
        return self._dist.version

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            raise BrokerError("broker not started")
        return self._data_dir

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "server.log"

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> LocalKafka:
        """Format storage if needed, launch the JVM and block until it serves transactions."""
        if self.is_running():
            return self
        started = time.monotonic()
        self.version  # noqa: B018 -- fetch (or hit the cache) before any JVM work
        assert self._dist is not None
        if self._data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="guard-kafka-"))
        try:
            for attempt in range(1, _BIND_ATTEMPTS + 1):
                try:
                    self._launch(self._dist)
                    break
                except PortInUse:
                    # free_port() is racy: another process took a port between probe and bind.
                    # A recorded port someone else took since is given up for fresh ones.
                    logger.warning("port clash starting kafka (attempt %d), retrying", attempt)
                    self._kill()
                    (self.data_dir / PORTS_FILE).unlink(missing_ok=True)
                    self.listener_ports = {}
            else:
                raise BrokerError(f"kafka found no free ports in {_BIND_ATTEMPTS} attempts")
        except BaseException:
            self.stop(timeout=5.0)  # the log tail is already in the error message
            raise
        atexit.register(self.stop)  # safety net if a caller forgets stop()
        took = time.monotonic() - started
        logger.info("kafka %s ready on %s in %.1fs", self.version, self.bootstrap_servers, took)
        return self

    def detach(self) -> None:
        """Forget the process so it outlives this object and this Python (CLI ``start``)."""
        atexit.unregister(self.stop)
        self._proc, self.owns_data_dir = None, False

    def stop_in_place(self, timeout: float = 30.0, *, hard: bool = False) -> None:
        """Stop the JVM but keep its data and ports: a later ``start()`` brings the same broker
        back on the same address. ``hard`` kills it (SIGKILL, a crash) instead of SIGTERM."""
        if self._proc is not None and hard:
            self._proc.kill()
            self._proc.wait(10)
            self._proc = None
            self._settle_archive()
        self._kill(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (controlled shutdown), SIGKILL after ``timeout``; drop a temp data dir."""
        atexit.unregister(self.stop)
        self._kill(timeout)
        if self.owns_data_dir and self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None
        self._client_port = 0

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of server.log and of the JVM's own stdout/stderr, for error messages."""
        chunks: list[str] = []
        for path in (self.log_file, self.data_dir / "logs" / "kafka.out"):
            try:
                text = path.read_text(errors="replace").strip()
            except OSError:
                continue
            if text:
                chunks.append(f"--- {path}\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(chunks) or "(no broker output)"

    def _launch(self, dist: KafkaDist) -> None:
        self._spawn(dist)
        self._wait_ready()
        self._record_ports()

    def _spawn(self, dist: KafkaDist) -> None:
        """Write server.properties, format the storage once, and launch the JVM (no waiting)."""
        data, logs = self.data_dir, self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        client_port, controller_port = self._ports()
        taken = {client_port, controller_port}
        # Extra (SASL/TLS) listeners: fresh ports at the first launch (or after a port clash);
        # a restart in place (stop_in_place, start) keeps them, as it keeps the client port.
        self.listener_ports = {
            name: port for name, port in self.listener_ports.items() if port not in taken
        }
        taken |= set(self.listener_ports.values())
        for name in self._listener_names:
            if name in self.listener_ports:
                continue
            port = free_port()
            while port in taken:
                port = free_port()
            taken.add(port)
            self.listener_ports[name] = port
        props = data / "server.properties"
        props.write_text(self._properties(client_port, controller_port))
        jvm = [
            find_java(),
            f"-Dlog4j2.configurationFile={dist.log4j_config}",
            f"-Dkafka.logs.dir={logs}",
            *("-cp", dist.classpath),
        ]
        archive = ClassArchive(dist.home, jvm[0], dist.classpath)
        if not (data / "kraft-logs" / "meta.properties").exists():
            self._format([*jvm, *TOOL_JVM_OPTS, *archive.mapping()], props)
        sharing, pending = archive.options()
        self._archive_pending = (archive, pending)
        # Kafka logs to server.log via log4j2; this file only catches JVM-level failures. A file,
        # not a pipe, so a detached broker never blocks writing to a reader that has exited.
        with (logs / "kafka.out").open("ab") as out:
            self._proc = subprocess.Popen(
                [*jvm, *PROFILES[self._jvm], *sharing, "kafka.Kafka", str(props)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=data,
                # Own session: a terminal's Ctrl-C or the CLI exiting must not kill it; we stop it.
                start_new_session=True,
            )
        self._client_port, self._controller_port = client_port, controller_port

    def _record_ports(self) -> None:
        (self.data_dir / PORTS_FILE).write_text(
            json.dumps({"client": self._client_port, "controller": self._controller_port}) + "\n"
        )

    def _properties(self, client_port: int, controller_port: int) -> str:
        return render_server_properties(
            client_port=client_port,
            controller_port=controller_port,
            log_dir=self.data_dir / "kraft-logs",
            extra=self._extra,
            extra_listeners=self.listener_ports,
        )

    def _ports(self) -> tuple[int, int]:
        """The ports this data dir was served on before, else two fresh ones.

        Fresh ports are fine even on formatted storage (a single node tolerates a changed
        controller endpoint, checked against 4.3.1); the recorded ones keep the address stable.
        """
        try:
            recorded = json.loads((self.data_dir / PORTS_FILE).read_text())
            return int(recorded["client"]), int(recorded["controller"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        client_port = free_port()
        controller_port = free_port()
        while controller_port == client_port:
            controller_port = free_port()
        return client_port, controller_port

    def _format_options(self) -> list[str]:
        """How this node's storage is formatted: its own cluster, a quorum of itself."""
        return ["--standalone", "-t", random_cluster_id()]

    def _format(self, jvm: list[str], props: Path) -> None:
        cmd = [*jvm, "kafka.tools.StorageTool", "format", *self._format_options()]
        cmd += ["-c", str(props), *self._format_args]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        except subprocess.TimeoutExpired as exc:
            raise BrokerError("kafka storage format timed out after 120s") from exc
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
            raise BrokerError(f"kafka storage format failed (rc={proc.returncode}):\n{tail}")

    def _wait_ready(self) -> None:
        """Poll until an admin metadata call answers and a transactional producer initialises.

        An open port is not enough: the broker accepts connections before its metadata is
        loaded, and the transaction coordinator needs __transaction_state created and led.
        """
        deadline = time.monotonic() + self._start_timeout
        stage, last_error = "client port", "none"
        while True:
            self._check_alive()
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                raise BrokerError(
                    f"kafka not ready after {self._start_timeout:.0f}s (waiting for {stage}; "
                    f"last error: {last_error})\n{self.log_tail()}"
                )
            try:
                if stage == "client port":
                    socket.create_connection((HOST, self._client_port), timeout=1).close()
                    stage = "metadata"
                if stage == "metadata":
                    describe_brokers(self.bootstrap_servers, min(remaining_ms, 5_000))
                    stage = "transaction coordinator"
                init_transactions_probe(self.bootstrap_servers, min(remaining_ms, 30_000))
                return
            except (KafkaError, OSError) as exc:
                last_error = repr(exc)
                time.sleep(0.3)

    def _check_alive(self) -> None:
        if self._proc is None or self._proc.poll() is None:
            return
        tail = self.log_tail()
        if "Address already in use" in tail or "BindException" in tail:
            raise PortInUse(tail)
        raise BrokerError(f"kafka exited with code {self._proc.returncode} during start:\n{tail}")

    def _kill(self, timeout: float = 5.0) -> None:
        if self._proc is None:
            return
        self._proc.terminate()  # SIGTERM: Kafka does a controlled shutdown
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("kafka ignored SIGTERM for %.0fs, killing it", timeout)
            self._proc.kill()
            self._proc.wait(10)
        self._proc = None
        self._settle_archive()

    def _settle_archive(self) -> None:
        """The JVM has exited: keep the class archive it wrote, if it was writing one."""
        if self._archive_pending is not None:
            archive, pending = self._archive_pending
            self._archive_pending = None
            archive.settle(pending)


class PortInUse(BrokerError):
    pass


def describe_brokers(bootstrap: str, timeout_ms: int) -> set[int]:
    """The ids of the unfenced brokers the cluster description reached via `bootstrap` lists
    (bootstrapping makes that node answer a metadata request first)."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="localbroker-ready",
        request_timeout_ms=timeout_ms,
        bootstrap_timeout_ms=timeout_ms,
    )
    try:
        described = admin.describe_cluster()
    finally:
        admin.close()
    return {
        int(broker.get("broker_id", broker.get("node_id", -1)))
        for broker in described.get("brokers", [])
        if not broker.get("is_fenced", False)
    }


def init_transactions_probe(bootstrap: str, timeout_ms: int) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="localbroker-ready",
        transactional_id=f"localbroker-ready-{uuid.uuid4().hex}",
        max_block_ms=timeout_ms,
        request_timeout_ms=min(timeout_ms, 10_000),
        bootstrap_timeout_ms=timeout_ms,
    )
    try:
        producer.init_transactions()
    finally:
        producer.close(timeout=5)
