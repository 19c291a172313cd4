"""The local replicated cluster: its nodes' config and its recorded layout."""

from __future__ import annotations

from pathlib import Path

from guard.localbroker import LocalKafkaCluster, render_server_properties
from guard.localbroker.cluster import CLUSTER_FILE


def _parse(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_cluster_node_properties_use_static_voters_and_three_replicas(tmp_path: Path) -> None:
    voters = "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3"
    props = _parse(
        render_server_properties(
            client_port=9,
            controller_port=2,
            log_dir=tmp_path,
            node_id=2,
            quorum_voters=voters,
            replication=3,
        )
    )
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == voters
    assert "controller.quorum.bootstrap.servers" not in props
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == "3", key
    for key in (
        "min.insync.replicas",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.min.isr",
    ):
        assert props[key] == "2", key
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_a_cluster_made_again_on_its_data_dir_keeps_its_ports_and_id(tmp_path: Path) -> None:
    first = LocalKafkaCluster(3, tmp_path)
    again = LocalKafkaCluster(3, tmp_path)
    assert (tmp_path / CLUSTER_FILE).exists()
    assert again.bootstrap_servers == first.bootstrap_servers
    assert {n.ports for n in again.nodes.values()} == {n.ports for n in first.nodes.values()}
    assert len({p for n in first.nodes.values() for p in n.ports}) == 6, "six distinct ports"
