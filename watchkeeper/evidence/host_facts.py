"""What is abnormal in the host-wide facts the sweep reads — the process table, the mounts, the kernel
log — as findings. Pure functions of a skill's result: the investigation's sweep and `wk check` share them."""

from __future__ import annotations

from typing import Any

from watchkeeper.evidence.facts import (
    ChildrenCpu,
    CloseWait,
    CommandCpu,
    CommandMemory,
    DeletedOpen,
    Inodes,
    KernelEvent,
    KernelHungTask,
    KernelIoError,
    KernelSegfault,
    OomKill,
    ProcessFds,
    ProcessStopped,
    ProcessThreads,
    ProcessUninterruptible,
    TmpfsUsage,
    UnitFailed,
    UnitRestarting,
    Zombies,
)
from watchkeeper.evidence.gather import finding
from watchkeeper.evidence.report import Culprit, Finding
from watchkeeper.i18n import _

ZOMBIES_MANY = 20
THREADS_MANY = 500
FD_NEAR_LIMIT = 0.8
GROUP_CPU_PCT = 80.0  # a command or a parent's children together take most of a core
GROUP_MIN = 2
GROUP_RSS = 512 * 2**20  # many small processes that together hold what one big one would
CLOSE_WAIT_MANY = 100
UNIT_RESTARTS_MANY = 3
TMPFS_MANY = 256 * 2**20  # files in RAM that no process's RSS shows
RAM_BACKED = ("tmpfs", "ramfs")
KERNEL_EVENTS: dict[str, type[KernelEvent]] = {
    "io_error": KernelIoError,
    "segfault": KernelSegfault,
    "hung_task": KernelHungTask,
}


def _own(table: dict[str, Any]) -> set[int]:
    return set(table.get("watchkeeper_pids") or [])


def process_facts(table: dict[str, Any], ids: list[int]) -> list[Finding[Any]]:
    """What is abnormal in a process_table result: zombies by parent, stopped and D-state processes,
    thread explosions, descriptors near the limit, CPU and memory spread over many processes."""
    out: list[Finding[Any]] = []
    own = _own(table)
    for z in table.get("zombies", []):
        if z["count"] >= ZOMBIES_MANY:
            out.append(
                finding(
                    Zombies(**z),
                    "crit" if z["count"] >= 100 else "warn",
                    _("{n} zombie processes under {parent} (pid {ppid}), which does not reap them").format(
                        n=z["count"], parent=z["parent"], ppid=z["ppid"]
                    ),
                    ids,
                    Culprit(kind="process", name=z["parent"] or f"pid {z['ppid']}", pid=z["ppid"]),
                )
            )
    for row in table.get("processes", []):
        if row["pid"] in own:
            continue
        entity = Culprit(kind="process", name=row["name"], pid=row["pid"])
        if row.get("state") in ("stopped", "tracing-stop"):
            out.append(
                finding(
                    ProcessStopped(**row),
                    "crit",
                    _("{name} (pid {pid}) is stopped (state T)").format(name=row["name"], pid=row["pid"]),
                    ids,
                    entity,
                )
            )
        if row.get("state") == "disk-sleep":
            out.append(
                finding(
                    ProcessUninterruptible(**row),
                    "warn",
                    _("{name} (pid {pid}) is in uninterruptible sleep (D)").format(name=row["name"], pid=row["pid"]),
                    ids,
                    entity,
                )
            )
        if (row.get("threads") or 0) >= THREADS_MANY:
            out.append(
                finding(
                    ProcessThreads(**row),
                    "crit",
                    _("{name} (pid {pid}) runs {threads} threads").format(
                        name=row["name"], pid=row["pid"], threads=row["threads"]
                    ),
                    ids,
                    entity,
                )
            )
        if row.get("fd_limit") and (row.get("fds") or 0) >= FD_NEAR_LIMIT * row["fd_limit"]:
            out.append(
                finding(
                    ProcessFds(**row),
                    "crit",
                    _("{name} (pid {pid}) holds {fds} of its {limit} file descriptors").format(
                        name=row["name"], pid=row["pid"], fds=row["fds"], limit=row["fd_limit"]
                    ),
                    ids,
                    entity,
                )
            )
    for group in table.get("by_command", []):
        if (
            group["count"] >= GROUP_MIN
            and group["cpu_percent"] >= GROUP_CPU_PCT
            and not set(group.get("pids", [])) & own
        ):
            out.append(
                finding(
                    CommandCpu(**group),
                    "warn",
                    _("{n} {name} processes use {percent} of a core together").format(
                        n=group["count"], name=group["name"], percent=f"{group['cpu_percent']:.0f}%"
                    ),
                    ids,
                    Culprit(kind="process", name=group["name"]),
                )
            )
        if group["count"] >= 3 and (group.get("rss_bytes") or 0) >= GROUP_RSS and not set(group.get("pids", [])) & own:
            out.append(
                finding(
                    CommandMemory(**group),
                    "warn",
                    _("{n} {name} processes hold {mib:.0f} MiB together").format(
                        n=group["count"], name=group["name"], mib=group["rss_bytes"] / 2**20
                    ),
                    ids,
                    Culprit(kind="process", name=group["name"]),
                )
            )
    for parent in table.get("by_parent", []):
        spent = parent.get("children_cpu_percent") or 0
        # PID 1 inherits every orphan: what its children spent is theirs, not something it started.
        if parent["ppid"] not in own and parent["ppid"] > 1 and spent >= GROUP_CPU_PCT / 2:
            out.append(
                finding(
                    ChildrenCpu(**parent),
                    "warn",
                    _("short-lived children of {parent} (pid {ppid}) used {percent} of a core").format(
                        parent=parent["parent"], ppid=parent["ppid"], percent=f"{spent:.0f}%"
                    ),
                    ids,
                    Culprit(kind="process", name=parent["parent"], pid=parent["ppid"]),
                )
            )
    return out


