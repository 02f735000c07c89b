"""Silences (maintenance windows): label matchers in Alertmanager's syntax over a time range. A silenced
alert is stored and visible but opens no incident and notifies no one; the assigner asks
`active_silences` inside its own transaction."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from watchkeeper.alerts.silences import Matcher, parse_matchers
from watchkeeper.errors import WatchkeeperError
from watchkeeper.incidents.queries import iso
from watchkeeper.incidents.records import utc
from watchkeeper.since import RELATIVE, UNITS
from watchkeeper.store.models import SilenceRow

if TYPE_CHECKING:
    from watchkeeper.app import App

log = logging.getLogger(__name__)
MAX_TEXT = 2000  # characters of one matcher or of the comment


class NoSilence(WatchkeeperError):
    """No silence has that id."""


def parse_duration(text: str) -> timedelta:
    """`2h`, `30m`, `1d`: how long a silence lasts; ValueError naming what is accepted."""
    m = RELATIVE.match(text.strip())
    if m is None or text.strip().startswith("-") or int(m.group(1)) == 0:
        raise ValueError(f"a duration is a positive number and a unit like 30m, 2h or 1d, not {text!r}")
    try:
        return timedelta(**{UNITS[m.group(2)]: int(m.group(1))})
    except OverflowError:
        raise ValueError(f"the duration {text!r} is too long") from None


def _checked_text(what: str, text: str) -> str:
    # PostgreSQL refuses a NUL in text, and a silence nobody can read back helps no one.
    if "\x00" in text or len(text) > MAX_TEXT:
        raise ValueError(f"{what} must be at most {MAX_TEXT} characters without NUL")
    return text


def _silence(row: SilenceRow, now: datetime) -> dict[str, Any]:
    starts, ends = utc(row.starts_at), utc(row.ends_at)
    return {
        "id": row.id,
        "matchers": json.loads(row.matchers_json),
        "starts_at": iso(starts),
        "ends_at": iso(ends),
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "expired_by": row.expired_by,
        "expired_at": iso(row.expired_at),
        "comment": row.comment,
        "active": starts <= now < ends,
    }


def add_silence(
    app: App, matchers: list[str], *, starts_at: datetime | None, ends_at: datetime, actor: str, comment: str
) -> dict[str, Any]:
    """A new silence from `starts_at` (None: now) until `ends_at`; ValueError in one line if a matcher,
    the comment or the time range is wrong."""
    if not matchers:
        raise ValueError('a silence needs at least one matcher, like service="orders-db"')
    for i, text in enumerate(matchers):
        _checked_text(f"matchers[{i}]", text)
    parsed = parse_matchers(matchers)
    if not _checked_text("comment", comment).strip():
        raise ValueError("a silence needs a comment saying why")
    now = datetime.now(UTC)
    try:
        starts = now if starts_at is None else utc(starts_at)
        ends = utc(ends_at)
    except OverflowError:  # 9999-12-31T23:00-05:00 is past the last datetime in UTC
        raise ValueError("starts_at and ends_at must be within years 1 to 9999 in UTC") from None
    if ends <= starts:
        raise ValueError("ends_at must be after starts_at")
    if ends <= now:
        raise ValueError("ends_at is in the past: the silence would be over before it began")
    row = SilenceRow(
        id=uuid.uuid4().hex[:12],
        matchers_json=json.dumps([str(m) for m in parsed], ensure_ascii=False),
        starts_at=starts,
        ends_at=ends,
        created_by=actor,
        comment=comment,
        created_at=now,
    )
    with Session(app.engine, expire_on_commit=False) as session, session.begin():
        session.add(row)
    log.info("silence %s added by %s: %s", row.id, actor, row.matchers_json)
    return _silence(row, now)


def list_silences(engine: Engine, *, include_expired: bool = False) -> list[dict[str, Any]]:
    """Silences not yet over (every one with `include_expired`), the newest first."""
    now = datetime.now(UTC)
    query = select(SilenceRow).order_by(SilenceRow.created_at.desc(), SilenceRow.id)
    if not include_expired:
        query = query.where(SilenceRow.ends_at > now)
    with Session(engine) as session:
        return [_silence(row, now) for row in session.scalars(query)]


def expire_silence(app: App, silence_id: str, actor: str) -> dict[str, Any]:
    """End a silence now (a pending one never starts) and give it back; an ended one stays as it was."""
    now = datetime.now(UTC)
    with Session(app.engine, expire_on_commit=False) as session, session.begin():
        row = session.get(SilenceRow, silence_id)
        if row is None:
            raise NoSilence(f"no silence {silence_id!r} (wk silences list --all shows them)")
        if utc(row.ends_at) > now:
            row.starts_at, row.ends_at = min(utc(row.starts_at), now), now
            row.expired_by, row.expired_at = actor, now
            log.info("silence %s expired by %s", silence_id, actor)
    return _silence(row, now)


def active_silences(conn: Connection, now: datetime) -> list[tuple[str, list[Matcher]]]:
    """The silences in force at `now`, each with its parsed matchers (stored ones were checked when added)."""
    at = utc(now)
    rows = conn.execute(
        select(SilenceRow.id, SilenceRow.matchers_json).where(SilenceRow.starts_at <= at, SilenceRow.ends_at > at)
    )
    return [(silence_id, parse_matchers(json.loads(text))) for silence_id, text in rows]
