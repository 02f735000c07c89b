"""What the incident workers tell each other over the bus."""

from __future__ import annotations

from typing import ClassVar

from watchkeeper.bus.events import EventData


class AlertsReceived(EventData):
    """A delivery was stored: the assigner turns its alerts into incidents."""

    SUBJECT: ClassVar[str] = "alert.received"
    delivery_id: int


class InvestigationDue(EventData):
    """An investigation was queued: the investigator runs it once its settle time has passed."""

    SUBJECT: ClassVar[str] = "incident.investigate"
    incident_id: int
    investigation_id: int


class IncidentChanged(EventData):
    """A timeline event people may want to hear of: the notifier decides who, and when."""

    SUBJECT: ClassVar[str] = "incident.changed"
    incident_id: int
    event_id: int
    kind: str
