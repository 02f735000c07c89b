"""Processes and growth: the first skills' results read (host, top, listeners), the hot process in
detail, and memory and disk growth sampled over a short window."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchkeeper.evidence import host_check
from watchkeeper.evidence.anomaly import forecast, human_duration
from watchkeeper.evidence.facts import (
    CpuReading,
    DiskFillForecast,
    DiskUsage,
    Fact,
    FileGrowth,
    FileSize,
    Inodes,
    LargestFile,
    LoadReading,
    MemoryReading,
    PortNotListening,
    ProcessCpu,
    ProcessMemoryGrowth,
    ProcessMemoryTop,
    SwapReading,
)
from watchkeeper.evidence.follow import local_host
from watchkeeper.evidence.gather import finding, gatherer
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.report import Culprit
from watchkeeper.evidence.scoring import of
from watchkeeper.i18n import _
from watchkeeper.series import trend

PROCESS_HOT_PCT = 80.0
LEAK_MIN_BYTES_PER_S = 512 * 1024
LEAK_MIN_R2 = 0.8
PILE_ENTRIES = 20  # a directory of this many files, holding
PILE_FACTOR = 5  # this many times the growing file, and
PILE_SHARE = 0.3  # this share of what the filesystem uses, piles files up
READINGS: dict[str, type[Fact]] = {
    f.KIND: f for f in (CpuReading, LoadReading, MemoryReading, SwapReading, DiskUsage, Inodes)
}


def analyze_host(inv: Investigation, host: dict[str, Any]) -> None:
    inv.results["host"] = host
    ids = inv.audit_ids("host_status")
    for f in host_check.host_findings(host):
        fact = READINGS[f.kind](**f.evidence)
        entity = Culprit(kind="path", name=fact.mount, path=fact.mount) if isinstance(fact, DiskUsage) else None
        inv.add(finding(fact, f.severity, f.message, ids, entity))


def analyze_top(inv: Investigation, top: dict[str, Any]) -> None:
    ids = inv.audit_ids("top_processes")
    procs = host_check.foreign(top)
    if top.get("by") == "cpu":
        inv.results["top_cpu"] = procs
        for p in procs:
            if host_check.wants(p) >= PROCESS_HOT_PCT:
                entity = Culprit(kind="process", name=p["name"], pid=p["pid"])
                inv.add(
                    finding(
                        ProcessCpu(**p),
                        "warn",
                        _("process {name} (pid {pid}) uses {use}").format(
                            name=p["name"], pid=p["pid"], use=host_check.core_use(p)
                        ),
                        ids,
                        entity,
                    )
                )
    else:
        inv.results["top_memory"] = procs
        if procs:
            p = procs[0]
            entity = Culprit(kind="process", name=p["name"], pid=p["pid"])
            inv.add(
                finding(
                    ProcessMemoryTop(**p),
                    "info",
                    _("process {name} (pid {pid}) holds the most memory: {mib:.0f} MiB RSS").format(
                        name=p["name"], pid=p["pid"], mib=p["rss_bytes"] / 2**20
                    ),
                    ids,
                    entity,
                )
            )


def analyze_listening(inv: Investigation, ports: dict[str, Any]) -> None:
    inv.results["listening"] = ports.get("ports", [])
    inv.results["host_addresses"] = ports.get("host_addresses", [])
    port = inv.targets.port
    if port is None or not local_host(inv, inv.targets.host):
        return  # another host's port: what listens here says nothing of it (a probe from here does)
    listeners = [p for p in ports.get("ports", []) if p["port"] == port and p["protocol"] == "tcp"]
    ids = inv.audit_ids("listening_ports")
    if not listeners:
        name = inv.targets.service or f"port {port}"
        entity = (
            Culprit(kind="service", name=name, port=port)
            if inv.targets.service
            else Culprit(kind="port", name=str(port), port=port)
        )
        message = _("nothing listens on port {port}").format(port=port)
        inv.add(finding(PortNotListening(port=port), "crit", message, ids, entity))
    else:
        inv.results["target_listener"] = listeners[0]


ANALYZERS: dict[str, Callable[[Investigation, dict[str, Any]], None]] = {
    "host_status": analyze_host,
    "top_processes": analyze_top,
    "listening_ports": analyze_listening,
}


def run_step(inv: Investigation, skill: str, params: dict[str, Any]) -> None:
    result = inv.call(skill, **params)
    if result is not None and skill in ANALYZERS:
        ANALYZERS[skill](inv, result)


@gatherer
def top_process_detail(inv: Investigation) -> None:
    hot = of(inv, ProcessCpu)
    if not hot or hot[0].entity is None or hot[0].entity.pid is None:
        return
    detail = inv.call("process_detail", pid=hot[0].entity.pid)
    if detail:
        hot[0].data.detail = {
            k: detail.get(k)
            for k in ("cmdline", "user", "threads", "started_at", "exe", "open_files", "parent", "cpu_percent")
        }
        hot[0].audit_ids += inv.audit_ids("process_detail")[-1:]
        started = detail.get("started_at")
        if started:
            hot[0].message += _(", running since {started}").format(started=started)


@gatherer
def memory_growth(inv: Investigation) -> None:
    """Sample RSS of the biggest processes over a short window: a steady climb is a leak."""
    samples: dict[int, list[tuple[float, float, str]]] = {}
    rounds = 4
    for i in range(rounds):
        # Wide enough that a leaker that starts small is sampled every round, beside big steady holders.
        top = inv.call("top_processes", by="memory", n=15, sample_seconds=0.1)
        at = inv.sample_times("top_processes")[-1] if inv.calls else 0.0
        for p in host_check.foreign(top or {}):
            if p.get("rss_bytes"):
                samples.setdefault(p["pid"], []).append((at, float(p["rss_bytes"]), p["name"]))
        if i < rounds - 1:
            inv.sleep(inv.results.get("sample_seconds", 3.0) / (rounds - 1))
    ids = inv.audit_ids("top_processes")
    for pid, points in samples.items():
        fit = trend([point[0] for point in points], [point[1] for point in points])
        if fit is None or fit.slope_per_s < LEAK_MIN_BYTES_PER_S or fit.r2 < LEAK_MIN_R2:
            continue
        name = points[-1][2]
        rate = fit.slope_per_s / 2**20
        inv.add(
            finding(
                ProcessMemoryGrowth(bytes_per_s=fit.slope_per_s, r2=fit.r2, rss_bytes=points[-1][1]),
                "crit",
                _(
                    "process {name} (pid {pid}) RSS grows {rate:.1f} MiB/s ({first:.0f} -> {last:.0f} MiB, R² {r2:.2f})"
                ).format(
                    name=name, pid=pid, rate=rate, first=points[0][1] / 2**20, last=points[-1][1] / 2**20, r2=fit.r2
                ),
                ids,
                Culprit(kind="process", name=name, pid=pid),
            )
        )


@gatherer
def disk_growth(inv: Investigation) -> None:
    """For the alert's mount (or any mount over 85 %): what grows, how fast, who writes it, and when it is full."""
    host = inv.call("host_status", sample_seconds=0.1)
    disks = (host or {}).get("disks", [])
    mount = inv.targets.mountpoint
    if mount is None:
        busy = [d for d in disks if d["percent"] >= 85]
        mount = max(busy, key=lambda d: d["percent"])["mount"] if busy else None
    if mount is None:
        inv.notes.append(
            _("no mountpoint named and no filesystem over {percent}: disk growth not sampled").format(percent="85 %")
        )
        return
    first = inv.call("disk_usage", path=mount, top=10, time_budget_s=5)
    used: list[tuple[float, float]] = []
    total = None
    for _sample in range(4):
        inv.sleep(inv.results.get("sample_seconds", 3.0) / 4)
        host = inv.call("host_status", sample_seconds=0.1)
        disk = next((d for d in (host or {}).get("disks", []) if d["mount"] == mount), None)
        if disk:
            used.append((inv.sample_times("host_status")[-1], float(disk["used_bytes"])))
            total = float(disk["total_bytes"])
    last = inv.call("disk_usage", path=mount, top=10, time_budget_s=5)
    if not first or not last:
        return
    before = {f["path"]: f["bytes"] for f in first.get("largest_files", [])}
    growing = sorted(
        ((f["bytes"] - before.get(f["path"], 0), f) for f in last.get("largest_files", [])),
        key=lambda item: item[0],
        reverse=True,
    )
    ids = inv.audit_ids("disk_usage") + inv.audit_ids("host_status")
    eta_note = ""
    if used and total:
        fc = forecast([t for t, _u in used], [u for _t, u in used], total)
        eta_note = fc.note
        if fc.seconds_to_threshold is not None:
            inv.add(
                finding(
                    DiskFillForecast(seconds=fc.seconds_to_threshold, r2=fc.trend.r2),
                    "crit" if fc.seconds_to_threshold < 3600 else "warn",
                    _("{mount} fills in ~{duration} at the current rate").format(
                        mount=mount, duration=human_duration(fc.seconds_to_threshold)
                    ),
                    ids,
                    Culprit(kind="path", name=mount, path=mount),
                )
            )
    grew = [(d, f) for d, f in growing if d > 0]
    target = grew[0][1] if grew else (last.get("largest_files") or [None])[0]
    if target is None:
        return
    users = inv.call("file_users", path=target["path"]) or {}
    writer = next(iter(users.get("users", [])), None)
    delta = grew[0][0] if grew else 0
    size = target["bytes"] / 2**20
    message = (
        _("{path} is the fastest-growing file on {mount} ({size:.1f} MiB, +{grew:.1f} MiB while sampled)").format(
            path=target["path"], mount=mount, size=size, grew=delta / 2**20
        )
        if grew
        else _("{path} is the largest file on {mount} ({size:.1f} MiB)").format(
            path=target["path"], mount=mount, size=size
        )
    )
    if writer:
        message += _(", written by {name} (pid {pid})").format(name=writer["name"], pid=writer["pid"])
    fact = (FileGrowth if grew else LargestFile)(
        mount=mount, bytes=target["bytes"], grew_bytes=delta, writer=writer, forecast=eta_note
    )
    entity = Culprit(kind="path", name=target["path"], path=target["path"])
    if grew:
        accumulated(inv, fact, target["path"], float(last.get("total_bytes") or 0))
        if fact.directory:
            entity = Culprit(kind="path", name=fact.directory, path=fact.directory)
            message += _("; it is one of {n} files in {directory}, which holds {mib:.0f} MiB").format(
                n=fact.directory_entries, directory=fact.directory, mib=(fact.directory_bytes or 0) / 2**20
            )
    inv.add(finding(fact, "crit" if grew else "info", message, ids + inv.audit_ids("file_users"), entity))


def accumulated(inv: Investigation, fact: FileSize, path: str, used: float) -> None:
    """A growing file that is one of many its directory piles up (temporary files a job never deletes):
    the directory, not the file, is what fills the disk."""
    parent = str(Path(path).parent)
    found = inv.call("disk_usage", path=parent, top=3, time_budget_s=3) or {}
    here = next((e["entries"] for e in found.get("most_entries", []) if e["path"] == parent), 0)
    size = float(found.get("total_bytes") or 0)
    if here >= PILE_ENTRIES and size >= PILE_FACTOR * fact.bytes and size >= PILE_SHARE * used:
        fact.directory, fact.directory_bytes, fact.directory_entries = parent, int(size), here
