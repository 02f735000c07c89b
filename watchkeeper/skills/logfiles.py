"""Reading log files the way an SRE does: the newest lines first, rotated siblings when asked,
always within a byte budget."""

from __future__ import annotations

import gzip
import os
import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

from watchkeeper.errors import SkillFailed
from watchkeeper.skills.context import SkillContext

LINE_MAX = 4096  # characters kept of one line: a minified JSON blob must not eat the budget
BLOCK = 65536


def rotated_siblings(path: Path) -> list[Path]:
    """`app.log.1`, `app.log.2.gz`, … newest rotation first."""
    pattern = re.compile(rf"^{re.escape(path.name)}\.(\d+)(\.gz)?$")
    found = []
    for entry in path.parent.iterdir():
        m = pattern.match(entry.name)
        if m and entry.is_file():
            found.append((int(m.group(1)), entry))
    return [p for _, p in sorted(found)]


def log_chain(ctx: SkillContext, path: str, include_rotated: bool) -> list[Path]:
    """The allowlisted file and, if asked, its allowlisted rotations: newest first."""
    real = ctx.readable_path(path)
    if not real.exists():
        raise SkillFailed(f"{path} does not exist")
    if not real.is_file():
        raise SkillFailed(f"{path} is not a regular file")
    if not include_rotated:
        return [real]
    return [real, *(ctx.readable_path(str(p)) for p in rotated_siblings(real))]


def _clean(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
    return text if len(text) <= LINE_MAX else text[:LINE_MAX] + "…"


def _open(path: Path) -> IO[bytes]:
    try:
        return cast(IO[bytes], gzip.open(path, "rb")) if path.suffix == ".gz" else path.open("rb")
    except PermissionError:
        raise SkillFailed(f"permission denied reading {path}") from None


def tail_plain(path: Path, n: int, budget: int) -> tuple[list[str], int]:
    """Last `n` lines of an uncompressed file, reading backwards at most `budget` bytes."""
    with _open(path) as fh:
        end = fh.seek(0, os.SEEK_END)
        pos, data = end, b""
        while pos > 0 and data.count(b"\n") <= n and end - pos < budget:
            step = min(BLOCK, pos, budget - (end - pos))
            pos -= step
            fh.seek(pos)
            data = fh.read(step) + data
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    if pos > 0 and lines:
        lines.pop(0)  # a partial first line
    return [_clean(line) for line in lines[-n:]], end - pos


def iter_lines(path: Path, budget: int, newest_bytes_only: bool = True) -> Iterator[str]:
    """Every line of a file within `budget` bytes: for a plain file larger than that, its newest part."""
    with _open(path) as fh:
        if newest_bytes_only and path.suffix != ".gz":
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - budget))
            if size > budget:
                fh.readline()  # skip the partial line
        read = 0
        for raw in fh:
            read += len(raw)
            if read > budget:
                return
            yield _clean(raw)


def tail_any(path: Path, n: int, budget: int) -> tuple[list[str], int]:
    if path.suffix != ".gz":
        return tail_plain(path, n, budget)
    keep: deque[str] = deque(maxlen=n)
    used = 0
    for line in iter_lines(path, budget, newest_bytes_only=False):
        keep.append(line)
        used += len(line) + 1
    return list(keep), used
