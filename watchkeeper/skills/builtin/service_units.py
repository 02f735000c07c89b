"""service_units: every service the host's manager knows that failed, restarts, or is down when it should
run — what `systemctl --failed` and `supervisorctl status` tell an SRE, with restart counts.

systemd counts restarts itself (NRestarts); supervisord does not, so its restarts are the respawns after
an exit in its own log (the last 1 MiB, through the read allowlist) within `window`. SysV init keeps no
such record, and the result says so instead of guessing.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from watchkeeper.policy.risk import RiskClass
from watchkeeper.since import RELATIVE, parse_since
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.service_managers import detect

MAX_UNITS = 50
# Worst first: a unit that gave up, one crash-looping, one whose state the manager lost, one down that should run.
RANK = {"failed": 0, "restarting": 1, "unknown": 2, "stopped": 3}


class ServiceUnitsParams(SkillParams):
    window: str = Field(
        "1h",
        description="How far back supervisord's restarts are counted: 30m, 2h, 1d "
        "(systemd's count is its own NRestarts).",
    )

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        value = value.strip()
        m = RELATIVE.match(value)
        if not m or int(m.group(1)) == 0:
            raise ValueError("use a duration like 30m, 2h or 1d")
        return value.lstrip("-")


@skill(
    key="service_units",
    name="Service units",
    description="Every service the host's service manager (systemd, supervisord) knows that failed, is "
    "restarting, or is down when it should run, worst first: state, restart count, last exit and since "
    f"when; total is how many services it lists (at most {MAX_UNITS} rows). SysV init cannot say and the "
    "note tells so.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="services",
    idempotent=True,
    result_example={
        "manager": "supervisor",
        "units": [
            {
                "unit": "worker",
                "state": "failed",
                "running": False,
                "restarts": 5,
                "last_exit": "exit status 1; not expected",
                "since": "2026-11-28T03:01:09+00:00",
                "detail": "FATAL Exited too quickly (process log may have details)",
            }
        ],
        "total": 7,
        "truncated": False,
        "note": None,
    },
)
def service_units(params: ServiceUnitsParams, ctx: SkillContext) -> dict[str, Any]:
    manager = detect(ctx)
    listed = manager.units(ctx, parse_since(params.window))
    rows = sorted(listed.units, key=lambda u: (RANK.get(u["state"], len(RANK)), -(u["restarts"] or 0), u["unit"]))
    return {
        "manager": manager.name,
        "units": rows[:MAX_UNITS],
        "total": listed.total,
        "truncated": len(rows) > MAX_UNITS,
        "note": "; ".join(listed.notes) or None,
    }
