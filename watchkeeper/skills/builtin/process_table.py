"""process_table: the whole process table in one cheap read, ranked and grouped the ways triage asks.

One pass over /proc before and one after a sampling window. Only the processes that make it into a
ranking pay for the costly reads (user name, command line).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import psutil
from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.procinfo import cmdline, is_kernel_thread, iso

# States worth a row even when the process uses nothing: it waits on a disk, or someone stopped it.
STUCK_STATES = (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP, psutil.STATUS_DISK_SLEEP)
STUCK_MAX = 50
ZOMBIE_PARENT_MIN = 5  # a parent with this many unreaped children is listed whatever its CPU
PIDS_SHOWN = 10
# Always present in "states", at 0 when none: the triage reads them without checking for the key.
BASE_STATES = (
    psutil.STATUS_RUNNING, psutil.STATUS_SLEEPING, psutil.STATUS_DISK_SLEEP, psutil.STATUS_STOPPED,
    psutil.STATUS_TRACING_STOP, psutil.STATUS_ZOMBIE, psutil.STATUS_IDLE,
)  # fmt: skip
# Command-line lengths tried in turn so the result stays inside the output cap with its rows whole.
CMDLINE_STEPS = (300, 150, 80, 40, 0)
MAX_COMMANDS = 2000


class ProcessTableParams(SkillParams):
    sample_seconds: float = Field(1.0, ge=0.1, le=5.0, description="CPU sampling window, in seconds.")
    top: int = Field(10, ge=1, le=50, description="Rows kept per ranking (CPU, memory, threads, open files).")


@dataclass
class Proc:
    """One process as measured over the window (a field left None: the kernel did not let us read it)."""

    handle: psutil.Process
    pid: int
    ppid: int
    name: str
    state: str
    created: float
    cpu: float = 0.0  # % of one core, user + system
    system: float = 0.0
    children_cpu: float = 0.0  # reaped children's user + system, % of one core
    rss: int | None = None
    threads: int | None = None
    fds: int | None = None
    fd_limit: int | None = None
    cmdline: str = field(default="", repr=False)

    @property
    def total_cpu(self) -> float:
        return self.cpu + self.children_cpu

    @property
    def fd_ratio(self) -> float:
        return self.fds / self.fd_limit if self.fds is not None and self.fd_limit else 0.0


def _before(proc: psutil.Process) -> tuple[float, float, Any] | None:
    """(create time, when read, cpu_times) of a user-space process; None for kernel threads and the gone."""
    try:
        with proc.oneshot():  # is_kernel_thread's ppid comes from the same cached stat read
            if is_kernel_thread(proc):
                return None
            return proc.create_time(), time.monotonic(), proc.cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _soft_nofile(proc: psutil.Process) -> int | None:
    """The soft open-file limit; None when unreadable or unlimited (nothing to run into)."""
    try:
        soft = int(proc.rlimit(psutil.RLIMIT_NOFILE)[0])
        return None if soft < 0 else soft
    except psutil.AccessDenied:
        pass  # prlimit on another user's process needs CAP_SYS_RESOURCE; /proc/PID/limits does not
    except (psutil.NoSuchProcess, OSError):
        return None
    try:
        with open(f"/proc/{proc.pid}/limits") as fh:
            for line in fh:
                if line.startswith("Max open files"):
                    value = line[len("Max open files") :].split()[0]
                    return int(value) if value.isdigit() else None
    except OSError:
        pass
    return None


def _measure(
    proc: psutil.Process, before: dict[int, tuple[float, float, Any]], started: float, started_wall: float
) -> Proc | bool:
    """The process measured; True for a kernel thread, False for one that is gone or unreadable."""
    try:
        with proc.oneshot():
            if is_kernel_thread(proc):
                return True
            ppid = proc.ppid()
            created, now, times = proc.create_time(), time.monotonic(), proc.cpu_times()
            row = Proc(proc, proc.pid, ppid, proc.name(), proc.status(), created)
            prior = before.get(proc.pid)
            if prior is not None and prior[0] == created:
                _, then, first = prior
            elif created >= started_wall - 1.0:  # create_time rests on a boot time in whole seconds
                # Started during the window (or a reused pid): everything it used so far is this window's.
                then, first = started, None
            else:
                # Older, but the first pass could not read it: its lifetime average, never a false spike.
                then, first = now - (time.time() - created), None
            window = max(now - then, 1e-3)

            def pct(attr: str) -> float:
                spent = getattr(times, attr) - (getattr(first, attr) if first is not None else 0.0)
                return max(0.0, float(spent) / window * 100)

            row.cpu = round(pct("user") + pct("system"), 1)
            row.system = round(pct("system"), 1)
            row.children_cpu = round(pct("children_user") + pct("children_system"), 1)
            if row.state == psutil.STATUS_ZOMBIE:
                return row  # no memory, threads or files left to read
            with contextlib.suppress(psutil.AccessDenied, psutil.ZombieProcess):
                row.rss = int(proc.memory_info().rss)
            with contextlib.suppress(psutil.AccessDenied, psutil.ZombieProcess):
                row.threads = proc.num_threads()
            with contextlib.suppress(psutil.AccessDenied, psutil.ZombieProcess):
                row.fds = proc.num_fds()
            row.fd_limit = _soft_nofile(proc)
            return row
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _top(items: Iterable[Proc], key: Callable[[Proc], float], n: int) -> list[Proc]:
    ranked = sorted((p for p in items if key(p) > 0), key=key, reverse=True)
    return ranked[:n]


def _users(rows: list[Proc]) -> dict[int, str | None]:
    names: dict[int, str | None] = {}
    by_uid: dict[int, str | None] = {}
    for p in rows:
        try:
            uid = p.handle.uids().real
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            names[p.pid] = None
            continue
        if uid not in by_uid:
            try:
                by_uid[uid] = p.handle.username()
            except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError):
                by_uid[uid] = str(uid)
        names[p.pid] = by_uid[uid]
    return names


def _row(p: Proc, user: str | None, limit: int) -> dict[str, Any]:
    text = p.cmdline if len(p.cmdline) <= limit else p.cmdline[: max(limit - 1, 0)] + ("…" if limit else "")
    return {
        "pid": p.pid,
        "ppid": p.ppid,
        "name": p.name,
        "user": user,
        "state": p.state,
        "cpu_percent": p.cpu,
        "system_percent": p.system,
        "children_cpu_percent": p.children_cpu,
        "rss_bytes": p.rss,
        "threads": p.threads,
        "fds": p.fds,
        "fd_limit": p.fd_limit,
        "started_at": iso(p.created),
        "cmdline": text,
    }


def _by_command(live: list[Proc], n: int) -> list[dict[str, Any]]:
    groups: dict[str, list[Proc]] = defaultdict(list)
    for p in live:
        groups[p.name].append(p)
    summed: list[dict[str, Any]] = []
    for name, members in groups.items():
        summed.append(
            {
                "name": name,
                "count": len(members),
                "cpu_percent": round(sum(p.cpu for p in members), 1),
                "system_percent": round(sum(p.system for p in members), 1),
                "children_cpu_percent": round(sum(p.children_cpu for p in members), 1),
                "rss_bytes": sum(p.rss or 0 for p in members),
                "threads": sum(p.threads or 0 for p in members),
                "pids": sorted(p.pid for p in members)[:PIDS_SHOWN],
            }
        )

    def cpu(g: dict[str, Any]) -> float:
        return float(g["cpu_percent"] + g["children_cpu_percent"])

    keep = {g["name"]: g for g in sorted((g for g in summed if cpu(g) > 0), key=cpu, reverse=True)[:n]}
    for g in sorted(summed, key=lambda g: g["rss_bytes"], reverse=True)[:n]:
        keep.setdefault(g["name"], g)
    return sorted(keep.values(), key=lambda g: (cpu(g), g["rss_bytes"]), reverse=True)


def _by_parent(table: dict[int, Proc], n: int) -> list[dict[str, Any]]:
    kids: dict[int, list[Proc]] = defaultdict(list)
    for p in table.values():
        kids[p.ppid].append(p)
    # A parent whose short-lived children all ended in the window has none left, yet burned the CPU.
    parents = set(kids) | {p.pid for p in table.values() if p.children_cpu > 0}
    groups: list[dict[str, Any]] = []
    for ppid in parents - {0, 2}:
        members = kids.get(ppid, [])
        live = [p for p in members if p.state != psutil.STATUS_ZOMBIE]
        parent = table.get(ppid)
        groups.append(
            {
                "ppid": ppid,
                "parent": parent.name if parent else None,
                "children": len(live),
                "zombies": len(members) - len(live),
                "cpu_percent": round(sum(p.cpu for p in live), 1),
                "children_cpu_percent": parent.children_cpu if parent else 0.0,
                "rss_bytes": sum(p.rss or 0 for p in live),
            }
        )

    def cpu(g: dict[str, Any]) -> float:
        return float(g["cpu_percent"] + g["children_cpu_percent"])

    keep = {g["ppid"]: g for g in sorted((g for g in groups if cpu(g) > 0), key=cpu, reverse=True)[:n]}
    for g in groups:
        if g["zombies"] >= ZOMBIE_PARENT_MIN:
            keep.setdefault(g["ppid"], g)
    return sorted(keep.values(), key=lambda g: (cpu(g), g["zombies"]), reverse=True)


def _zombies(table: dict[int, Proc]) -> list[dict[str, Any]]:
    groups: dict[int, list[Proc]] = defaultdict(list)
    for p in table.values():
        if p.state == psutil.STATUS_ZOMBIE:
            groups[p.ppid].append(p)
    out = []
    for ppid, members in groups.items():
        parent = table.get(ppid)
        out.append(
            {
                "ppid": ppid,
                "parent": parent.name if parent else None,
                "count": len(members),
                "names": sorted({p.name for p in members}),
                "pids": sorted(p.pid for p in members)[:PIDS_SHOWN],
            }
        )
    return sorted(out, key=lambda g: (-g["count"], g["ppid"]))


def _system_fds() -> dict[str, int] | None:
    try:
        with open("/proc/sys/fs/file-nr") as fh:
            allocated, _, maximum = fh.read().split()[:3]
        return {"allocated": int(allocated), "max": int(maximum)}
    except (OSError, ValueError):
        return None


@skill(
    key="process_table",
    name="Process table",
    description="Every process measured over a short window, in one read: process counts by state; the "
    "top rows by CPU (user + system, 100 = one core, plus children_cpu_percent: CPU of children that "
    "already ended and were reaped, so short-lived processes count), by memory, by threads and by open "
    "files against their limit, and every stopped or disk-waiting process; the same grouped by command "
    "name and by parent; zombies grouped by parent; the system's open-file count. watchkeeper_pids names "
    "the rows that are watchkeeper itself.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="processes",
    idempotent=True,
    result_example={
        "sampled_s": 1.0,
        "cpu_count": 2,
        "count": 312,
        "kernel_threads": 90,
        "states": {"sleeping": 290, "running": 3, "zombie": 18, "stopped": 1},
        "processes": [
            {
                "pid": 4242,
                "ppid": 1,
                "name": "render_worker",
                "user": "app",
                "state": "running",
                "cpu_percent": 97.5,
                "system_percent": 3.1,
                "children_cpu_percent": 0.0,
                "rss_bytes": 52428800,
                "threads": 8,
                "fds": 61,
                "fd_limit": 1024,
                "started_at": "2026-11-22T01:00:00+00:00",
                "cmdline": "render_worker --queue jobs",
            }
        ],
        "by_command": [
            {
                "name": "render_worker",
                "count": 4,
                "cpu_percent": 140.2,
                "system_percent": 3.1,
                "children_cpu_percent": 0.0,
                "rss_bytes": 209715200,
                "threads": 32,
                "pids": [4242, 4243, 4244, 4245],
            }
        ],
        "commands": ["render_worker", "sshd", "systemd"],
        "commands_complete": True,
        "by_parent": [
            {
                "ppid": 123,
                "parent": "job_scheduler",
                "children": 7,
                "zombies": 18,
                "cpu_percent": 12.0,
                "children_cpu_percent": 88.0,
                "rss_bytes": 73400320,
            }
        ],
        "zombies": [{"ppid": 123, "parent": "job_scheduler", "count": 18, "names": ["sleep"], "pids": [5001]}],
        "system_fds": {"allocated": 4096, "max": 9223372036854775807},
        "watchkeeper_pids": [],
    },
)
def process_table(params: ProcessTableParams, ctx: SkillContext) -> dict[str, Any]:
    started, started_wall = time.monotonic(), time.time()
    before: dict[int, tuple[float, float, Any]] = {}
    for proc in psutil.process_iter():
        if (first := _before(proc)) is not None:
            before[proc.pid] = first
    time.sleep(max(0.0, params.sample_seconds - (time.monotonic() - started)))
    table: dict[int, Proc] = {}
    kernel = 0
    for proc in psutil.process_iter():
        row = _measure(proc, before, started, started_wall)
        if isinstance(row, Proc):
            table[row.pid] = row
        else:
            kernel += row
    sampled = time.monotonic() - started

    live = [p for p in table.values() if p.state != psutil.STATUS_ZOMBIE]
    n = params.top
    chosen: dict[int, Proc] = {}
    rankings = (
        _top(live, lambda p: p.total_cpu, n),
        _top(live, lambda p: p.rss or 0, n),
        _top(live, lambda p: p.threads or 0, n),
        _top(live, lambda p: p.fd_ratio, n),
        [p for p in sorted(live, key=lambda p: p.pid) if p.state in STUCK_STATES][:STUCK_MAX],
    )
    for ranking in rankings:
        for p in ranking:
            chosen.setdefault(p.pid, p)
    rows = sorted(chosen.values(), key=lambda p: p.pid)
    for p in rows:
        p.cmdline = cmdline(p.handle, CMDLINE_STEPS[0])  # masked; only for the rows shown
    users = _users(rows)
    me = os.getpid()

    result: dict[str, Any] = {
        "sampled_s": round(sampled, 2),
        "cpu_count": psutil.cpu_count() or 1,
        "count": len(table),
        "kernel_threads": kernel,
        "states": dict.fromkeys(BASE_STATES, 0) | dict(Counter(p.state for p in table.values()).most_common()),
        "processes": [],
        "by_command": _by_command(live, n),
        # Every running command ("is X running at all?"), bounded; a cut list says so, and then answers nothing.
        "commands": sorted({p.name for p in live})[:MAX_COMMANDS],
        "commands_complete": len({p.name for p in live}) <= MAX_COMMANDS,
        "by_parent": _by_parent(table, n),
        "zombies": _zombies(table),
        "system_fds": _system_fds(),
        "watchkeeper_pids": [p.pid for p in rows if p.pid == me or ctx.commands.owns(p.pid)],
    }
    # Shorten command lines rather than let the output cap halve the row list.
    budget = int(ctx.settings.limits.output_cap_bytes * 0.9)
    for limit in CMDLINE_STEPS:
        result["processes"] = [_row(p, users.get(p.pid), limit) for p in rows]
        if len(json.dumps(result, ensure_ascii=False, default=str).encode()) <= budget:
            break
    return result
