"""The manager's background work: the bus workers (assigner, investigator, notifier) and the clock
(grace periods, reopen windows, notification retries), started and stopped with the server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from watchkeeper.bus.base import Consumer, ConsumerConfig, Delivery
from watchkeeper.bus.worker import Worker
from watchkeeper.incidents import investigator, lifecycle
from watchkeeper.incidents.assign import assign, assign_many
from watchkeeper.incidents.events import AlertsReceived, IncidentChanged, InvestigationDue
from watchkeeper.incidents.notifier import Notifier

if TYPE_CHECKING:
    from watchkeeper.app import App

log = logging.getLogger(__name__)
# Deliveries the assigner takes in one transaction: one commit and one view of the silences serve them
# all, while on SQLite a webhook ingest that comes meanwhile waits for at most a few tens of ms.
ASSIGN_BATCH = 25


class Runner:
    def __init__(self, app: App, *, tick_s: float = 1.0) -> None:
        self.app = app
        # How long an investigation may go unheard (no heartbeat) before a restart takes it over.
        self.lease_s = app.settings.incidents.lease_s
        self.tick_s = tick_s
        self.notifier = Notifier(app)
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def consumers(self) -> dict[str, Consumer]:
        """The durable consumers of the incident flow, created if new. A consumer only gets events
        published after it exists, so every manager declares them before it takes any alert — one
        that only receives (`incidents.workers = false`) included."""
        bus = self.app.bus
        return {
            "assigner": bus.consumer("incident-assigner", AlertsReceived.SUBJECT, ack_wait_s=120),
            "investigator": bus.consumer(
                "incident-investigator", InvestigationDue.SUBJECT, ack_wait_s=self.lease_s, max_deliver=20
            ),
            "notifier": bus.consumer("incident-notifier", IncidentChanged.SUBJECT, ack_wait_s=120),
        }

    def start(self) -> None:
        consumers = self.consumers()
        assigner = _Batched(self.app, consumers["assigner"])
        # Investigators share one consumer: each fetch claims other deliveries, and an investigation's
        # compare-and-set claim keeps it to one result whichever of them runs it.
        investigators = {
            f"investigator-{n}": Worker(consumers["investigator"], self._investigate)
            for n in range(1, self.app.settings.incidents.investigators + 1)
        }
        workers = {
            "assigner": Worker(assigner, assigner.handle, batch=ASSIGN_BATCH),
            **investigators,
            "notifier": Worker(consumers["notifier"], self._notify),
        }
        for name, worker in workers.items():
            self._spawn(name, partial(worker.run, self.stopping))
        self._spawn("clock", self._clock)

    @property
    def up(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"wk-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout_s: float = 20.0) -> None:
        """Let the work in hand finish (within `timeout_s`); what is left is redelivered on the next start."""
        self.stopping.set()
        end = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))
        self._threads.clear()

    def _investigate(self, delivery: Delivery) -> None:
        due = InvestigationDue.from_event(delivery.event)
        try:
            investigator.run(self.app, due.incident_id, due.investigation_id, delivery.in_progress, self.stopping)
        except investigator.Interrupted:  # stopping is not failing: the next start takes it up at once
            delivery.nak(0.0, reason="the manager stopped before it ran")

    def _notify(self, delivery: Delivery) -> None:
        self.notifier.handle(IncidentChanged.from_event(delivery.event))

    def _clock(self) -> None:
        while not self.stopping.wait(self.tick_s):
            steps: tuple[tuple[str, Callable[[], object]], ...] = (
                ("lifecycle", partial(lifecycle.tick, self.app)),
                ("notifications", self.notifier.flush),
            )
            for name, step in steps:
                try:
                    step()
                except Exception as exc:  # the store is busy or down: say so, and try on the next tick
                    log.warning("incident clock: %s failed: %s", name, str(exc).splitlines()[0] if str(exc) else exc)


class _Batched:
    """The assigner's consumer: the deliveries a fetch returns are assigned together, in one
    transaction, before the worker hands them to `handle` one by one to be answered. When that
    transaction fails, `handle` assigns each delivery alone, so only one that fails by itself is
    retried with back-off (and in the end dead-lettered) as the worker does."""

    def __init__(self, app: App, consumer: Consumer) -> None:
        self.app = app
        self.consumer = consumer
        self.assigned: set[int] = set()

    @property
    def config(self) -> ConsumerConfig:
        return self.consumer.config

    def fetch(self, batch: int = 1, timeout_s: float = 5.0) -> list[Delivery]:
        deliveries = list(self.consumer.fetch(batch, timeout_s))
        ids = [AlertsReceived.from_event(d.event).delivery_id for d in deliveries]
        try:
            self.assigned = assign_many(self.app, ids) if ids else set()
        except Exception as exc:  # one of them, or the store: each is tried alone
            said = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            log.warning("assigning %d deliveries together failed, one by one now: %s", len(ids), said)
            self.assigned = set()
        return deliveries

    def handle(self, delivery: Delivery) -> None:
        delivery_id = AlertsReceived.from_event(delivery.event).delivery_id
        if delivery_id not in self.assigned:
            assign(self.app, delivery_id)  # alone; one assigned already (a redelivery) is left as it is
