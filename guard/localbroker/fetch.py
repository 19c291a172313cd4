"""Fetch an Apache Kafka 4.x broker (jars only) from Maven Central into a user cache.

There is no Docker here, so the broker runs from the Maven artifacts: a tiny generated pom depends
on ``org.apache.kafka:kafka_2.13`` plus a log4j2 backend, and ``dependency:copy-dependencies``
flattens the runtime class path into ``<cache>/<version>/lib``. The resolved version is recorded
so later fetches and broker starts never call Maven again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

KAFKA_GROUP = "org.apache.kafka"
KAFKA_ARTIFACT = "kafka_2.13"
VERSION_RANGE = "[4.0,5.0)"
# Kafka's pom brings only slf4j-api (1.7.x up to at least 4.4), no backend: without one the broker
# is silent. Both log4j2 bindings are fetched (Kafka is declared first, so its slf4j-api version
# wins Maven's nearest-first tie) and the one not matching that slf4j-api is then deleted: the two
# jars define the same class names and must not share a class path.
LOG4J_VERSION = "2.24.3"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
MVN_TIMEOUT_S = 1800.0
_STABLE = re.compile(r"^\d+\.\d+\.\d+$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RESOLVED_FILE = "resolved.json"
_COMPLETE_FILE = ".complete"
_MAX_FALLBACKS = 3

# ${sys:kafka.logs.dir} is set per broker, so one config in the cache serves every data dir.
LOG4J2_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="server" fileName="${sys:kafka.logs.dir}/server.log">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="server"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
  </Loggers>
</Configuration>
"""


class BrokerError(RuntimeError):
    """Fetching, starting or stopping the local Kafka broker failed."""


@dataclass(frozen=True)
class KafkaDist:
    """A fetched Kafka distribution: the jars and the log4j2 config for one version."""

    version: str
    home: Path

    @property
    def lib_dir(self) -> Path:
        return self.home / "lib"

    @property
    def classpath(self) -> str:
        # The JVM expands "dir/*" itself; no need to list hundreds of jars.
        return str(self.lib_dir / "*")

    @property
    def log4j_config(self) -> Path:
        return self.home / "log4j2.xml"


def cache_root() -> Path:
    """``$GUARD_KAFKA_CACHE``, else ``${XDG_CACHE_HOME:-~/.cache}/ingest-guard/kafka``."""
    override = os.environ.get("GUARD_KAFKA_CACHE")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "ingest-guard" / "kafka"


