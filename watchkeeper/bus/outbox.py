"""The in-process bus: an outbox in the app's own database (SQLite or PostgreSQL).

Publishing inserts the event, and one pending row for each durable consumer whose filter matches
it, in the caller's transaction when it passes one: the event exists exactly when the change that
caused it does, and a crash at any point loses nothing. Creating the pending rows at publish time
(rather than having consumers read forward from a cursor) is what makes that safe: a cursor could
step past an event whose transaction commits late, and lose it.

A fetch claims due pending rows in one statement that moves their deadline to now + ack_wait and
counts the delivery. On PostgreSQL it picks them with FOR UPDATE SKIP LOCKED, so concurrent
fetchers take different rows without waiting; on SQLite a transaction whose first statement writes
takes the database's write lock before it reads, so fetchers in any process take turns (as the
ledger's appends do). An ack deletes the row; a row whose deadline passes unanswered is simply due
again (a redelivery); one that has had max_deliver deliveries moves to the dead letters instead.
Every answer names the delivery it answers (the row's delivery count), so a late answer for an
event already handed out again changes nothing.

On SQLite a caller publishing in its own transaction should write before it reads there (as the
ledger does): a transaction that read first cannot always take the write lock later and fails with
"database is locked".
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, Text, and_, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from watchkeeper.bus.base import ConsumerConfig, DeadLetter
from watchkeeper.bus.events import Event
from watchkeeper.bus.stats import BusStats, Counters
from watchkeeper.bus.subjects import matches
from watchkeeper.store.models import BusConsumer, BusDeadLetter, BusEvent, BusPending

EVENTS = cast(Table, BusEvent.__table__)
CONSUMERS = cast(Table, BusConsumer.__table__)
PENDING = cast(Table, BusPending.__table__)
DEAD = cast(Table, BusDeadLetter.__table__)
# Built once: building SQLAlchemy statements costs more than running these on SQLite.
_READ_CONSUMERS = select(CONSUMERS.c.name, CONSUMERS.c.filter_subject)
_READ_EVENTS = select(EVENTS).where(EVENTS.c.seq.in_(bindparam("seqs", expanding=True)))
_INSERT_PENDING = insert(PENDING)
_INSERT_DEAD = insert(DEAD)


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(ts: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything the bus writes is UTC.
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _event(row: Any) -> Event:
    return Event(
        id=row.event_id, subject=row.subject, data=json.loads(row.data_json), published_at=_utc(row.published_at)
    )


class OutboxBus:
    """The `Bus` over `engine` (already migrated). Several instances, in one process or many, may
    share one database and one consumer name: each pending event goes to one of them at a time."""

    def __init__(self, engine: Engine, poll_s: float = 0.05) -> None:
        self.engine = engine
        self.poll_s = poll_s  # how often an idle fetch looks again for events from other processes
        self.counters = Counters()
        self._postgres = engine.dialect.name == "postgresql"
        dialect = postgresql if self._postgres else sqlite
        self._insert_event = (
            dialect.insert(EVENTS)
            .on_conflict_do_nothing(index_elements=[EVENTS.c.event_id])
            .returning(EVENTS.c.event_id, EVENTS.c.seq)
        )
        upsert = dialect.insert(CONSUMERS)
        self._upsert_consumer = upsert.on_conflict_do_update(
            index_elements=[CONSUMERS.c.name],
            set_={c: upsert.excluded[c] for c in ("filter_subject", "ack_wait_s", "max_deliver")},
        )
        # Fetchers waiting in this process wake when it publishes; other processes' events are polled for.
        self._published = threading.Condition()
        self._generation = 0

    # -- publishing -------------------------------------------------------------------------

    def publish(self, event: Event, *, conn: Connection | None = None) -> bool:
        return self.publish_all([event], conn=conn)[0]

    def publish_all(self, events: Sequence[Event], *, conn: Connection | None = None) -> list[bool]:
        if conn is not None:
            new = self._store(conn, events)
        else:
            with self.engine.begin() as own:
                new = self._store(own, events)
            if any(new):
                with self._published:
                    self._generation += 1
                    self._published.notify_all()
        for each in new:
            self.counters.published(each)
        return new

    def _store(self, conn: Connection, events: Sequence[Event]) -> list[bool]:
        if not events:
            return []
        # The insert comes first: on SQLite a transaction that writes first holds the write lock throughout.
        rows = [
            {
                "event_id": e.id,
                "subject": e.subject,
                "data_json": json.dumps(e.data, ensure_ascii=False, separators=(",", ":")),
                "published_at": e.published_at,
            }
            for e in events
        ]
        # A duplicate id inserts nothing and returns no row: the new ones are told apart by their ids
        # (an id given twice here is new once, the first time).
        stored: dict[str, int] = {i: seq for i, seq in conn.execute(self._insert_event, rows)}
        first = {e.id: i for i, e in reversed(list(enumerate(events)))}
        new = [e.id in stored and first[e.id] == i for i, e in enumerate(events)]
        consumers = [(n, f) for n, f in conn.execute(_READ_CONSUMERS)] if any(new) else []
        now = _now()
        pending = [
            {"consumer": name, "event_seq": stored[e.id], "attempts": 0, "deliver_after": now, "last_error": None}
            for e, is_new in zip(events, new, strict=True)
            if is_new
            for name, subjects in consumers
            if matches(subjects, e.subject)
        ]
        if pending:
            conn.execute(_INSERT_PENDING, pending)
        return new

    # -- consuming ----------------------------------------------------------------------------

    def consumer(
        self, name: str, filter_subject: str = ">", *, ack_wait_s: float = 30.0, max_deliver: int = 5
    ) -> OutboxConsumer:
        config = ConsumerConfig(name, filter_subject, ack_wait_s, max_deliver)
        with self.engine.begin() as conn:
            conn.execute(
                self._upsert_consumer,
                {
                    "name": name,
                    "filter_subject": filter_subject,
                    "ack_wait_s": ack_wait_s,
                    "max_deliver": max_deliver,
                    "created_at": _now(),
                },
            )
        return OutboxConsumer(self, config)

    @contextlib.contextmanager
    def bookkeeping(self) -> Iterator[Connection]:
        """A transaction that only moves deliveries along (claims, answers). On PostgreSQL it does not
        wait for its commit to reach the disk: a crash of the host can lose the last few, which only
        means redeliveries, as at-least-once allows (SQLite, with synchronous=NORMAL, never waits)."""
        with self.engine.begin() as conn:
            if self._postgres:
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield conn

    def _wait(self, generation: int, timeout_s: float) -> None:
        with self._published:
            if self._generation == generation:
                self._published.wait(timeout_s)

    # -- reading ------------------------------------------------------------------------------

    def depth(self, consumer: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(PENDING.c.consumer == consumer)).scalar_one())

    def depths(self) -> dict[str, int]:
        waiting = select(PENDING.c.consumer, func.count().label("n")).group_by(PENDING.c.consumer).subquery()
        query = select(CONSUMERS.c.name, func.coalesce(waiting.c.n, 0)).outerjoin(
            waiting, waiting.c.consumer == CONSUMERS.c.name
        )
        with self.engine.connect() as conn:
            return {name: int(n) for name, n in conn.execute(query)}

    def dead_letters(self, consumer: str | None = None, limit: int = 100) -> list[DeadLetter]:
        query = (
            select(DEAD.c.consumer, DEAD.c.attempts, DEAD.c.error, DEAD.c.dead_at, *EVENTS.c)
            .join(EVENTS, EVENTS.c.seq == DEAD.c.event_seq)
            .order_by(DEAD.c.id.desc())
            .limit(limit)
        )
        if consumer is not None:
            query = query.where(DEAD.c.consumer == consumer)
        with self.engine.connect() as conn:
            return [
                DeadLetter(_event(r), r.consumer, r.attempts, r.error, _utc(r.dead_at)) for r in conn.execute(query)
            ]

    def stats(self) -> BusStats:
        return self.counters.snapshot()

    def prune(self, older_than: timedelta) -> int:
        """Delete events published before now - `older_than` that no consumer still owes or holds as
        a dead letter; returns how many. Their ids may then be published again (the dedupe window)."""
        held = exists().where(PENDING.c.event_seq == EVENTS.c.seq)
        dead = exists().where(DEAD.c.event_seq == EVENTS.c.seq)
        with self.engine.begin() as conn:
            done = conn.execute(delete(EVENTS).where(EVENTS.c.published_at < _now() - older_than, ~held, ~dead))
        return int(done.rowcount)


class OutboxConsumer:
    def __init__(self, bus: OutboxBus, config: ConsumerConfig) -> None:
        self.bus = bus
        self.config = config
        mine = PENDING.c.consumer == config.name
        due = and_(mine, PENDING.c.deliver_after <= bindparam("now"))
        # In event order, so both walk the primary key and stop early however long the backlog.
        self._peek = select(PENDING.c.event_seq).where(due).order_by(PENDING.c.event_seq).limit(1)
        picked = (
            select(PENDING.c.event_seq)
            .where(due)
            .order_by(PENDING.c.event_seq)
            .limit(bindparam("batch"))
            .with_for_update(skip_locked=True)
            .cte("picked")
            # Picked once: as a subquery inside the UPDATE, PostgreSQL claimed every due row for a batch of one.
            .prefix_with("MATERIALIZED")
        )
        # Claims what is due, out-of-deliveries rows included: those come back over max_deliver and are buried.
        self._claim = (
            update(PENDING)
            .where(mine, PENDING.c.event_seq.in_(select(picked.c.event_seq)))
            .values(attempts=PENDING.c.attempts + 1, deliver_after=bindparam("deadline"))
            .returning(PENDING.c.event_seq, PENDING.c.attempts, PENDING.c.last_error)
        )
        self._forget_all = delete(PENDING).where(mine, PENDING.c.event_seq.in_(bindparam("seqs", expanding=True)))
        # One delivery: the row's delivery count names it, so an answer to an older delivery matches nothing.
        delivery = and_(mine, PENDING.c.event_seq == bindparam("d_seq"), PENDING.c.attempts == bindparam("d_attempt"))
        self._forget = delete(PENDING).where(delivery)
        # A nak without a reason keeps the last one given.
        reason = func.coalesce(bindparam("d_reason", type_=Text), PENDING.c.last_error)
        self._postpone = update(PENDING).where(delivery).values(deliver_after=bindparam("d_after"), last_error=reason)
        self._extend = update(PENDING).where(delivery).values(deliver_after=bindparam("d_after"))

    def fetch(self, batch: int = 1, timeout_s: float = 5.0) -> list[OutboxDelivery]:
        deadline = time.monotonic() + timeout_s
        while True:
            generation = self.bus._generation
            got = self._fetch_now(batch)
            left = deadline - time.monotonic()
            if got or left <= 0:
                return got
            self.bus._wait(generation, min(self.bus.poll_s, left))

    def _fetch_now(self, batch: int) -> list[OutboxDelivery]:
        now = _now()
        name, max_deliver = self.config.name, self.config.max_deliver
        events: dict[int, Event] = {}
        with self.bus.bookkeeping() as conn:
            # On SQLite a read first, so an idle consumer's polls do not take the write lock each time.
            if not self.bus._postgres and conn.execute(self._peek, {"now": now}).first() is None:
                return []
            deadline = now + timedelta(seconds=self.config.ack_wait_s)
            rows = conn.execute(self._claim, {"now": now, "batch": batch, "deadline": deadline}).all()
            claimed = sorted((seq, attempt) for seq, attempt, _ in rows if attempt <= max_deliver)
            if spent := [(seq, attempt - 1, last) for seq, attempt, last in rows if attempt > max_deliver]:
                self._bury_spent(conn, spent, now)
            if claimed:
                events = {r.seq: _event(r) for r in conn.execute(_READ_EVENTS, {"seqs": [seq for seq, _ in claimed]})}
        if spent:
            self.bus.counters.add(name, "dead_lettered", len(spent))
        if claimed:
            self.bus.counters.add(name, "delivered", len(claimed))
        if again := sum(attempt > 1 for _, attempt in claimed):
            self.bus.counters.add(name, "redelivered", again)
        return [OutboxDelivery(self, seq, events[seq], attempt) for seq, attempt in claimed]

    def _bury_spent(self, conn: Connection, spent: Sequence[tuple[int, int, str | None]], now: datetime) -> None:
        """Dead-letter the events whose last delivery went unanswered for the whole ack wait."""
        conn.execute(self._forget_all, {"seqs": [seq for seq, _, _ in spent]})
        wait = f"no answer within the ack wait ({self.config.ack_wait_s:g} s)"
        self._bury(conn, [(seq, n, f"{wait}; last error: {last}" if last else wait) for seq, n, last in spent], now)

    def _bury(self, conn: Connection, rows: Sequence[tuple[int, int, str]], now: datetime) -> None:
        dead = [
            {"consumer": self.config.name, "event_seq": s, "attempts": n, "error": e, "dead_at": now}
            for s, n, e in rows
        ]
        conn.execute(_INSERT_DEAD, dead)


class OutboxDelivery:
    def __init__(self, consumer: OutboxConsumer, seq: int, event: Event, attempt: int) -> None:
        self._consumer = consumer
        self._seq = seq
        self.event = event
        self.attempt = attempt
        self._answered = False
        self._mine = {"d_seq": seq, "d_attempt": attempt}

    def __repr__(self) -> str:
        return f"<delivery {self.attempt} of {self.event.subject} {self.event.id} to {self._consumer.config.name}>"

    def ack(self) -> bool:
        return self._answer(lambda conn: self._change(conn, self._consumer._forget), "acked")

    def nak(self, delay_s: float = 0.0, reason: str | None = None) -> bool:
        if self.attempt >= self._consumer.config.max_deliver:
            return self.term(reason or f"nak on the last of {self.attempt} deliveries")
        after = _now() + timedelta(seconds=delay_s)
        postpone = self._consumer._postpone
        return self._answer(lambda conn: self._change(conn, postpone, d_after=after, d_reason=reason), "nakked")

    def in_progress(self) -> bool:
        if self._answered:
            return False
        deadline = _now() + timedelta(seconds=self._consumer.config.ack_wait_s)
        with self._consumer.bus.bookkeeping() as conn:
            return self._change(conn, self._consumer._extend, d_after=deadline)

    def term(self, reason: str) -> bool:
        def bury(conn: Connection) -> bool:
            gone = self._change(conn, self._consumer._forget)
            if gone:
                self._consumer._bury(conn, [(self._seq, self.attempt, reason)], _now())
            return gone

        return self._answer(bury, "dead_lettered")

    def _change(self, conn: Connection, statement: Executable, **values: Any) -> bool:
        return bool(conn.execute(statement, {**self._mine, **values}).rowcount == 1)

    def _answer(self, change: Callable[[Connection], bool], counter: str) -> bool:
        if self._answered:
            return False
        with self._consumer.bus.bookkeeping() as conn:
            done = change(conn)
        self._answered = True
        if done:
            self._consumer.bus.counters.add(self._consumer.config.name, counter)
        return done
