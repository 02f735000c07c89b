"""Counting audit rows that only live in memory, somewhere a full disk cannot take away.

When neither the database nor the spool can be written, a row waits in memory; if the process
ends first, the row is gone. So that the chain can still say so, each process owns one slot of
a file created (and filled) while there was room: overwriting bytes already allocated needs no
free space. The slot counts the rows held only in memory; the next process to start turns every
slot left by a dead process into a `gap` row of the chain.

A slot is owned through an open-file-description byte-range lock (Linux `F_OFD_SETLK`), which
the kernel drops when its owner closes the file or dies, so "unlocked and non-empty" means "left
by a ledger that is gone". Unlike POSIX `lockf` locks, two ledgers in one process do not share
them, and closing one file does not release the other's.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import struct
import weakref
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

SLOT = 256
SLOTS = 64
# struct flock on 64-bit Linux: l_type, l_whence, (pad), l_start, l_len, l_pid (0 for OFD locks), (pad).
_FLOCK = "hh4xqqi4x"


@dataclass(frozen=True)
class Loss:
    """Rows a process held only in memory when it ended."""

    rows: int
    first_at: str
    last_at: str
    pid: int
    tools: list[str]


class LostRows:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._slot = -1
        self._open()

    def _open(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return
        try:
            if os.fstat(fd).st_size < SLOT * SLOTS:
                os.pwrite(fd, b" " * (SLOT * SLOTS), 0)  # allocate every slot now, while there is room
                os.fsync(fd)
        except OSError:
            os.close(fd)
            return
        self._fd = fd
        # A ledger dropped without close() still gives its descriptor (and with it its slot's lock) back.
        self._closer = weakref.finalize(self, os.close, fd)

    @property
    def available(self) -> bool:
        return self._fd is not None

    def orphans(self) -> list[tuple[int, Loss]]:
        """Slots with rows lost by processes that are gone, each locked for this process until `release`d."""
        found: list[tuple[int, Loss]] = []
        if self._fd is None:
            return found
        for n in range(SLOTS):
            if n == self._slot or not self._try_lock(n):
                continue
            loss = self._read(n)
            if loss is None:
                self._unlock(n)
            else:
                found.append((n, loss))
        return found

    def release(self, slot: int, recorded: bool) -> None:
        """Done with an orphan slot: emptied when its gap row is in the chain."""
        if self._fd is None:
            return
        if recorded:
            self._write(slot, b"")
        self._unlock(slot)

    def claim(self) -> None:
        """Take a free slot for this process (kept until it exits)."""
        if self._fd is None:
            return
        for n in range(SLOTS):
            if self._try_lock(n):
                if self._read(n) is None:
                    self._slot = n
                    return
                self._unlock(n)

    def hold(self, rows: list[tuple[str, datetime]]) -> None:
        """Record the rows (tool, time) now held only in memory; an empty list clears the slot."""
        if self._fd is None or self._slot < 0:
            return
        if not rows:
            self._write(self._slot, b"")
            return
        tools = sorted({tool for tool, _ in rows})
        while True:
            body = {
                "rows": len(rows),
                "first_at": rows[0][1].isoformat(),
                "last_at": rows[-1][1].isoformat(),
                "pid": os.getpid(),
                "tools": tools,
            }
            data = json.dumps(body, separators=(",", ":")).encode()
            if len(data) < SLOT or not tools:
                break
            tools = tools[:-1]  # the count matters, the tool names are a hint
        self._write(self._slot, data)

    def _write(self, slot: int, data: bytes) -> None:
        assert self._fd is not None
        with contextlib.suppress(OSError):
            os.pwrite(self._fd, data.ljust(SLOT, b" ")[:SLOT], slot * SLOT)
            os.fdatasync(self._fd)

    def _read(self, slot: int) -> Loss | None:
        assert self._fd is not None
        raw = os.pread(self._fd, SLOT, slot * SLOT).strip()
        if not raw:
            return None
        try:
            body = json.loads(raw)
            return Loss(int(body["rows"]), body["first_at"], body["last_at"], int(body["pid"]), list(body["tools"]))
        except (ValueError, KeyError, TypeError):
            return Loss(0, "", "", 0, [])  # a torn slot still says something was lost

    def _try_lock(self, slot: int) -> bool:
        assert self._fd is not None
        try:
            fcntl.fcntl(self._fd, fcntl.F_OFD_SETLK, struct.pack(_FLOCK, fcntl.F_WRLCK, 0, slot * SLOT, SLOT, 0))
        except OSError:
            return False
        return True

    def _unlock(self, slot: int) -> None:
        assert self._fd is not None
        fcntl.fcntl(self._fd, fcntl.F_OFD_SETLK, struct.pack(_FLOCK, fcntl.F_UNLCK, 0, slot * SLOT, SLOT, 0))

    def close(self) -> None:
        if self._fd is not None:
            self._closer()
            self._fd = None
