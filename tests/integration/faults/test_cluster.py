"""Broker faults on a 3-node cluster (RF 3, min.insync.replicas 2) under a running `guard run`:
SIGKILL of a source partition's leader, of the group coordinator and of the transaction
coordinator; a rolling restart; one broker down and back; two brokers down (ISR below min ISR).
Each ends with the fault suite's audit: every input offset in the clean or quarantine topic
exactly once, unaltered, with the verdict it was built to get.

Every wait is on an event (a commit in the guard's log, a leader elected, a node ready, the
group caught up). Times are printed as figures (`FIGURES` lines), never asserted: the machine
is shared. `recovery_s` is from the fault (a kill, a node stopped, nodes back) to the guard's
next commit, by the guard's own log timestamps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from guard.localbroker import LocalKafkaCluster
from tests.fixtures.guard_process import GuardProcess
from tests.integration.faults.cluster import (
    EVENT_TIMEOUT_S,
    commits_after,
    coordinator,
    leader,
    log_count,
    next_commit_after,
    partitions,
    wait_isr_at_most,
    wait_leaders_without,
    wait_log_count,
)
from tests.integration.faults.harness import (
    CATCH_UP_S,
    FULL,
    MARKS,
    Scenario,
    audit,
    mixed_scenario,
    mixed_stream,
    produce,
    record_figures,
    wait_caught_up,
)

pytestmark = MARKS
RECORDS = 100_000 if FULL else 4_000  # per scenario; feeds add as many again
# Small transactions keep the guard at work while a node goes down (CI sizes run in seconds).
BATCH = {"max_records": 200 if FULL else 50}
# The kill scenarios feed right after the kill, so the guard has work whatever the batch size;
# they run at the guard's default (500), and the backlog drains as it would in production.
KILL_BATCH = {"max_records": 500}
RETRIED = "transient broker failure"  # the service's log line for a retried batch


@pytest.fixture(autouse=True)
def _whole_cluster(kafka_cluster: LocalKafkaCluster) -> Iterator[None]:
    """Every scenario starts and ends with all nodes up and every replica in sync."""
    _heal(kafka_cluster)
    yield
    _heal(kafka_cluster)


def _heal(cluster: LocalKafkaCluster) -> None:
    for node_id in sorted(cluster.nodes):
        if not cluster.node(node_id).is_running():
            cluster.start_node(node_id)
    cluster.wait_in_sync(timeout=EVENT_TIMEOUT_S)


class Run:
    """One scenario: its input, a `guard run` on it, and the records fed in while it runs."""

    def __init__(
        self,
        cluster: LocalKafkaCluster,
        unique: Callable[[str], str],
        tmp_path: Path,
        env: dict[str, str],
        client: str,
        seed: int,
        batch: dict[str, int] = BATCH,
        **config: object,
    ) -> None:
        self.cluster, self.client, self.seed = cluster, client, seed
        self.scenario: Scenario = mixed_scenario(
            cluster.bootstrap_servers,
            unique,
            tmp_path,
            client,
            seed=seed,
            records=RECORDS,
            batch=batch,
            **config,
        )
        self.expected = dict(self.scenario.expected)
        self.guard = GuardProcess(self.scenario.config, env, "guard")
        self.feeds = 0

    @property
    def bootstrap(self) -> str:
        return self.scenario.bootstrap

    @property
    def source(self) -> str:
        return self.scenario.source

    @property
    def transactional_id(self) -> str:
        return f"{self.scenario.group}-faults"  # write_config's instance_id

    def coordinators(self) -> set[int]:
        """The nodes coordinating the guard's group and its transactional id (after the
        guard's first commit, when both exist)."""
        return {
            coordinator(self.bootstrap, self.scenario.group, "group"),
            coordinator(self.bootstrap, self.transactional_id, "transaction"),
        }

    def leader_not_coordinating(self) -> tuple[int, int]:
        """(partition, node): a source partition whose leader coordinates neither the group
        nor the transactions, so a scenario about losing a leader loses only that (partition
        0's leader when every leader is a coordinator)."""
        busy = self.coordinators()
        leaders = {
            p: lead for p, (lead, _) in sorted(partitions(self.bootstrap, self.source).items())
        }
        free = [(p, lead) for p, lead in leaders.items() if lead not in busy]
        return free[0] if free else (0, leaders[0])

    def feed(self, records: int = RECORDS) -> None:
        """More input while the guard runs, so a fault lands on work, not on an idle guard."""
        self.feeds += 1
        stream = mixed_stream(records, seed=self.seed * 100 + self.feeds)
        self.expected.update(produce(self.bootstrap, self.source, stream))

    def commit_after(self, batches: int = 0) -> None:
        self.guard.wait_for_commit_after(self.guard.commits() + batches, timeout=EVENT_TIMEOUT_S)

    def caught_up(self) -> float:
        return wait_caught_up(
            self.bootstrap, self.scenario.group, self.source, CATCH_UP_S, self.guard
        )

    def finish(self, name: str, **figures: object) -> None:
        """Stop the guard (exit 0), audit the outputs, record the figures, assert 0/0/0."""
        self.guard.terminate()
        result = audit(self.bootstrap, self.source, self.client, self.expected)
        record_figures(
            name,
            self.client,
            records=len(self.expected),
            retried_batches=log_count(self.guard, RETRIED),
            audit=result,
            **figures,
        )
        assert result.inputs == len(self.expected)
        assert result.problems == {}, result.examples


