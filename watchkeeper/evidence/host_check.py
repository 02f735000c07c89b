"""`wk check`: the first minutes of a night shift, done through audited skills.

Gathers host status, top processes, listening ports, the process table (zombies, stopped processes,
threads, descriptors against limits, CPU spread over many processes), the mounts (inodes, space held
by deleted files), the kernel log (OOM kills, I/O errors) and the newest error lines of the
allowlisted logs, flags what is abnormal with thresholds an SRE would use, and ends in a
one-line verdict. Every fact comes from `invoke`, so every read is in the ledger.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from watchkeeper.evidence.host_facts import kernel_facts, mount_facts, process_facts
from watchkeeper.humanize import host_port
from watchkeeper.i18n import _, ngettext
from watchkeeper.policy.risk import Caller, Role
from watchkeeper.skills.invoke import Invoker

Severity = Literal["ok", "warn", "crit"]
RANK = {"ok": 0, "warn": 1, "crit": 2}

# Thresholds: (warn, crit). Sources: common node-exporter alert rules (disk 90/95 %, memory
# available 10/5 %) and a load of 2x/4x the core count as "saturated".
CPU_PCT = (90.0, 98.0)
PROC_CORE_PCT = 90.0  # a process at >= 90 % of one core is pinning it
LOAD_PER_CORE = (2.0, 4.0)
DISK_PCT = (90.0, 95.0)
MEM_AVAILABLE_PCT = (10.0, 5.0)
SWAP_PCT = 50.0
ERROR_BURST = (20, 200)  # error lines among the newest TAIL_LINES of a recently written log
TAIL_LINES = 2000
RECENT_S = 900
MAX_LOGS = 8
# Severity words as whole tokens: "gpg-error-dev" or "error_count" are not errors.
ERROR_RE = re.compile(
    r"(?<![\w-])(error|err|fatal|crit(ical)?|panic|exception|traceback|failed|failure|emerg)(?![\w-])", re.I
)


@dataclass
class Finding:
    severity: Severity
    kind: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class HostReport:
    session_id: str
    host: dict[str, Any] | None = None
    top_cpu: list[dict[str, Any]] = field(default_factory=list)
    top_memory: list[dict[str, Any]] = field(default_factory=list)
    ports: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # skills that could not run
    duration_s: float = 0.0

    @property
    def severity(self) -> Severity:
        worst: Severity = "ok"
        for f in self.findings:
            if RANK[f.severity] > RANK[worst]:
                worst = f.severity
        return worst

    @property
    def verdict(self) -> str:
        host = (self.host or {}).get("hostname") or _("this host")
        flagged = sorted((f for f in self.findings if f.severity != "ok"), key=lambda f: -RANK[f.severity])
        if not flagged:
            return _("OK: nothing abnormal on {host}").format(host=host)
        crit = sum(f.severity == "crit" for f in flagged)
        warn = len(flagged) - crit
        counts = _(", ").join(
            p
            for p in (
                _("{n} critical").format(n=crit) if crit else "",
                ngettext("{n} warning", "{n} warnings", warn).format(n=warn) if warn else "",
            )
            if p
        )
        return _("{level}: {counts} on {host}: ").format(level=self.severity.upper(), counts=counts, host=host) + _(
            "; "
        ).join(f.message for f in flagged[:3])

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "severity": self.severity,
            "session_id": self.session_id,
            "findings": [f.__dict__ for f in self.findings],
            "host": self.host,
            "top_cpu": self.top_cpu,
            "top_memory": self.top_memory,
            "listening_ports": self.ports,
            "logs": self.logs,
            "errors": self.errors,
            "duration_s": self.duration_s,
        }


@dataclass
class Listener:
    """One listening port of one process, with every address it is bound to (IPv4 and IPv6 together)."""

    protocol: str
    port: int
    process: str | None
    pids: list[int] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)


def listeners(ports: list[dict[str, Any]]) -> list[Listener]:
    """listening_ports rows merged: sshd on 0.0.0.0:22 and [::]:22 is one entry, not two."""
    merged: dict[tuple[str, int, str | None], Listener] = {}
    for p in ports:
        entry = merged.setdefault(
            (p["protocol"], p["port"], p.get("process")), Listener(p["protocol"], p["port"], p.get("process"))
        )
        address = host_port(p["address"], p["port"])
        if address not in entry.addresses:
            entry.addresses.append(address)
        if p.get("pid") and p["pid"] not in entry.pids:
            entry.pids.append(p["pid"])
    return sorted(merged.values(), key=lambda e: (e.port, e.protocol, e.process or ""))


def _level(value: float, limits: tuple[float, float], higher_is_worse: bool = True) -> Severity:
    warn, crit = limits
    if higher_is_worse:
        return "crit" if value >= crit else "warn" if value >= warn else "ok"
    return "crit" if value <= crit else "warn" if value <= warn else "ok"


def host_findings(host: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    cpu = _level(host["cpu_percent"], CPU_PCT)
    if cpu != "ok":
        message = _("CPU at {percent:.0f}%").format(percent=host["cpu_percent"])
        out.append(Finding(cpu, "cpu", message, {"cpu_percent": host["cpu_percent"]}))
    per_core = host["load"]["per_core_1m"]
    load = _level(per_core, LOAD_PER_CORE)
    if load != "ok":
        out.append(
            Finding(
                load,
                "load",
                ngettext("load {load} on {n} core", "load {load} on {n} cores", host["cpu_count"]).format(
                    load=host["load"]["1m"], n=host["cpu_count"]
                ),
                host["load"],
            )
        )
    mem = host["memory"]
    avail_pct = 100 * mem["available_bytes"] / mem["total_bytes"] if mem["total_bytes"] else 100.0
    level = _level(avail_pct, MEM_AVAILABLE_PCT, higher_is_worse=False)
    if level != "ok":
        message = _("memory pressure: only {percent:.1f}% available").format(percent=avail_pct)
        out.append(Finding(level, "memory", message, mem))
    swap = host["swap"]
    if swap["total_bytes"] and swap["percent"] >= SWAP_PCT and avail_pct < 2 * MEM_AVAILABLE_PCT[0]:
        message = _("swap {percent} used while memory is short").format(percent=f"{swap['percent']:.0f}%")
        out.append(Finding("warn", "swap", message, swap))
    for disk in host["disks"]:
        level = _level(disk["percent"], DISK_PCT)
        if level != "ok":
            message = _("disk {mount} at {percent:.0f}%").format(mount=disk["mount"], percent=disk["percent"])
            out.append(Finding(level, "disk", message, disk))
        if disk.get("inodes_percent") is not None:
            level = _level(disk["inodes_percent"], DISK_PCT)
            if level != "ok":
                out.append(
                    Finding(
                        level,
                        "inodes",
                        _("inodes on {mount} at {percent:.0f}%").format(
                            mount=disk["mount"], percent=disk["inodes_percent"]
                        ),
                        disk,
                    )
                )
    return out


def foreign(top: dict[str, Any]) -> list[dict[str, Any]]:
    """The processes of a top_processes result, minus watchkeeper's own (busy because it is looking)."""
    own = set(top.get("watchkeeper_pids") or [])
    return [p for p in top.get("processes", []) if p["pid"] not in own]


