"""tail_file: the newest lines of an allowlisted log, continuing into rotated files when asked."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.logfiles import log_chain, tail_any


class TailFileParams(SkillParams):
    path: str = Field(..., description="Absolute path of the file; must lie inside the read allowlist.")
    lines: int = Field(100, ge=1, le=5000, description="How many of the newest lines to return.")
    include_rotated: bool = Field(
        False, description="Continue into rotated siblings (app.log.1, app.log.2.gz) when the file is short."
    )
    max_bytes: int = Field(
        1_048_576,
        ge=1024,
        le=16_777_216,
        description="Most bytes read across all files (at most 80 % of the output cap).",
    )


@skill(
    key="tail_file",
    name="Tail a file",
    description="The newest lines of a log file inside the read allowlist, oldest first, optionally "
    "continuing into its rotated files; bounded in lines and bytes.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="logs",
    idempotent=True,
    result_example={
        "path": "/var/log/app/app.log",
        "files": ["/var/log/app/app.log.1", "/var/log/app/app.log"],
        "lines": ["2026-11-22T01:00:00 ERROR db: connection refused"],
        "line_count": 1,
        "bytes_read": 58,
        "budget_exhausted": False,
    },
)
def tail_file(params: TailFileParams, ctx: SkillContext) -> dict[str, Any]:
    chain = log_chain(ctx, params.path, params.include_rotated)
    collected: list[list[str]] = []
    used_files: list[str] = []
    # Stay inside invoke's output cap here, where we know the newest lines are the ones to keep.
    need, budget = params.lines, min(params.max_bytes, int(ctx.settings.limits.output_cap_bytes * 0.8))
    for path in chain:
        if need <= 0 or budget <= 0:
            break
        lines, used = tail_any(path, need, budget)
        collected.insert(0, lines)
        used_files.insert(0, str(path))
        need -= len(lines)
        budget -= used
    lines = [line for chunk in collected for line in chunk]
    return {
        "path": str(chain[0]),
        "files": used_files,
        "lines": lines,
        "line_count": len(lines),
        "bytes_read": sum(len(line) + 1 for line in lines),
        "budget_exhausted": budget <= 0,
    }
