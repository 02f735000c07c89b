"""Every sender's payload to one `Batch` of `Alert`s: Alertmanager's webhook (version 4), Grafana's unified
alerting webhook, and a generic JSON alert (or a list of them).

Payloads come from the network, so nothing is trusted: a wrong shape raises `PayloadError` naming the
exact field (`alerts[3].labels.severity: must be a string, not an array`), never a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, get_args

from watchkeeper.alerts.errors import PayloadError
from watchkeeper.alerts.fingerprint import fingerprint
from watchkeeper.alerts.model import Alert, Batch, Severity, Source, Status, Target, bounded
from watchkeeper.inputs import json_type

MAX_ALERTS = 10_000  # per payload: the benchmark's whole storm fits in one
MAX_LABEL_CHARS = 10_000  # per label name or value
MAX_FINGERPRINT_CHARS = 64  # the width of alerts.fingerprint in the store

_SEVERITY_WORDS: dict[str, Severity] = {
    **dict.fromkeys(("critical", "crit", "page", "p1", "high", "error", "fatal", "emergency", "alert"), "critical"),
    **dict.fromkeys(("warning", "warn", "p2", "p3", "medium", "major", "minor"), "warning"),
    **dict.fromkeys(("info", "informational", "low", "none", "p4", "p5", "notice", "debug"), "info"),
}
_SERVICE_LABELS = ("service", "app", "application", "app_kubernetes_io_name", "unit", "container", "program")
# A `job` names what was scraped: for these it is the exporter, not the service the alert is about.
_EXPORTER_JOBS = frozenset(
    {
        "node",
        "node_exporter",
        "node-exporter",
        "blackbox",
        "blackbox_exporter",
        "prometheus",
        "alertmanager",
        "pushgateway",
        "cadvisor",
        "kubelet",
        "kube-state-metrics",
        "process-exporter",
        "windows",
        "windows_exporter",
    }
)
_URL_LABELS = ("url", "target", "probe_url")
_HOST_LABELS = ("host", "hostname", "nodename", "node")
# Grafana's per-alert links and measured value: kept as annotations (the model has no place for them) so
# the report can show what Grafana saw, unless the rule already annotates under the same name.
_GRAFANA_EXTRAS = ("valueString", "dashboardURL", "panelURL", "imageURL")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,79}")
# What JSON may spell (\u0000, a lone \ud800) but no store keeps and no text encodes; and its escapes,
# without which a decoded body holds neither (a raw NUL is no JSON, a raw surrogate no UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89abcdefABCDEF])")


def parse(text: str) -> Any:
    """A delivery's JSON text decoded, with what no store keeps made storable; PayloadError if it is no JSON."""
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise PayloadError("body", f"not JSON: {exc}") from None
    except RecursionError:
        raise PayloadError("body", "nested too deeply") from None
    return _storable(body) if _UNSTORABLE_ESCAPE.search(text) else body


def normalise(source: Source, body: Any, *, now: datetime | None = None) -> Batch:
    """The alerts of one delivery. `body` is the decoded JSON; `now` stands in for a missing start time."""
    at = now or datetime.now(UTC)
    if source == "generic":
        return _generic(body, at)
    if source in ("alertmanager", "grafana"):
        return _webhook(source, body, at)
    raise ValueError(f"unknown alert source {source!r}")


# -- what the labels say -------------------------------------------------------------------------


def severity_of(labels: Mapping[str, str]) -> Severity:
    """From the `severity` label, else `priority`, in the many spellings senders use; warning when unknown."""
    for key in ("severity", "priority"):
        found = _SEVERITY_WORDS.get(labels.get(key, "").strip().lower())
        if found:
            return found
    return "warning"


def target_of(labels: Mapping[str, str]) -> Target:
    """What the alert is about: its service, URL, host, mountpoint and pid, as far as the labels name them."""
    instance = labels.get("instance", "")
    instance_url = instance if _is_url(instance) else ""
    return Target(
        service=_service(labels),
        url=_first(labels, _URL_LABELS) or instance_url or None,
        host=_first(labels, _HOST_LABELS) or (None if instance_url else _without_port(instance)),
        mountpoint=labels.get("mountpoint") or None,
        pid=_pid(labels.get("pid", "")),
    )


