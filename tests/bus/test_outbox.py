"""The outbox bus on SQLite and PostgreSQL: delivery, acks, redelivery, dead letters, the outbox itself."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

from tests.helpers import wait_for
from watchkeeper.bus import open_bus
from watchkeeper.bus.base import Consumer, Delivery
from watchkeeper.bus.events import Event
from watchkeeper.bus.outbox import OutboxBus, OutboxDelivery
from watchkeeper.store.models import User

USERS = User.__table__


def fetch_one(consumer: Consumer) -> Delivery:
    got = consumer.fetch(10, timeout_s=5)
    assert len(got) == 1, got
    return got[0]


def test_a_published_event_is_delivered_once_and_gone_when_acked(engine: Engine) -> None:
    bus = open_bus(engine)
    consumer = bus.consumer("investigator", "incident.*")
    event = Event(subject="incident.opened", data={"incident_id": 7, "title": "磁盘已满 disk full"})
    assert bus.publish(event) is True
    delivery = fetch_one(consumer)
    assert delivery.event == event
    assert delivery.attempt == 1
    assert bus.depth("investigator") == 1
    assert consumer.fetch(10, timeout_s=0) == []  # in flight: nobody else gets it meanwhile
    assert delivery.ack() is True
    assert bus.depth("investigator") == 0
    assert delivery.ack() is False  # answered already
    assert consumer.fetch(10, timeout_s=0) == []
    stats = bus.stats()
    assert (stats.published, stats.consumers["investigator"].delivered, stats.consumers["investigator"].acked) == (
        1,
        1,
        1,
    )


def test_a_batch_comes_in_publishing_order(bus: OutboxBus) -> None:
    consumer = bus.consumer("reader")
    ids = [Event(subject="test.seq", data={"n": n}).id for n in range(5)]
    for n, event_id in enumerate(ids):
        bus.publish(Event(id=event_id, subject="test.seq", data={"n": n}))
    assert [d.event.id for d in consumer.fetch(10, timeout_s=0)] == ids


def test_a_fetch_takes_no_more_than_its_batch(bus: OutboxBus) -> None:
    # On PostgreSQL the claim's LIMIT inside the UPDATE once took two rows for a batch of one: the extra
    # delivery then sat unworked behind the first until its ack wait ran out.
    consumer = bus.consumer("reader")
    ids = [bus.publish(e) and e.id for e in (Event(subject="test.seq", data={"n": n}) for n in range(5))]
    got = [[d.event.id for d in consumer.fetch(batch, timeout_s=0)] for batch in (1, 1, 2, 10)]
    assert got == [ids[:1], ids[1:2], ids[2:4], ids[4:]]


def test_subject_filters_select_what_each_consumer_gets(bus: OutboxBus) -> None:
    consumers = {
        "incidents": bus.consumer("incidents", "incident.*"),
        "alerts": bus.consumer("alerts", "alert.>"),
        "everything": bus.consumer("everything"),
    }
    for subject in ("incident.opened", "alert.received.alertmanager", "alert", "incident.opened.late"):
        bus.publish(Event(subject=subject))
    got = {name: sorted(d.event.subject for d in c.fetch(10, timeout_s=0)) for name, c in consumers.items()}
    assert got == {
        "incidents": ["incident.opened"],
        "alerts": ["alert.received.alertmanager"],
        "everything": ["alert", "alert.received.alertmanager", "incident.opened", "incident.opened.late"],
    }


def test_a_consumer_gets_the_events_published_after_it_was_created(bus: OutboxBus) -> None:
    bus.publish(Event(subject="test.before"))
    consumer = bus.consumer("late")
    bus.publish(Event(subject="test.after"))
    assert [d.event.subject for d in consumer.fetch(10, timeout_s=0)] == ["test.after"]


def test_a_consumer_is_durable_by_name_and_a_new_call_updates_its_settings(bus: OutboxBus, engine: Engine) -> None:
    bus.consumer("durable", "test.*", max_deliver=2)
    bus.publish(Event(subject="test.kept"))
    again = OutboxBus(engine).consumer("durable", "test.*", max_deliver=7)
    assert again.config.max_deliver == 7
    assert [d.event.subject for d in again.fetch(10, timeout_s=0)] == ["test.kept"]


def test_an_unacked_delivery_is_redelivered_after_the_ack_wait(bus: OutboxBus) -> None:
    consumer = bus.consumer("slow", ack_wait_s=0.5)
    bus.publish(Event(id="e1", subject="test.work"))
    first = fetch_one(consumer)  # and then the handler dies without answering
    redelivered: list[OutboxDelivery] = []
    assert wait_for(lambda: redelivered.extend(consumer.fetch(10, timeout_s=0)) or redelivered, timeout=10)
    (second,) = redelivered
    assert (second.event.id, second.attempt) == ("e1", 2)
    assert first.ack() is False  # too late: the event is out again, this ack is not counted
    assert second.ack() is True
    assert bus.depth("slow") == 0
    assert bus.stats().consumers["slow"].redelivered == 1


def test_a_nak_redelivers_now_or_after_its_delay(bus: OutboxBus) -> None:
    consumer = bus.consumer("retry")
    bus.publish(Event(id="e1", subject="test.work"))
    assert fetch_one(consumer).nak() is True
    again = fetch_one(consumer)
    assert again.attempt == 2
    assert again.nak(delay_s=60) is True
    assert consumer.fetch(10, timeout_s=0) == []  # backing off
    assert bus.depth("retry") == 1
    assert bus.stats().consumers["retry"].nakked == 2


def test_in_progress_moves_the_ack_deadline(bus: OutboxBus, engine: Engine) -> None:
    consumer = bus.consumer("long", ack_wait_s=2)
    other = OutboxBus(engine).consumer("long", ack_wait_s=2)  # another worker, ready to take it over
    bus.publish(Event(id="e1", subject="test.work"))
    t0 = time.monotonic()
    delivery = fetch_one(consumer)
    time.sleep(max(0.0, t0 + 1.5 - time.monotonic()))
    assert delivery.in_progress() is True  # the deadline is now about t0 + 3.5
    time.sleep(max(0.0, t0 + 2.5 - time.monotonic()))  # past the first deadline
    assert other.fetch(10, timeout_s=0) == []
    taken: list[OutboxDelivery] = []
    assert wait_for(lambda: taken.extend(other.fetch(10, timeout_s=0)) or taken, timeout=10)  # extended, not forever
    assert taken[0].attempt == 2
    assert delivery.in_progress() is False  # it is someone else's now


def test_a_duplicate_publish_is_handled_once(bus: OutboxBus) -> None:
    consumer = bus.consumer("once")
    event = Event(id="alertmanager:abc123:2026-01-01T00:00:00Z", subject="alert.received")
    assert bus.publish(event) is True
    assert bus.publish(event) is False
    assert bus.publish(Event(id=event.id, subject="alert.received", data={"retried": True})) is False
    first = fetch_one(consumer)
    assert first.ack() is True
    assert bus.publish(event) is False  # still a duplicate after it was handled
    assert consumer.fetch(10, timeout_s=0) == []
    assert (bus.stats().published, bus.stats().duplicates) == (1, 3)


def test_publish_all_stores_new_events_in_order_and_tells_each_duplicate(bus: OutboxBus, engine: Engine) -> None:
    consumers = {"alerts": bus.consumer("alerts", "alert.>"), "everything": bus.consumer("everything")}
    old = Event(id="alert.received:1", subject="alert.received")
    assert bus.publish(old) is True
    batch = [
        Event(id="alert.received:2", subject="alert.received"),
        old,  # published before: a duplicate
        Event(id="incident.opened:9", subject="incident.opened"),
        Event(id="alert.received:2", subject="alert.received"),  # twice in one call: new once
    ]
    with engine.begin() as conn:
        assert bus.publish_all(batch, conn=conn) == [True, False, True, False]
    got = {name: [d.event.id for d in c.fetch(10, timeout_s=0)] for name, c in consumers.items()}
    assert got == {
        "alerts": ["alert.received:1", "alert.received:2"],
        "everything": ["alert.received:1", "alert.received:2", "incident.opened:9"],
    }
    assert (bus.stats().published, bus.stats().duplicates) == (3, 2)
    assert bus.publish_all([]) == []


def test_term_dead_letters_now_with_its_reason(bus: OutboxBus) -> None:
    consumer = bus.consumer("strict", max_deliver=5)
    bus.publish(Event(id="bad", subject="test.work", data={"x": 1}))
    assert fetch_one(consumer).term("schema v1 is no longer read") is True
    assert consumer.fetch(10, timeout_s=0) == []
    (dead,) = bus.dead_letters("strict")
    assert (dead.event.id, dead.event.data, dead.consumer, dead.attempts) == ("bad", {"x": 1}, "strict", 1)
    assert dead.error == "schema v1 is no longer read"
    assert bus.depth("strict") == 0


def test_an_event_out_of_deliveries_is_dead_lettered_with_the_last_error(bus: OutboxBus) -> None:
    consumer = bus.consumer("fragile", ack_wait_s=0.3, max_deliver=3)
    bus.publish(Event(id="e1", subject="test.work"))
    assert fetch_one(consumer).nak(reason="ConnectionError: upstream down") is True
    assert fetch_one(consumer).nak() is True  # no reason: the last one given stays
    fetch_one(consumer)  # the last delivery, never answered
    assert wait_for(lambda: consumer.fetch(10, timeout_s=0) == [] and bus.dead_letters(), timeout=10)
    (dead,) = bus.dead_letters()
    assert dead.attempts == 3
    assert dead.error == "no answer within the ack wait (0.3 s); last error: ConnectionError: upstream down"
    assert bus.depth("fragile") == 0
    assert bus.stats().consumers["fragile"].dead_lettered == 1


def test_a_nak_on_the_last_delivery_dead_letters_it(bus: OutboxBus) -> None:
    consumer = bus.consumer("one_shot", max_deliver=1)
    bus.publish(Event(id="e1", subject="test.work"))
    assert fetch_one(consumer).nak(reason="KeyError: 'host'") is True
    assert [(d.event.id, d.attempts, d.error) for d in bus.dead_letters()] == [("e1", 1, "KeyError: 'host'")]
    assert consumer.fetch(10, timeout_s=0) == []


def test_an_event_in_a_rolled_back_transaction_is_never_delivered(bus: OutboxBus, engine: Engine) -> None:
    consumer = bus.consumer("outbox", "user.*")
    user = {"name": "ada", "role": "admin", "created_at": datetime.now(UTC)}
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(insert(USERS), user)
        assert bus.publish(Event(id="u1", subject="user.added", data={"name": "ada"}), conn=conn) is True
        raise RuntimeError("the change failed after the event was written")
    assert consumer.fetch(10, timeout_s=0.2) == []
    assert bus.depth("outbox") == 0
    with engine.begin() as conn:
        conn.execute(insert(USERS), user)
        assert bus.publish(Event(id="u1", subject="user.added", data={"name": "ada"}), conn=conn) is True
        assert consumer.fetch(10, timeout_s=0) == []  # not before the change commits
    assert fetch_one(consumer).event.data == {"name": "ada"}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(USERS)).scalar() == 1


def test_prune_forgets_old_handled_events_and_keeps_owed_and_dead_ones(bus: OutboxBus) -> None:
    consumer = bus.consumer("pruned", max_deliver=1)
    for event_id in ("handled", "owed", "dead"):
        bus.publish(Event(id=event_id, subject="test.work"))
    first, second, third = consumer.fetch(10, timeout_s=0)
    first.ack()
    third.term("poison")
    assert bus.prune(older_than=timedelta(0)) == 1
    assert bus.publish(Event(id="handled", subject="test.work")) is True  # outside the dedupe window now
    assert bus.publish(Event(id="owed", subject="test.work")) is False
    assert [d.event.id for d in bus.dead_letters()] == ["dead"]
    assert second.ack() is True


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ack_wait_s": 0}, "ack_wait_s must be positive"),
        ({"max_deliver": 0}, "max_deliver must be at least 1"),
        ({"filter_subject": "a.>.b"}, "invalid subject filter"),
    ],
)
def test_bad_consumer_settings_are_refused(bus: OutboxBus, settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bus.consumer("c", **settings)  # type: ignore[arg-type]
