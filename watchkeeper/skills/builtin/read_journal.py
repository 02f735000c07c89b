"""read_journal: entries of the systemd journal (or a journal directory), newest last."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from watchkeeper.errors import SkillFailed
from watchkeeper.policy.risk import RiskClass
from watchkeeper.since import parse_since
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.service_managers import check_unit

PRIORITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
NO_JOURNAL = "No journal files were found"


class ReadJournalParams(SkillParams):
    unit: str | None = Field(None, description="Only entries of this unit, e.g. nginx.service.")
    since: str | None = Field(
        None, description="Start time: relative like 30m, 2h, 1d, or a timestamp like '2026-11-22 01:00:00'."
    )
    priority: Literal["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"] | None = Field(
        None, description="Only entries at this priority or more severe."
    )
    lines: int = Field(200, ge=1, le=5000, description="How many of the newest entries.")

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str | None) -> str | None:
        return None if value is None else check_unit(value)

    @field_validator("since")
    @classmethod
    def _since(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            start = parse_since(value)
        except ValueError:
            raise ValueError("use a relative time like 30m / 2h / 1d or a timestamp 'YYYY-MM-DD HH:MM:SS'") from None
        return f"{start.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"  # journalctl reads this the same in any zone


def _entry(raw: dict[str, Any]) -> dict[str, Any]:
    message = raw.get("MESSAGE", "")
    if isinstance(message, list):  # journalctl encodes non-UTF-8 messages as byte arrays
        message = bytes(message).decode("utf-8", errors="replace")
    ts = raw.get("__REALTIME_TIMESTAMP")
    prio = raw.get("PRIORITY")
    return {
        "time": datetime.fromtimestamp(int(ts) / 1e6, UTC).isoformat(timespec="milliseconds") if ts else None,
        "unit": raw.get("_SYSTEMD_UNIT") or raw.get("SYSLOG_IDENTIFIER"),
        "priority": PRIORITIES[int(prio)] if prio is not None and str(prio).isdigit() and int(prio) < 8 else prio,
        "hostname": raw.get("_HOSTNAME"),
        "pid": raw.get("_PID"),
        "message": message,
    }


@skill(
    key="read_journal",
    name="Read the journal",
    description="Newest entries of the systemd journal, filtered by unit, start time and priority. Tells "
    "'no journal on this host' (journal_found: false) apart from 'no matching entries'.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="logs",
    idempotent=True,
    result_example={
        "journal_found": True,
        "source": "system journal",
        "entries": [
            {
                "time": "2026-11-22T01:00:00.000+00:00",
                "unit": "nginx.service",
                "priority": "err",
                "hostname": "web-1",
                "pid": "812",
                "message": "upstream timed out",
            }
        ],
        "entry_count": 1,
    },
)
def read_journal(params: ReadJournalParams, ctx: SkillContext) -> dict[str, Any]:
    exe = shutil.which("journalctl")
    if exe is None:
        raise SkillFailed("journalctl is not installed: this host has no systemd journal to read")
    where = ["--directory", str(directory)] if (directory := ctx.settings.logs.journal_directory) else []
    argv = [exe, "--no-pager", "-o", "json", "-n", str(params.lines), *where]
    if params.unit:
        argv += ["-u", params.unit]
    if params.since:
        argv += ["--since", params.since]
    if params.priority:
        argv += ["-p", params.priority]
    done = ctx.run(argv)
    source = f"journal directory {directory}" if directory else "system journal"
    if done.returncode != 0:
        raise SkillFailed(f"journalctl failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    if not done.stdout.strip():
        # journalctl exits 0 both with no journal at all and with no matching entries, and
        # in JSON mode says nothing either way: its plain mode tells on stderr.
        probe = ctx.run([exe, "--no-pager", "-n", "0", *where])
        if NO_JOURNAL in probe.stderr:
            note = f"no journal on this host ({probe.stderr.strip().splitlines()[-1]})"
            return {"journal_found": False, "source": source, "entries": [], "entry_count": 0, "note": note}
    entries = []
    for line in done.stdout.splitlines():
        if line.strip():
            try:
                entries.append(_entry(json.loads(line)))
            except (json.JSONDecodeError, ValueError):
                continue
    return {"journal_found": True, "source": source, "entries": entries, "entry_count": len(entries)}