def _first(labels: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if labels.get(name):
            return labels[name]
    return None


def _service(labels: Mapping[str, str]) -> str | None:
    for name in _SERVICE_LABELS:
        value = labels.get(name, "")
        if name == "unit":
            value = value.removesuffix(".service")  # systemd: nginx.service is the service nginx
        if value:
            return value
    job = labels.get("job", "")
    return job if job and not _is_exporter_job(job) else None


def _is_exporter_job(job: str) -> bool:
    name = job.lower()
    return name in _EXPORTER_JOBS or name.endswith("exporter") or name.startswith("blackbox")


def _is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def _without_port(instance: str) -> str | None:
    """`db-1:9100` → `db-1`, `[::1]:9100` → `::1`; a bare IPv6 address (many colons) stays whole."""
    if instance.startswith("["):
        host, bracket, _ = instance[1:].partition("]")
        return (host or None) if bracket else instance
    host, colon, port = instance.rpartition(":")
    if colon and host and ":" not in host and port.isdigit():
        return host
    return instance or None


def _pid(text: str) -> int | None:
    # Linux pids have at most 7 digits; the bound also keeps int() away from its 4300-digit limit.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None


# -- Alertmanager and Grafana --------------------------------------------------------------------


def _webhook(source: Source, body: Any, now: datetime) -> Batch:
    sender = "an Alertmanager" if source == "alertmanager" else "a Grafana"
    if not isinstance(body, dict):
        raise PayloadError("payload", f"must be {sender} webhook payload (an object), not {json_type(body)}")
    # Grafana sends its own version "1" of the same shape; only Alertmanager's is checked.
    version = body.get("version")
    if source == "alertmanager" and version != "4":
        raise PayloadError("version", f'must be "4" (Alertmanager\'s webhook version), not {_shown(version)}')
    group_key = _optional_text(body.get("groupKey"), "groupKey")
    default_status = _status(body.get("status"), "status") or "firing"
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("alerts", f"must be an array of alerts, not {json_type(alerts)}")
    _check_count(alerts, "alerts")
    return Batch(
        source=source,
        alerts=[
            _webhook_alert(source, item, f"alerts[{n}]", default_status, group_key, now)
            for n, item in enumerate(alerts)
        ],
        group_key=group_key,
        truncated=_count(body.get("truncatedAlerts"), "truncatedAlerts"),
        receiver=_optional_text(body.get("receiver"), "receiver"),
    )


def _webhook_alert(
    source: Source, item: Any, where: str, default_status: Status, group_key: str | None, now: datetime
) -> Alert:
    if not isinstance(item, dict):
        raise PayloadError(where, f"must be an alert object, not {json_type(item)}")
    if "labels" not in item:
        raise PayloadError(f"{where}.labels", "required: an object of strings with at least alertname")
    labels = _labels(item["labels"], f"{where}.labels")
    name = labels.get("alertname")
    if not name:
        raise PayloadError(f"{where}.labels.alertname", "required: every alert is named by its alertname label")
    annotations = text_map(_object(item, "annotations"), f"{where}.annotations")
    if source == "grafana":
        for key in _GRAFANA_EXTRAS:
            extra = _optional_text(item.get(key), f"{where}.{key}")
            if extra:
                annotations.setdefault(key, extra)
    return _alert(
        source,
        name,
        labels,
        annotations,
        status=_status(item.get("status"), f"{where}.status") or default_status,
        starts_at=_time(item.get("startsAt"), f"{where}.startsAt") or now,
        ends_at=_time(item.get("endsAt"), f"{where}.endsAt"),
        sender_fingerprint=_fingerprint(item.get("fingerprint"), f"{where}.fingerprint"),
        generator_url=_optional_text(item.get("generatorURL"), f"{where}.generatorURL"),
        group_key=group_key,
    )


# -- the generic alert ---------------------------------------------------------------------------


def _generic(body: Any, now: datetime) -> Batch:
    if isinstance(body, dict):
        items: list[tuple[str, Any]] = [("", body)]
    elif isinstance(body, list):
        _check_count(body, "payload")
        items = [(f"[{n}]", item) for n, item in enumerate(body)]
    else:
        raise PayloadError("payload", f"must be an alert object or an array of them, not {json_type(body)}")
    return Batch(source="generic", alerts=[_generic_alert(item, where, now) for where, item in items])


def _generic_alert(item: Any, where: str, now: datetime) -> Alert:
    def at(key: str) -> str:
        return f"{where}.{key}" if where else key

    if not isinstance(item, dict):
        raise PayloadError(where, f"must be an alert object, not {json_type(item)}")
    if "name" not in item:
        raise PayloadError(at("name"), "required: the alert's name")
    name = _label_text(item["name"], at("name"))
    if not name:
        raise PayloadError(at("name"), "must not be empty")
    labels = _labels(_object(item, "labels"), at("labels"))
    # Free-text sender and severity become labels, so silences and routes can match them like any other.
    for key in ("source", "severity"):
        value = _optional_text(item.get(key), at(key))
        if value:
            labels.setdefault(key, _label_text(value, at(key)))
    labels.setdefault("alertname", name)
    return _alert(
        "generic",
        name,
        labels,
        text_map(_object(item, "annotations"), at("annotations")),
        status=_status(item.get("status"), at("status")) or "firing",
        starts_at=_time(item.get("starts_at"), at("starts_at")) or now,
        ends_at=_time(item.get("ends_at"), at("ends_at")),
        sender_fingerprint=_fingerprint(item.get("fingerprint"), at("fingerprint")),
        generator_url=None,
        group_key=None,
    )


# -- shared pieces -------------------------------------------------------------------------------


def _alert(
    source: Source,
    name: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    *,
    status: Status,
    starts_at: datetime,
    ends_at: datetime | None,
    sender_fingerprint: str | None,
    generator_url: str | None,
    group_key: str | None,
) -> Alert:
    return Alert(
        fingerprint=sender_fingerprint or fingerprint(labels),
        source=source,
        name=bounded(name),
        labels=labels,
        annotations=annotations,
        status=status,
        severity=severity_of(labels),
        starts_at=starts_at,
        ends_at=ends_at if status == "resolved" else None,  # a firing alert's endsAt is only a lease
        generator_url=generator_url,
        group_key=group_key,
        target=target_of(labels),
    )


def _storable(value: Any) -> Any:
    """The decoded body with each NUL and unpaired surrogate (in keys too) as U+FFFD: PostgreSQL refuses
    the one and UTF-8 cannot encode the other, and an alert accepted must be stored, not lost later."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def _check_count(items: list[Any], where: str) -> None:
    if len(items) > MAX_ALERTS:
        raise PayloadError(where, f"at most {MAX_ALERTS} alerts in one payload, not {len(items)}")


def _object(item: dict[str, Any], key: str) -> Any:
    """An optional object member: absent or null is empty, anything else is checked by the caller."""
    value = item.get(key)
    return {} if value is None else value


def text_map(value: Any, where: str) -> dict[str, str]:
    """Labels or annotations as text: senders send strings, hand-written alerts often hold numbers."""
    if not isinstance(value, dict):
        raise PayloadError(where, f"must be an object of strings, not {json_type(value)}")
    texts: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, str):
            texts[key] = item
        elif isinstance(item, int | float):  # bool included: JSON spells it true/false
            texts[key] = json.dumps(item)
        else:
            raise PayloadError(_member(where, key), f"must be a string, not {json_type(item)}")
    return texts


def _labels(value: Any, where: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for key, text in text_map(value, where).items():
        longest = max(len(key), len(text))
        if longest > MAX_LABEL_CHARS:
            raise PayloadError(_member(where, key), f"at most {MAX_LABEL_CHARS} characters in a label, not {longest}")
        if text:  # an empty value is no label at all, as in Prometheus: Alertmanager drops it before hashing
            labels[key] = text
    return labels


def _member(where: str, key: str) -> str:
    """The path of an object's member: `labels.severity`, or `labels["a.b/c"]` (quoted, cut short) for a key
    that is not a plain name, so the message stays one readable line whatever the sender wrote."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{where}.{key}"
    return f"{where}[{json.dumps(key if len(key) <= 80 else key[:80] + '…', ensure_ascii=False)}]"


def _label_text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise PayloadError(where, f"must be a string, not {json_type(value)}")
    if len(value) > MAX_LABEL_CHARS:
        raise PayloadError(where, f"at most {MAX_LABEL_CHARS} characters in a label, not {len(value)}")
    return value


def _optional_text(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(where, f"must be a string, not {json_type(value)}")
    return value or None


def _fingerprint(value: Any, where: str) -> str | None:
    text = _optional_text(value, where)
    if text and len(text) > MAX_FINGERPRINT_CHARS:
        raise PayloadError(where, f"at most {MAX_FINGERPRINT_CHARS} characters, not {len(text)}")
    return text


def _status(value: Any, where: str) -> Status | None:
    if value is None:
        return None
    if value in get_args(Status):
        return value  # type: ignore[no-any-return]
    raise PayloadError(where, f'must be "firing" or "resolved", not {_shown(value)}')


def _count(value: Any, where: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError(where, f"must be a whole number of alerts (0 or more), not {_shown(value)}")
    return value


def _time(value: Any, where: str) -> datetime | None:
    """An ISO 8601 time, timezone-aware (a naive one is UTC); None when absent or Go's zero time (0001-01-01)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(where, f"must be an ISO 8601 time, not {json_type(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(where, f"not an ISO 8601 time: {_shown(value)}") from None
    if parsed.year == 1:  # Alertmanager's "no end": Go's zero time.Time
        return None
    try:  # in UTC: a store that keeps no offset (SQLite) must not shift it
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except OverflowError:
        raise PayloadError(where, f"out of range in UTC: {_shown(value)}") from None


def _shown(value: Any) -> str:
    """A sender's value inside a one-line message: quoted, escaped and cut short."""
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:80] + "…")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return json_type(value)
