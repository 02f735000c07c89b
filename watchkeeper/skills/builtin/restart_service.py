"""restart_service (mutating): restart one allowlisted service, rate-limited, and check it came back."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from pydantic import Field

from watchkeeper.errors import Refused, SkillFailed
from watchkeeper.humanize import plural
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Preview, Scope, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.service_managers import UnitParams, detect, wait_running


class RestartServiceParams(UnitParams):
    wait_s: float = Field(15.0, ge=1, le=120, description="How long to wait for the service to run again.")


def _guardrails(params: RestartServiceParams, ctx: SkillContext) -> None:
    policy = ctx.settings.policy
    if "*" not in policy.restart_allowlist and params.unit not in policy.restart_allowlist:
        raise Refused(
            f"{params.unit} is not in policy.restart_allowlist ({', '.join(policy.restart_allowlist) or 'empty'}); "
            "add it to the config to allow restarts",
            rule="restart_allowlist",
        )
    window = timedelta(seconds=policy.restart_rate_window_s)
    recent = [
        r for r in ctx.recent_calls("restart_service", window) if json.loads(r["args_json"]).get("unit") == params.unit
    ]
    if len(recent) >= policy.restart_rate_limit:
        raise Refused(
            f"{params.unit} was restarted {plural(len(recent), 'time')} in the last {policy.restart_rate_window_s}s "
            f"(limit {policy.restart_rate_limit}): a restart loop needs a person, not another restart",
            rule="restart_rate_limit",
        )


def preview(params: RestartServiceParams, ctx: SkillContext) -> Preview:
    _guardrails(params, ctx)
    manager = detect(ctx)
    now = manager.status(params.unit, ctx)
    pid = f", pid {now['pid']}" if now["pid"] else ""
    return Preview(f"restart {params.unit} via {manager.name} (now {now['state']}{pid})")


@skill(
    key="restart_service",
    name="Restart a service",
    description="Restart a service through the host's service manager, then wait until it runs again. Only "
    "units in the restart allowlist, at most N restarts per unit per window.",
    risk=RiskClass.MUTATING,
    scope=Scope.HOST,
    category="services",
    result_example={
        "unit": "nginx",
        "manager": "systemd",
        "before": {"state": "failed", "pid": None},
        "after": {"state": "running", "pid": 9132},
        "verified": True,
    },
    timeout_s=60,
    preview=preview,
)
def restart_service(params: RestartServiceParams, ctx: SkillContext) -> dict[str, Any]:
    _guardrails(params, ctx)
    manager = detect(ctx)
    before = manager.status(params.unit, ctx)
    manager.restart(params.unit, ctx)
    after = wait_running(manager, params.unit, ctx, params.wait_s)
    if not after["running"]:
        raise SkillFailed(
            f"{params.unit} was restarted but is {after['state']} after {params.wait_s:.0f}s: {after['detail']}"
        )
    return {
        "unit": params.unit,
        "manager": manager.name,
        "before": {"state": before["state"], "pid": before["pid"]},
        "after": {"state": after["state"], "pid": after["pid"]},
        "verified": True,
    }