def find_java() -> str:
    """Path of the ``java`` binary (``$JAVA_HOME`` first), or BrokerError."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise BrokerError("java not found (set JAVA_HOME or put java 17+ on PATH)")
    return found


def fetch(
    version: str | None = None, *, cache_dir: Path | None = None, refresh: bool = False
) -> KafkaDist:
    """Return a cached Kafka distribution, running Maven only when it is not cached yet.

    ``version`` (else ``$GUARD_KAFKA_VERSION``) pins a release; without it the newest stable 4.x
    is resolved once and remembered. ``refresh`` re-resolves the newest release.
    """
    root = cache_dir or cache_root()
    pinned = version or os.environ.get("GUARD_KAFKA_VERSION") or None
    root.mkdir(parents=True, exist_ok=True)
    # A lock keeps concurrent fetches (e.g. parallel test sessions) from racing on the same dir.
    with _locked(root / ".lock"):
        cached = _cached(root, pinned, refresh)
        if cached is not None:
            logger.debug("kafka %s found in cache %s", cached.version, cached.home)
            return cached
        started = time.monotonic()
        dist = _download(root, pinned)
        logger.info("fetched kafka %s in %.1fs", dist.version, time.monotonic() - started)
        if pinned is None:
            (root / _RESOLVED_FILE).write_text(json.dumps({"version": dist.version}) + "\n")
        return dist


def _cached(root: Path, pinned: str | None, refresh: bool) -> KafkaDist | None:
    if pinned is None:
        if refresh:
            return None
        try:
            pinned = str(json.loads((root / _RESOLVED_FILE).read_text())["version"])
        except (OSError, ValueError, KeyError):
            return None
    dist = KafkaDist(pinned, root / pinned)
    return dist if (dist.home / _COMPLETE_FILE).is_file() else None


def _download(root: Path, pinned: str | None) -> KafkaDist:
    mvn = shutil.which("mvn")
    if not mvn:
        raise BrokerError("mvn not found on PATH; Maven 3.6+ is needed to fetch the Kafka jars")
    find_java()  # fail early: mvn is useless without a JVM anyway
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=root) as tmp:
        work = Path(tmp)
        if pinned is not None:
            lib = _copy_dependencies(mvn, work, pinned)
        else:
            lib = _resolve_newest(mvn, work)
        resolved = _kafka_version(lib)
        _prune_slf4j_binding(lib)
        if pinned is not None and resolved != pinned:
            raise BrokerError(f"asked for kafka {pinned} but Maven resolved {resolved}")
        dist = KafkaDist(resolved, root / resolved)
        if (dist.home / _COMPLETE_FILE).is_file():
            return dist  # --refresh found no newer release; a running broker may use these jars
        if dist.home.exists():
            shutil.rmtree(dist.home)  # an incomplete earlier attempt
        dist.home.mkdir()
        lib.rename(dist.lib_dir)  # same filesystem, so the lib dir appears atomically
        dist.log4j_config.write_text(LOG4J2_XML)
        (dist.home / _COMPLETE_FILE).write_text(resolved + "\n")
    return dist


def _resolve_newest(mvn: str, work: Path) -> Path:
    """Newest stable 4.x whose whole dependency tree Central actually serves."""
    first_error: BrokerError | None = None
    try:
        lib = _copy_dependencies(mvn, work, VERSION_RANGE)
        if _STABLE.match(_kafka_version(lib)):
            return lib
        # Maven ranges admit qualified versions (e.g. 4.2.0-rc1); fall back to stable ones.
        shutil.rmtree(lib)
    except BrokerError as exc:
        # Seen for real: Central listed kafka_2.13 4.4.0 while its kafka-tools-api 4.4.0 was
        # still missing, so the range resolved but the dependency tree did not.
        first_error = exc
    # Resolving the range left Maven's copy of the version list in the local repo.
    candidates = _stable_versions_from_metadata()[:_MAX_FALLBACKS]
    errors: list[str] = [str(first_error)] if first_error else []
    for candidate in candidates:
        try:
            return _copy_dependencies(mvn, work, candidate)
        except BrokerError as exc:
            logger.warning("kafka %s not fetchable, trying an older release", candidate)
            errors.append(str(exc))
            shutil.rmtree(work / "lib", ignore_errors=True)
    tried = ", ".join([VERSION_RANGE, *candidates])
    last = errors[-1] if errors else "no stable 4.x version in maven-metadata"
    raise BrokerError(f"could not fetch any kafka 4.x release (tried {tried}); last error:\n{last}")


def _copy_dependencies(mvn: str, work: Path, version_spec: str) -> Path:
    pom = work / "pom.xml"
    pom.write_text(_render_pom(version_spec))
    lib = work / "lib"
    cmd = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(pom),
        f"-Dmaven.repo.local={_maven_repo()}",
        f"{DEPENDENCY_PLUGIN}:copy-dependencies",
        f"-DoutputDirectory={lib}",
        "-DincludeScope=runtime",
    ]
    logger.info("resolving kafka %s with Maven (cold: ~45 MB of jars)", version_spec)
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=MVN_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(f"mvn timed out after {MVN_TIMEOUT_S:.0f}s: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        tail = _tail(proc.stdout + proc.stderr)
        raise BrokerError(
            f"mvn failed to fetch kafka {version_spec} (rc={proc.returncode}):\n{tail}"
        )
    return lib


def _render_pom(version_spec: str) -> str:
    deps = [
        (KAFKA_GROUP, KAFKA_ARTIFACT, version_spec),
        ("org.apache.logging.log4j", "log4j-core", LOG4J_VERSION),
        ("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
        ("org.apache.logging.log4j", "log4j-slf4j2-impl", LOG4J_VERSION),
    ]
    rendered = "".join(
        f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{v}</version></dependency>\n    "
        for g, a, v in deps
    )
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.ingest-guard</groupId>
  <artifactId>kafka-local-fetch</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    {rendered}</dependencies>
</project>
"""


def _kafka_version(lib: Path) -> str:
    prefix = f"{KAFKA_ARTIFACT}-"
    for jar in sorted(lib.glob(f"{prefix}*.jar")):
        name = jar.name[len(prefix) : -len(".jar")]
        if not name.endswith(("-test", "-tests")):
            return name
    raise BrokerError(f"mvn finished but no {KAFKA_ARTIFACT} jar landed in {lib}")


def _prune_slf4j_binding(lib: Path) -> None:
    apis = list(lib.glob("slf4j-api-*.jar"))
    if len(apis) != 1:
        raise BrokerError(f"expected one slf4j-api jar in {lib}, found {apis}")
    slf4j_v1 = apis[0].name.startswith("slf4j-api-1.")
    unwanted = "log4j-slf4j2-impl-*.jar" if slf4j_v1 else "log4j-slf4j-impl-*.jar"
    for jar in lib.glob(unwanted):
        jar.unlink()


def _maven_repo() -> Path:
    return Path(os.environ.get("GUARD_M2_REPO") or Path.home() / ".m2" / "repository")


def _stable_versions_from_metadata() -> list[str]:
    """Stable 4.x versions from Maven's cached maven-metadata, newest first."""
    folder = _maven_repo() / KAFKA_GROUP.replace(".", "/") / KAFKA_ARTIFACT
    versions: set[str] = set()
    for meta in folder.glob("maven-metadata-*.xml"):
        versions.update(v.text or "" for v in ET.parse(meta).iter("version"))
    stable = [v for v in versions if _STABLE.match(v) and v.split(".")[0] == "4"]
    return sorted(stable, key=lambda v: tuple(int(p) for p in v.split(".")), reverse=True)


def _tail(text: str, lines: int = 40) -> str:
    # Maven 3.8 emits colour resets even in batch mode; keep the error message plain.
    return "\n".join(_ANSI.sub("", text).strip().splitlines()[-lines:])


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