def wants(p: dict[str, Any]) -> float:
    """The share of a core a process would take if it could (its demand; its use where the kernel does not say)."""
    return float(p.get("cpu_demand_percent") or p.get("cpu_percent") or 0)


def starved(p: dict[str, Any]) -> bool:
    """A process that wants far more of a core than a saturated host gives it."""
    return wants(p) - (p.get("cpu_percent") or 0) >= 20


def core_use(p: dict[str, Any]) -> str:
    """How a busy process uses its core, in words: on a saturated host what it gets is not what it wants."""
    used = p.get("cpu_percent") or 0
    if not starved(p):
        return _("{used} of a core").format(used=f"{used:.0f}%")
    return _("{wanted} of a core wanted (running or waiting to run), {used} given on a busy host").format(
        wanted=f"{wants(p):.0f}%", used=f"{used:.0f}%"
    )


def process_findings(top: dict[str, Any]) -> list[Finding]:
    found = []
    own = set(top.get("watchkeeper_pids") or [])
    for p in top.get("processes", []):
        if wants(p) < PROC_CORE_PCT:
            continue
        evidence = {k: p.get(k) for k in ("pid", "name", "user", "cpu_percent", "cpu_demand_percent", "cmdline")}
        if p["pid"] in own:
            # Shown, so nobody wonders about the busy `wk` in top, but never flagged.
            message = _("watchkeeper itself (pid {pid}) used {use} while checking").format(
                pid=p["pid"], use=core_use(p)
            )
            found.append(Finding("ok", "watchkeeper_cpu", message, evidence))
        else:
            how = f"({core_use(p)})" if starved(p) else _("at {percent:.0f}%").format(percent=p["cpu_percent"])
            message = _("{name} (pid {pid}) pinning a core {how}").format(name=p["name"], pid=p["pid"], how=how)
            found.append(Finding("warn", "process_cpu", message, evidence))
    return found


