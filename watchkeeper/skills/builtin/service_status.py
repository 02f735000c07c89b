"""service_status: is a service running, under whichever service manager the host has."""

from __future__ import annotations

from typing import Any

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.service_managers import UnitParams, detect


class ServiceStatusParams(UnitParams):
    pass


@skill(
    key="service_status",
    name="Service status",
    description="State of a service (running, stopped, failed), its main pid and since when, from systemd, "
    "supervisord or SysV init, whichever manages this host.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="services",
    idempotent=True,
    result_example={
        "unit": "nginx",
        "manager": "systemd",
        "state": "running",
        "running": True,
        "pid": 812,
        "since": "Sun 2026-11-22 01:00:00 UTC",
        "description": "A high performance web server",
        "detail": "running",
        "restarts": 0,
    },
)
def service_status(params: ServiceStatusParams, ctx: SkillContext) -> dict[str, Any]:
    manager = detect(ctx)
    return {"unit": params.unit, "manager": manager.name, **manager.status(params.unit, ctx)}
