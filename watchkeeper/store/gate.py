"""A write gate in front of SQLite's single writer, so a sender waiting for its answer goes first.

SQLite lets one transaction write at a time. A connection that finds the write lock taken sleeps in
SQLite's busy handler in growing steps (up to 100 ms each), however soon the lock is free again: a
webhook ingest queued behind the assigner's transactions then waits for seconds in a storm. Writers
of one process that pass this gate first queue on a Python lock instead and go in the moment it is
free; an `urgent` writer (an ingest: the sender waits for the answer) goes before a `background`
one (the assigner), which waits until none is waiting or writing, for at most `max_defer_s` so that
a steady stream of posts cannot keep incidents from opening. Writers that do not pass the gate still meet at
SQLite's lock, as before. PostgreSQL locks rows, not the database: there the gate is open.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator

from sqlalchemy import Engine


class WriteGate:
    def __init__(self, max_defer_s: float = 0.25) -> None:
        self.max_defer_s = max_defer_s
        self._gate = threading.Lock()  # a plain lock wakes one waiter when it is let go, not every one
        self._count = threading.Lock()
        self._urgent = 0  # urgent writers waiting or inside
        self._no_urgent = threading.Event()
        self._no_urgent.set()

    @contextlib.contextmanager
    def urgent(self) -> Iterator[None]:
        with self._count:
            self._urgent += 1
            self._no_urgent.clear()
        try:
            with self._gate:
                yield
        finally:
            with self._count:
                self._urgent -= 1
                if not self._urgent:
                    self._no_urgent.set()

    @contextlib.contextmanager
    def background(self) -> Iterator[None]:
        self._no_urgent.wait(self.max_defer_s)
        with self._gate:
            yield


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
