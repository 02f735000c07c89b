"""The incident tables as the use cases write them: one timeline entry per change, its bus event with it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from watchkeeper.bus.base import Bus
from watchkeeper.i18n import PLAIN, Phrase
from watchkeeper.incidents.events import IncidentChanged, InvestigationDue
from watchkeeper.store.models import (
    AlertRow,
    Incident,
    IncidentEvent,
    InvestigationRow,
    NotificationRow,
    SilenceRow,
)

INCIDENTS = cast(Table, Incident.__table__)
ALERTS = cast(Table, AlertRow.__table__)
EVENTS = cast(Table, IncidentEvent.__table__)
INVESTIGATIONS = cast(Table, InvestigationRow.__table__)
NOTIFICATIONS = cast(Table, NotificationRow.__table__)
SILENCES = cast(Table, SilenceRow.__table__)

LIVE = ("open", "investigating", "diagnosed", "remediating")  # may still take alerts
ENDED = ("resolved", "closed")
# The timeline entries people hear of (the notifier decides who and when); the rest is only recorded.
ANNOUNCED = frozenset({"diagnosed", "new-symptom", "reopened", "resolved"})
SYSTEM = "watchkeeper"
# Built once: building SQLAlchemy statements costs more than running these (the assigner runs them per alert).
_NOTE = insert(EVENTS).returning(EVENTS.c.id)
_QUEUE = insert(INVESTIGATIONS).returning(INVESTIGATIONS.c.id)
_MERGED_INTO = select(INCIDENTS.c.merged_into).where(INCIDENTS.c.id == bindparam("incident_id"))


def now_utc() -> datetime:
    return datetime.now(UTC)


def utc(ts: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything written here is UTC."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def note(
    conn: Connection,
    bus: Bus,
    incident_id: int,
    kind: str,
    actor: str,
    text: str | Phrase,
    data: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """A timeline entry; one people hear of also goes on the bus, in the same transaction. Its text is
    kept in English; a `Phrase` is kept too (data's `phrase`), for the notifier to say in the team's language."""
    data = dict(data or {})
    if isinstance(text, Phrase):
        if text.message != PLAIN:  # plain text is the entry's text: kept once
            data["phrase"] = text.model_dump()
        text = text.english()
    event_id = int(
        conn.execute(
            _NOTE,
            {
                "incident_id": incident_id,
                "at": at or now_utc(),
                "kind": kind,
                "actor": actor,
                "text": text,
                "data_json": json.dumps(data, ensure_ascii=False, default=str),
            },
        ).scalar_one()
    )
    if kind in ANNOUNCED:
        changed = IncidentChanged(incident_id=incident_id, event_id=event_id, kind=kind)
        bus.publish(changed.to_event(id=f"incident.changed:{event_id}"), conn=conn)
    return event_id


def queue_investigation(
    conn: Connection, bus: Bus, incident_id: int, kind: str, not_before: datetime, actor: str, why: str
) -> int:
    """An investigation to run at `not_before`, and its event for the investigator."""
    inv_id = int(
        conn.execute(
            _QUEUE,
            {"incident_id": incident_id, "kind": kind, "status": "queued", "not_before": not_before, "attempts": 0},
        ).scalar_one()
    )
    due = InvestigationDue(incident_id=incident_id, investigation_id=inv_id)
    bus.publish(due.to_event(id=f"incident.investigate:{inv_id}"), conn=conn)
    note(conn, bus, incident_id, "investigation-queued", actor, why, {"investigation_id": inv_id, "kind": kind})
    return inv_id


def live_id(conn: Connection, incident_id: int) -> int:
    """The incident an incident was merged into (through every merge), or itself."""
    seen = {incident_id}
    while True:
        into = conn.execute(_MERGED_INTO, {"incident_id": incident_id}).scalar()
        if into is None or into in seen:
            return incident_id
        seen.add(into)
        incident_id = into


def touch(conn: Connection, incident_id: int, **values: Any) -> None:
    conn.execute(update(INCIDENTS).where(INCIDENTS.c.id == incident_id).values(updated_at=now_utc(), **values))