def _kill_and_recover(run: Run, victim: int, name: str, role: str) -> None:
    """SIGKILL `victim` mid-run; bring the node back in place; audit. A feed sent right after
    the kill makes sure the guard has work left whenever the kill lands.

    Times are from the guard's own log (when it committed, not when a poll here noticed):
    `recovery_s`, kill -> next commit; `kill_to_outputs_complete_s`, kill -> the commit that
    completed the outputs (the backlog of ~2 x RECORDS drained at `catch_up_records_per_s`).
    `feed_s` is how long this test's own producer took to write the feed with a node dead,
    `observed_complete_s` when this test saw the group caught up."""
    # A feed first: the guard may have finished the first records while this test looked up
    # leaders and coordinators, and then no further commit would come to wait for.
    run.feed()
    run.commit_after()
    run.cluster.kill_node(victim, hard=True)
    killed, killed_wall = time.monotonic(), time.time()
    run.feed()
    feed_s = time.monotonic() - killed
    run.caught_up()
    observed_s = time.monotonic() - killed
    after = commits_after(run.guard, killed_wall)
    assert after, "no commit after the kill, yet the group caught up"
    next_commit_s, complete_s = after[0][0], after[-1][0]
    drained = sum(n for _, n in after[1:])
    run.cluster.start_node(victim)
    run.finish(
        name,
        killed=role,
        node=victim,
        recovery_s=round(next_commit_s, 1),
        kill_to_outputs_complete_s=round(complete_s, 1),
        catch_up_records_per_s=round(drained / max(complete_s - next_commit_s, 0.001)),
        feed_s=round(feed_s, 1),
        observed_complete_s=round(observed_s, 1),
    )


def test_sigkill_of_a_source_partition_leader_loses_and_duplicates_nothing(
    kafka_cluster: LocalKafkaCluster,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
    kafka_client: str,
) -> None:
    run = Run(
        kafka_cluster, unique, tmp_path, subprocess_env, kafka_client, seed=21, batch=KILL_BATCH
    )
    run.commit_after()
    partition, victim = run.leader_not_coordinating()
    role = f"leader of source partition {partition}"
    if victim in run.coordinators():
        role += " (and a coordinator: no other node led a partition)"
    _kill_and_recover(run, victim, "cluster_leader_sigkill", role)


@pytest.mark.cluster_long
def test_sigkill_of_the_group_coordinator_loses_and_duplicates_nothing(
    kafka_cluster: LocalKafkaCluster,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
    kafka_client: str,
) -> None:
    run = Run(
        kafka_cluster, unique, tmp_path, subprocess_env, kafka_client, seed=22, batch=KILL_BATCH
    )
    run.commit_after()  # the group exists and has a coordinator
    victim = coordinator(run.bootstrap, run.scenario.group, "group")
    _kill_and_recover(run, victim, "cluster_group_coordinator_sigkill", "group coordinator")


@pytest.mark.cluster_long
def test_sigkill_of_the_transaction_coordinator_loses_and_duplicates_nothing(
    kafka_cluster: LocalKafkaCluster,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
    kafka_client: str,
) -> None:
    run = Run(
        kafka_cluster, unique, tmp_path, subprocess_env, kafka_client, seed=23, batch=KILL_BATCH
    )
    run.commit_after()  # the transactional id is initialised on its coordinator
    victim = coordinator(run.bootstrap, run.transactional_id, "transaction")
    _kill_and_recover(
        run, victim, "cluster_transaction_coordinator_sigkill", "transaction coordinator"
    )


