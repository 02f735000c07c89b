"""kernel_log: what the kernel said lately: OOM kills, segfaults, I/O errors, hung tasks.

Two sources, each optional: the ring buffer (`dmesg`, often not permitted in a container) and the
kern.log files syslog keeps inside the read allowlist (the ring buffer forgets; the files outlive a
reboot). The same line seen in both counts once.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from pydantic import Field

from watchkeeper.errors import Refused, SkillFailed, SkillTimeout
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.logfiles import iter_lines
from watchkeeper.skills.procinfo import iso

LINE_MAX = 300
MAX_EVENTS = 100  # newest kept; counts cover them all
KERN_LOG_BUDGET = 16 * 1024 * 1024  # newest bytes read of one kern.log
DMESG_MAX = 16 * 1024 * 1024  # the ring buffer is rarely above a few MiB; run() keeps the oldest part
KINDS = ("oom_kill", "segfault", "io_error", "hung_task")

# "2026-11-28T10:00:00.000000+00:00" (rsyslog, dmesg --time-format iso with a comma), "2026-11-28 10:00:00".
ISO_TS = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:?\d{2})?\s*")
SYSLOG_TS = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})\s+")  # "Nov 28 14:00:01"
MONO_TS = re.compile(r"^\[\s*(\d+\.\d+)\]\s*")  # plain dmesg: seconds since boot
DMESG_LEVEL = re.compile(  # dmesg -x: "kern  :warn  : "
    r"^(kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local[0-7])\s*:"
    r"(emerg|alert|crit|err|warn|notice|info|debug)\s*: "
)
SYSLOG_PREFIX = re.compile(r"^\S+ kernel: (?:\[\s*\d+\.\d+\] ?)?")  # "host kernel: [ 123.456] "
MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
WARN_LEVELS = {"emerg", "alert", "crit", "err", "warn"}
WARN_WORDS = re.compile(
    r"\b(?:error|fail(?:ed|ure|ing)?|warn(?:ing)?|critical|panic|oops|bug|call trace|timed? ?out|blocked|killed"
    r"|denied|corrupt\w*|abort\w*|out of memory|oom\w*|segfault|hung)\b",
    re.IGNORECASE,
)

OOM_KILLED = re.compile(r"out of memory: Killed process (\d+) \(([^)]+)\)", re.IGNORECASE)
OOM_CGROUP = re.compile(r"oom-kill:.*task=([^,]+),pid=(\d+)")
OOM_INVOKED = re.compile(r"(\S+) invoked oom-killer")
SEGFAULT = re.compile(r"(\S+)\[(\d+)\]: segfault at|(\S+)\[(\d+)\] general protection fault")
HUNG_TASK = re.compile(r"task (\S+):(\d+) blocked for more than")
IO_ERROR = re.compile(r"I/O error|EXT[234]-fs error|Remounting filesystem read-only")
IO_DEVICE = (
    re.compile(r"I/O error on (?:dev|device) ([\w/.:-]+?),"),  # Buffer I/O error on dev sda1, logical block 0
    re.compile(r"I/O error,? dev ([\w/.:-]+?),"),  # blk_update_request: I/O error, dev sda, sector 8
    re.compile(r"\(device ([\w/.:-]+?)\)"),  # EXT4-fs error (device sda1): ext4_find_entry
    re.compile(r"(?:EXT[234]-fs|XFS|BTRFS\S*) \(([\w/.:-]+?)\)"),  # EXT4-fs (sda1): Remounting ... read-only
)


class KernelLogParams(SkillParams):
    since_minutes: int = Field(60, ge=1, le=10080, description="How far back to look, in minutes.")
    lines: int = Field(200, ge=1, le=2000, description="Most raw warning and error lines returned (the newest).")


@dataclass
class Line:
    raw: str  # as the source printed it, cut to LINE_MAX
    body: str  # the message without timestamp, host and level: the same in dmesg and kern.log
    ts: float | None
    order: float  # for merging sources: the timestamp, or the last one seen before it
    level: str | None = None


@dataclass
class Scan:
    since: float
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (order, event)
    lines: list[Line] = field(default_factory=list)
    keys: set[tuple[str, int, str]] = field(default_factory=set)  # events known by pid: counted once anywhere
    bodies: set[str] = field(default_factory=set)  # every message of the sources read so far


def _iso_ts(m: re.Match[str]) -> float | None:
    frac = (m.group(3) or "")[:6]
    tz = m.group(4) or ""
    if tz and tz != "Z" and ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    try:
        stamp = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{'.' + frac if frac else ''}{tz}")
        return stamp.timestamp()  # naive: local time, as syslog writes it
    except (ValueError, OverflowError, OSError):  # year 1 or 9999 in a hostile line: no time, not a failure
        return None


def _iso_or_none(ts: float | None) -> str | None:
    try:
        return iso(ts) if ts is not None else None
    except (ValueError, OverflowError, OSError):
        return None


def _syslog_ts(m: re.Match[str], now: float) -> float | None:
    month = MONTHS.get(m.group(1))
    if month is None:
        return None
    year = datetime.fromtimestamp(now).year
    try:
        stamp = datetime(year, month, int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)))
    except ValueError:
        return None
    if stamp.timestamp() > now + 86400:  # no year in the line: December's lines read in January
        stamp = stamp.replace(year=year - 1)
    return stamp.timestamp()


def parse(raw: str, now: float, boot: float, prev: float) -> Line:
    """One line of dmesg (-x, iso or plain) or kern.log (ISO or classic syslog timestamps)."""
    text = raw.rstrip("\n")
    level = None
    if m := DMESG_LEVEL.match(text):
        level, text = m.group(2), text[m.end() :]
    shown = text if len(text) <= LINE_MAX else text[: LINE_MAX - 1] + "…"  # as `dmesg --time-format iso` prints
    ts: float | None = None
    if m := ISO_TS.match(text):
        ts, text = _iso_ts(m), text[m.end() :]
    elif m := SYSLOG_TS.match(text):
        ts, text = _syslog_ts(m, now), text[m.end() :]
    elif m := MONO_TS.match(text):
        ts, text = boot + float(m.group(1)), text[m.end() :]
    if m := SYSLOG_PREFIX.match(text):
        text = text[m.end() :]
    return Line(shown, text.strip(), ts, ts if ts is not None else prev, level)


def classify(body: str) -> list[tuple[str, str | None, int | None, dict[str, Any]]]:
    """(kind, process, pid, extra) for each event the message reports."""
    if m := OOM_KILLED.search(body):
        return [("oom_kill", m.group(2), int(m.group(1)), {})]
    if m := OOM_CGROUP.search(body):
        return [("oom_kill", m.group(1), int(m.group(2)), {})]
    if m := SEGFAULT.search(body):
        name, pid = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        return [("segfault", name, int(pid), {})]
    if m := HUNG_TASK.search(body):
        return [("hung_task", m.group(1), int(m.group(2)), {})]
    if IO_ERROR.search(body):
        device = next((d.group(1) for rx in IO_DEVICE if (d := rx.search(body))), None)
        return [("io_error", None, None, {"device": device})]
    return []


def _scan(scan: Scan, source: str, raw_lines: list[str]) -> None:
    now, boot = time.time(), psutil.boot_time()
    prev = float("-inf")
    bodies: set[str] = set()
    # "X invoked oom-killer": the kill line that follows names the victim; alone, it is still an OOM.
    invoker: tuple[float, dict[str, Any]] | None = None

    def flush_invoker() -> None:
        nonlocal invoker
        if invoker is not None:
            scan.events.append(invoker)
        invoker = None

    for raw in raw_lines:
        line = parse(raw, now, boot, prev)
        prev = line.order
        if line.ts is not None and line.ts < scan.since:
            continue
        bodies.add(line.body)
        if line.body in scan.bodies:
            continue  # an earlier source (dmesg) had this very message
        at = _iso_or_none(line.ts)
        found = classify(line.body)
        if m := OOM_INVOKED.search(line.body):
            flush_invoker()
            invoker = (
                line.order,
                {
                    "kind": "oom_kill",
                    "process": None,
                    "pid": None,
                    "invoked_by": m.group(1),
                    "at": at,
                    "source": source,
                    "line": line.raw,
                },
            )
        for kind, process, pid, extra in found:
            if pid is not None:
                key = (kind, pid, process or "")
                if key in scan.keys:
                    continue  # the cgroup line and the "Killed process" line of one kill
                scan.keys.add(key)
            event = {"kind": kind, "process": process, "pid": pid, "at": at, **extra, "source": source}
            event["line"] = line.raw
            if kind == "oom_kill" and invoker is not None:
                event["invoked_by"] = invoker[1]["invoked_by"]
                invoker = None
            scan.events.append((line.order, event))
        if found or line.level in WARN_LEVELS or WARN_WORDS.search(line.body):
            scan.lines.append(line)
    flush_invoker()
    scan.bodies |= bodies


def _dmesg(ctx: SkillContext) -> tuple[list[str] | None, str | None]:
    """The ring buffer's lines, or why not."""
    reason = None
    # -x keeps each line's level; busybox's dmesg knows neither option, so plain dmesg is the fallback.
    for argv in (["dmesg", "-x", "--time-format", "iso"], ["dmesg"]):
        try:
            done = ctx.run(argv, timeout=min(10.0, ctx.remaining()), max_output=DMESG_MAX)
        except SkillFailed as exc:
            return None, str(exc)
        except SkillTimeout:
            if ctx.cancelled.is_set():
                raise
            return None, "dmesg did not finish in time"
        if done.returncode == 0:
            return done.stdout.splitlines(), None
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        if "option" not in reason:
            break  # not permitted (kernel.dmesg_restrict, a container): plain dmesg fares no better
    return None, reason


