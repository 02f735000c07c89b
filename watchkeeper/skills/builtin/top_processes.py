"""top_processes: the heaviest processes by CPU or memory, like a glance at `top`."""

from __future__ import annotations

from typing import Any, Literal

import psutil
from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.procinfo import sample_cpu, summary


class TopProcessesParams(SkillParams):
    by: Literal["cpu", "memory"] = Field("cpu", description="Rank by CPU use or by resident memory.")
    n: int = Field(10, ge=1, le=100, description="How many processes to return.")
    sample_seconds: float = Field(0.5, ge=0.1, le=5.0, description="CPU sampling window, in seconds.")


@skill(
    key="top_processes",
    name="Top processes",
    description="The processes using the most CPU (100 = one full core) or memory, with pid, user, "
    "CPU %, CPU demand % (on a CPU or waiting for one: what it wants on a saturated host), memory %, RSS, "
    "start time and command line; watchkeeper_pids names those that are "
    "watchkeeper itself (its process and the commands its skills run).",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="processes",
    idempotent=True,
    result_example={
        "by": "cpu",
        "cpu_count": 2,
        "processes": [
            {
                "pid": 4242,
                "name": "python3",
                "user": "app",
                "cpu_percent": 99.1,
                "cpu_demand_percent": 99.8,
                "memory_percent": 1.2,
                "rss_bytes": 52428800,
                "status": "running",
                "started_at": "2026-11-22T01:00:00+00:00",
                "cmdline": "python3 worker.py",
            }
        ],
        "watchkeeper_pids": [],
    },
)
def top_processes(params: TopProcessesParams, ctx: SkillContext) -> dict[str, Any]:
    procs = list(psutil.process_iter())
    cpu = sample_cpu(procs, params.sample_seconds)
    alive = [p for p in procs if p.pid in cpu]
    if params.by == "cpu":
        ranked = sorted(alive, key=lambda p: cpu[p.pid].percent, reverse=True)
    else:

        def rss(p: psutil.Process) -> int:
            try:
                return int(p.memory_info().rss)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                return 0

        ranked = sorted(alive, key=rss, reverse=True)
    rows: list[dict[str, Any]] = []
    for proc in ranked:
        if len(rows) == params.n:
            break
        try:
            rows.append(summary(proc, cpu[proc.pid]))
        except psutil.NoSuchProcess:
            continue
    return {
        "by": params.by,
        "cpu_count": psutil.cpu_count() or 1,
        "processes": rows,
        "watchkeeper_pids": [r["pid"] for r in rows if ctx.commands.owns(r["pid"])],
    }
