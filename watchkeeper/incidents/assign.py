"""The assigner: a stored delivery's alerts become incidents. It runs as one bus consumer, and each
delivery is one transaction holding the assignment lock (PostgreSQL: an advisory lock; SQLite: its
single writer), so two deliveries never open two incidents for one cause.

Per alert, by fingerprint: a resend updates the alert and opens nothing; a resolved alert may start
its incident's grace period; an alert that fires again flaps its live incident, reopens a resolved
one within the reopen window, or opens a new incident linked to the old one after it; a new firing
alert joins the incident `alerts.correlate.decide` picks, or opens one (and draws in the incidents of
services that depend on it). A silenced alert is stored and visible, and does nothing else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, String, bindparam, func, insert, or_, select, text, update

from watchkeeper.alerts.correlate import NO_TARGET, Dependencies, OpenIncident, Rules, decide, dependents, group_values
from watchkeeper.alerts.model import SEVERITY_RANK, Alert
from watchkeeper.alerts.normalise import normalise, parse
from watchkeeper.alerts.silences import Matcher, all_match
from watchkeeper.bus.base import Bus
from watchkeeper.config import Settings
from watchkeeper.i18n import N_, Phrase
from watchkeeper.incidents.ingest import DELIVERIES
from watchkeeper.incidents.lifecycle import fold
from watchkeeper.incidents.records import (
    ALERTS,
    INCIDENTS,
    INVESTIGATIONS,
    LIVE,
    SYSTEM,
    live_id,
    note,
    now_utc,
    queue_investigation,
    touch,
    utc,
)
from watchkeeper.incidents.silences import active_silences
from watchkeeper.oplog import loggable
from watchkeeper.store.gate import write_gate

if TYPE_CHECKING:
    from watchkeeper.app import App

log = logging.getLogger(__name__)
ASSIGN_LOCK = 0x77_6B_15  # pg_advisory_xact_lock key: one assignment at a time across managers
# Built once: building SQLAlchemy statements costs more than running these on SQLite (see _Assigner).
_ASSIGN_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_CLAIM = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id.in_(bindparam("ids", expanding=True)), DELIVERIES.c.status == "accepted")
    .values(status="processed")
    .returning(DELIVERIES.c.id, DELIVERIES.c.source, DELIVERIES.c.body)
)
_KNOWN = (
    select(ALERTS.c.id, ALERTS.c.fingerprint, ALERTS.c.status, ALERTS.c.incident_id, ALERTS.c.silenced_by)
    .add_columns(INCIDENTS.c.status.label("incident_status"), INCIDENTS.c.resolved_at, INCIDENTS.c.merged_into)
    .outerjoin(INCIDENTS, INCIDENTS.c.id == ALERTS.c.incident_id)
    .where(ALERTS.c.fingerprint.in_(bindparam("fingerprints", expanding=True)))
)
_INCIDENT_STATE = select(INCIDENTS.c.status, INCIDENTS.c.resolved_at).where(INCIDENTS.c.id == bindparam("incident_id"))
_INSERT = insert(ALERTS)
# The columns to set are the parameters' (the alert's fields; where a placed alert went).
_RESEND = update(ALERTS).where(ALERTS.c.id == bindparam("row_id")).values(received_count=ALERTS.c.received_count + 1)
_PLACE = update(ALERTS).where(ALERTS.c.id == bindparam("row_id"))
_TOUCH = (
    update(INCIDENTS)
    .where(INCIDENTS.c.id == bindparam("incident"))
    .values(severity=func.coalesce(bindparam("raised", type_=String), INCIDENTS.c.severity))
)
_OPEN = insert(INCIDENTS).returning(INCIDENTS.c.id)
# The live incidents a delivery may join: those with alerts on its targets (and on what they need) or
# in its sender's groups, and those rooted at services that need its services (they may merge into it).
# The alerts are read first, then their incidents: joined in one query, PostgreSQL (its statistics
# behind a storm's growth) reads every alert of each live incident to find the few on the targets.
_LIVE = INCIDENTS.c.status.in_(LIVE) & INCIDENTS.c.merged_into.is_(None)
_INCIDENT = (
    INCIDENTS.c.id,
    INCIDENTS.c.root_target,
    INCIDENTS.c.status,
    INCIDENTS.c.severity,
    INCIDENTS.c.last_alert_at,
)
_PLACED = select(ALERTS.c.incident_id, ALERTS.c.target_key, ALERTS.c.group_key, ALERTS.c.severity, ALERTS.c.status)
# Many alerts share a target (the instances of a service): without group_by labels one row for each is enough.
_MATCHING_ALERTS = _PLACED.where(
    ALERTS.c.incident_id.is_not(None),
    or_(
        ALERTS.c.target_key.in_(bindparam("keys", expanding=True)),
        ALERTS.c.group_key.in_(bindparam("group_keys", expanding=True)),
    ),
).distinct()
# With group_by labels, every alert of a live incident: their labels decide.
_LIVE_ALERTS_WITH_LABELS = (
    _PLACED.add_columns(ALERTS.c.labels_json).join(INCIDENTS, INCIDENTS.c.id == ALERTS.c.incident_id).where(_LIVE)
)
_LIVE_BY_ID = (
    select(*_INCIDENT).where(_LIVE, INCIDENTS.c.id.in_(bindparam("ids", expanding=True))).order_by(INCIDENTS.c.id)
)
_LIVE_BY_ROOT = select(*_INCIDENT).where(_LIVE, INCIDENTS.c.root_target.in_(bindparam("roots", expanding=True)))


def rules_of(settings: Settings) -> Rules:
    deps = Dependencies({name: info.depends_on for name, info in settings.triage.services.items()})
    return Rules(
        window=timedelta(seconds=settings.incidents.window_s),
        deps=deps,
        group_by=tuple(settings.alerts.group_by),
        use_group_key=settings.alerts.use_group_key,
    )


def assign(app: App, delivery_id: int, now: datetime | None = None) -> bool:
    """Assign a stored delivery's alerts; False when it was assigned already (a redelivery)."""
    return delivery_id in assign_many(app, [delivery_id], now)


