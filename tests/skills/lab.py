"""Small skills that exist only in tests, each exercising one path of `invoke`."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Preview, Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.registry import Registry, skill_from_function


class EchoParams(SkillParams):
    text: str = Field(..., description="Text to echo.")
    times: int = Field(1, ge=1, le=10, description="Repeat count.")


@skill(
    key="lab_echo",
    name="Echo",
    description="Echo text.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="lab",
    result_example={"text": "hi"},
)
def lab_echo(params: EchoParams, ctx: SkillContext) -> dict[str, Any]:
    return {"text": params.text * params.times}


class NoParams(SkillParams):
    pass


@skill(
    key="lab_host",
    name="Host echo",
    description="Where am I.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="lab",
    result_example={"edge": "local"},
)
def lab_host(params: NoParams, ctx: SkillContext) -> dict[str, Any]:
    return {"edge": ctx.edge}


class SleepParams(SkillParams):
    seconds: float = 5.0
    pid_file: str | None = None


@skill(
    key="lab_sleep",
    name="Sleep",
    description="Sleep in Python.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="lab",
    result_example={},
    timeout_s=0.5,
)
def lab_sleep(params: SleepParams, ctx: SkillContext) -> dict[str, Any]:
    time.sleep(params.seconds)
    return {}


@skill(
    key="lab_spawn",
    name="Spawn",
    description="A shell that forks a grandchild and waits.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="lab",
    result_example={},
    timeout_s=1.0,
)
def lab_spawn(params: SleepParams, ctx: SkillContext) -> dict[str, Any]:
    script = f"sleep {params.seconds} & echo $! > {params.pid_file}; wait"
    ctx.run(["sh", "-c", script])
    return {}


@skill(
    key="lab_boom",
    name="Boom",
    description="A bug.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="lab",
    result_example={},
)
def lab_boom(params: NoParams, ctx: SkillContext) -> dict[str, Any]:
    raise ZeroDivisionError("division by zero in a skill")


class BigParams(SkillParams):
    kib: int = 200


@skill(
    key="lab_big",
    name="Big",
    description="Big output.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="lab",
    result_example={},
)
def lab_big(params: BigParams, ctx: SkillContext) -> dict[str, Any]:
    return {"lines": [f"line {i} " + "x" * 100 for i in range(params.kib * 10)], "summary": "ok"}


@skill(
    key="lab_leak",
    name="Leak",
    description="Returns secrets.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="lab",
    result_example={},
)
def lab_leak(params: NoParams, ctx: SkillContext) -> dict[str, Any]:
    return {"log": "connect postgresql://app:pw-in-log@db/app", "password": "hunter2"}


_running = {"now": 0, "peak": 0}
_lock = threading.Lock()


@skill(
    key="lab_busy",
    name="Busy",
    description="Counts concurrency.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="lab",
    result_example={},
)
def lab_busy(params: NoParams, ctx: SkillContext) -> dict[str, Any]:
    with _lock:
        _running["now"] += 1
        _running["peak"] = max(_running["peak"], _running["now"])
    time.sleep(0.3)
    with _lock:
        _running["now"] -= 1
    return {"peak": _running["peak"]}


class TouchParams(SkillParams):
    path: str


def _touch_preview(params: TouchParams, ctx: SkillContext) -> Preview:
    return Preview(f"create {params.path}")


@skill(
    key="lab_touch",
    name="Touch",
    description="Creates a file.",
    risk=RiskClass.MUTATING,
    scope=Scope.HOST,
    category="lab",
    result_example={},
    preview=_touch_preview,
)
def lab_touch(params: TouchParams, ctx: SkillContext) -> dict[str, Any]:
    Path(params.path).write_text("touched")
    return {"created": params.path}


@skill(
    key="lab_wipe",
    name="Wipe",
    description="Deletes a file.",
    risk=RiskClass.DANGEROUS,
    scope=Scope.HOST,
    category="lab",
    result_example={},
)
def lab_wipe(params: TouchParams, ctx: SkillContext) -> dict[str, Any]:
    os.unlink(params.path)
    return {}


@skill(
    key="lab_die",
    name="Die",
    description="Ends the whole process mid-action, as a host that goes down during a fix.",
    risk=RiskClass.MUTATING,
    scope=Scope.HOST,
    category="lab",
    result_example={},
)
def lab_die(params: NoParams, ctx: SkillContext) -> dict[str, Any]:
    os._exit(3)


LAB_SKILLS = (
    lab_echo, lab_host, lab_sleep, lab_spawn, lab_boom, lab_big, lab_leak, lab_busy, lab_touch, lab_wipe, lab_die,
)  # fmt: skip


def add_lab_skills(registry: Registry) -> None:
    for fn in LAB_SKILLS:
        registry.add(skill_from_function(fn, source="tests"))
