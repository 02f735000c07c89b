"""What people (and the clock) do to incidents: acknowledge, resolve, reinvestigate, merge, split; the
grace period that resolves an incident whose alerts all resolved, and the end of its reopen window.

Statuses: open -> investigating -> diagnosed -> (remediating) -> resolved -> closed. Acknowledged is a
flag, not a status. Closed means over for good: a merged incident, or a resolved one whose reopen
window has passed (a later alert opens a new incident linked to it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, update

from watchkeeper.alerts.model import SEVERITY_RANK
from watchkeeper.bus.base import Bus
from watchkeeper.errors import InputError, WatchkeeperError
from watchkeeper.i18n import N_, Phrase
from watchkeeper.incidents.records import (
    ALERTS,
    INCIDENTS,
    INVESTIGATIONS,
    LIVE,
    SYSTEM,
    note,
    now_utc,
    queue_investigation,
    touch,
    utc,
)
from watchkeeper.oplog import loggable

if TYPE_CHECKING:
    from watchkeeper.app import App


log = logging.getLogger(__name__)
MAX_NOTE = 2000  # a resolve note: a sentence or two for the timeline and the message


class NoIncident(WatchkeeperError):
    """No incident has that id."""


class IncidentConflict(WatchkeeperError):
    """The change does not fit the incident's state (merging into itself, splitting off every alert…)."""


def _incident(conn: Connection, incident_id: int) -> Any:
    row = conn.execute(select(INCIDENTS).where(INCIDENTS.c.id == incident_id)).first()
    if row is None:
        raise NoIncident(f"no incident #{incident_id}")
    return row


def _write(app: App) -> Any:
    """A transaction that writes first (SQLite's write lock from its first statement)."""
    return app.engine.begin()


def acknowledge(app: App, incident_id: int, actor: str) -> None:
    with _write(app) as conn:
        inc = _incident(conn, incident_id)
        if inc.merged_into is not None:
            raise IncidentConflict(f"incident #{incident_id} was merged into #{inc.merged_into}: acknowledge that one")
        if inc.status not in LIVE:
            raise IncidentConflict(f"incident #{incident_id} is {inc.status} already")
        if inc.acknowledged_by:
            raise IncidentConflict(f"incident #{incident_id} was acknowledged by {inc.acknowledged_by} already")
        touch(conn, incident_id, acknowledged_by=actor, acknowledged_at=now_utc())
        note(conn, app.bus, incident_id, "acknowledged", actor, f"acknowledged by {actor}")
    log.info("incident #%d acknowledged by %s", incident_id, loggable(actor))


def resolve(app: App, incident_id: int, actor: str, note_text: str | None = None) -> None:
    if note_text is not None and (len(note_text) > MAX_NOTE or "\x00" in note_text):
        raise InputError(f"note: at most {MAX_NOTE} characters, and no NUL (this one has {len(note_text)})")
    with _write(app) as conn:
        inc = _incident(conn, incident_id)
        if inc.status not in LIVE:
            raise IncidentConflict(f"incident #{incident_id} is {inc.status} already")
        said = (
            Phrase(message=N_("resolved by {actor}: {note}"), params={"actor": actor, "note": note_text})
            if note_text
            else Phrase(message=N_("resolved by {actor}"), params={"actor": actor})
        )
        _resolve(conn, app.bus, incident_id, actor, said, now_utc())
    log.info("incident #%d %s", incident_id, loggable(said.english()))


def _resolve(conn: Connection, bus: Bus, incident_id: int, actor: str, said: Phrase, now: datetime) -> None:
    touch(conn, incident_id, status="resolved", resolved_at=now, resolved_by=actor, resolve_after=None)
    _cancel(conn, incident_id, "the incident resolved first", ("queued",))
    note(conn, bus, incident_id, "resolved", actor, said)


def reinvestigate(app: App, incident_id: int, actor: str) -> int:
    with _write(app) as conn:
        inc = _incident(conn, incident_id)
        if inc.merged_into is not None:
            raise IncidentConflict(f"incident #{incident_id} was merged into #{inc.merged_into}: investigate that one")
        return queue_investigation(conn, app.bus, incident_id, "manual", now_utc(), actor, f"asked for by {actor}")


def merge(app: App, source_id: int, into_id: int, actor: str) -> None:
    if source_id == into_id:
        raise IncidentConflict("an incident cannot be merged into itself")
    with _write(app) as conn:
        source, into = _incident(conn, source_id), _incident(conn, into_id)
        for inc in (source, into):
            if inc.merged_into is not None:
                raise IncidentConflict(f"incident #{inc.id} was merged into #{inc.merged_into} already")
        # Live alerts in an ended incident would stay firing there, stuck: nothing resolves or splits them.
        if into.status == "closed" or (into.status == "resolved" and source.status in LIVE):
            raise IncidentConflict(f"incident #{into_id} is {into.status}: merge it into #{source_id} instead")
        fold(conn, app.bus, source_id, into_id, actor, f"merged by {actor}", now_utc())
    log.info("incident #%d merged into #%d by %s", source_id, into_id, loggable(actor))