def assign_many(app: App, delivery_ids: Sequence[int], now: datetime | None = None) -> set[int]:
    """Assign stored deliveries in one transaction, one after the other in the order they were stored,
    as if each were alone; the ids assigned now (one assigned already, a redelivery, is left out)."""
    now = now or now_utc()
    # The assigner waits for the webhook ingests of this process (a sender waits for their answer).
    with write_gate(app.engine).background(), app.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(_ASSIGN_LOCK, {"key": ASSIGN_LOCK})
            # psycopg prepares a statement run five times, and PostgreSQL then keeps one plan for it: made
            # while a storm's tables were still small, it scans them whole once they are not.
            conn.exec_driver_sql("SET LOCAL plan_cache_mode TO force_custom_plan")
        # The first statement writes: on SQLite that takes the write lock for the whole transaction.
        claimed = sorted(conn.execute(_CLAIM, {"ids": list(delivery_ids)}).all())
        if not claimed:
            return set()
        assigner = _Assigner(conn, app.bus, app.settings, now, active_silences(conn, now))
        for _, source, body in claimed:
            assigner.delivery(source, normalise(source, parse(body)).alerts)
    for line in assigner.told:
        log.info("%s", line)
    return {delivery_id for delivery_id, _, _ in claimed}


@dataclass
class _Live:
    """An incident that may take alerts, as far as this delivery needs to know it."""

    id: int
    root: str
    status: str
    severity: str
    last_alert_at: datetime
    targets: set[str] = field(default_factory=set)
    critical: set[str] = field(default_factory=set)
    group_keys: set[str] = field(default_factory=set)
    groups: set[tuple[str, ...]] = field(default_factory=set)

    def frozen(self) -> OpenIncident:
        return OpenIncident(
            self.id,
            self.root,
            self.last_alert_at,
            frozenset(self.targets),
            frozenset(self.critical),
            frozenset(self.group_keys),
            frozenset(self.groups),
        )