def connection_facts(tcp: dict[str, Any], ids: list[int]) -> list[Finding[Any]]:
    """Processes holding many connections in CLOSE_WAIT: their peers hung up and they never closed."""
    out: list[Finding[Any]] = []
    for row in tcp.get("by_process", []):
        waiting = (row.get("states") or {}).get("CLOSE_WAIT", 0)
        if waiting >= CLOSE_WAIT_MANY and row.get("name"):
            out.append(
                finding(
                    CloseWait(process=row["name"], pid=row.get("pid"), count=waiting),
                    "crit" if waiting >= 5 * CLOSE_WAIT_MANY else "warn",
                    _(
                        "{name} (pid {pid}) holds {n} connections in CLOSE_WAIT: its peers "
                        "closed them and it never closed its side"
                    ).format(name=row["name"], pid=row.get("pid"), n=waiting),
                    ids,
                    Culprit(kind="process", name=row["name"], pid=row.get("pid")),
                )
            )
    return out


def unit_facts(units: dict[str, Any], ids: list[int]) -> list[Finding[Any]]:
    """Services the manager says failed (or down when they should run), and those restarting again and again."""
    out: list[Finding[Any]] = []
    for u in units.get("units", []):
        restarts = u.get("restarts") or 0
        exits = _(", last exit: {status}").format(status=u["last_exit"]) if u.get("last_exit") else ""
        if u["state"] in ("failed", "stopped", "unknown"):
            message = _("{manager} says {unit} is {state}{exits}").format(
                manager=units.get("manager"), unit=u["unit"], state=u["state"], exits=exits
            )
            fact: UnitFailed = UnitFailed(**u)
        elif restarts >= UNIT_RESTARTS_MANY:
            message = _("{unit} restarted {n} times recently{exits}").format(unit=u["unit"], n=restarts, exits=exits)
            fact = UnitRestarting(**u)
        else:
            continue
        out.append(finding(fact, "crit", message, ids, Culprit(kind="service", name=u["unit"])))
    return out


def mount_facts(mounts: list[dict[str, Any]], ids: list[int]) -> list[Finding[Any]]:
    """What is abnormal in the mounts: inodes nearly gone, space held by deleted files still open."""
    out: list[Finding[Any]] = []
    for m in mounts:
        entity = Culprit(kind="path", name=m["mount"], path=m["mount"])
        if (m.get("inodes_percent") or 0) >= 90:
            message = _("{mount}: {percent} of inodes used").format(
                mount=m["mount"], percent=f"{m['inodes_percent']:.0f} %"
            )
            out.append(finding(Inodes(**m), "crit", message, ids, entity))
        if m.get("fstype") in RAM_BACKED and (m.get("used_bytes") or 0) >= TMPFS_MANY:
            out.append(
                finding(
                    TmpfsUsage(**m),
                    "warn",
                    _("{mount} ({fstype}) holds {mib:.0f} MiB of files in memory").format(
                        mount=m["mount"], fstype=m["fstype"], mib=m["used_bytes"] / 2**20
                    ),
                    ids,
                    entity,
                )
            )
        held = m.get("deleted_open_bytes") or 0
        if held and m.get("total_bytes") and held >= 0.1 * m["total_bytes"]:
            top = m["deleted_open"][0]
            out.append(
                finding(
                    DeletedOpen(**m),
                    "crit",
                    _(
                        "{mib:.0f} MiB of {mount} is held by deleted files still open, most by "
                        "{process} (pid {pid}: {path})"
                    ).format(
                        mib=held / 2**20, mount=m["mount"], process=top["process"], pid=top["pid"], path=top["path"]
                    ),
                    ids,
                    Culprit(
                        kind="process", name=top["process"] or f"pid {top['pid']}", pid=top["pid"], path=top["path"]
                    ),
                )
            )
    return out


def kernel_facts(events: list[dict[str, Any]], ids: list[int]) -> list[Finding[Any]]:
    """The kernel's events that matter: OOM kills, I/O errors, segfaults, hung tasks."""
    out: list[Finding[Any]] = []
    for e in events:
        facts = {k: v for k, v in e.items() if k != "kind"}
        if e["kind"] == "oom_kill" and e.get("process"):
            out.append(
                finding(
                    OomKill(**facts),
                    "crit",
                    _("the kernel's OOM killer killed {process} (pid {pid}) at {at}").format(
                        process=e["process"], pid=e.get("pid"), at=e.get("at") or "?"
                    ),
                    ids,
                    Culprit(kind="process", name=e["process"], pid=e.get("pid")),
                )
            )
        elif e["kind"] in KERNEL_EVENTS:
            message = _("kernel: {line}").format(line=e["line"][:200])
            out.append(finding(KERNEL_EVENTS[e["kind"]](**facts), "warn", message, ids))
    return out