def _kern_logs(ctx: SkillContext) -> tuple[list[Path], list[dict[str, str]]]:
    """kern.log directly inside each read root (or a root that is itself a kern.log), through the allowlist."""
    found: list[Path] = []
    skipped: list[dict[str, str]] = []
    for root in ctx.settings.read_roots:
        candidate = Path(root) if Path(root).name == "kern.log" else Path(root) / "kern.log"
        if not candidate.is_file():
            continue
        try:
            real = ctx.readable_path(str(candidate))
        except Refused as exc:
            skipped.append({"source": str(candidate), "reason": str(exc)})
            continue
        if real not in found:
            found.append(real)
    return found, skipped


def _fit(result: dict[str, Any], budget: int) -> bool:
    """Drop the oldest events and lines until the result fits: the output cap would keep the oldest."""
    cut = False
    while len(json.dumps(result, ensure_ascii=False).encode()) > budget:
        biggest = max(("events", "lines"), key=lambda k: len(json.dumps(result[k], ensure_ascii=False)))
        items = result[biggest]
        if not items:
            break
        del items[: max(1, len(items) // 10)]
        cut = True
    return cut


@skill(
    key="kernel_log",
    name="Kernel log",
    description="What the kernel reported in the last minutes, from dmesg and the kern.log files in the read "
    "allowlist: OOM kills (victim pid and name, and the process that invoked the killer), segfaults, I/O "
    "errors (with the device), hung tasks, counted by kind, and the newest warning and error lines.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="host",
    idempotent=True,
    result_example={
        "sources": ["dmesg", "/var/log/kern.log"],
        "unavailable": [],
        "since": "2026-11-28T09:00:00+00:00",
        "events": [
            {
                "kind": "oom_kill",
                "process": "etl_loader",
                "pid": 4242,
                "invoked_by": "etl_loader",
                "at": "2026-11-28T10:00:00+00:00",
                "source": "dmesg",
                "line": "2026-11-28T10:00:00,000000+00:00 Out of memory: Killed process 4242 (etl_loader) "
                "total-vm:24315120kB, anon-rss:23650112kB",
            },
            {
                "kind": "io_error",
                "process": None,
                "pid": None,
                "device": "sdb",
                "at": "2026-11-28T10:05:00+00:00",
                "source": "/var/log/kern.log",
                "line": "2026-11-28T10:05:00.000000+00:00 db-1 kernel: I/O error, dev sdb, sector 2048",
            },
        ],
        "counts": {"oom_kill": 1, "segfault": 0, "io_error": 1, "hung_task": 0},
        "lines": ["2026-11-28T10:00:00,000000+00:00 Out of memory: Killed process 4242 (etl_loader)"],
        "truncated": False,
    },
)
def kernel_log(params: KernelLogParams, ctx: SkillContext) -> dict[str, Any]:
    since = time.time() - params.since_minutes * 60
    scan = Scan(since)
    sources: list[str] = []
    unavailable: list[dict[str, str]] = []
    dmesg, why = _dmesg(ctx)
    if dmesg is None:
        unavailable.append({"source": "dmesg", "reason": why or "unknown"})
    else:
        sources.append("dmesg")
        _scan(scan, "dmesg", dmesg)
    files, skipped = _kern_logs(ctx)
    unavailable += skipped
    for path in files:
        try:
            lines = list(iter_lines(path, KERN_LOG_BUDGET))
        except (SkillFailed, OSError) as exc:
            unavailable.append({"source": str(path), "reason": str(exc)})
            continue
        sources.append(str(path))
        _scan(scan, str(path), lines)

    counts = dict.fromkeys(KINDS, 0)
    for _, event in scan.events:
        counts[event["kind"]] += 1
    events = [e for _, e in sorted(scan.events, key=lambda oe: oe[0])[-MAX_EVENTS:]]  # stable: sources in order
    merged = sorted(scan.lines, key=lambda line: line.order)[-params.lines :]  # stable: each source in order
    result: dict[str, Any] = {
        "sources": sources,
        "unavailable": unavailable,
        "since": iso(since),
        "events": events,
        "counts": counts,
        "lines": [line.raw for line in merged],
        "truncated": len(scan.events) > len(events),
    }
    result["truncated"] = _fit(result, int(ctx.settings.limits.output_cap_bytes * 0.9)) or result["truncated"]
    return result
