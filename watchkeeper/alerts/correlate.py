"""Which incident an alert belongs to, and why: a pure decision over a view of the open incidents.

The rules, first match wins (each names itself in the alert's `join_rule` and says why in `join_reason`):

  inhibited    a warning or info alert on a target a critical alert of an open incident is about
  same-target  an open incident already has alerts on this target, the last within the window
  group        the sender grouped it with an incident's alerts (Alertmanager's groupKey)
  group-by     its values of the configured `alerts.group_by` labels equal an incident's
  depends-on   its service depends (directly or through others) on a target of an open incident
  new          none of these: it opens an incident

And the other way round (`dependents`): when an alert on a service arrives after incidents on
services that depend on it opened, those incidents merge into the one of this alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from watchkeeper.alerts.model import Alert

NO_TARGET = "alert:"


@dataclass(frozen=True)
class OpenIncident:
    """What correlation needs to know of an incident that may still take alerts."""

    id: int
    root: str  # the target key of the alert that opened it
    last_alert_at: datetime
    targets: frozenset[str] = frozenset()
    critical_targets: frozenset[str] = frozenset()
    group_keys: frozenset[str] = frozenset()
    groups: frozenset[tuple[str, ...]] = frozenset()  # values of the group_by labels of its alerts


@dataclass(frozen=True)
class Decision:
    incident_id: int | None  # None: open a new incident
    rule: str
    reason: str


class Dependencies:
    """`triage.services.<name>.depends_on`, walked transitively (a cycle in the config is harmless)."""

    def __init__(self, depends_on: Mapping[str, Iterable[str]]) -> None:
        self._direct = {name: tuple(deps) for name, deps in depends_on.items()}

    def upstream(self, service: str) -> list[str]:
        """Every service `service` needs, nearest first."""
        seen: list[str] = []
        frontier = list(self._direct.get(service, ()))
        while frontier:
            name = frontier.pop(0)
            if name != service and name not in seen:
                seen.append(name)
                frontier.extend(self._direct.get(name, ()))
        return seen

    def needs(self, service: str, upstream: str) -> bool:
        return upstream in self.upstream(service)


@dataclass(frozen=True)
class Rules:
    window: timedelta
    deps: Dependencies = field(default_factory=lambda: Dependencies({}))
    group_by: Sequence[str] = ()
    use_group_key: bool = True


def group_values(labels: Mapping[str, str], group_by: Sequence[str]) -> tuple[str, ...] | None:
    """The values of the group_by labels; None when the labels hold none of them."""
    if not group_by or not any(name in labels for name in group_by):
        return None
    return tuple(labels.get(name, "") for name in group_by)


def _service(key: str) -> str | None:
    return key.removeprefix("service:") if key.startswith("service:") else None


def decide(alert: Alert, incidents: Sequence[OpenIncident], rules: Rules, now: datetime) -> Decision:
    key = alert.target.key
    recent = [i for i in incidents if now - i.last_alert_at <= rules.window]
    # Newest first: a target seen in two incidents belongs to the one still developing.
    recent.sort(key=lambda i: i.last_alert_at, reverse=True)
    if key != NO_TARGET:
        if alert.severity != "critical":
            for inc in incidents:
                if key in inc.critical_targets:
                    return Decision(inc.id, "inhibited", f"a critical alert on {key} is open in incident #{inc.id}")
        for inc in recent:
            if key in inc.targets:
                return Decision(inc.id, "same-target", f"incident #{inc.id} already has alerts on {key}")
    if rules.use_group_key and alert.group_key:
        for inc in recent:
            if alert.group_key in inc.group_keys:
                return Decision(inc.id, "group", f"the sender grouped it with incident #{inc.id} ({alert.group_key})")
    values = group_values(alert.labels, rules.group_by)
    if values is not None:
        for inc in recent:
            if values in inc.groups:
                shown = ", ".join(f"{n}={v}" for n, v in zip(rules.group_by, values, strict=True))
                return Decision(inc.id, "group-by", f"same {shown} as incident #{inc.id}")
    if service := alert.target.service:
        for upstream in rules.deps.upstream(service):
            for inc in recent:
                if f"service:{upstream}" in inc.targets:
                    why = f"{service} depends on {upstream}, which incident #{inc.id} is about"
                    return Decision(inc.id, "depends-on", why)
    return Decision(None, "new", f"the first alert on {key if key != NO_TARGET else alert.name}")


def dependents(
    target: str, incidents: Sequence[OpenIncident], rules: Rules, now: datetime, into: int
) -> list[tuple[int, str]]:
    """Incidents that opened on services needing `target`'s service within the window: they merge into
    incident `into` (the cause), each with why."""
    upstream = _service(target)
    if upstream is None:
        return []
    found = []
    for inc in incidents:
        root = _service(inc.root)
        if inc.id != into and root and now - inc.last_alert_at <= rules.window and rules.deps.needs(root, upstream):
            found.append((inc.id, f"{root} depends on {upstream}: incident #{into} is the cause"))
    return found
