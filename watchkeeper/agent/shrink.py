"""Fit a tool result into the model's budget: keep the head, the tail and every error line."""

from __future__ import annotations

import re

from watchkeeper.humanize import plural

ERROR_LINE = re.compile(
    r"error|exception|fatal|fail|panic|traceback|denied|refused|timed? ?out|killed|oom|critical|"
    r"unavailable|too many|no space|错误|异常|失败",
    re.IGNORECASE,
)


def shrink(text: str, limit: int) -> str:
    """`text` itself when it fits; else its first and last lines plus the error lines between,
    with a marker saying how much was left out."""
    if len(text) <= limit:
        return text
    lines = text.splitlines() or [text]
    budget = limit - 80
    head, tail = lines[: max(1, len(lines) // 10)], lines[-max(1, len(lines) // 10) :]
    middle = [ln for ln in lines[len(head) : len(lines) - len(tail)] if ERROR_LINE.search(ln)]
    kept: list[str] = []
    used = 0
    for ln in [*head[:5], *middle, *tail[-5:]]:
        ln = ln if len(ln) <= 400 else ln[:400] + "…"
        if used + len(ln) + 1 > budget:
            break
        kept.append(ln)
        used += len(ln) + 1
    left_out = len(text) - used
    return "\n".join(kept) + f"\n[... {plural(left_out, 'character')} left out by watchkeeper; error lines kept ...]"
