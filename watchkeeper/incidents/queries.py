"""The read side of incidents and alerts: plain dicts with ISO times, the same for the API's JSON and
`wk incidents --json`. A listing is one page query plus one aggregate query per count, never a query
per incident."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, Row, case, exists, func, or_, select
from sqlalchemy.engine import Connection, RowMapping

from watchkeeper.alerts.correlate import NO_TARGET
from watchkeeper.incidents.lifecycle import NoIncident
from watchkeeper.incidents.records import utc
from watchkeeper.redact import redact
from watchkeeper.store.models import (
    AlertDelivery,
    AlertRow,
    Incident,
    IncidentEvent,
    InvestigationRow,
    NotificationRow,
)

Status = Literal["open", "investigating", "diagnosed", "remediating", "resolved", "closed"]
STATUSES: tuple[Status, ...] = ("open", "investigating", "diagnosed", "remediating", "resolved", "closed")
# Every investigation run for an incident, follow-ups included; one cancelled before it ran does not count.
COUNTED_INVESTIGATIONS = ("queued", "running", "done", "failed")
BODY_SHOWN = 2000  # characters of a rejected delivery's body: enough to see what was wrong with it
BODY_MARGIN = 4096  # read past the cut, so a secret that straddles it is whole when redacted


def iso(ts: datetime | None) -> str | None:
    return None if ts is None else utc(ts).isoformat()


_INCIDENT_COLUMNS = (
    Incident.id,
    Incident.title,
    Incident.status,
    Incident.severity,
    Incident.root_target,
    Incident.opened_at,
    Incident.updated_at,
    Incident.resolved_at,
    Incident.resolved_by,
    Incident.acknowledged_by,
    Incident.acknowledged_at,
    Incident.merged_into,
    Incident.previous_id,
    Incident.flaps,
)


def _incident(row: RowMapping, counts: dict[str, int], targets: list[str], investigations: int) -> dict[str, Any]:
    root = row["root_target"]
    return {
        "id": row["id"],
        "title": row["title"],
        "status": row["status"],
        "severity": row["severity"],
        "root_target": row["root_target"],
        "opened_at": iso(row["opened_at"]),
        "updated_at": iso(row["updated_at"]),
        "resolved_at": iso(row["resolved_at"]),
        "resolved_by": row["resolved_by"],
        "acknowledged_by": row["acknowledged_by"],
        "acknowledged_at": iso(row["acknowledged_at"]),
        "merged_into": row["merged_into"],
        "previous_id": row["previous_id"],
        "flaps": row["flaps"],
        "alert_count": counts.get("alerts", 0),
        "firing_count": counts.get("firing", 0),
        "targets": [root, *(t for t in targets if t != root)] if root in targets else targets,  # the root first
        "investigation_count": investigations,
    }


def _summaries(conn: Connection, rows: list[RowMapping]) -> list[dict[str, Any]]:
    """The incidents of `rows` with their counts and targets: three aggregate queries for the whole page."""
    ids = [r["id"] for r in rows]
    if not ids:
        return []
    firing = func.sum(case((AlertRow.status == "firing", 1), else_=0))
    counts = {
        r.incident_id: {"alerts": r.alerts, "firing": int(r.firing or 0)}
        for r in conn.execute(
            select(AlertRow.incident_id, func.count().label("alerts"), firing.label("firing"))
            .where(AlertRow.incident_id.in_(ids))
            .group_by(AlertRow.incident_id)
        )
    }
    targets: dict[int | None, list[str]] = defaultdict(list)
    for incident_id, key in conn.execute(
        select(AlertRow.incident_id, AlertRow.target_key)
        .where(AlertRow.incident_id.in_(ids), AlertRow.target_key != NO_TARGET)  # no target named: none added
        .group_by(AlertRow.incident_id, AlertRow.target_key)
        .order_by(AlertRow.target_key)
    ):
        targets[incident_id].append(key)
    investigations = dict(
        conn.execute(
            select(InvestigationRow.incident_id, func.count())
            .where(InvestigationRow.incident_id.in_(ids), InvestigationRow.status.in_(COUNTED_INVESTIGATIONS))
            .group_by(InvestigationRow.incident_id)
        ).all()
    )
    return [_incident(r, counts.get(r["id"], {}), targets[r["id"]], investigations.get(r["id"], 0)) for r in rows]


def list_incidents(
    engine: Engine,
    *,
    status: str | None = None,
    severity: str | None = None,
    service: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Incidents opened since `since`, newest first; `service` matches an incident any of whose alerts
    (or whose root target) is about `service:<name>`. A merged incident is `closed` with `merged_into`."""
    query = select(*_INCIDENT_COLUMNS)
    if status is not None:
        query = query.where(Incident.status == status)
    if severity is not None:
        query = query.where(Incident.severity == severity)
    if service is not None:
        key = f"service:{service}"
        on_service = exists().where(AlertRow.incident_id == Incident.id, AlertRow.target_key == key)
        query = query.where(or_(Incident.root_target == key, on_service))
    if since is not None:
        query = query.where(Incident.opened_at >= utc(since))
    query = query.order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit)
    with engine.connect() as conn:
        return redact(_summaries(conn, list(conn.execute(query).mappings())))


