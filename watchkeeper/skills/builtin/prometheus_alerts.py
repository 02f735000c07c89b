"""prometheus_alerts: what is firing (Prometheus and Alertmanager) and which alert rules exist."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from watchkeeper.errors import SkillFailed
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.http_json import backend_url, get_json


class PrometheusAlertsParams(SkillParams):
    rules: bool = Field(True, description="Also list the alerting rules with their state.")
    alertmanager: bool = Field(True, description="Also list Alertmanager's alerts when it is configured.")


@skill(
    key="prometheus_alerts",
    name="Active alerts and alert rules",
    description="Active alerts from Prometheus (firing and pending) and Alertmanager (with silences and "
    "inhibitions), and the alerting rules with their state, query and duration.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="observability",
    idempotent=True,
    result_example={
        "alerts": [
            {
                "name": "HostHighCpuLoad",
                "state": "firing",
                "labels": {"instance": "web-1:9100"},
                "active_at": "2026-11-22T01:00:00Z",
                "value": "0.97",
            }
        ],
        "rules": [{"name": "HostHighCpuLoad", "state": "firing", "query": "...", "for_s": 300, "group": "node"}],
        "alertmanager": [{"name": "HostHighCpuLoad", "state": "active", "labels": {}, "starts_at": "..."}],
    },
)
def prometheus_alerts(params: PrometheusAlertsParams, ctx: SkillContext) -> dict[str, Any]:
    base = backend_url(ctx, "prometheus")
    body = get_json(ctx, base, "/api/v1/alerts", {}, "Prometheus")
    alerts = [
        {
            "name": a.get("labels", {}).get("alertname"),
            "state": a.get("state"),
            "labels": a.get("labels", {}),
            "annotations": a.get("annotations", {}),
            "active_at": a.get("activeAt"),
            "value": a.get("value"),
        }
        for a in body.get("data", {}).get("alerts", [])
    ]
    out: dict[str, Any] = {"alerts": alerts}
    if params.rules:
        groups = get_json(ctx, base, "/api/v1/rules", {"type": "alert"}, "Prometheus").get("data", {})
        out["rules"] = [
            {
                "name": r.get("name"),
                "state": r.get("state"),
                "query": r.get("query"),
                "for_s": r.get("duration"),
                "group": g.get("name"),
                "health": r.get("health"),
                "last_error": r.get("lastError") or None,
            }
            for g in groups.get("groups", [])
            for r in g.get("rules", [])
        ]
    if params.alertmanager and ctx.settings.observability.alertmanager_url:
        am = backend_url(ctx, "alertmanager")
        listed = get_json(ctx, am, "/api/v2/alerts", {}, "Alertmanager")
        if not isinstance(listed, list):
            raise SkillFailed("Alertmanager's /api/v2/alerts did not return a list")
        out["alertmanager"] = [
            {
                "name": a.get("labels", {}).get("alertname"),
                "state": a.get("status", {}).get("state"),
                "silenced_by": a.get("status", {}).get("silencedBy", []),
                "labels": a.get("labels", {}),
                "starts_at": a.get("startsAt"),
            }
            for a in listed
        ]
    return out
