"""Incident messages through real DingTalk-format receivers (signature checked): one per announced
change, routed by the first matching route, folded under the platform's per-minute limit, held
back by min_interval, retried with back-off and finally marked undeliverable on the timeline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.conftest import make_settings
from tests.notify.receivers import SECRET, Receiver, receiver
from watchkeeper.app import App, open_app
from watchkeeper.incidents import lifecycle
from watchkeeper.incidents.assign import assign
from watchkeeper.incidents.events import IncidentChanged
from watchkeeper.incidents.ingest import accept
from watchkeeper.incidents.notifier import GIVE_UP_AFTER, Notifier
from watchkeeper.incidents.records import ANNOUNCED, EVENTS, INCIDENTS, NOTIFICATIONS, SYSTEM, note


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def notifying(
    tmp_path: Path, log_dir: Path, language: str = "en", **notify: Any
) -> Iterator[tuple[App, Receiver, Notifier, Clock]]:
    with receiver() as chat:
        target = f"dingtalk+{chat.url}/robot/send?access_token=tok123&secret={SECRET}"
        settings = {
            "urls": [target],
            "backoff_s": 1.0,
            **{k: v(target) if callable(v) else v for k, v in notify.items()},
        }
        made = make_settings(tmp_path, log_dir, notify=settings, report={"language": language})
        core = open_app(made, import_mcp=False)
        clock = Clock()
        try:
            yield core, chat, Notifier(core, clock), clock
        finally:
            core.close()


def incident(core: App, name: str, severity: str = "critical") -> int:
    body = json.dumps({"name": name, "labels": {"service": name.lower(), "severity": severity}}).encode()
    assign(core, accept(core, "generic", body, "test").delivery_id)
    with core.engine.connect() as conn:
        return int(conn.execute(select(INCIDENTS.c.id).order_by(INCIDENTS.c.id.desc())).scalars().first() or 0)


def announce(core: App, notifier: Notifier, incident_id: int, kind: str, text: str) -> None:
    with core.engine.begin() as conn:
        event_id = note(conn, core.bus, incident_id, kind, SYSTEM, text)
    notifier.handle(IncidentChanged(incident_id=incident_id, event_id=event_id, kind=kind))


def statuses(core: App) -> list[str]:
    with core.engine.connect() as conn:
        return list(conn.execute(select(NOTIFICATIONS.c.status).order_by(NOTIFICATIONS.c.id)).scalars())


def test_one_message_per_change_and_a_redelivered_event_sends_nothing_twice(tmp_path: Path, log_dir: Path) -> None:
    with notifying(tmp_path, log_dir) as (core, chat, notifier, _):
        inc = incident(core, "OrdersDown")
        announce(core, notifier, inc, "diagnosed", "orders-db is down")
        with core.engine.connect() as conn:
            event_id = conn.execute(select(EVENTS.c.id).where(EVENTS.c.kind == "diagnosed")).scalar_one()
        notifier.handle(IncidentChanged(incident_id=inc, event_id=event_id, kind="diagnosed"))  # redelivered
        assert len(chat.got) == 1 and statuses(core) == ["sent"]
        text = chat.got[0].body["markdown"]["text"]
        assert f"incident #{inc}" in text and chat.got[0].query.get("sign")
        with core.engine.connect() as conn:
            said = conn.execute(select(EVENTS.c.text).where(EVENTS.c.kind == "notified")).scalars().all()
        assert said and "diagnosed message sent to dingtalk+http://127.0.0.1" in said[0]


def test_over_dingtalks_limit_the_rest_is_folded_into_the_next_message(tmp_path: Path, log_dir: Path) -> None:
    with notifying(tmp_path, log_dir, per_minute={"dingtalk": 2}) as (core, chat, notifier, clock):
        incidents = [incident(core, f"Down{n}") for n in range(5)]
        for inc in incidents:
            announce(core, notifier, inc, "diagnosed", f"diagnosis {inc}")
        assert len(chat.got) == 2 and statuses(core) == ["sent", "sent", "queued", "queued", "queued"]
        clock.now += 61  # the minute has passed: the three waiting go out as one message
        assert notifier.flush() == 1
        assert len(chat.got) == 3 and statuses(core) == ["sent", "sent", "sent", "folded", "folded"]
        folded = chat.got[-1].body["markdown"]["text"]
        assert all(f"#{inc}" in folded for inc in incidents[2:])


def test_routes_pick_targets_and_min_interval_holds_updates_back(tmp_path: Path, log_dir: Path) -> None:
    routes = lambda target: [  # noqa: E731
        {"match": {"severity": "critical"}, "targets": [target], "min_interval_s": 300},
        {"match": {"severity": "info"}, "targets": [target.replace("/robot/send", "/other")]},
    ]
    with notifying(tmp_path, log_dir, routes=routes) as (core, chat, notifier, clock):
        warn = incident(core, "SlowDisk", severity="warning")
        announce(core, notifier, warn, "diagnosed", "no route for warnings")
        assert chat.got == [] and statuses(core) == []
        crit = incident(core, "DbDown")
        announce(core, notifier, crit, "diagnosed", "db down")
        announce(core, notifier, crit, "new-symptom", "a new symptom")
        assert len(chat.got) == 1 and statuses(core) == ["sent", "queued"]
        announce(core, notifier, crit, "reopened", "fired again")  # not held back: the team thinks it resolved
        assert len(chat.got) == 2 and statuses(core) == ["sent", "queued", "sent"]
        assert "fired again" in chat.got[1].body["markdown"]["text"]
        clock.now += 301
        notifier.flush()
        assert len(chat.got) == 3 and statuses(core) == ["sent", "sent", "sent"]


def test_a_failing_target_is_retried_with_back_off_then_undeliverable_on_the_timeline(
    tmp_path: Path, log_dir: Path
) -> None:
    with notifying(tmp_path, log_dir) as (core, chat, notifier, clock):
        chat.failures_left["/robot/send"] = 100
        inc = incident(core, "Flaky")
        announce(core, notifier, inc, "resolved", "every alert resolved")
        delays = []
        for _ in range(GIVE_UP_AFTER - 1):
            with core.engine.connect() as conn:
                row = conn.execute(select(NOTIFICATIONS)).one()
            assert row.status == "failed" and "503" in row.error
            delays.append(row.next_attempt_at.replace(tzinfo=UTC).timestamp() - clock.now)
            assert notifier.flush() == 0 and len(chat.got) == len(delays)  # not due yet: nothing is tried
            clock.now += delays[-1]
            notifier.flush()
        assert delays == [2.0**n for n in range(GIVE_UP_AFTER - 1)]  # doubling from notify.backoff_s
        assert statuses(core) == ["undeliverable"]
        with core.engine.connect() as conn:
            failed = conn.execute(select(EVENTS.c.text).where(EVENTS.c.kind == "notification-failed")).scalar_one()
        assert f"undeliverable after {GIVE_UP_AFTER} attempts" in failed
        assert len(chat.got) == GIVE_UP_AFTER


def test_a_chinese_team_hears_what_changed_in_chinese(tmp_path: Path, log_dir: Path) -> None:
    """The timeline is kept in English; what a message says of it is said in the team's language."""
    t0 = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)

    def post(status: str, at: datetime) -> None:
        alert = {"name": "OrdersDown", "status": status, "labels": {"service": "orders", "severity": "critical"}}
        assign(core, accept(core, "generic", json.dumps(alert).encode(), "test").delivery_id, at)

    with notifying(tmp_path, log_dir, language="zh-CN") as (core, chat, notifier, clock):
        post("firing", t0)
        post("resolved", t0 + timedelta(minutes=1))
        assert lifecycle.tick(core, t0 + timedelta(minutes=7)) == 1  # resolved by the grace period
        post("firing", t0 + timedelta(minutes=20))  # reopened
        lifecycle.resolve(core, 1, "alice", "重启了订单服务")
        with core.engine.connect() as conn:
            events = conn.execute(select(EVENTS).where(EVENTS.c.kind.in_(ANNOUNCED)).order_by(EVENTS.c.id)).all()
        assert [e.kind for e in events] == ["resolved", "reopened", "resolved"]
        assert events[1].text == "OrdersDown on orders fired again within the reopen window"  # kept in English
        for e in events:
            clock.now += 301  # past min_interval_s: each goes out as a message of its own
            notifier.handle(IncidentChanged(incident_id=e.incident_id, event_id=e.id, kind=e.kind))
        said = [got.body["markdown"]["text"] for got in chat.got]
        assert len(said) == 3, said
        assert "所有告警均已恢复，且在宽限期内未再触发" in said[0]  # noqa: RUF001 (Chinese)
        assert "更新：orders 上的 OrdersDown 在重新打开窗口内再次触发" in said[1]  # noqa: RUF001 (Chinese)
        assert "由 alice 解决：重启了订单服务" in said[2]  # noqa: RUF001 (Chinese)
        english = ("every alert", "grace period", "fired again", "reopen window", "resolved by", "Update")
        assert not [w for w in english for text in said if w in text]
