"""From an alert or a question to a symptom and the concrete targets to look at."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from watchkeeper.alerts.errors import PayloadError
from watchkeeper.alerts.normalise import text_map
from watchkeeper.errors import WatchkeeperError
from watchkeeper.evidence.report import Symptom
from watchkeeper.inputs import json_type

SERVICE_LABELS = ("service", "app", "application", "job", "unit", "container", "program")
URL_RE = re.compile(r"\bhttps?://[^\s\"'<>]+")
PORT_RE = re.compile(r"(?:\bport\s*|端口\s*)(\d{2,5})\b", re.I)
HOST_PORT_RE = re.compile(r"(?<![\w/.:-])((?:\d{1,3}\.){3}\d{1,3}|localhost|\[[0-9a-f:]+\]):(\d{2,5})\b", re.I)
EXPORTERS = Path(__file__).parent / "exporters.yaml"
LOCAL_HOST = "127.0.0.1"  # a bare port means this host
PATH_RE = re.compile(r"(?<![\w:/])(/[\w.@-]+(?:/[\w.@-]+)*)")
PID_RE = re.compile(r"\bpid\s+(\d+)\b", re.I)


class AlertError(WatchkeeperError):
    """The alert payload is not an Alertmanager webhook payload or an alert."""


def _text_map(value: Any, where: str) -> dict[str, str]:
    try:
        return text_map(value, where)
    except PayloadError as exc:
        raise AlertError(f"{exc.field} {exc.problem}") from None


def _alert_symptom(alert: dict[str, Any], where: str) -> Symptom:
    labels = _text_map(alert.get("labels", {}), f"{where}labels")
    annotations = _text_map(alert.get("annotations", {}), f"{where}annotations")
    starts = alert.get("startsAt")
    try:
        starts_at = datetime.fromisoformat(starts.replace("Z", "+00:00")) if isinstance(starts, str) else None
    except ValueError:
        starts_at = None
    return Symptom(alertname=labels.get("alertname"), labels=labels, annotations=annotations, starts_at=starts_at)


def from_alert_payload(data: Any) -> list[Symptom]:
    """Firing alerts of an Alertmanager webhook payload, or one alert object."""
    if not isinstance(data, dict):
        raise AlertError(
            f"the alert must be a JSON object (an Alertmanager webhook payload or one alert), not {json_type(data)}"
        )
    alerts = data.get("alerts")
    if alerts is not None:
        if not isinstance(alerts, list):
            raise AlertError(f"alerts must be an array of alert objects, not {json_type(alerts)}")
        firing = []
        for n, alert in enumerate(alerts):
            if not isinstance(alert, dict):
                raise AlertError(f"alerts[{n}] must be an alert object, not {json_type(alert)}")
            if alert.get("status", "firing") == "firing":
                firing.append(_alert_symptom(alert, f"alerts[{n}]."))
        if not firing:
            raise AlertError("the payload holds no firing alert")
        return firing
    if "labels" in data:
        return [_alert_symptom(data, "")]
    raise AlertError("no 'alerts' list and no 'labels' object: not an Alertmanager payload or alert")


@dataclass
class Targets:
    """What the symptom points at; each field is optional."""

    service: str | None = None
    host: str | None = None
    port: int | None = None
    url: str | None = None
    mountpoint: str | None = None
    pid: int | None = None
    paths: list[str] = field(default_factory=list)


@cache
def _exporters() -> dict[str, str]:
    loaded = yaml.safe_load(EXPORTERS.read_text())
    return {str(k).lower(): str(v) for k, v in loaded.items()}


def exporter_instance(job: str) -> Literal["host", "target"] | None:
    """What `instance` means for this scrape job when it is an exporter's; None for an application's job."""
    name = job.lower()
    for suffix in ("-exporter", "_exporter"):
        name = name.removesuffix(suffix)
    kind = _exporters().get(name)
    return "target" if kind == "target" else "host" if kind == "host" else None


def _named_service(text: str, services: Mapping[str, Sequence[str]]) -> str | None:
    """The first configured service (or one of its aliases, e.g. 支付服务) the words name."""
    lowered = text.lower()
    for name, aliases in services.items():
        for word in (name, *aliases):
            w = word.lower()
            if w and (re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", lowered) if w.isascii() else w in lowered):
                return name
    return None


def targets(symptom: Symptom, services: Mapping[str, Sequence[str]] | None = None) -> Targets:
    """`services`: the configured service names with their aliases, to find in a question's words."""
    labels = symptom.labels
    text = " ".join([symptom.question or "", *symptom.annotations.values()])
    found = Targets()
    exporter = exporter_instance(labels.get("job", ""))
    found.service = next(
        (labels[k] for k in SERVICE_LABELS if labels.get(k) and not (k == "job" and exporter)), None
    ) or _named_service(text, services or {})
    instance = labels.get("instance", "")
    url = labels.get("url") or labels.get("target") or labels.get("probe_url")
    if instance.startswith(("http://", "https://")):
        url = url or instance
    elif instance:
        host, _, port = instance.rpartition(":")
        found.host = host or instance
        if port.isdigit() and exporter != "host":  # a host exporter's port is its own, not the fault's
            found.port = int(port)
    if url is None and (m := URL_RE.search(text)):
        url = m.group(0).rstrip(".,)")
    if url:
        found.url = url
        parts = urlsplit(url)
        found.host = found.host or parts.hostname
        if found.port is None:
            found.port = parts.port or (443 if parts.scheme == "https" else 80)
    # Annotations echo the exporter's own instance ("Host CPU high iowait (instance localhost:9100)"):
    # a host exporter's address is never the fault's.
    exporter_own = instance if exporter == "host" else None
    mentioned = (m for m in HOST_PORT_RE.finditer(text) if m.group(0) != exporter_own)
    if found.port is None and (m := next(mentioned, None)):
        found.host, found.port = m.group(1).strip("[]"), int(m.group(2))
    if found.port is None and (m := PORT_RE.search(text)):
        found.port = int(m.group(1))
        found.host = found.host or LOCAL_HOST
    found.mountpoint = labels.get("mountpoint") or labels.get("mount")
    found.paths = [p for p in PATH_RE.findall(text) if not (url and p in url)]
    if found.mountpoint is None and found.paths:
        found.mountpoint = found.paths[0]
    if m := PID_RE.search(text):
        found.pid = int(m.group(1))
    return found
