"""From an alert or a question to a symptom and the concrete targets to look at."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from watchkeeper.errors import WatchkeeperError
from watchkeeper.evidence.report import Symptom
from watchkeeper.inputs import json_type

SERVICE_LABELS = ("service", "app", "application", "job", "unit", "container", "program")
URL_RE = re.compile(r"\bhttps?://[^\s\"'<>]+")
PORT_RE = re.compile(r"\bport\s+(\d{2,5})\b", re.I)
PATH_RE = re.compile(r"(?<![\w:/])(/[\w.@-]+(?:/[\w.@-]+)*)")
PID_RE = re.compile(r"\bpid\s+(\d+)\b", re.I)


class AlertError(WatchkeeperError):
    """The alert payload is not an Alertmanager webhook payload or an alert."""


def _text_map(value: Any, where: str) -> dict[str, str]:
    """Labels or annotations as text. Alertmanager sends strings; hand-written alerts often hold numbers."""
    if not isinstance(value, dict):
        raise AlertError(f"{where} must be an object of strings, not {json_type(value)}")
    texts: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, str):
            texts[key] = item
        elif isinstance(item, int | float):  # bool included: JSON spells it true/false
            texts[key] = json.dumps(item)
        else:
            raise AlertError(f"{where}.{key} must be a string, not {json_type(item)}")
    return texts


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


def targets(symptom: Symptom) -> Targets:
    labels = symptom.labels
    text = " ".join([symptom.question or "", *symptom.annotations.values()])
    found = Targets()
    found.service = next((labels[k] for k in SERVICE_LABELS if labels.get(k)), None)
    instance = labels.get("instance", "")
    url = labels.get("url") or labels.get("target") or labels.get("probe_url")
    if instance.startswith(("http://", "https://")):
        url = url or instance
    elif instance:
        host, _, port = instance.rpartition(":")
        found.host = host or instance
        if port.isdigit():
            found.port = int(port)
    if url is None and (m := URL_RE.search(text)):
        url = m.group(0).rstrip(".,)")
    if url:
        found.url = url
        parts = urlsplit(url)
        found.host = found.host or parts.hostname
        if found.port is None:
            found.port = parts.port or (443 if parts.scheme == "https" else 80)
    if found.port is None and (m := PORT_RE.search(text)):
        found.port = int(m.group(1))
    found.mountpoint = labels.get("mountpoint") or labels.get("mount")
    found.paths = [p for p in PATH_RE.findall(text) if not (url and p in url)]
    if found.mountpoint is None and found.paths:
        found.mountpoint = found.paths[0]
    if m := PID_RE.search(text):
        found.pid = int(m.group(1))
    return found
