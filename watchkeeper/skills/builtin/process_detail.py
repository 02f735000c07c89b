"""process_detail: everything about one pid an SRE would ask before acting on it."""

from __future__ import annotations

import contextlib
from typing import Any

import psutil
from pydantic import Field

from watchkeeper.errors import SkillFailed
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.procinfo import get_process, sample_cpu, summary

MAX_FILES = 50


class ProcessDetailParams(SkillParams):
    pid: int = Field(..., ge=1, description="Process id.")


@skill(
    key="process_detail",
    name="Process detail",
    description="One process in detail: command line, user, CPU, RSS, threads, open files, start time, "
    "parent and children.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="processes",
    idempotent=True,
    result_example={
        "pid": 4242,
        "name": "python3",
        "user": "app",
        "status": "running",
        "cpu_percent": 99.0,
        "cpu_demand_percent": 99.8,
        "rss_bytes": 52428800,
        "threads": 4,
        "open_files": ["/var/log/app.log"],
        "open_file_count": 1,
        "fd_count": 9,
        "started_at": "2026-11-22T01:00:00+00:00",
        "start_time": 1795309200.12,
        "ppid": 1,
        "parent": "systemd",
        "children": [{"pid": 4243, "name": "sh"}],
        "cmdline": "python3 worker.py",
        "exe": "/usr/bin/python3.11",
        "cwd": "/srv/app",
    },
)
def process_detail(params: ProcessDetailParams, ctx: SkillContext) -> dict[str, Any]:
    proc = get_process(params.pid)
    cpu = sample_cpu([proc], 0.3).get(proc.pid)
    try:
        info = summary(proc, cpu)
    except psutil.NoSuchProcess:
        raise SkillFailed(f"process {params.pid} exited while it was being inspected") from None
    extra: dict[str, Any] = {"open_files": [], "open_file_count": None, "fd_count": None, "exe": None, "cwd": None}
    with proc.oneshot():
        for name, getter in (
            ("threads", proc.num_threads),
            ("fd_count", proc.num_fds),
            ("exe", proc.exe),
            ("cwd", proc.cwd),
        ):
            with contextlib.suppress(psutil.AccessDenied, psutil.ZombieProcess, psutil.NoSuchProcess):
                extra[name] = getter()
        with contextlib.suppress(psutil.AccessDenied, psutil.ZombieProcess, psutil.NoSuchProcess):
            files = proc.open_files()
            extra["open_files"] = [f.path for f in files[:MAX_FILES]]
            extra["open_file_count"] = len(files)
        try:
            ppid = proc.ppid()
            parent = proc.parent()
            children = [{"pid": c.pid, "name": c.name()} for c in proc.children()]
        except psutil.NoSuchProcess:
            raise SkillFailed(f"process {params.pid} exited while it was being inspected") from None
        start = proc.create_time()
    return {
        **info,
        **extra,
        "start_time": start,
        "ppid": ppid,
        "parent": parent.name() if parent else None,
        "children": children,
    }
