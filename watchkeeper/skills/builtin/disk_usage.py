"""disk_usage: what fills a filesystem: largest directories and files under a path, like `du -x`.

Reads names and sizes only, never file contents, so it is not bound to the read allowlist.
"""

from __future__ import annotations

import heapq
import os
import stat
import time
from pathlib import Path
from typing import Any

from pydantic import Field

from watchkeeper.errors import SkillFailed
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext


class DiskUsageParams(SkillParams):
    path: str = Field("/", description="Absolute directory to measure.")
    top: int = Field(15, ge=1, le=100, description="How many of the largest directories and files to return.")
    depth: int = Field(2, ge=1, le=4, description="Directory levels below path whose totals are ranked.")
    max_entries: int = Field(200_000, ge=100, le=5_000_000, description="Stop after scanning this many entries.")
    time_budget_s: float = Field(10.0, gt=0, le=120, description="Stop after this many seconds.")


@skill(
    key="disk_usage",
    name="Disk usage",
    description="The largest directories (totals, down to a depth) and files under a path on one "
    "filesystem, and the directories holding the most entries (where the inodes went), bounded in time and "
    "entries; says when the scan was cut short.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="host",
    idempotent=True,
    result_example={
        "path": "/var",
        "total_bytes": 5368709120,
        "entries_scanned": 48211,
        "complete": True,
        "largest_dirs": [{"path": "/var/log", "bytes": 4294967296}],
        "largest_files": [{"path": "/var/log/app/app.log", "bytes": 3221225472}],
        "most_entries": [{"path": "/var/lib/php/sessions", "entries": 181022}],
    },
)
def disk_usage(params: DiskUsageParams, ctx: SkillContext) -> dict[str, Any]:
    root = Path(params.path)
    if not root.is_absolute():
        raise SkillFailed(f"path {params.path!r} must be absolute")
    try:
        root_dev = root.stat().st_dev
    except OSError as exc:
        raise SkillFailed(f"cannot read {root}: {exc.strerror}") from None
    deadline = min(time.monotonic() + params.time_budget_s, ctx.deadline - 0.5)
    dirs: dict[str, int] = {}
    counts: dict[str, int] = {}  # entries directly in each directory: where the inodes went
    files: list[tuple[int, str]] = []
    total = scanned = 0
    complete = True
    stack = [str(root)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        counts[current] = len(entries)
        for entry in entries:
            scanned += 1
            if scanned > params.max_entries or time.monotonic() > deadline:
                complete = False
                stack.clear()
                break
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_dev != root_dev:
                continue  # another filesystem mounted below: du -x
            size = st.st_blocks * 512
            total += size
            rel = os.path.relpath(entry.path, root).split(os.sep)
            is_dir = stat.S_ISDIR(st.st_mode)
            # Count the entry in each ancestor directory down to `depth` (and in itself if a dir).
            for level in range(1, min(len(rel) if is_dir else len(rel) - 1, params.depth) + 1):
                key = os.path.join(str(root), *rel[:level])
                dirs[key] = dirs.get(key, 0) + size
            if is_dir:
                stack.append(entry.path)
            elif stat.S_ISREG(st.st_mode):
                if len(files) < params.top:
                    heapq.heappush(files, (size, entry.path))
                elif size > files[0][0]:
                    heapq.heapreplace(files, (size, entry.path))
    top_dirs = heapq.nlargest(params.top, dirs.items(), key=lambda kv: kv[1])
    return {
        "path": str(root),
        "total_bytes": total,
        "entries_scanned": min(scanned, params.max_entries),
        "complete": complete,
        "largest_dirs": [{"path": p, "bytes": b} for p, b in top_dirs],
        "largest_files": [{"path": p, "bytes": b} for b, p in sorted(files, reverse=True)],
        "most_entries": [
            {"path": p, "entries": n} for p, n in heapq.nlargest(params.top, counts.items(), key=lambda kv: kv[1])
        ],
    }
