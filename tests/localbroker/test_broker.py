"""Local Kafka broker tooling: server.properties rendering and cluster ids."""

from __future__ import annotations

from pathlib import Path

from guard.localbroker import render_server_properties
from guard.localbroker.broker import random_cluster_id

BIG_VALUE = b"x" * (10 * 1024 * 1024)  # the pipeline's size limit tests send 10 MB values


def _parse(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_server_properties_single_node_kraft(tmp_path: Path) -> None:
    props = _parse(
        render_server_properties(client_port=19092, controller_port=19093, log_dir=tmp_path / "l")
    )
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert props["log.dirs"] == str(tmp_path / "l")
    # Anything left at the RF-3 defaults makes transactions hang on one broker.
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
    ):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert int(props["message.max.bytes"]) >= len(BIG_VALUE) + 1024
    assert props["replica.fetch.max.bytes"] == props["message.max.bytes"]


def test_server_properties_extra_overrides(tmp_path: Path) -> None:
    text = render_server_properties(
        client_port=1, controller_port=2, log_dir=tmp_path, extra={"num.partitions": "3", "a": "b"}
    )
    props = _parse(text)
    assert props["num.partitions"] == "3"
    assert props["a"] == "b"
    assert [line for line in text.splitlines() if line.startswith("num.partitions=")] == [
        "num.partitions=3"
    ]


def test_cluster_id_shape() -> None:
    for _ in range(200):
        cid = random_cluster_id()
        assert len(cid) == 22
        assert not cid.startswith("-")