def _alert(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "fingerprint": row.fingerprint,
        "source": row.source,
        "name": row.name,
        "labels": json.loads(row.labels_json),
        "annotations": json.loads(row.annotations_json),
        "status": row.status,
        "severity": row.severity,
        "target": row.target_key,
        "incident_id": row.incident_id,
        "starts_at": iso(row.starts_at),
        "ends_at": iso(row.ends_at),
        "first_seen_at": iso(row.first_seen_at),
        "last_seen_at": iso(row.last_seen_at),
        "received_count": row.received_count,
        "join_rule": row.join_rule,
        "join_reason": row.join_reason,
        "silenced_by": row.silenced_by,
    }


def _reports(investigations: Iterable[Row[Any]]) -> list[dict[str, Any]]:
    """Every done investigation's reports, one entry per target it covered, each naming its investigation."""
    return [
        {**entry, "investigation_id": inv.id}
        for inv in investigations
        if inv.status == "done" and inv.reports_json
        for entry in json.loads(inv.reports_json)
    ]


def show_incident(engine: Engine, incident_id: int) -> dict[str, Any]:
    """The incident with its alerts (and why each joined), timeline, investigations, reports and notifications."""
    alerts_t, events_t = AlertRow.__table__, IncidentEvent.__table__
    with engine.connect() as conn:
        head = conn.execute(select(*_INCIDENT_COLUMNS).where(Incident.id == incident_id)).mappings().one_or_none()
        if head is None:
            raise NoIncident(f"no incident {incident_id} (wk incidents list shows them)")
        [incident] = _summaries(conn, [head])
        alerts = conn.execute(
            select(alerts_t).where(AlertRow.incident_id == incident_id).order_by(AlertRow.starts_at, AlertRow.id)
        )
        events = conn.execute(
            select(events_t)
            .where(IncidentEvent.incident_id == incident_id)
            .order_by(IncidentEvent.at, IncidentEvent.id)
        )
        investigations = list(
            conn.execute(
                select(InvestigationRow.__table__)
                .where(InvestigationRow.incident_id == incident_id)
                .order_by(InvestigationRow.id)
            )
        )
        notifications = conn.execute(
            select(NotificationRow.__table__)
            .where(NotificationRow.incident_id == incident_id)
            .order_by(NotificationRow.created_at, NotificationRow.id)
        )
        return redact(
            {
                **incident,
                "alerts": [_alert(a) for a in alerts],
                "timeline": [
                    {"at": iso(e.at), "kind": e.kind, "actor": e.actor, "text": e.text, "data": json.loads(e.data_json)}
                    for e in events
                ],
                "investigations": [
                    {
                        "id": i.id,
                        "kind": i.kind,
                        "status": i.status,
                        "started_at": iso(i.started_at),
                        "finished_at": iso(i.finished_at),
                        "error": i.error,
                    }
                    for i in investigations
                ],
                "reports": _reports(investigations),
                "notifications": [
                    {
                        "id": n.id,
                        "kind": n.kind,
                        "shown": n.shown,
                        "status": n.status,
                        "attempts": n.attempts,
                        "created_at": iso(n.created_at),
                        "sent_at": iso(n.sent_at),
                        "error": n.error,
                    }
                    for n in notifications
                ],
            }
        )


def list_alerts(
    engine: Engine,
    *,
    status: str | None = None,
    incident_id: int | None = None,
    silenced: bool | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Alerts, the most recently received first."""
    query = select(AlertRow.__table__)
    if status is not None:
        query = query.where(AlertRow.status == status)
    if incident_id is not None:
        query = query.where(AlertRow.incident_id == incident_id)
    if silenced is not None:
        query = query.where(AlertRow.silenced_by.is_not(None) if silenced else AlertRow.silenced_by.is_(None))
    query = query.order_by(AlertRow.last_seen_at.desc(), AlertRow.id.desc()).limit(limit)
    with engine.connect() as conn:
        return redact([_alert(a) for a in conn.execute(query)])


def rejected_deliveries(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """Posts refused as malformed, newest first, with why and the start of what was sent."""
    query = (
        select(
            AlertDelivery.id,
            AlertDelivery.source,
            AlertDelivery.received_at,
            AlertDelivery.sender,
            AlertDelivery.error,
            # Redacted before it is cut: a secret the cut went through would match no rule.
            func.substr(AlertDelivery.body, 1, BODY_SHOWN + BODY_MARGIN).label("body"),
        )
        .where(AlertDelivery.status == "rejected")
        .order_by(AlertDelivery.received_at.desc(), AlertDelivery.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = redact([{**r, "received_at": iso(r["received_at"])} for r in conn.execute(query).mappings()])
    return [{**r, "body": r["body"][:BODY_SHOWN]} for r in rows]


def tallies(engine: Engine) -> dict[str, dict[tuple[str, ...], int]]:
    """How many incidents by (status, severity), alert deliveries by status (`accepted` ones wait for
    the assigner) and notifications by status: what /metrics shows, read when scraped."""
    counted = {
        "incidents": (Incident.status, Incident.severity),
        "alert_deliveries": (AlertDelivery.status,),
        "notifications": (NotificationRow.status,),
    }
    with engine.connect() as conn:
        return {
            name: {tuple(row[:-1]): int(row[-1]) for row in conn.execute(select(*cols, func.count()).group_by(*cols))}
            for name, cols in counted.items()
        }
