"""What a sender may spell that a store cannot keep as it is: a NUL, an unpaired surrogate, an alert name
or target longer than the store's key, a time with an offset. Each alert accepted is stored and opens its
incident on SQLite and PostgreSQL — never a 202 and then an alert lost in the assigner — and what cannot
be taken is refused in one line and kept as rejected."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from watchkeeper.alerts.errors import PayloadError
from watchkeeper.alerts.model import KEY_CHARS
from watchkeeper.app import App
from watchkeeper.incidents.assign import assign
from watchkeeper.incidents.ingest import DELIVERIES, accept
from watchkeeper.incidents.records import ALERTS, INCIDENTS, utc


def taken(core: App, body: str) -> list[Any]:
    """Post `body` (JSON text, escapes as the sender wrote them) and assign it; the alerts stored."""
    delivery = accept(core, "generic", body.encode(), "test")
    assert assign(core, delivery.delivery_id)
    with core.engine.connect() as conn:
        return list(conn.execute(select(ALERTS).order_by(ALERTS.c.id)))


def test_a_nul_and_an_unpaired_surrogate_are_stored_as_replacement_characters(core: App) -> None:
    body = (
        r'{"name": "Disk\u0000Full", "labels": {"service": "a\u0000b", "k\ud800": "v"},'
        r' "annotations": {"x": "\udfff!"}}'
    )
    (alert,) = taken(core, body)
    assert alert.name == "Disk\ufffdFull"
    assert json.loads(alert.labels_json) == {"alertname": "Disk\ufffdFull", "service": "a\ufffdb", "k\ufffd": "v"}
    assert json.loads(alert.annotations_json) == {"x": "\ufffd!"}
    assert alert.target_key == "service:a\ufffdb" and alert.incident_id is not None


def test_a_pair_of_surrogates_is_one_character_and_kept(core: App) -> None:
    (alert,) = taken(core, r'{"name": "Slow", "labels": {"service": "\ud83d\udd25 checkout"}}')
    assert json.loads(alert.labels_json)["service"] == "🔥 checkout"


def test_names_and_targets_longer_than_the_key_are_bounded_and_stay_apart(core: App) -> None:
    long = "n" * 1000
    posts = [
        {"name": long + "1", "labels": {"url": f"https://example.com/{long}a"}},
        {"name": long + "2", "labels": {"url": f"https://example.com/{long}b"}},
    ]
    alerts = taken(core, json.dumps(posts))
    assert len(alerts) == 2
    assert all(len(a.name) <= KEY_CHARS and len(a.target_key) <= KEY_CHARS for a in alerts)
    assert alerts[0].name != alerts[1].name and alerts[0].target_key != alerts[1].target_key
    with core.engine.connect() as conn:
        assert len(conn.execute(select(INCIDENTS.c.id)).all()) == 2  # two targets, two incidents
    assert json.loads(alerts[0].labels_json)["url"].endswith(long + "a")  # the labels keep every character


def test_a_time_with_an_offset_is_stored_as_the_same_instant_in_utc(core: App) -> None:
    (alert,) = taken(core, '{"name": "Late", "starts_at": "2024-05-01T10:00:00+08:00"}')
    assert utc(alert.starts_at) == datetime(2024, 5, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "field", "said"),
    [
        ('{"name": "x", "starts_at": "9999-12-31T23:00:00-05:00"}', "starts_at", "out of range in UTC"),
        ("[" * 100_000, "body", "nested too deeply"),
    ],
    ids=["past-year-9999", "deep-nesting"],
)
def test_what_cannot_be_taken_is_refused_in_one_line_and_kept_as_rejected(
    core: App, body: str, field: str, said: str
) -> None:
    with pytest.raises(PayloadError) as refused:
        accept(core, "generic", body.encode(), "test")
    assert refused.value.field == field and said in refused.value.problem
    with core.engine.connect() as conn:
        (kept,) = conn.execute(select(DELIVERIES.c.status, DELIVERIES.c.error)).all()
    assert kept.status == "rejected" and said in kept.error


def test_a_raw_nul_byte_is_refused_and_still_kept_as_rejected(core: App) -> None:
    with pytest.raises(PayloadError):
        accept(core, "generic", b'{"name": "x\x00"}', "test")
    with core.engine.connect() as conn:
        (body,) = conn.execute(select(DELIVERIES.c.body).where(DELIVERIES.c.status == "rejected")).scalars()
    assert body == '{"name": "x\ufffd"}'
