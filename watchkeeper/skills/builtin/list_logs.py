"""list_logs: the log files of the read allowlist, newest first, with the service each belongs to — what
`ls -lt /var/log/*/` tells an SRE about who wrote what, and when.

Names, sizes and modification times only, from the allowlisted roots (depth 3): the sweep and `wk check`
find the logs to read through this skill, so a replay sees the same list and the ledger shows the look.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.procinfo import iso

LOG_NAME_RE = re.compile(r"(\.log|\.err|^syslog|^messages|^kern\.log|^daemon\.log)(\.\d+)?$")
MAX_DEPTH = 3


class ListLogsParams(SkillParams):
    within_minutes: int | None = Field(
        None, ge=1, le=10080, description="Only files written in the last N minutes (default: any)."
    )
    limit: int = Field(50, ge=1, le=500, description="How many files, newest first.")


def service_of(path: Path, root: Path) -> str:
    """Its directory under the root (/var/log/<name>/x.log), else the file's stem (/var/log/<name>.log)."""
    rel = path.relative_to(root)
    return rel.parts[0] if len(rel.parts) >= 2 else path.name.split(".")[0]


@skill(
    key="list_logs",
    name="List logs",
    description="Log files under the read allowlist (depth 3, compressed rotations left out), newest first: "
    "path, the service it belongs to (its directory, else its name), size and when it was last written.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="logs",
    idempotent=True,
    result_example={
        "logs": [
            {
                "path": "/var/log/checkout/app.log",
                "service": "checkout",
                "bytes": 52311,
                "modified_at": "2026-11-28T03:02:11+00:00",
                "ago_s": 4.2,
            }
        ],
        "services": ["checkout", "nginx"],
    },
)
def list_logs(params: ListLogsParams, ctx: SkillContext) -> dict[str, Any]:
    now = time.time()
    found: list[tuple[float, Path, Path, int]] = []
    for root in ctx.settings.read_roots:
        base = Path(os.path.realpath(root))
        for dirpath, dirnames, filenames in os.walk(base):
            if len(Path(dirpath).relative_to(base).parts) >= MAX_DEPTH:
                dirnames[:] = []
            for name in filenames:
                if not LOG_NAME_RE.search(name) or name.endswith(".gz"):
                    continue
                path = Path(dirpath) / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                if params.within_minutes is None or now - st.st_mtime <= params.within_minutes * 60:
                    found.append((st.st_mtime, path, base, st.st_size))
    found.sort(key=lambda item: -item[0])
    logs = [
        {
            "path": str(path),
            "service": service_of(path, base),
            "bytes": size,
            "modified_at": iso(mtime),
            "ago_s": round(now - mtime, 1),
        }
        for mtime, path, base, size in found[: params.limit]
    ]
    return {"logs": logs, "services": sorted({entry["service"] for entry in logs})}