def fold(conn: Connection, bus: Bus, source_id: int, into_id: int, actor: str, why: str, now: datetime) -> None:
    """Move every alert of `source_id` into `into_id` (at `now`); the source is closed, and both timelines say so."""
    conn.execute(update(ALERTS).where(ALERTS.c.incident_id == source_id).values(incident_id=into_id))
    # A running one too: its result would announce a diagnosis of an incident that no longer exists.
    _cancel(conn, source_id, f"merged into incident #{into_id}", ("queued", "running"))
    source = conn.execute(select(INCIDENTS.c.title, INCIDENTS.c.severity).where(INCIDENTS.c.id == source_id)).one()
    into = conn.execute(select(INCIDENTS.c.severity).where(INCIDENTS.c.id == into_id)).scalar_one()
    touch(conn, source_id, status="closed", merged_into=into_id)
    values: dict[str, Any] = {"last_alert_at": now}
    if SEVERITY_RANK[source.severity] > SEVERITY_RANK[into]:
        values["severity"] = source.severity
    touch(conn, into_id, **values)
    note(conn, bus, source_id, "merged", actor, f"merged into incident #{into_id}: {why}", {"into": into_id})
    said = f"incident #{source_id} ({source.title}) merged in: {why}"
    note(conn, bus, into_id, "absorbed", actor, said, {"from": source_id})


def split(app: App, incident_id: int, fingerprints: list[str], actor: str) -> int:
    """Move the named alerts out into a new incident (investigated like any other); its id."""
    wanted = list(dict.fromkeys(fingerprints))
    if not wanted:
        raise IncidentConflict("name at least one alert fingerprint to split off")
    with _write(app) as conn:
        inc = _incident(conn, incident_id)
        if inc.status not in LIVE:
            raise IncidentConflict(f"incident #{incident_id} is {inc.status}: only a live incident can be split")
        rows = conn.execute(
            select(ALERTS.c.fingerprint, ALERTS.c.name, ALERTS.c.severity, ALERTS.c.target_key, ALERTS.c.target_json)
            .where(ALERTS.c.incident_id == incident_id)
            .order_by(ALERTS.c.first_seen_at, ALERTS.c.id)
        ).all()
        mine = {r.fingerprint for r in rows}
        if unknown := [f for f in wanted if f not in mine]:
            raise IncidentConflict(f"incident #{incident_id} has no alert {', '.join(unknown)}")
        if len(wanted) == len(mine):
            raise IncidentConflict("splitting off every alert leaves nothing behind: that is the same incident")
        moved = [r for r in rows if r.fingerprint in wanted]
        now = now_utc()
        first = moved[0]
        new_id = int(
            conn.execute(
                INCIDENTS.insert().returning(INCIDENTS.c.id),
                {
                    "title": f"{first.name}: {first.target_key.partition(':')[2] or first.name}",
                    "status": "open",
                    "severity": max((r.severity for r in moved), key=lambda s: SEVERITY_RANK[s]),
                    "root_target": first.target_key,
                    "opened_at": now,
                    "updated_at": now,
                    "last_alert_at": now,
                    "flaps": 0,
                },
            ).scalar_one()
        )
        why = f"split off incident #{incident_id} by {actor}"
        conn.execute(
            update(ALERTS)
            .where(ALERTS.c.incident_id == incident_id, ALERTS.c.fingerprint.in_(wanted))
            .values(incident_id=new_id, join_rule="split", join_reason=why)
        )
        touch(conn, incident_id)
        note(conn, app.bus, incident_id, "split", actor, f"{len(moved)} alert(s) split off into incident #{new_id}")
        note(conn, app.bus, new_id, "opened", actor, f"opened as a {why}", {"rule": "split", "from": incident_id})
        queue_investigation(conn, app.bus, new_id, "initial", now, actor, "investigation of the split-off alerts")
    log.info("incident #%d: %d alert(s) split off into #%d by %s", incident_id, len(moved), new_id, loggable(actor))
    return new_id


def _cancel(conn: Connection, incident_id: int, why: str, statuses: tuple[str, ...]) -> None:
    conn.execute(
        update(INVESTIGATIONS)
        .where(INVESTIGATIONS.c.incident_id == incident_id, INVESTIGATIONS.c.status.in_(statuses))
        .values(status="cancelled", error=why, finished_at=now_utc())
    )


def tick(app: App, now: datetime | None = None) -> int:
    """Resolve incidents whose grace period has passed with every alert still resolved, and close the
    resolved ones whose reopen window has passed; how many changed."""
    now = now or now_utc()
    changed = 0
    told: list[str] = []
    with _write(app) as conn:
        due = select(INCIDENTS.c.id).where(INCIDENTS.c.status.in_(LIVE), INCIDENTS.c.resolve_after <= now)
        for (inc_id,) in conn.execute(due).all():
            firing = conn.execute(
                select(func.count()).where(ALERTS.c.incident_id == inc_id, ALERTS.c.status == "firing")
            ).scalar_one()
            if firing:
                touch(conn, inc_id, resolve_after=None)
                continue
            said = Phrase(message=N_("every alert resolved and stayed resolved for the grace period"))
            _resolve(conn, app.bus, inc_id, SYSTEM, said, now)
            told.append(f"incident #{inc_id} resolved: {said.english()}")
            changed += 1
        cutoff = now - timedelta(seconds=app.settings.incidents.reopen_window_s)
        stale = select(INCIDENTS.c.id, INCIDENTS.c.resolved_at).where(
            INCIDENTS.c.status == "resolved", INCIDENTS.c.resolved_at <= cutoff
        )
        for inc_id, resolved_at in conn.execute(stale).all():
            touch(conn, inc_id, status="closed")
            note(conn, app.bus, inc_id, "closed", SYSTEM, f"no alert fired again since {utc(resolved_at):%H:%M} UTC")
            told.append(f"incident #{inc_id} closed: its reopen window has passed")
            changed += 1
    for line in told:
        log.info("%s", line)
    return changed
