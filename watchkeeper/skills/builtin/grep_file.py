"""grep_file: lines of an allowlisted log matching a regex, keeping the newest matches."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from pydantic import Field, field_validator

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.logfiles import iter_lines, log_chain


class GrepFileParams(SkillParams):
    path: str = Field(..., description="Absolute path of the file; must lie inside the read allowlist.")
    pattern: str = Field(..., min_length=1, description="Python regular expression to search for.")
    ignore_case: bool = Field(False, description="Match case-insensitively.")
    max_matches: int = Field(100, ge=1, le=5000, description="Most matches returned (the newest are kept).")
    include_rotated: bool = Field(False, description="Search rotated siblings too (app.log.1, app.log.2.gz).")
    max_bytes: int = Field(
        67_108_864, ge=1024, le=1_073_741_824, description="Most bytes scanned per file (the newest part)."
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        return value


@skill(
    key="grep_file",
    name="Search a file",
    description="Lines of a log file inside the read allowlist that match a regular expression, with line "
    "numbers; keeps the newest matches and counts them all.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="logs",
    idempotent=True,
    result_example={
        "pattern": "ERROR|FATAL",
        "matches": [{"file": "/var/log/app/app.log", "line_no": 812, "line": "ERROR db: connection refused"}],
        "total_matches": 1,
        "files_scanned": ["/var/log/app/app.log"],
        "truncated": False,
    },
)
def grep_file(params: GrepFileParams, ctx: SkillContext) -> dict[str, Any]:
    regex = re.compile(params.pattern, re.IGNORECASE if params.ignore_case else 0)
    chain = list(reversed(log_chain(ctx, params.path, params.include_rotated)))  # oldest first
    kept: deque[dict[str, Any]] = deque(maxlen=params.max_matches)
    total = 0
    for path in chain:
        for n, line in enumerate(iter_lines(path, params.max_bytes), start=1):
            if regex.search(line):
                total += 1
                kept.append({"file": str(path), "line_no": n, "line": line})
    return {
        "pattern": params.pattern,
        "matches": list(kept),
        "total_matches": total,
        "files_scanned": [str(p) for p in chain],
        "truncated": total > len(kept),
    }
