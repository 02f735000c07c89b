"""kill_process (mutating): signal one process, bound to its identity (pid + start time)."""

from __future__ import annotations

import signal
import time
from typing import Any, Literal

import psutil
from pydantic import Field

from watchkeeper.errors import Refused, SkillFailed
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Preview, Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.procinfo import cmdline, get_process, is_kernel_thread, iso, own_lineage

TERMINATING = {"TERM", "KILL", "INT", "QUIT"}


class KillProcessParams(SkillParams):
    pid: int = Field(..., ge=1, description="Process id.")
    signal: Literal["TERM", "KILL", "INT", "QUIT", "HUP", "USR1", "USR2"] = Field("TERM", description="Signal to send.")
    start_time: float | None = Field(
        None,
        description="The process's start time (epoch seconds, from process_detail); the call is refused if "
        "the pid now belongs to another process. Filled in by the preview when omitted.",
    )
    wait_s: float = Field(5.0, ge=0, le=60, description="How long to wait for a terminating signal to take effect.")


def _target(params: KillProcessParams, ctx: SkillContext) -> psutil.Process:
    proc = get_process(params.pid)
    try:
        name, started = proc.name(), proc.create_time()
    except psutil.NoSuchProcess:
        raise SkillFailed(f"no process with pid {params.pid}") from None
    if params.start_time is not None and abs(started - params.start_time) > 0.01:
        raise Refused(
            f"pid {params.pid} now belongs to another process ({name}, started {iso(started)}): refusing to signal it",
            rule="pid_reused",
        )
    if params.pid == 1:
        raise Refused("refusing to signal PID 1 (init)", rule="kill_guardrail")
    if is_kernel_thread(proc):
        raise Refused(f"pid {params.pid} ({name}) is a kernel thread", rule="kill_guardrail")
    if params.pid in own_lineage():
        raise Refused(f"pid {params.pid} ({name}) is watchkeeper itself or one of its parents", rule="kill_guardrail")
    if name in ctx.settings.policy.kill_denylist:
        raise Refused(f"{name} (pid {params.pid}) is in policy.kill_denylist", rule="kill_denylist")
    return proc


def _gone(proc: psutil.Process) -> bool:
    try:
        # A zombie has exited; only its parent has not collected it yet.
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_gone(proc: psutil.Process, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not _gone(proc):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def preview(params: KillProcessParams, ctx: SkillContext) -> Preview:
    proc = _target(params, ctx)
    with proc.oneshot():
        started = proc.create_time()
        text = (
            f"send SIG{params.signal} to pid {proc.pid} ({proc.name()}, user {proc.username()}, "
            f"started {iso(started)}): {cmdline(proc)}"
        )
    return Preview(text, bind={"start_time": started})


@skill(
    key="kill_process",
    name="Signal a process",
    description="Send a signal (default TERM) to one process, bound to its start time so a reused pid is "
    "never hit, and check the effect. Refuses PID 1, kernel threads, watchkeeper and its parents, and the "
    "denylist (sshd by default).",
    risk=RiskClass.MUTATING,
    scope=Scope.HOST,
    category="processes",
    result_example={"pid": 4242, "name": "python3", "signal": "TERM", "exited": True, "waited_s": 0.2},
    preview=preview,
)
def kill_process(params: KillProcessParams, ctx: SkillContext) -> dict[str, Any]:
    proc = _target(params, ctx)
    name = proc.name()
    try:
        proc.send_signal(getattr(signal, f"SIG{params.signal}"))
    except psutil.NoSuchProcess:
        raise SkillFailed(f"pid {params.pid} exited before the signal was sent") from None
    except psutil.AccessDenied:
        raise SkillFailed(f"not permitted to signal pid {params.pid} ({name})") from None
    t0 = time.monotonic()
    if params.signal not in TERMINATING:
        alive = proc.is_running()
        return {"pid": params.pid, "name": name, "signal": params.signal, "exited": not alive, "waited_s": 0.0}
    exited = _wait_gone(proc, min(params.wait_s, max(ctx.remaining() - 0.5, 0.1)))
    waited = round(time.monotonic() - t0, 2)
    if not exited:
        raise SkillFailed(
            f"sent SIG{params.signal} to pid {params.pid} ({name}) but it still runs after {waited}s; "
            "consider signal KILL"
        )
    return {"pid": params.pid, "name": name, "signal": params.signal, "exited": True, "waited_s": waited}
