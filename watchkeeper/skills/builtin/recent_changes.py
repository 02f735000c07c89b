"""recent_changes: what changed on this host lately — files modified under /etc (and any paths given) and
packages installed, upgraded or removed — the first question after "it worked yesterday".

Reads names and modification times only (and dpkg's log inside the read allowlist), never other files'
contents, so the walk is not bound to the read allowlist; it is bounded in entries and time instead.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from watchkeeper.errors import Refused
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.procinfo import iso

DPKG_LOG = "/var/log/dpkg.log"
# dpkg.log: "2026-11-28 10:00:01 upgrade openssl:amd64 3.0.11-1 3.0.13-1"
DPKG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (install|upgrade|remove|purge) (\S+) (\S+) (\S+)")
MAX_ENTRIES = 50_000
TIME_BUDGET_S = 2.0


class RecentChangesParams(SkillParams):
    paths: list[str] = Field(
        default_factory=lambda: ["/etc"], max_length=20, description="Absolute files or directories to look in."
    )
    minutes: int = Field(60, ge=1, le=10080, description="How far back a change counts.")
    limit: int = Field(20, ge=1, le=200, description="How many changed files to return, newest first.")


def _walk(root: str, since: float, deadline: float, budget: list[int]) -> list[tuple[float, str]]:
    found: list[tuple[float, str]] = []
    if os.path.isfile(root):
        try:
            mtime = os.stat(root).st_mtime
        except OSError:
            return found
        return [(mtime, root)] if mtime >= since else found
    for dirpath, dirnames, filenames in os.walk(root):
        budget[0] -= len(dirnames)  # directories count against the bounds too (a tree of empty ones)
        if budget[0] <= 0 or time.monotonic() > deadline:
            dirnames[:] = []
            return found
        for name in filenames:
            budget[0] -= 1
            if budget[0] <= 0 or time.monotonic() > deadline:
                dirnames[:] = []
                return found
            path = os.path.join(dirpath, name)
            try:
                mtime = os.lstat(path).st_mtime
            except OSError:
                continue
            if mtime >= since:
                found.append((mtime, path))
    return found


def _packages(ctx: SkillContext, since: datetime) -> list[dict[str, Any]]:
    try:
        log = ctx.readable_path(DPKG_LOG)
        lines = log.read_text(errors="replace").splitlines()[-5000:]
    except (Refused, OSError):
        return []
    out = []
    for line in lines:
        m = DPKG_LINE.match(line)
        if not m:
            continue
        try:
            at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").astimezone(UTC)  # dpkg writes local time
        except ValueError:
            continue  # a damaged line, not a failed skill
        if at >= since:
            out.append(
                {
                    "at": at.isoformat(timespec="seconds"),
                    "action": m.group(2),
                    "package": m.group(3),
                    "from": m.group(4),
                    "to": m.group(5),
                }
            )
    return out[-50:]


@skill(
    key="recent_changes",
    name="Recent changes",
    description="Files modified in the last N minutes under /etc (or the paths given: a service's config "
    "files and directories), newest first, and packages installed, upgraded or removed (dpkg's log). "
    "Names and times only; bounded in entries and time.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="host",
    idempotent=True,
    result_example={
        "minutes": 60,
        "files": [{"path": "/etc/app/app.yaml", "modified_at": "2026-11-28T10:02:11+00:00", "ago_s": 312.0}],
        "packages": [
            {
                "at": "2026-11-28T09:58:40+00:00",
                "action": "upgrade",
                "package": "openssl:amd64",
                "from": "3.0.11-1",
                "to": "3.0.13-1",
            }
        ],
        "complete": True,
    },
)
def recent_changes(params: RecentChangesParams, ctx: SkillContext) -> dict[str, Any]:
    now = time.time()
    since = now - params.minutes * 60
    deadline = min(time.monotonic() + TIME_BUDGET_S, ctx.deadline - 0.5)
    budget = [MAX_ENTRIES]
    changed: list[tuple[float, str]] = []
    for root in params.paths:
        if os.path.isabs(root) and "\x00" not in root:
            changed += _walk(os.path.normpath(root), since, deadline, budget)
    newest = sorted(set(changed), reverse=True)[: params.limit]
    return {
        "minutes": params.minutes,
        "files": [{"path": p, "modified_at": iso(m), "ago_s": round(now - m, 1)} for m, p in newest],
        "packages": _packages(ctx, datetime.now(UTC) - timedelta(minutes=params.minutes)),
        "complete": budget[0] > 0 and time.monotonic() <= deadline,
    }
