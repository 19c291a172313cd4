"""Run one contender as a child process and measure it from outside: CPU and RSS sampled from
/proc while it runs, its rusage (CPU, peak RSS) when it exits."""

from __future__ import annotations

import bisect
import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Sample:
    at: float  # epoch seconds
    cpu: float  # user + system seconds so far, all threads
    rss: int  # bytes
    hwm: int  # bytes: the peak RSS so far (VmHWM)


@dataclass
class ChildRun:
    returncode: int
    stdout: str
    stderr_path: Path
    cpu_seconds: float  # user + system over the whole life (rusage)
    # Bytes: the last VmHWM read from /proc. Not rusage's ru_maxrss, which after fork + exec
    # also counts the parent's RSS at the fork (the harness's, not the contender's).
    peak_rss: int
    wall_seconds: float
    samples: list[Sample] = field(default_factory=list)

    def cpu_at(self, at: float) -> float:
        """CPU used by time `at`, interpolated between /proc samples (0 before the first)."""
        times = [s.at for s in self.samples]
        i = bisect.bisect_right(times, at)
        if i == 0:
            return 0.0
        if i == len(self.samples):
            return self.samples[-1].cpu
        a, b = self.samples[i - 1], self.samples[i]
        return a.cpu + (b.cpu - a.cpu) * (at - a.at) / max(b.at - a.at, 1e-9)

    def stderr_tail(self, lines: int = 15) -> str:
        text = self.stderr_path.read_text(errors="replace").strip().splitlines()
        return "\n".join(text[-lines:])


def _read_proc(pid: int) -> tuple[float, int, int] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        statm = Path(f"/proc/{pid}/statm").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    utime, stime = int(fields[11]), int(fields[12])
    hwm = next((ln.split()[1] for ln in status.splitlines() if ln.startswith("VmHWM:")), "0")
    return (utime + stime) / _TICK, int(statm.split()[1]) * _PAGE, int(hwm) * 1024


def run_child(
    cmd: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    stderr_path: Path,
    timeout: float,
    interval: float = 0.1,
) -> ChildRun:
    """Run `cmd` to its end (killed after `timeout` seconds), sampling it every `interval`."""
    started = time.monotonic()
    with stderr_path.open("wb") as err, open(stderr_path.with_suffix(".out"), "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        samples: list[Sample] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(interval):
                got = _read_proc(proc.pid)
                if got is not None:
                    samples.append(Sample(time.time(), *got))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            _, status, usage = _wait4(proc.pid, started + timeout)
        except TimeoutError:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            stop.set()
            sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(
        returncode=proc.returncode,
        stdout=stderr_path.with_suffix(".out").read_text(errors="replace"),
        stderr_path=stderr_path,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss=max((s.hwm for s in samples), default=0),
        wall_seconds=time.monotonic() - started,
        samples=samples,
    )


def _wait4(pid: int, deadline: float) -> tuple[int, int, resource.struct_rusage]:
    while True:
        got_pid, status, usage = os.wait4(pid, os.WNOHANG)
        if got_pid == pid:
            return got_pid, status, usage
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.05)
