"""The bus as its users see it: publish events, pull them through durable consumers, answer each.

The vocabulary is NATS JetStream's (pull consumers with explicit acks), so a JetStream backend can
replace the in-process outbox without touching its users:

    publish(event) -> False: a duplicate    js.publish(subject, data, headers={"Nats-Msg-Id": id}).duplicate
    consumer(name, filter_subject, …)       js.pull_subscribe(filter_subject, durable=name,
                                                config=ConsumerConfig(ack_wait=…, max_deliver=…))
    consumer.fetch(batch, timeout_s)        psub.fetch(batch, timeout)  ([] here where nats-py raises a timeout)
    delivery.ack() / nak(delay_s)           msg.ack() / msg.nak(delay)
    delivery.in_progress() / term(reason)   msg.in_progress() / msg.term()
    delivery.attempt                        msg.metadata.num_delivered

`publish(event, conn=…)` writes the event in the caller's transaction: that is the outbox, and with
JetStream it stays (a relay forwards committed events, the event id keeping them single).

Delivery is at least once: a handler may see an event again (its ack was lost, or came after the
ack wait), so a handler makes its effect idempotent, keyed by `event.id`. Redeliveries carry no
ordering promise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from watchkeeper.bus.events import Event
from watchkeeper.bus.stats import BusStats
from watchkeeper.bus.subjects import check_filter, check_name


@dataclass(frozen=True)
class ConsumerConfig:
    """A durable consumer: it gets every event published after it was created whose subject matches
    `filter_subject`. An event not acked within `ack_wait_s` of a delivery is delivered again; after
    `max_deliver` deliveries it is dead-lettered instead."""

    name: str
    filter_subject: str = ">"
    ack_wait_s: float = 30.0
    max_deliver: int = 5

    def __post_init__(self) -> None:
        check_name(self.name)
        check_filter(self.filter_subject)
        if not self.ack_wait_s > 0:
            raise ValueError(f"consumer {self.name}: ack_wait_s must be positive, not {self.ack_wait_s}")
        if self.max_deliver < 1:
            raise ValueError(f"consumer {self.name}: max_deliver must be at least 1, not {self.max_deliver}")


class Delivery(Protocol):
    """One delivery of an event to a consumer. Answer it once: `ack`, `nak` or `term` (each returns
    False when the answer came too late to count: the delivery had expired and the event was handed
    out again, or it was already answered)."""

    @property
    def event(self) -> Event: ...

    @property
    def attempt(self) -> int:
        """1 for the first delivery of this event to this consumer, 2 for the first redelivery…"""
        ...

    def ack(self) -> bool:
        """Handled: never delivered to this consumer again."""
        ...

    def nak(self, delay_s: float = 0.0, reason: str | None = None) -> bool:
        """Not handled: deliver again after `delay_s` (dead-lettered, with `reason`, if this was the last delivery)."""
        ...

    def in_progress(self) -> bool:
        """Still working: the ack deadline moves to now + ack wait (call it again before that passes)."""
        ...

    def term(self, reason: str) -> bool:
        """Never handle this one: dead-letter it now with `reason`."""
        ...


class Consumer(Protocol):
    @property
    def config(self) -> ConsumerConfig: ...

    def fetch(self, batch: int = 1, timeout_s: float = 5.0) -> Sequence[Delivery]:
        """Up to `batch` due deliveries, waiting up to `timeout_s` for the first; [] when none came."""
        ...


@dataclass(frozen=True)
class DeadLetter:
    event: Event
    consumer: str
    attempts: int
    error: str
    dead_at: datetime


class Bus(Protocol):
    def publish(self, event: Event, *, conn: Connection | None = None) -> bool:
        """Store `event` for every consumer whose filter matches it; False if its id was already
        published. With `conn`, inside that connection's transaction: it exists if and when that commits."""
        ...

    def publish_all(self, events: Sequence[Event], *, conn: Connection | None = None) -> list[bool]:
        """`publish` for each of `events`, in one transaction (the caller's with `conn`), with one answer each."""
        ...

    def consumer(
        self, name: str, filter_subject: str = ">", *, ack_wait_s: float = 30.0, max_deliver: int = 5
    ) -> Consumer:
        """The durable consumer `name`, created on first use; a later call updates its settings."""
        ...

    def depth(self, consumer: str) -> int:
        """Events the consumer has not acked yet (waiting, in flight or backing off)."""
        ...

    def depths(self) -> dict[str, int]:
        """`depth` of every durable consumer, in one read (the metrics, and the readiness probe)."""
        ...

    def dead_letters(self, consumer: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """The newest dead letters first."""
        ...

    def stats(self) -> BusStats: ...
