"""Nothing is lost across a restart, kill -9 included: an event a killed process published and was
handling is delivered again to the next process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.helpers import wait_for
from watchkeeper.bus.outbox import OutboxBus, OutboxDelivery

# Creates the consumer, publishes one event, takes it and blocks in its handler until killed.
CONSUMER = """
import sys, threading
from watchkeeper.bus.events import Event
from watchkeeper.bus.outbox import OutboxBus
from watchkeeper.store.db import open_engine

bus = OutboxBus(open_engine(sys.argv[1]))
consumer = bus.consumer("crashy", "incident.*", ack_wait_s=1)
bus.publish(Event(id="incident-42", subject="incident.opened", data={"incident_id": 42}))
(delivery,) = consumer.fetch(1, timeout_s=30)
print("handling", delivery.event.id, delivery.attempt, flush=True)
threading.Event().wait()
"""


def test_an_event_being_handled_by_a_killed_process_is_redelivered(db_url: str, bus: OutboxBus) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == "handling incident-42 1\n", proc.stderr.read() if proc.stderr else line
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    consumer = bus.consumer("crashy", "incident.*", ack_wait_s=1)
    got: list[OutboxDelivery] = []
    assert wait_for(lambda: got.extend(consumer.fetch(1, timeout_s=0)) or got, timeout=15)
    (delivery,) = got
    assert (delivery.event.id, delivery.event.data, delivery.attempt) == ("incident-42", {"incident_id": 42}, 2)
    assert delivery.ack() is True
    assert bus.depth("crashy") == 0
