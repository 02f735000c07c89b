"""The ledger's spool: rows the database could not take yet, one JSON line each, fsync'ed.

The spool is shared by every watchkeeper process of a data directory. Whoever flushes takes
it whole under an exclusive `flock`, writes its rows to the database first (they are older)
and truncates it, so no row is written twice and none is skipped.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from watchkeeper.canonical import canonical_json

_TS = "%Y-%m-%dT%H:%M:%S.%fZ"
_TIME_KEYS = ("started_at", "finished_at")


def _encode(row: dict[str, Any]) -> str:
    return canonical_json({**row, **{k: row[k].astimezone(UTC).strftime(_TS) for k in _TIME_KEYS}})


def _decode(line: str) -> dict[str, Any]:
    row: dict[str, Any] = json.loads(line)
    for key in _TIME_KEYS:
        row[key] = datetime.strptime(row[key], _TS).replace(tzinfo=UTC)
    return row


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path

    def may_hold_rows(self) -> bool:
        """A cheap look before taking the lock: the common case is no spool at all."""
        try:
            return self.path.stat().st_size > 0
        except OSError:
            return False

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the spool exclusively (across processes) while rows move between it and the store."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def read(self) -> list[dict[str, Any]]:
        """Every spooled row, oldest first; a torn last line (a crash mid-write) is dropped."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        rows = []
        for line in text.splitlines():
            if line.strip():
                with contextlib.suppress(ValueError):
                    rows.append(_decode(line))
        return rows

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Write rows durably (data and directory entry fsync'ed); raises OSError when the disk is full."""
        data = "".join(_encode(r) + "\n" for r in rows).encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            try:
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(28, "No space left on device (short write)")
                os.fsync(fd)
            except OSError:
                os.ftruncate(fd, size)  # never leave half a batch behind
                raise
        finally:
            os.close(fd)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.truncate(self.path, 0)
