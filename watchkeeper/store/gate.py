"""A write gate in front of SQLite's single writer, so a sender waiting for its answer goes first.

SQLite lets one transaction write at a time. A connection that finds the write lock taken sleeps in
SQLite's busy handler in growing steps (up to 100 ms each), however soon the lock is free again: a
webhook ingest queued behind the assigner's transactions then waits for seconds in a storm. Writers
of one process that pass this gate first queue on a Python lock instead and go in the moment it is
free. An `urgent` writer (an ingest: the sender waits for the answer) goes before a `background` one
(the assigner), which waits until none is waiting, but for at most `max_defer_s`, so that a steady
stream of posts cannot keep incidents from opening. Writers that do not pass the gate still meet at
SQLite's lock, as before. PostgreSQL locks rows, not the database: there the gate is open.

`wk serve` writes from two processes (the manager ingests, its worker process assigns), so the order
holds across processes too, through flocks beside the database, which the kernel hands to a waiter
the moment they are released: every gated writer takes `<database>-writers`, and a process holds
`<database>-urgent` shared while an urgent writer of it waits or writes, which a background writer
of any process defers to (for at most `max_defer_s`).
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine


class WriteGate:
    """A lock handed from one writer to the next (a plain lock lets a busy thread take it again and
    again before a woken one runs, which starves the assigner): urgent writers in the order they came,
    a background writer when none is waiting, or as soon as it has waited `max_defer_s`."""

    def __init__(self, max_defer_s: float = 0.25, database: Path | None = None) -> None:
        self.max_defer_s = max_defer_s
        self.processes = _AcrossProcesses(database) if database else None
        self._state = threading.Lock()
        self._busy = False
        self._urgent: collections.deque[threading.Lock] = collections.deque()
        self._background: collections.deque[tuple[threading.Lock, float]] = collections.deque()  # and when due

    def urgent(self) -> contextlib.AbstractContextManager[None]:
        return self._pass(urgent=True)

    def background(self) -> contextlib.AbstractContextManager[None]:
        return self._pass(urgent=False)

    @contextlib.contextmanager
    def _pass(self, urgent: bool) -> Iterator[None]:
        due = time.monotonic() + self.max_defer_s
        with contextlib.ExitStack() as stack:
            if self.processes is not None:
                if urgent:
                    stack.enter_context(self.processes.urgent_waiting())
                else:
                    self.processes.defer_to_urgent(due)
            with self._state:
                turn = _held() if self._busy else None
                self._busy = True
                if turn is not None and urgent:
                    self._urgent.append(turn)
                elif turn is not None:
                    self._background.append((turn, due))
            if turn is not None:
                turn.acquire()  # released by the writer that hands the gate over
            stack.callback(self._leave)
            if self.processes is not None:
                stack.enter_context(self.processes.writing())
            yield

    def _leave(self) -> None:
        with self._state:
            if self._background and (not self._urgent or time.monotonic() >= self._background[0][1]):
                turn = self._background.popleft()[0]
            elif self._urgent:
                turn = self._urgent.popleft()
            else:
                self._busy = False
                return
        turn.release()  # the gate stays busy: it is that writer's now


class _AcrossProcesses:
    """The gate's flocks, on descriptors of this process. At most one thread of it writes at a time
    (the gate sees to that), so one descriptor serves them all for `-writers`; `-urgent` is held shared
    while any urgent writer of this process is in play, and probed on a second descriptor, which
    conflicts with this process's own hold as with another's."""

    def __init__(self, database: Path) -> None:
        def opened(suffix: str) -> int:
            return os.open(f"{database}-{suffix}", os.O_RDWR | os.O_CREAT, 0o600)

        self.writers, self.urgent, self.probe = opened("writers"), opened("urgent"), opened("urgent")
        self._lock = threading.Lock()
        self._urgent_in_play = 0
        weakref.finalize(self, _close, (self.writers, self.urgent, self.probe))

    @contextlib.contextmanager
    def urgent_waiting(self) -> Iterator[None]:
        with self._lock:
            self._urgent_in_play += 1
            if self._urgent_in_play == 1:
                fcntl.flock(self.urgent, fcntl.LOCK_SH)
        try:
            yield
        finally:
            with self._lock:
                self._urgent_in_play -= 1
                if self._urgent_in_play == 0:
                    fcntl.flock(self.urgent, fcntl.LOCK_UN)

    def defer_to_urgent(self, due: float) -> None:
        """Return once no process has an urgent writer in play, or at `due`."""
        while True:
            try:
                fcntl.flock(self.probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= due:
                    return
                time.sleep(0.002)
                continue
            fcntl.flock(self.probe, fcntl.LOCK_UN)
            return

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        fcntl.flock(self.writers, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self.writers, fcntl.LOCK_UN)


def _close(fds: tuple[int, ...]) -> None:
    for fd in fds:
        os.close(fd)


class _Open(WriteGate):
    """No gate: the database takes concurrent writers itself."""

    @contextlib.contextmanager
    def _pass(self, urgent: bool) -> Iterator[None]:
        yield


def _held() -> threading.Lock:
    """A lock already taken: its waiter goes on when the writer before it releases it."""
    turn = threading.Lock()
    turn.acquire()
    return turn


_OPEN = _Open()
_gates: weakref.WeakKeyDictionary[Engine, WriteGate] = weakref.WeakKeyDictionary()
_gates_lock = threading.Lock()


def write_gate(engine: Engine) -> WriteGate:
    """The gate of `engine`'s database in this process (one per engine; open unless it is SQLite)."""
    if engine.dialect.name != "sqlite":
        return _OPEN
    with _gates_lock:
        gate = _gates.get(engine)
        if gate is None:
            database = engine.url.database
            on_disk = database not in (None, "", ":memory:") and not str(database).startswith("file:")
            gate = _gates[engine] = WriteGate(database=Path(str(database)) if on_disk else None)
        return gate
