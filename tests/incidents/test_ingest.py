"""Intake's group commit: posts that arrive while one is being written are written together, each is
answered with its own durable row, and a row the database refuses refuses no other."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, select

from tests.helpers import wait_for
from watchkeeper.app import App
from watchkeeper.errors import StoreError
from watchkeeper.incidents import ingest
from watchkeeper.incidents.events import AlertsReceived
from watchkeeper.incidents.ingest import DELIVERIES, accept


@contextlib.contextmanager
def deliveries_locked(core: App) -> Iterator[None]:
    """Another writer holds the deliveries table, as the assigner's transaction can."""
    url = core.engine.url
    if url.get_backend_name() == "sqlite":
        with contextlib.closing(sqlite3.connect(str(url.database), isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
    else:
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as conn:
            conn.execute("LOCK TABLE alert_deliveries IN SHARE ROW EXCLUSIVE MODE")
            yield
            conn.rollback()


def commits_counted(core: App) -> list[int]:
    commits: list[int] = []
    event.listen(core.engine, "commit", lambda _conn: commits.append(1))
    return commits


def in_threads(n: int, work: Callable[[int], Any]) -> tuple[list[threading.Thread], dict[int, Any]]:
    results: dict[int, Any] = {}

    def run(i: int) -> None:
        try:
            results[i] = work(i)
        except Exception as exc:  # the test looks at what each post got
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    return threads, results


def body(i: int) -> bytes:
    return json.dumps({"name": f"Alert{i}", "labels": {"instance": f"host-{i}"}}).encode()


def queued(core: App, n: int) -> Callable[[], bool]:
    return lambda: len(ingest._committer(core)._queue) == n


def test_posts_waiting_for_the_writer_go_in_one_transaction_each_with_its_own_row_and_event(core: App) -> None:
    committer, commits = ingest._committer(core), commits_counted(core)
    threads, results = in_threads(8, lambda i: accept(core, "generic", body(i), f"sender-{i}"))
    with deliveries_locked(core):
        threads[0].start()  # the first writes alone and waits for the lock
        assert wait_for(lambda: committer._writing and not committer._queue, timeout=30)
        for t in threads[1:]:
            t.start()
        assert wait_for(queued(core, 7), timeout=30)  # the other seven queue behind it
    for t in threads:
        t.join(timeout=60)
    ids = sorted(r.delivery_id for r in results.values())
    assert len(set(ids)) == 8 and all(r.alerts == 1 for r in results.values())
    assert len(commits) == 2  # one transaction for the first post, one for the seven behind it
    with core.engine.connect() as conn:
        stored = {r.id: r.sender for r in conn.execute(select(DELIVERIES.c.id, DELIVERIES.c.sender))}
    assert stored == {results[i].delivery_id: f"sender-{i}" for i in range(8)}
    for i in ids:  # each delivery's event was published with it: publishing it again adds nothing
        assert core.bus.publish(AlertsReceived(delivery_id=i).to_event(id=f"alert.received:{i}")) is False


def test_more_waiting_than_one_transaction_takes_are_written_in_turns_each_answered_once(
    core: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_GROUP", 2)
    committer, commits = ingest._committer(core), commits_counted(core)
    threads, results = in_threads(7, lambda i: accept(core, "generic", body(i), f"sender-{i}"))
    with deliveries_locked(core):
        threads[0].start()
        assert wait_for(lambda: committer._writing and not committer._queue, timeout=30)
        for n, t in enumerate(threads[1:], start=1):
            t.start()  # one by one, so that the queue's order is known
            assert wait_for(queued(core, n), timeout=30)
    for t in threads:
        t.join(timeout=60)
    assert len(commits) == 4  # the first alone, then the six behind it two at a time
    with core.engine.connect() as conn:
        stored = {r.id: r.sender for r in conn.execute(select(DELIVERIES.c.id, DELIVERIES.c.sender))}
    assert stored == {results[i].delivery_id: f"sender-{i}" for i in range(7)}


def test_a_row_the_database_refuses_refuses_no_other_in_its_group(core: App) -> None:
    committer = ingest._committer(core)
    good = {"source": "generic", "body": "{}", "alert_count": 1, "status": "accepted", "error": None}
    rows = [
        {**good, "received_at": datetime.now(UTC), "sender": "first"},
        {**good, "received_at": datetime.now(UTC), "sender": "before"},
        {**good, "received_at": datetime.now(UTC), "sender": "refused", "alert_count": None},  # NOT NULL
        {**good, "received_at": datetime.now(UTC), "sender": "after"},
    ]
    threads, results = in_threads(4, lambda i: committer.store(rows[i]))
    with deliveries_locked(core):
        threads[0].start()
        assert wait_for(lambda: committer._writing and not committer._queue, timeout=30)
        for n, t in enumerate(threads[1:], start=1):
            t.start()
            assert wait_for(queued(core, n), timeout=30)
    for t in threads:
        t.join(timeout=60)
    assert isinstance(results[2], StoreError) and "cannot be stored" in str(results[2])
    assert all(isinstance(results[i], int) for i in (0, 1, 3))
    with core.engine.connect() as conn:
        senders = sorted(r.sender for r in conn.execute(select(DELIVERIES.c.sender)))
    assert senders == ["after", "before", "first"]
