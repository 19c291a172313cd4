"""The broker JVM's class archive: written once, kept by the first clean stop, then mapped."""

from __future__ import annotations

import os
import time
from pathlib import Path

from guard.localbroker.jvm import PROFILES, ClassArchive

JAVA, CLASSPATH = "/usr/bin/java", "/opt/kafka/lib/*"


def _written(pending: Path | None) -> Path:
    assert pending is not None
    pending.write_bytes(b"archive")  # what the JVM writes when it exits cleanly
    return pending


def test_the_first_launch_writes_an_archive_that_later_launches_map(tmp_path: Path) -> None:
    archive = ClassArchive(tmp_path, JAVA, CLASSPATH)
    options, pending = archive.options()
    assert options == [f"-XX:ArchiveClassesAtExit={pending}"]
    archive.settle(_written(pending))
    assert archive.path.read_bytes() == b"archive"
    assert archive.options() == ([f"-XX:SharedArchiveFile={archive.path}"], None)


def test_a_one_shot_tool_maps_the_archive_but_never_writes_one(tmp_path: Path) -> None:
    archive = ClassArchive(tmp_path, JAVA, CLASSPATH)
    assert archive.mapping() == []
    archive.settle(_written(archive.options()[1]))
    assert archive.mapping() == [f"-XX:SharedArchiveFile={archive.path}"]


def test_a_killed_broker_leaves_no_archive(tmp_path: Path) -> None:
    archive = ClassArchive(tmp_path, JAVA, CLASSPATH)
    _, pending = archive.options()
    archive.settle(pending)  # SIGKILL: the JVM never wrote it
    assert not archive.path.exists()
    assert archive.options()[1] is not None  # the next launch tries again


def test_the_first_archive_kept_wins_and_the_second_is_dropped(tmp_path: Path) -> None:
    archive = ClassArchive(tmp_path, JAVA, CLASSPATH)
    (_, one), (_, two) = archive.options(), archive.options()
    archive.settle(_written(one))
    two_path = _written(two)
    two_path.write_bytes(b"second")
    archive.settle(two_path)
    assert archive.path.read_bytes() == b"archive"
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.path.name]


def test_another_java_or_classpath_gets_an_archive_of_its_own(tmp_path: Path) -> None:
    paths = {
        ClassArchive(tmp_path, JAVA, CLASSPATH).path,
        ClassArchive(tmp_path, "/opt/jdk21/bin/java", CLASSPATH).path,
        ClassArchive(tmp_path, JAVA, "/opt/kafka-4.1/lib/*").path,
    }
    assert len(paths) == 3


def test_a_day_old_pending_archive_of_a_detached_broker_is_dropped(tmp_path: Path) -> None:
    archive = ClassArchive(tmp_path, JAVA, CLASSPATH)
    old = _written(archive.options()[1])
    fresh = _written(archive.options()[1])
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    archive.options()
    assert not old.exists() and fresh.exists()


def test_only_the_steady_profile_keeps_the_optimising_compiler() -> None:
    assert "-XX:TieredStopAtLevel=1" in PROFILES["quick"]
    assert not any("TieredStopAtLevel" in opt for opt in PROFILES["steady"])
