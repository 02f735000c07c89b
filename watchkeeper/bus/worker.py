"""A worker: pulls deliveries from one consumer and hands each to a handler, in the calling thread.

The handler returning acks the delivery; the handler raising naks it with a back-off that doubles
per attempt (one log line, no traceback), so after the consumer's max_deliver it is dead-lettered
with the error. A long handler calls `delivery.in_progress()` before the ack wait passes. When
`stop` is set the worker lets the handler that is running finish (and acks it if it succeeds), then
returns: deliveries it fetched but had not started stay unanswered and are delivered again after
the ack wait — work not finished is left for redelivery, never half-applied.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from watchkeeper.bus.base import Consumer, Delivery
from watchkeeper.errors import first_line

log = logging.getLogger(__name__)

Handler = Callable[[Delivery], None]


class Worker:
    def __init__(
        self,
        consumer: Consumer,
        handler: Handler,
        *,
        batch: int = 1,
        fetch_timeout_s: float = 1.0,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
    ) -> None:
        self.consumer = consumer
        self.handler = handler
        self.batch = batch
        self.fetch_timeout_s = fetch_timeout_s  # also how long a stop may wait for an idle fetch
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s

    def run(self, stop: threading.Event) -> None:
        name = self.consumer.config.name
        while not stop.is_set():
            try:
                deliveries = self.consumer.fetch(self.batch, self.fetch_timeout_s)
            except Exception as exc:  # the store is down: say so once per try, and try again
                log.warning("bus consumer %s cannot fetch: %s", name, first_line(exc))
                stop.wait(self.backoff_s)
                continue
            for delivery in deliveries:
                if stop.is_set():
                    break
                self._handle(delivery)

    def _handle(self, delivery: Delivery) -> None:
        name, event = self.consumer.config.name, delivery.event
        error: str | None = None
        try:
            self.handler(delivery)
        except Exception as exc:
            error = first_line(exc)
            log.warning(
                "bus consumer %s: %s %s failed (delivery %d of %d): %s",
                name,
                event.subject,
                event.id,
                delivery.attempt,
                self.consumer.config.max_deliver,
                error,
            )
        try:
            if error is None:
                delivery.ack()
            else:
                delivery.nak(min(self.backoff_s * 2 ** (delivery.attempt - 1), self.max_backoff_s), reason=error)
        except Exception as exc:  # unanswered: it comes back after the ack wait
            log.warning("bus consumer %s cannot answer %s %s: %s", name, event.subject, event.id, first_line(exc))
