"""What travels on the bus: an `Event` (subject + JSON data + an id), and typed bodies for it.

The id is the idempotency key: publishing an event whose id the bus already holds is a no-op, so a
producer that retries, or derives the id from what caused the event (an alert's fingerprint and
start), has it handled once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, field_validator

from watchkeeper.bus.subjects import check_subject


def _now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=200)
    subject: str = Field(max_length=255)
    data: dict[str, JsonValue] = Field(default_factory=dict)
    published_at: AwareDatetime = Field(default_factory=_now)

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        return check_subject(value)


class EventData(BaseModel):
    """The typed body of one kind of event; a subclass names its subject and its fields:

    class IncidentOpened(EventData):
        SUBJECT: ClassVar[str] = "incident.opened"
        incident_id: str

    bus.publish(IncidentOpened(incident_id=i).to_event(id=f"incident.opened:{i}"), conn=conn)
    opened = IncidentOpened.from_event(delivery.event)
    """

    SUBJECT: ClassVar[str]

    def to_event(self, id: str | None = None) -> Event:
        data = self.model_dump(mode="json")
        return Event(subject=self.SUBJECT, data=data) if id is None else Event(id=id, subject=self.SUBJECT, data=data)

    @classmethod
    def from_event(cls, event: Event) -> Self:
        if event.subject != cls.SUBJECT:
            raise ValueError(f"{cls.__name__} is {cls.SUBJECT!r}, not {event.subject!r}")
        return cls.model_validate(event.data)
