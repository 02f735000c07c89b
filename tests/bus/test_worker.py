"""The worker: acks what its handler finishes, naks what fails (dead letters after the maximum),
stops without answering unfinished work, and shares a consumer with other workers safely."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine

from tests.helpers import wait_for
from watchkeeper.bus.base import Delivery
from watchkeeper.bus.events import Event
from watchkeeper.bus.outbox import OutboxBus
from watchkeeper.bus.worker import Handler, Worker


@contextmanager
def running(worker: Worker) -> Iterator[threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()


def test_a_poison_event_is_dead_lettered_after_max_deliver_and_the_rest_flow(
    bus: OutboxBus, caplog: pytest.LogCaptureFixture
) -> None:
    consumer = bus.consumer("parser", max_deliver=3)
    seen: list[str] = []

    def handler(delivery: Delivery) -> None:
        seen.append(delivery.event.id)
        if delivery.event.id == "poison":
            raise ValueError("cannot parse payload\nsecond line of detail")

    bus.publish(Event(id="poison", subject="test.work"))
    bus.publish(Event(id="good", subject="test.work"))
    with caplog.at_level(logging.WARNING, "watchkeeper.bus"), running(Worker(consumer, handler, backoff_s=0)):
        assert wait_for(lambda: bus.dead_letters() and bus.depth("parser") == 0, timeout=20)
    assert seen.count("poison") == 3 and seen.count("good") == 1
    (dead,) = bus.dead_letters()
    assert (dead.event.id, dead.attempts, dead.error) == ("poison", 3, "ValueError: cannot parse payload")
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert [m.split("(", 1)[1] for m in failures] == [
        f"delivery {n} of 3): ValueError: cannot parse payload" for n in (1, 2, 3)
    ]
    assert all(r.exc_info is None for r in caplog.records)  # one line each, no traceback
    stats = bus.stats().consumers["parser"]
    assert (stats.acked, stats.nakked, stats.dead_lettered) == (1, 2, 1)


def test_on_stop_the_running_handler_finishes_and_fetched_work_waits_for_redelivery(bus: OutboxBus) -> None:
    consumer = bus.consumer("stopping", ack_wait_s=0.5)
    started, release = threading.Event(), threading.Event()
    handled: list[str] = []

    def handler(delivery: Delivery) -> None:
        started.set()
        release.wait(30)
        handled.append(delivery.event.id)

    for n in range(3):
        bus.publish(Event(id=f"e{n}", subject="test.work"))
    stop = threading.Event()
    thread = threading.Thread(target=Worker(consumer, handler, batch=3).run, args=(stop,), daemon=True)
    thread.start()
    assert started.wait(10)
    stop.set()
    release.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert handled == ["e0"]  # finished, so acked; e1 and e2 were fetched but never started
    assert bus.depth("stopping") == 2
    later: list[str] = []
    assert wait_for(lambda: later.extend(d.event.id for d in consumer.fetch(10, timeout_s=0)) or later, timeout=10)
    assert sorted(later) == ["e1", "e2"]


def test_two_workers_on_one_durable_consumer_handle_each_event_exactly_once(bus: OutboxBus, engine: Engine) -> None:
    # Two buses over one database, as two processes would have; a long ack wait so nothing is redelivered.
    buses = [bus, OutboxBus(engine)]
    consumers = [b.consumer("shared", "test.*", ack_wait_s=120) for b in buses]
    lock = threading.Lock()
    handled: list[tuple[int, str]] = []

    def handler_for(worker: int) -> Handler:
        def handle(delivery: Delivery) -> None:
            with lock:
                handled.append((worker, delivery.event.id))

        return handle

    ids = [f"e{n:03d}" for n in range(120)]
    with running(Worker(consumers[0], handler_for(0), batch=4)), running(Worker(consumers[1], handler_for(1), batch=4)):
        for event_id in ids:
            bus.publish(Event(id=event_id, subject="test.work"))
        assert wait_for(lambda: bus.depth("shared") == 0, timeout=60)
    assert sorted(event_id for _, event_id in handled) == ids  # each once: never both, never lost
    total = sum(b.stats().consumers["shared"].acked for b in buses if "shared" in b.stats().consumers)
    assert total == len(ids)


def test_a_worker_rides_out_a_store_failure_and_carries_on(bus: OutboxBus, caplog: pytest.LogCaptureFixture) -> None:
    consumer = bus.consumer("steady")
    handled: list[str] = []
    with bus.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE bus_pending RENAME TO bus_pending_away")
    with (
        caplog.at_level(logging.WARNING, "watchkeeper.bus"),
        running(Worker(consumer, lambda d: handled.append(d.event.id), backoff_s=0.05)),
    ):
        assert wait_for(lambda: any("cannot fetch" in r.getMessage() for r in caplog.records), timeout=10)
        with bus.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE bus_pending_away RENAME TO bus_pending")
        bus.publish(Event(id="after", subject="test.work"))
        assert wait_for(lambda: handled == ["after"] and bus.depth("steady") == 0, timeout=10)
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in caplog.records)
