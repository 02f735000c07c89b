"""One alert model for every sender (Alertmanager, Grafana, a generic JSON alert)."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Severity = Literal["critical", "warning", "info"]
Source = Literal["alertmanager", "grafana", "generic"]
Status = Literal["firing", "resolved"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
KEY_CHARS = 300  # the width of an alert's name and target key in the store


def bounded(text: str, limit: int = KEY_CHARS) -> str:
    """At most `limit` characters: a longer text keeps its start and ends with a hash of the whole, so
    two long texts that differ only after the cut stay two."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{text[: limit - len(digest) - 1]}…{digest}"


class Target(BaseModel):
    """What an alert is about, as far as its labels say."""

    model_config = ConfigDict(frozen=True)

    host: str | None = None  # a host name or address, without the port of its exporter
    service: str | None = None
    url: str | None = None
    mountpoint: str | None = None
    pid: int | None = None

    @property
    def key(self) -> str:
        """The identity alerts are correlated by: the service when one is named (it may run on many
        hosts), else the URL probed, else the host; `alert:` when the labels name none of them."""
        if self.service:
            return bounded(f"service:{self.service}")
        if self.url:
            return bounded(f"url:{self.url}")
        if self.host:
            return bounded(f"host:{self.host}")
        return "alert:"

    @property
    def label(self) -> str:
        """For people: `orders-db on db-1`, `/var on db-2`, `https://pay.example.com`."""
        what = self.service or self.url or self.mountpoint or (f"pid {self.pid}" if self.pid else None)
        if what and self.host and not self.url:
            return f"{what} on {self.host}"
        return what or self.host or "?"


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True)

    fingerprint: str = Field(min_length=1, max_length=64)  # the sender's own, else Alertmanager's hash of the labels
    source: Source
    name: str  # the alertname label, or the generic alert's name
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    status: Status
    severity: Severity
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None  # None while firing (Alertmanager's 0001-01-01 included)
    generator_url: str | None = None
    group_key: str | None = None  # the sender's grouping: Alertmanager's groupKey
    target: Target


class Batch(BaseModel):
    """One delivery from a sender, normalised."""

    source: Source
    alerts: list[Alert]
    group_key: str | None = None
    truncated: int = 0  # alerts Alertmanager left out of this delivery (max_alerts)
    receiver: str | None = None