@pytest.mark.cluster_long
def test_a_rolling_restart_of_all_three_brokers_loses_and_duplicates_nothing(
    kafka_cluster: LocalKafkaCluster,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
    kafka_client: str,
) -> None:
    """As an operator bounces a cluster: one node at a time (SIGTERM, a controlled shutdown),
    the next only once the last is back and every replica is in sync again."""
    run = Run(kafka_cluster, unique, tmp_path, subprocess_env, kafka_client, seed=24)
    bounce_s, recovery_s = [], []
    for node_id in sorted(kafka_cluster.nodes):
        run.feed()
        run.commit_after()
        started, started_wall = time.monotonic(), time.time()
        kafka_cluster.kill_node(node_id, hard=False)
        kafka_cluster.start_node(node_id)
        kafka_cluster.wait_in_sync(timeout=EVENT_TIMEOUT_S)
        bounce_s.append(round(time.monotonic() - started, 1))
        recovery_s.append(next_commit_after(run.guard, started_wall))
    last_back = time.monotonic()
    run.caught_up()
    run.finish(
        "cluster_rolling_restart",
        recovery_s=recovery_s,  # per node: its SIGTERM -> the guard's next commit
        bounce_s=bounce_s,
        last_back_to_complete_s=round(time.monotonic() - last_back, 1),
    )


@pytest.mark.cluster_long
def test_one_broker_down_then_back_loses_and_duplicates_nothing(
    kafka_cluster: LocalKafkaCluster,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
    kafka_client: str,
) -> None:
    """A node crashes and stays down while the guard works through a whole feed on the other
    two (every partition re-led elsewhere); it comes back in place, and a second feed, sent
    once it is back, is processed with it in the cluster again."""
    run = Run(kafka_cluster, unique, tmp_path, subprocess_env, kafka_client, seed=25)
    run.commit_after(1)
    _, victim = run.leader_not_coordinating()
    kafka_cluster.kill_node(victim, hard=True)
    killed, killed_wall = time.monotonic(), time.time()
    election_s = wait_leaders_without(run.bootstrap, run.source, {victim})
    run.feed()
    run.caught_up()  # everything, the feed too, with one node down
    down_s = time.monotonic() - killed
    recovery_s = next_commit_after(run.guard, killed_wall)
    kafka_cluster.start_node(victim)
    back = time.monotonic()
    run.feed()
    run.caught_up()
    run.finish(
        "cluster_one_broker_down_then_back",
        node=victim,
        recovery_s=recovery_s,
        kill_to_leaders_elected_s=round(election_s, 1),
        down_s=round(down_s, 1),
        back_to_complete_s=round(time.monotonic() - back, 1),
    )


def test_isr_below_min_insync_is_retried_never_quarantined(
    kafka_cluster: LocalKafkaCluster,
    unique: Callable[[str], str],
    tmp_path: Path,
    subprocess_env: dict[str, str],
    kafka_client: str,
) -> None:
    """Two of three nodes down: the survivor leads every partition with an ISR of one, below
    min.insync.replicas 2, so writes with acks=all are refused (NOT_ENOUGH_REPLICAS) until a
    node is back. The guard retries them and quarantines none of them.

    Controlled shutdowns (SIGTERM), so the ISRs shrink while the controller quorum still has
    a majority; SIGKILLs would leave them stale and writes would time out instead. The input
    is all produced before (nothing can be written meanwhile). The guard's outage budget and
    stall timeout are raised for this test: bringing two nodes back on a loaded machine may
    take longer than their defaults (60 s, 120 s), and what is checked here is what happens
    to the refused writes, not how long the guard waits."""
    run = Run(
        kafka_cluster,
        unique,
        tmp_path,
        subprocess_env,
        kafka_client,
        seed=26,
        retry={"outage_budget_s": 900},
        service={"stall_timeout_s": 900},
    )
    run.feed(3 * RECORDS)  # work left for the guard while two nodes are down
    survivor = leader(run.bootstrap, run.source, 0)
    down = sorted(set(kafka_cluster.nodes) - {survivor})
    run.commit_after(1)
    retried_before = log_count(run.guard, RETRIED)
    for node_id in down:
        kafka_cluster.kill_node(node_id, hard=False)
    wait_isr_at_most(run.bootstrap, run.source, 1)
    below_min = time.monotonic()
    isr = partitions(run.bootstrap, run.source)
    wait_log_count(run.guard, RETRIED, retried_before)  # a write was refused and retried
    first_retry_s = time.monotonic() - below_min
    kafka_cluster.start_node(down[0])  # ISR back to two: writes are accepted again
    back, back_wall = time.monotonic(), time.time()
    kafka_cluster.start_node(down[1])
    run.caught_up()
    recovery_s = next_commit_after(run.guard, back_wall)
    log = run.guard.log.read_text(errors="replace")
    run.finish(
        "cluster_isr_below_min_insync",
        survivor=survivor,
        isr_while_down={p: i for p, (_, i) in isr.items()},
        not_enough_replicas_logged=log.count("NOT_ENOUGH_REPLICAS")
        + log.count("NotEnoughReplicas"),
        below_min_to_first_retry_s=round(first_retry_s, 1),
        recovery_s=recovery_s,  # the first node back -> the next commit
        back_to_complete_s=round(time.monotonic() - back, 1),
    )
