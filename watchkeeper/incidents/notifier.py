"""Keeping people informed without a storm of messages.

An announced timeline entry (diagnosed, a new symptom, reopened, resolved) becomes one queued
notification per target of the first matching `notify.routes` entry — never one per alert. Updates of
one incident reach a target at most every `min_interval_s`; a platform's per-minute limit
(`notify.per_minute`, DingTalk 20) holds the rest back, and whatever waits for one target goes out
folded into its next message. A failed send is retried by the clock with a doubling back-off; one
that keeps failing is marked undeliverable and said on the incident's timeline.

The database keeps no URL (they hold tokens): a target is stored as its `env:`/`file:` reference, or
as the SHA-256 of its URL, matched against the configured targets when it is sent.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from watchkeeper.alerts.correlate import NO_TARGET
from watchkeeper.config import resolve_secret
from watchkeeper.errors import ConfigError
from watchkeeper.evidence.report import Report
from watchkeeper.i18n import Phrase
from watchkeeper.incidents.events import IncidentChanged
from watchkeeper.incidents.records import (
    ALERTS,
    EVENTS,
    INCIDENTS,
    INVESTIGATIONS,
    NOTIFICATIONS,
    SYSTEM,
    note,
    utc,
)
from watchkeeper.notify.deliver import deliver_one, fingerprint, reference
from watchkeeper.notify.notices import Notice, as_report
from watchkeeper.notify.ratelimit import RateLimiter, platform_of
from watchkeeper.notify.routes import targets_for
from watchkeeper.notify.senders import shown
from watchkeeper.oplog import loggable

if TYPE_CHECKING:
    from watchkeeper.app import App

log = logging.getLogger(__name__)
GIVE_UP_AFTER = 8  # attempts; with the doubling back-off that is about half an hour of trying
MAX_BACKOFF_S = 600.0


class Notifier:
    def __init__(self, app: App, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.clock = clock  # seconds since the epoch: the rate limits' minute and the retries' back-off
        self.limiter = RateLimiter(app.settings.notify.per_minute)
        self._sending = threading.Lock()  # the worker and the clock both flush

    # -- queueing -------------------------------------------------------------------------------

    def handle(self, changed: IncidentChanged) -> None:
        notice, fields = self._notice(changed)
        if notice is None:
            return
        targets, min_interval = targets_for(self.app.settings.notify, fields)
        now = self._now()
        with self.app.engine.begin() as conn:
            # A redelivered event queues nothing twice.
            told = select(NOTIFICATIONS.c.id).where(NOTIFICATIONS.c.event_id == changed.event_id).limit(1)
            if conn.execute(told).first() is not None:
                return
            for configured in targets:
                key, where = _stored(configured)
                due = now
                # A reopen goes out at once: the team was told the incident had resolved.
                if notice.kind == "update" and changed.kind != "reopened":
                    last = conn.execute(
                        select(NOTIFICATIONS.c.created_at)
                        .where(NOTIFICATIONS.c.incident_id == changed.incident_id, NOTIFICATIONS.c.target == key)
                        .order_by(NOTIFICATIONS.c.id.desc())
                        .limit(1)
                    ).scalar()
                    if last is not None:
                        due = max(now, utc(last) + timedelta(seconds=min_interval))
                conn.execute(
                    insert(NOTIFICATIONS),
                    {
                        "incident_id": changed.incident_id,
                        "kind": notice.kind,
                        "text": notice.model_dump_json(),
                        "target": key,
                        "shown": where,
                        "status": "queued",
                        "attempts": 0,
                        "created_at": now,
                        "next_attempt_at": due,
                        "event_id": changed.event_id,
                    },
                )
        self.flush()

    def _notice(self, changed: IncidentChanged) -> tuple[Notice | None, dict[str, str]]:
        with self.app.engine.connect() as conn:
            inc = conn.execute(select(INCIDENTS).where(INCIDENTS.c.id == changed.incident_id)).first()
            entry = conn.execute(select(EVENTS).where(EVENTS.c.id == changed.event_id)).first()
            if inc is None or entry is None:
                return None, {}
            alerts = conn.execute(
                select(ALERTS.c.labels_json, ALERTS.c.target_key).where(ALERTS.c.incident_id == inc.id)
            ).all()
            report = None
            kind = {"diagnosed": "diagnosed", "resolved": "resolved"}.get(changed.kind, "update")
            data = json.loads(entry.data_json)
            # Said in the team's language when the message is built; plain text (no phrase) as it is.
            phrase = Phrase.model_validate(data["phrase"]) if "phrase" in data else Phrase.plain(entry.text)
            if changed.kind == "diagnosed":
                inv_id = data.get("investigation_id")
                reports_json = conn.execute(
                    select(INVESTIGATIONS.c.reports_json).where(INVESTIGATIONS.c.id == inv_id)
                ).scalar()
                entries = json.loads(reports_json or "[]")
                report = Report.model_validate(entries[0]["report"]) if entries else None
                earlier = conn.execute(
                    select(NOTIFICATIONS.c.id)
                    .where(NOTIFICATIONS.c.incident_id == inc.id, NOTIFICATIONS.c.kind == "diagnosed")
                    .limit(1)
                ).first()
                if earlier is not None:
                    kind = "update"  # a follow-up or a second look: the team has the first diagnosis
        targets = sorted({a.target_key for a in alerts} - {NO_TARGET})
        notice = Notice(
            kind=kind,
            incident_id=inc.id,
            title=inc.title,
            severity=inc.severity,
            status=inc.status,
            opened_at=utc(inc.opened_at),
            # When it resolved as the timeline says (the incident may have reopened since).
            resolved_at=utc(entry.at) if kind == "resolved" else None,
            alert_count=len(alerts),
            targets=targets,
            change=phrase if kind == "update" else None,
            fixed_by=phrase if kind == "resolved" else None,
            report=report,
        )
        common = _common_labels([json.loads(a.labels_json) for a in alerts])
        root = inc.root_target
        service = root.removeprefix("service:") if root.startswith("service:") else ""
        fields = {**common, "severity": inc.severity, "status": inc.status, "service": service}
        return notice, fields

    # -- sending --------------------------------------------------------------------------------

    def flush(self) -> int:
        """Send what is due, folded per target; how many messages went out."""
        with self._sending:
            return self._flush()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _flush(self) -> int:
        now = self._now()
        waiting = NOTIFICATIONS.c.status.in_(("queued", "failed"))
        with self.app.engine.connect() as conn:
            due = conn.execute(
                select(NOTIFICATIONS)
                .where(waiting, NOTIFICATIONS.c.next_attempt_at <= now)
                .order_by(NOTIFICATIONS.c.id)
            ).all()
        by_target: dict[str, list[Any]] = defaultdict(list)
        for row in due:
            by_target[row.target].append(row)
        configured = self._configured()
        sent = 0
        for key, rows in by_target.items():
            url = configured.get(key)
            if url is None:
                self._failed(rows, "its target is no longer configured (notify.urls or notify.routes)")
                continue
            platform = platform_of(url)
            if not self.limiter.allow(key, platform, now.timestamp()):
                later = datetime.fromtimestamp(self.limiter.next_free(key, platform, now.timestamp()), UTC)
                self._postpone(rows, later)
                continue
            report = as_report([Notice.model_validate_json(r.text) for r in rows], self.app.settings.report.language)
            cfg = self.app.settings.notify.model_copy(update={"retries": 1})
            ok, _, error = deliver_one(report, url, cfg)
            if ok:
                self._sent(rows)
                sent += 1
            else:
                self._failed(rows, error or "the delivery failed")
        return sent

    def _configured(self) -> dict[str, str]:
        """Stored key -> URL of every target in the configuration that can be read now."""
        cfg = self.app.settings.notify
        found: dict[str, str] = {}
        for configured in {*cfg.urls, *(t for r in cfg.routes for t in r.targets)}:
            try:
                url = resolve_secret(configured)
            except ConfigError:
                continue
            found[_stored(configured, url)[0]] = url
        return found

    def _sent(self, rows: list[Any]) -> None:
        now = self._now()
        first, rest = rows[0], rows[1:]
        with self.app.engine.begin() as conn:
            conn.execute(
                update(NOTIFICATIONS)
                .where(NOTIFICATIONS.c.id == first.id)
                .values(status="sent", sent_at=now, attempts=first.attempts + 1, error=None)
            )
            if rest:
                conn.execute(
                    update(NOTIFICATIONS)
                    .where(NOTIFICATIONS.c.id.in_([r.id for r in rest]))
                    .values(status="folded", sent_at=now, folded_into=first.id, error=None)
                )
            for row in rows:
                folded = "" if row is first else f" (folded into message {first.id})"
                note(
                    conn,
                    self.app.bus,
                    row.incident_id,
                    "notified",
                    SYSTEM,
                    f"{row.kind} message sent to {row.shown}{folded}",
                )
        incidents = ", ".join(f"#{r.incident_id} {r.kind}" for r in rows)
        log.info("message %d sent to %s: incident %s", first.id, first.shown, incidents)

    def _postpone(self, rows: list[Any], until: Any) -> None:
        with self.app.engine.begin() as conn:
            conn.execute(
                update(NOTIFICATIONS).where(NOTIFICATIONS.c.id.in_([r.id for r in rows])).values(next_attempt_at=until)
            )

    def _failed(self, rows: list[Any], error: str) -> None:
        now = self._now()
        backoff = self.app.settings.notify.backoff_s
        with self.app.engine.begin() as conn:
            for row in rows:
                attempts = row.attempts + 1
                if attempts >= GIVE_UP_AFTER:
                    values: dict[str, Any] = {"status": "undeliverable", "attempts": attempts, "error": error}
                    said = f"{row.kind} message to {row.shown} is undeliverable after {attempts} attempts: {error}"
                    note(conn, self.app.bus, row.incident_id, "notification-failed", SYSTEM, said)
                else:
                    delay = min(MAX_BACKOFF_S, max(backoff, 1.0) * 2 ** (attempts - 1))
                    values = {
                        "status": "failed",
                        "attempts": attempts,
                        "error": error,
                        "next_attempt_at": now + timedelta(seconds=delay),
                    }
                conn.execute(update(NOTIFICATIONS).where(NOTIFICATIONS.c.id == row.id).values(**values))
        for row in rows:
            last = row.attempts + 1 >= GIVE_UP_AFTER
            then = "undeliverable, given up" if last else "to be tried again"
            said = f"message {row.id} to {row.shown} (incident #{row.incident_id}) failed, {then}: {loggable(error)}"
            log.log(logging.ERROR if last else logging.WARNING, "%s", said)


def _stored(configured: str, url: str | None = None) -> tuple[str, str]:
    """How a target is kept (its reference, or its URL's hash) and shown (no token)."""
    try:
        url = url or resolve_secret(configured)
    except ConfigError:
        return reference(configured) or configured, configured
    return reference(configured) or fingerprint(url), shown(url)


def _common_labels(label_sets: list[dict[str, str]]) -> dict[str, str]:
    if not label_sets:
        return {}
    common = dict(label_sets[0])
    for labels in label_sets[1:]:
        common = {k: v for k, v in common.items() if labels.get(k) == v}
    return common
