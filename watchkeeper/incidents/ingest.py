"""Receive a sender's delivery: check its shape, store it with its bus event in one transaction, answer.

Nothing is processed here: the sender (Alertmanager retries a 5xx, never a 4xx) is answered as soon
as the delivery is durable, and the assigner takes it from the bus. A delivery of the wrong shape is
kept too, as rejected, so nothing a sender posted is lost without a trace.

Deliveries that arrive while another is being written are written together in the next transaction
(group commit): in a storm, eight senders' posts take one pass through the write gate and one commit,
not eight, and each is still answered only once its own row is durable.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Engine, Table, insert
from sqlalchemy.exc import SQLAlchemyError

from watchkeeper.alerts.errors import PayloadError
from watchkeeper.alerts.model import Source
from watchkeeper.alerts.normalise import normalise, parse
from watchkeeper.errors import StoreError
from watchkeeper.incidents.events import AlertsReceived
from watchkeeper.store.db import synced
from watchkeeper.store.gate import write_gate
from watchkeeper.store.models import AlertDelivery

if TYPE_CHECKING:
    from watchkeeper.app import App
    from watchkeeper.bus.base import Bus

DELIVERIES = cast(Table, AlertDelivery.__table__)
_STORE = insert(DELIVERIES).returning(DELIVERIES.c.id, sort_by_parameter_order=True)
MAX_GROUP = 64  # deliveries in one transaction: a bound on how long the first of them waits


@dataclass(frozen=True)
class Accepted:
    delivery_id: int
    alerts: int
    truncated: int


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("body", f"not UTF-8 text (byte {exc.start})") from None


def accept(app: App, source: Source, raw: bytes, sender: str) -> Accepted:
    """Store a delivery for processing; PayloadError (kept as rejected) or StoreError (nothing kept: retry)."""
    now = datetime.now(UTC)
    try:
        text = _text(raw)
        batch = normalise(source, parse(text))
    except PayloadError as exc:
        _reject(app, source, raw, sender, str(exc), now)
        raise
    row = {
        "source": source,
        "received_at": now,
        "sender": sender,
        "body": text,
        "alert_count": len(batch.alerts),
        "status": "accepted",
        "error": None,
    }
    delivery_id = _committer(app).store(row)
    return Accepted(delivery_id, len(batch.alerts), batch.truncated)


@dataclass
class _Waiting:
    row: dict[str, Any]
    outcome: int | StoreError | None = None

    def result(self) -> int:
        if isinstance(self.outcome, StoreError):
            raise self.outcome
        assert self.outcome is not None
        return self.outcome


@dataclass
class _GroupCommit:
    """The deliveries that queue while one transaction is written go in the next, written by the first
    of them to get its turn (leader and followers, as a database's group commit)."""

    engine: Engine
    bus: Bus
    _turn: threading.Condition = field(default_factory=threading.Condition)
    _queue: list[_Waiting] = field(default_factory=list)
    _writing: bool = False

    def store(self, row: dict[str, Any]) -> int:
        mine = _Waiting(row)
        with self._turn:
            self._queue.append(mine)
        while True:  # a leader writes the oldest MAX_GROUP: with more queued, this one may wait for a later turn
            with self._turn:
                while self._writing and mine.outcome is None:
                    self._turn.wait()
                if mine.outcome is not None:
                    return mine.result()
                self._writing = True
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
            self._lead(group)

    def _lead(self, group: list[_Waiting]) -> None:
        outcomes: list[int | StoreError] = [
            StoreError("the delivery cannot be stored: its writer failed") for _ in group
        ]
        try:
            outcomes = self._write(group)
        finally:
            with self._turn:
                for waiting, outcome in zip(group, outcomes, strict=True):
                    waiting.outcome = outcome
                self._writing = False
                self._turn.notify_all()

    def _write(self, group: list[_Waiting]) -> list[int | StoreError]:
        try:
            # First through this process's write gate: a sender waits for this answer, the assigner for nothing.
            # Synced: a sender answered 2xx forgets the alert, so it must outlive a crash of the host too.
            with write_gate(self.engine).urgent(), synced(self.engine) as conn:
                ids = [int(i) for i in conn.execute(_STORE, [w.row for w in group]).scalars()]
                received = [AlertsReceived(delivery_id=i).to_event(id=f"alert.received:{i}") for i in ids]
                self.bus.publish_all(received, conn=conn)
            return list(ids)
        except SQLAlchemyError as exc:
            if len(group) > 1:  # one row the database refuses must not refuse the others with it
                return [outcome for w in group for outcome in self._write([w])]
            return [StoreError(f"the delivery cannot be stored: {_first_line(exc)}")]


_committers: weakref.WeakKeyDictionary[App, _GroupCommit] = weakref.WeakKeyDictionary()
_committers_lock = threading.Lock()


def _committer(app: App) -> _GroupCommit:
    with _committers_lock:
        committer = _committers.get(app)
        if committer is None:
            committer = _committers[app] = _GroupCommit(app.engine, app.bus)
        return committer


def _reject(app: App, source: str, raw: bytes, sender: str, error: str, now: datetime) -> None:
    row = {
        "source": source,
        "received_at": now,
        "sender": sender,
        "body": raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),  # PostgreSQL keeps no NUL
        "alert_count": 0,
        "status": "rejected",
        "error": error,
    }
    try:
        with app.engine.begin() as conn:
            conn.execute(insert(DELIVERIES), row)
    except SQLAlchemyError:
        pass  # the sender still hears why; a store that is down has its own alarms (/readyz)


def _first_line(exc: BaseException) -> str:
    return (str(getattr(exc, "orig", None) or exc).splitlines() or [""])[0]
