"""Events and their typed bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import pytest
from pydantic import ValidationError

from watchkeeper.bus.events import Event, EventData


class DiskFilling(EventData):
    SUBJECT: ClassVar[str] = "test.disk_filling"
    host: str
    percent: float


def test_a_typed_body_travels_as_json_data_and_comes_back_typed() -> None:
    event = DiskFilling(host="db1", percent=93.5).to_event(id="disk:db1")
    assert (event.id, event.subject, event.data) == ("disk:db1", "test.disk_filling", {"host": "db1", "percent": 93.5})
    assert DiskFilling.from_event(Event.model_validate_json(event.model_dump_json())) == DiskFilling(
        host="db1", percent=93.5
    )


def test_each_event_gets_its_own_id_unless_given_one() -> None:
    assert DiskFilling(host="a", percent=1).to_event().id != DiskFilling(host="a", percent=1).to_event().id


def test_a_body_is_not_read_from_another_subject() -> None:
    with pytest.raises(ValueError, match=r"'test\.disk_filling', not 'test\.other'"):
        DiskFilling.from_event(Event(subject="test.other", data={"host": "a", "percent": 1}))


def test_an_event_with_a_wildcard_subject_is_refused() -> None:
    with pytest.raises(ValidationError, match="wildcards belong in consumer filters"):
        Event(subject="incident.*")


def test_event_data_must_be_json() -> None:
    with pytest.raises(ValidationError, match="not a valid JSON value"):
        Event(subject="test.when", data={"at": datetime.now(UTC)})


def test_a_publishing_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="timezone info"):
        Event(subject="test.when", published_at=datetime(2026, 1, 1, 12, 0))
