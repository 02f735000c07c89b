"""Receive a sender's delivery: check its shape, store it with its bus event in one transaction, answer.

Nothing is processed here: the sender (Alertmanager retries a 5xx, never a 4xx) is answered as soon
as the delivery is durable, and the assigner takes it from the bus. A delivery of the wrong shape is
kept too, as rejected, so nothing a sender posted is lost without a trace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, insert
from sqlalchemy.exc import SQLAlchemyError

from watchkeeper.alerts.errors import PayloadError
from watchkeeper.alerts.model import Source
from watchkeeper.alerts.normalise import normalise
from watchkeeper.errors import StoreError
from watchkeeper.incidents.events import AlertsReceived
from watchkeeper.store.gate import write_gate
from watchkeeper.store.models import AlertDelivery

if TYPE_CHECKING:
    from watchkeeper.app import App

DELIVERIES = cast(Table, AlertDelivery.__table__)
_STORE = insert(DELIVERIES).returning(DELIVERIES.c.id)


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
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise PayloadError("body", f"not JSON: {exc}") from None
        batch = normalise(source, body)
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
    try:
        # First through this process's write gate: a sender waits for this answer, the assigner for nothing.
        with write_gate(app.engine).urgent(), app.engine.begin() as conn:
            delivery_id = int(conn.execute(_STORE, row).scalar_one())
            event = AlertsReceived(delivery_id=delivery_id).to_event(id=f"alert.received:{delivery_id}")
            app.bus.publish(event, conn=conn)
    except SQLAlchemyError as exc:
        raise StoreError(f"the delivery cannot be stored: {_first_line(exc)}") from None
    return Accepted(delivery_id, len(batch.alerts), batch.truncated)


def _reject(app: App, source: str, raw: bytes, sender: str, error: str, now: datetime) -> None:
    row = {
        "source": source,
        "received_at": now,
        "sender": sender,
        "body": raw.decode("utf-8", errors="replace"),
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
