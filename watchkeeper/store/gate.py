"""A write gate in front of SQLite's single writer, so a sender waiting for its answer goes first.

SQLite lets one transaction write at a time. A connection that finds the write lock taken sleeps in
SQLite's busy handler in growing steps (up to 100 ms each), however soon the lock is free again: a
webhook ingest queued behind the assigner's transactions then waits for seconds in a storm. Writers
of one process that pass this gate first queue on a Python lock instead and go in the moment it is
free; an `urgent` writer (an ingest: the sender waits for the answer) goes before a `background`
one (the assigner), which yields while one is waiting, for at most `max_defer_s` so that a steady
stream of posts cannot keep incidents from opening. Writers that do not pass the gate still meet at
SQLite's lock, as before. PostgreSQL locks rows, not the database: there the gate is open.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Iterator

from sqlalchemy import Engine


class WriteGate:
    def __init__(self, max_defer_s: float = 0.25) -> None:
        self.max_defer_s = max_defer_s
        self._changed = threading.Condition()
        self._busy = False
        self._urgent_waiting = 0

    @contextlib.contextmanager
    def urgent(self) -> Iterator[None]:
        with self._changed:
            self._urgent_waiting += 1
            try:
                self._changed.wait_for(lambda: not self._busy)
            finally:
                self._urgent_waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            self._leave()

    @contextlib.contextmanager
    def background(self) -> Iterator[None]:
        until = time.monotonic() + self.max_defer_s
        with self._changed:
            while self._busy or (self._urgent_waiting and time.monotonic() < until):
                # Busy: woken when it is left. Free but an urgent writer waits: it goes first, until the deadline.
                self._changed.wait(None if self._busy else until - time.monotonic())
            self._busy = True
        try:
            yield
        finally:
            self._leave()

    def _leave(self) -> None:
        with self._changed:
            self._busy = False
            self._changed.notify_all()


class _Open(WriteGate):
    """No gate: the database takes concurrent writers itself."""

    @contextlib.contextmanager
    def urgent(self) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def background(self) -> Iterator[None]:
        yield


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
            gate = _gates[engine] = WriteGate()
        return gate