Placed = Callable[[dict[str, Any]], object]  # records where a firing alert went (incident_id, join_rule, join_reason)


class _Assigner:
    """One transaction's deliveries. The decisions are made in memory, and the writes every alert
    needs are collected and written together (an alert's row once, with where it went; the resends in
    one statement; an incident's last alert time and severity once per delivery): building SQLAlchemy
    statements, not running them, is what costs on SQLite. Whatever is collected is written before
    any statement that reads what it changes (`_flush`), so each delivery sees the ones before it."""

    def __init__(
        self,
        conn: Connection,
        bus: Bus,
        settings: Settings,
        now: datetime,
        silences: Sequence[tuple[str, list[Matcher]]],
    ) -> None:
        self.conn, self.bus, self.now, self.silences = conn, bus, now, silences
        self.rules = rules_of(settings)
        self.told: list[str] = []  # for the manager's log, once the transaction has committed
        self.cfg = settings.incidents
        # service -> the configured services that need it (directly or through others)
        self.needed_by: dict[str, set[str]] = {}
        for name in settings.triage.services:
            for upstream in self.rules.deps.upstream(name):
                self.needed_by.setdefault(upstream, set()).add(name)
        self.inserts: list[dict[str, Any]] = []
        self.resends: list[dict[str, Any]] = []
        self.touches: dict[int, str | None] = {}  # incident -> its raised severity (None: unchanged)
        self.sender = ""
        self.view: dict[int, _Live] = {}
        self.fresh = True  # no incident's status or merge changed since this delivery's alerts were read

    def delivery(self, sender: str, batch: Sequence[Alert]) -> None:
        self.sender, self.view, self.fresh = sender, {}, True
        # One alert twice in one delivery: the later copy is what the sender means now.
        alerts = list({a.fingerprint: a for a in batch}.values())
        self._load(alerts)
        known = {r.fingerprint: r for r in self.conn.execute(_KNOWN, {"fingerprints": [a.fingerprint for a in alerts]})}
        for alert in alerts:
            row = known.get(alert.fingerprint)
            if row is None:
                self._new(alert)
            else:
                self._resend(alert, row)
        self._flush()

    def _flush(self) -> None:
        if self.inserts:
            self.conn.execute(_INSERT, self.inserts)
            self.inserts = []
        if self.resends:
            self.conn.execute(_RESEND, self.resends)
            self.resends = []
        if self.touches:
            at = now_utc()
            touched = [
                {"incident": i, "raised": raised, "last_alert_at": self.now, "updated_at": at}
                for i, raised in self.touches.items()
            ]
            self.conn.execute(_TOUCH, touched)
            self.touches = {}

    def _touch(self, inc_id: int, raised: str | None = None) -> None:
        """The incident took an alert now (and its severity rose to `raised`): written on the next flush."""
        self.touches[inc_id] = raised or self.touches.get(inc_id)
        if inc_id in self.view:
            self.view[inc_id].last_alert_at = self.now

    # -- the view of the live incidents this delivery may touch ----------------------------------

    def _load(self, alerts: Sequence[Alert]) -> None:
        deps = self.rules.deps
        keys = {a.target.key for a in alerts} - {NO_TARGET}
        named = {a.target.service for a in alerts if a.target.service}
        keys |= {f"service:{up}" for s in named for up in deps.upstream(s)}
        group_keys = {a.group_key for a in alerts if a.group_key}
        roots = {f"service:{d}" for s in named for d in self.needed_by.get(s, ())}
        if self.rules.group_by:
            rows = self.conn.execute(_LIVE_ALERTS_WITH_LABELS).all()
        else:
            rows = self.conn.execute(_MATCHING_ALERTS, {"keys": list(keys), "group_keys": list(group_keys)}).all()
        for r in self.conn.execute(_LIVE_BY_ID, {"ids": sorted({r.incident_id for r in rows})}):
            self._entry(r.id, r.root_target, r.status, r.severity, r.last_alert_at)
        for r in rows:
            if (inc := self.view.get(r.incident_id)) is None:
                continue  # an alert of an incident that ended
            inc.targets.add(r.target_key)
            if r.severity == "critical" and r.status == "firing":
                inc.critical.add(r.target_key)
            if r.group_key:
                inc.group_keys.add(r.group_key)
            if self.rules.group_by:
                values = group_values(json.loads(r.labels_json), self.rules.group_by)
                if values is not None:
                    inc.groups.add(values)
        if roots:
            for r in self.conn.execute(_LIVE_BY_ROOT, {"roots": list(roots)}):
                self._entry(r.id, r.root_target, r.status, r.severity, r.last_alert_at)

    def _entry(self, inc_id: int, root: str, status: str, severity: str, last: datetime) -> _Live:
        if inc_id not in self.view:
            self.view[inc_id] = _Live(inc_id, root, status, severity, utc(last))
        return self.view[inc_id]

    # -- alerts ---------------------------------------------------------------------------------

    def _silence(self, alert: Alert) -> str | None:
        return next((sid for sid, matchers in self.silences if all_match(matchers, alert.labels)), None)

    def _new(self, alert: Alert) -> None:
        row = {
            **_fields(alert, self.now),
            "first_seen_at": self.now,
            "received_count": 1,
            "silenced_by": None,
            "incident_id": None,
            "join_rule": None,
            "join_reason": None,
        }
        if alert.status == "firing":
            row["silenced_by"] = self._silence(alert)
            if row["silenced_by"] is None:
                self._place(alert, lambda placed: self.inserts.append(row | placed))
                return
        self.inserts.append(row)

    def _incident_of(self, row: Any) -> tuple[int, str, datetime | None] | None:
        """The live incident of a known alert (through merges), its status and when it resolved."""
        if row.incident_id is None:
            return None
        if self.fresh and row.merged_into is None:
            return row.incident_id, row.incident_status, row.resolved_at
        inc_id = live_id(self.conn, row.incident_id)
        status, resolved_at = self.conn.execute(_INCIDENT_STATE, {"incident_id": inc_id}).one()
        return inc_id, status, resolved_at

    def _resend(self, alert: Alert, row: Any) -> None:
        refire = row.status == "resolved" and alert.status == "firing"
        silence = self._silence(alert) if alert.status == "firing" else row.silenced_by
        self.resends.append({"row_id": row.id, **_fields(alert, self.now), "silenced_by": silence})
        incident = self._incident_of(row)
        if alert.status == "resolved":
            if incident is not None:
                self._maybe_all_resolved(incident[0])
            return
        if silence is not None:
            return
        if incident is None:
            self._place(alert, self._placed(row.id))
            return
        inc_id, status, resolved_at = incident
        if status in LIVE:
            self._touch(inc_id)
            if refire:
                touch(self.conn, inc_id, flaps=INCIDENTS.c.flaps + 1, resolve_after=None)
                said = f"{alert.name} on {alert.target.label} fired again"
                note(self.conn, self.bus, inc_id, "alert-fired-again", self.sender, said)
            return
        if not refire:
            return  # still firing after a person resolved the incident: their call stands until it fires anew
        if resolved_at is not None and self.now - utc(resolved_at) <= timedelta(seconds=self.cfg.reopen_window_s):
            self._reopen(inc_id, alert)
        else:
            self._place(alert, self._placed(row.id), previous=inc_id)

    def _placed(self, row_id: int) -> Placed:
        """Where a known alert went, written at once (a new alert's row is written with it)."""
        return lambda placed: self.conn.execute(_PLACE, {"row_id": row_id, **placed})

    def _reopen(self, inc_id: int, alert: Alert) -> None:
        diagnosed = self.conn.execute(
            select(func.count()).where(INVESTIGATIONS.c.incident_id == inc_id, INVESTIGATIONS.c.status == "done")
        ).scalar_one()
        status = "diagnosed" if diagnosed else "open"
        touch(
            self.conn,
            inc_id,
            status=status,
            resolved_at=None,
            resolved_by=None,
            resolve_after=None,
            last_alert_at=self.now,
            flaps=INCIDENTS.c.flaps + 1,
        )
        self.fresh = False
        said = Phrase(
            message=N_("{alert} on {target} fired again within the reopen window"),
            params={"alert": alert.name, "target": alert.target.label},
        )
        note(self.conn, self.bus, inc_id, "reopened", self.sender, said, {"fingerprint": alert.fingerprint})
        self.told.append(f"incident #{inc_id} reopened: {loggable(said.english())}")

    def _maybe_all_resolved(self, inc_id: int) -> None:
        self._flush()  # the alerts of this delivery so far count
        firing = self.conn.execute(
            select(func.count()).where(ALERTS.c.incident_id == inc_id, ALERTS.c.status == "firing")
        ).scalar_one()
        status = self.conn.execute(select(INCIDENTS.c.status).where(INCIDENTS.c.id == inc_id)).scalar_one()
        if firing or status not in LIVE:
            return
        after = self.now + timedelta(seconds=self.cfg.resolve_grace_s)
        touch(self.conn, inc_id, resolve_after=after)
        said = f"every alert has resolved: the incident resolves at {after:%H:%M:%S} UTC unless one fires again"
        note(self.conn, self.bus, inc_id, "alerts-resolved", self.sender, said, {"resolve_after": after.isoformat()})

    # -- placing a firing alert -------------------------------------------------------------------

    def _place(self, alert: Alert, placed: Placed, previous: int | None = None) -> None:
        decision = decide(alert, [v.frozen() for v in self.view.values()], self.rules, self.now)
        if decision.incident_id is None:
            inc_id = self._open(alert, decision.reason, previous)
        else:
            inc_id = decision.incident_id
            self._join(alert, self.view[inc_id], decision.rule, decision.reason)
        placed({"incident_id": inc_id, "join_rule": decision.rule, "join_reason": decision.reason})
        into = self.view[inc_id]
        self._add(into, alert)
        merging = dependents(alert.target.key, [v.frozen() for v in self.view.values()], self.rules, self.now, inc_id)
        if merging:
            self._flush()  # a fold moves the alerts of each dependent, these included
            self.fresh = False
        for dependent, why in merging:
            fold(self.conn, self.bus, dependent, inc_id, SYSTEM, why, self.now)
            gone = self.view.pop(dependent)
            into.targets |= gone.targets
            into.critical |= gone.critical
            into.group_keys |= gone.group_keys
            into.groups |= gone.groups
            into.severity = max(into.severity, gone.severity, key=SEVERITY_RANK.__getitem__)  # as fold wrote it

    def _add(self, inc: _Live, alert: Alert) -> None:
        key = alert.target.key
        inc.last_alert_at = self.now
        if key != NO_TARGET:
            inc.targets.add(key)
            if alert.severity == "critical":
                inc.critical.add(key)
        if alert.group_key:
            inc.group_keys.add(alert.group_key)
        if (values := group_values(alert.labels, self.rules.group_by)) is not None:
            inc.groups.add(values)

    def _open(self, alert: Alert, reason: str, previous: int | None) -> int:
        title = alert.name if alert.target.key == NO_TARGET else f"{alert.name}: {alert.target.label}"
        inc_id = int(
            self.conn.execute(
                _OPEN,
                {
                    "title": title,
                    "status": "open",
                    "severity": alert.severity,
                    "root_target": alert.target.key,
                    "opened_at": self.now,
                    "updated_at": self.now,
                    "last_alert_at": self.now,
                    "flaps": 0,
                    "previous_id": previous,
                },
            ).scalar_one()
        )
        data = {"rule": "new", "fingerprint": alert.fingerprint, "target": alert.target.key}
        self.told.append(f"incident #{inc_id} opened ({alert.severity}): {loggable(title)}")
        note(self.conn, self.bus, inc_id, "opened", self.sender, f"opened by {title} ({reason})", data)
        if previous is not None:
            note(self.conn, self.bus, inc_id, "happened-before", SYSTEM, f"the same alert was incident #{previous}")
            note(self.conn, self.bus, previous, "happened-again", SYSTEM, f"the same alert opened incident #{inc_id}")
        settle = self.now + timedelta(seconds=self.cfg.settle_s)
        queue_investigation(
            self.conn, self.bus, inc_id, "initial", settle, SYSTEM, "investigation after the settle time"
        )
        self.view[inc_id] = _Live(inc_id, alert.target.key, "open", alert.severity, self.now)
        return inc_id

    def _join(self, alert: Alert, inc: _Live, rule: str, reason: str) -> None:
        raised = None
        if SEVERITY_RANK[alert.severity] > SEVERITY_RANK[inc.severity]:
            raised = inc.severity = alert.severity
        self._touch(inc.id, raised)
        key = alert.target.key
        if key == NO_TARGET or key in inc.targets:
            return  # one more alert on a target the timeline already names: its join reason is on the alert
        data = {"rule": rule, "fingerprint": alert.fingerprint, "target": key}
        note(
            self.conn,
            self.bus,
            inc.id,
            "alert-joined",
            self.sender,
            f"{alert.name} on {alert.target.label} joined: {reason}",
            data,
        )
        # A new symptom on a new target gets one follow-up: after the diagnosis, or during the investigation
        # (which chose its targets when it started); a queued one will read the incident when it starts.
        if (
            inc.status in ("investigating", "diagnosed")
            and not self._known_symptom(inc.id, alert.name)
            and not self._queued(inc.id)
        ):
            said = Phrase(
                message=N_("new symptom {alert} on {target} after the diagnosis")
                if inc.status == "diagnosed"
                else N_("new symptom {alert} on {target} during the investigation"),
                params={"alert": alert.name, "target": alert.target.label},
            )
            if inc.status == "diagnosed":  # the team heard the diagnosis: they hear of this too
                note(self.conn, self.bus, inc.id, "new-symptom", self.sender, said, data)
            why = f"follow-up: {said.english()}"
            queue_investigation(self.conn, self.bus, inc.id, "follow-up", self.now, SYSTEM, why)

    def _known_symptom(self, inc_id: int, name: str) -> bool:
        self._flush()  # the alerts of this delivery placed so far count
        same = select(ALERTS.c.id).where(ALERTS.c.incident_id == inc_id, ALERTS.c.name == name).limit(1)
        return self.conn.execute(same).first() is not None

    def _queued(self, inc_id: int) -> bool:
        queued = INVESTIGATIONS.c.status == "queued"
        query = select(INVESTIGATIONS.c.id).where(INVESTIGATIONS.c.incident_id == inc_id, queued).limit(1)
        return self.conn.execute(query).first() is not None


def _fields(alert: Alert, now: datetime) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "source": alert.source,
        "name": alert.name,
        "labels_json": json.dumps(alert.labels, ensure_ascii=False, sort_keys=True),
        "annotations_json": json.dumps(alert.annotations, ensure_ascii=False, sort_keys=True),
        "status": alert.status,
        "severity": alert.severity,
        "target_key": alert.target.key,
        "target_json": alert.target.model_dump_json(exclude_none=True),
        "group_key": alert.group_key,
        "generator_url": alert.generator_url,
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
        "last_seen_at": now,
    }
