"""Process facts shared by the process skills (psutil, with access errors as missing values)."""

from __future__ import annotations

import contextlib
import os
import time
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


def sample_cpu(procs: list[psutil.Process], seconds: float) -> dict[int, float]:
    """Per-process CPU % over `seconds` (100 = one full core), like top's %CPU."""
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            proc.cpu_percent(None)
    time.sleep(seconds)
    out: dict[int, float] = {}
    for proc in procs:
        try:
            out[proc.pid] = round(proc.cpu_percent(None), 1)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def summary(proc: psutil.Process, cpu: float | None = None) -> dict[str, Any]:
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
            "cpu_percent": cpu,
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