def log_findings(path: str, lines: list[str], modified_ago_s: float) -> tuple[dict[str, Any], Finding | None]:
    errors = [line for line in lines if ERROR_RE.search(line)]
    summary = {"path": path, "error_lines": len(errors), "scanned_lines": len(lines), "newest_errors": errors[-5:]}
    if modified_ago_s > RECENT_S or len(errors) < ERROR_BURST[0]:
        return summary, None
    level: Severity = "crit" if len(errors) >= ERROR_BURST[1] else "warn"
    msg = _("burst of {errors} error lines in the newest {lines} lines of {path}").format(
        errors=len(errors), lines=len(lines), path=path
    )
    return summary, Finding(level, "log_errors", msg, {"path": path, "newest_errors": errors[-5:]})


def run_check(invoker: Invoker, log_roots: list[Path], user: str | None = None) -> HostReport:
    t0 = time.monotonic()
    report = HostReport(session_id=f"check-{uuid.uuid4().hex[:12]}")
    caller = Caller(Role.CLI, user=user, session_id=report.session_id)

    def call(key: str, **params: Any) -> dict[str, Any] | None:
        result = invoker.invoke(key, params, caller)
        if not result.ok:
            report.errors.append(f"{key}: {result.error}")
            return None
        return dict(result.result)

    host = call("host_status")
    if host:
        report.host = host
        report.findings += host_findings(host)
    cpu = call("top_processes", by="cpu", n=5)
    if cpu:
        report.top_cpu = cpu["processes"]
        report.findings += process_findings(cpu)
    mem = call("top_processes", by="memory", n=5, sample_seconds=0.1)
    if mem:
        report.top_memory = mem["processes"]
    ports = call("listening_ports")
    if ports:
        report.ports = ports["ports"]
    # The investigation's sweep, widened to every check: what no single process or mount shows.
    table = call("process_table", sample_seconds=0.5, top=10)
    mounts = call("mounts")
    kernel = call("kernel_log", since_minutes=60)
    swept = (
        (process_facts(table, []) if table else [])
        + (mount_facts(mounts["mounts"], []) if mounts else [])
        + (kernel_facts(kernel["events"], []) if kernel else [])
    )
    report.findings += [
        Finding(f.severity, f.kind, f.message, f.data.model_dump()) for f in swept if f.severity != "info"
    ]
    for log in (call("list_logs", limit=MAX_LOGS) or {}).get("logs", []):
        tail = call("tail_file", path=log["path"], lines=TAIL_LINES)
        if tail:
            summary, finding = log_findings(log["path"], tail["lines"], log["ago_s"])
            report.logs.append(summary)
            if finding:
                report.findings.append(finding)
    report.duration_s = round(time.monotonic() - t0, 2)
    return report
