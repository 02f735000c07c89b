"""Process facts shared by the process skills (psutil, with access errors as missing values)."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psutil

from watchkeeper.errors import SkillFailed
from watchkeeper.redact import redact_argv

CMDLINE_MAX = 300


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def get_process(pid: int) -> psutil.Process:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        raise SkillFailed(f"no process with pid {pid}") from None


def cmdline(proc: psutil.Process, limit: int = CMDLINE_MAX) -> str:
    """The command line with its secrets masked, argument by argument (`--password "two words"`)."""
    try:
        text = " ".join(redact_argv(proc.cmdline()))
    except (psutil.AccessDenied, psutil.ZombieProcess, psutil.NoSuchProcess):
        text = ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class CpuSample:
    """One process over a sampling window, 100 = one full core."""

    percent: float  # on a CPU: top's %CPU
    # On a CPU or waiting for one (/proc/<pid>/schedstat): what it would take if it could. On a saturated
    # host a spinning process gets a share of a core but wants a whole one; None where the kernel does not say.
    demand: float | None


def _scheduled_ns(pid: int) -> int | None:
    """Nanoseconds its threads spent on a CPU plus waiting on a run queue (each thread keeps its own count)."""
    total, seen = 0, False
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                on_cpu, waiting, _ = fh.read().split()
        except (OSError, ValueError):
            continue  # the thread ended meanwhile
        total, seen = total + int(on_cpu) + int(waiting), True
    return total if seen else None


def sample_cpu(procs: list[psutil.Process], seconds: float) -> dict[int, CpuSample]:
    """Per-process CPU use and demand over `seconds`."""
    before: dict[int, int | None] = {}
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            proc.cpu_percent(None)
            before[proc.pid] = _scheduled_ns(proc.pid)
    t0 = time.monotonic()
    time.sleep(seconds)
    out: dict[int, CpuSample] = {}
    for proc in procs:
        try:
            percent = round(proc.cpu_percent(None), 1)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        start, end = before.get(proc.pid), _scheduled_ns(proc.pid)
        window = time.monotonic() - t0
        # Threads that ended in the window take their time with them: demand is never below use.
        demand = None if start is None or end is None else max(percent, round((end - start) / 1e9 / window * 100, 1))
        out[proc.pid] = CpuSample(percent, demand)
    return out


def summary(proc: psutil.Process, cpu: CpuSample | None = None) -> dict[str, Any]:
    with proc.oneshot():
        try:
            mem = proc.memory_info()
            rss, mem_pct = mem.rss, round(proc.memory_percent(), 2)
        except (psutil.AccessDenied, psutil.ZombieProcess):
            rss, mem_pct = None, None
        try:
            user: str | None = proc.username()
        except (psutil.AccessDenied, KeyError):
            user = None
        return {
            "pid": proc.pid,
            "name": proc.name(),
            "user": user,
            "status": proc.status(),
            "cpu_percent": cpu.percent if cpu else None,
            "cpu_demand_percent": cpu.demand if cpu else None,
            "memory_percent": mem_pct,
            "rss_bytes": rss,
            "started_at": iso(proc.create_time()),
            "cmdline": cmdline(proc),
        }


def is_kernel_thread(proc: psutil.Process) -> bool:
    """Linux kernel threads are kthreadd (pid 2) and its children; they have no executable."""
    try:
        return proc.pid == 2 or proc.ppid() == 2
    except psutil.NoSuchProcess:
        return False


def own_lineage() -> set[int]:
    """watchkeeper's own pid and every ancestor: never a target of kill_process."""
    me = psutil.Process(os.getpid())
    return {me.pid, *(p.pid for p in me.parents())}
