"""The service manager this host really has: systemd when it is PID 1, else supervisord, else SysV."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field, field_validator

from watchkeeper.errors import SkillFailed
from watchkeeper.skills.base import SkillParams
from watchkeeper.skills.context import SkillContext

UNIT_RE = re.compile(r"^[A-Za-z0-9@._:\\-]+$")
DEFAULT_SUPERVISOR_CONF = Path("/etc/supervisor/supervisord.conf")


def check_unit(unit: str) -> str:
    """A unit name that cannot be mistaken for an option or smuggle shell syntax."""
    if unit.startswith("-") or not UNIT_RE.match(unit):
        raise ValueError("unit names use letters, digits and @._:- and do not start with '-'")
    return unit


class UnitParams(SkillParams):
    unit: str = Field(..., description="Service name: a systemd unit, supervisord program or SysV service.")

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str) -> str:
        return check_unit(value)


class ServiceManager(Protocol):
    name: str

    def status(self, unit: str, ctx: SkillContext) -> dict[str, Any]: ...

    def restart(self, unit: str, ctx: SkillContext) -> None: ...


def _need(exe: str) -> str:
    path = shutil.which(exe)
    if path is None:
        raise SkillFailed(f"{exe} is not installed on this host")
    return path


class Systemd:
    name = "systemd"

    def status(self, unit: str, ctx: SkillContext) -> dict[str, Any]:
        props = "LoadState,ActiveState,SubState,MainPID,ExecMainStartTimestamp,Description,NRestarts"
        done = ctx.run([_need("systemctl"), "show", unit, f"--property={props}", "--no-pager"])
        if done.returncode != 0:
            raise SkillFailed(f"systemctl show {unit} failed: {done.stderr.strip()}")
        info = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        if info.get("LoadState") == "not-found":
            raise SkillFailed(f"no unit named {unit}")
        active = info.get("ActiveState", "unknown")
        return {
            "state": {"active": "running", "inactive": "stopped"}.get(active, active),
            "running": active == "active",
            "pid": int(info.get("MainPID", "0")) or None,
            "since": info.get("ExecMainStartTimestamp") or None,
            "description": info.get("Description"),
            "detail": info.get("SubState"),
            "restarts": int(info["NRestarts"]) if info.get("NRestarts", "").isdigit() else None,
        }

    def restart(self, unit: str, ctx: SkillContext) -> None:
        done = ctx.run([_need("systemctl"), "restart", unit])
        if done.returncode != 0:
            raise SkillFailed(f"systemctl restart {unit} failed: {done.stderr.strip()}")


class Supervisor:
    name = "supervisor"
    LINE = re.compile(r"^(?P<name>\S+)\s+(?P<state>[A-Z]+)\s*(?P<rest>.*)$")

    def __init__(self, config: Path | None) -> None:
        self.config = config

    def _argv(self, *args: str) -> list[str]:
        conf = ["-c", str(self.config)] if self.config else []
        return [_need("supervisorctl"), *conf, *args]

    def status(self, unit: str, ctx: SkillContext) -> dict[str, Any]:
        done = ctx.run(self._argv("status", unit))
        text = (done.stdout + done.stderr).strip()
        if "no such process" in text.lower():
            raise SkillFailed(f"supervisord has no program named {unit}")
        m = self.LINE.match(text.splitlines()[0]) if text else None
        if m is None:
            raise SkillFailed(f"cannot read supervisord status for {unit} (is supervisord running?): {text[-300:]}")
        state, rest = m.group("state"), m.group("rest")
        pid = re.search(r"pid (\d+)", rest)
        uptime = re.search(r"uptime ([\d:]+(?: days?,? [\d:]+)?)", rest)
        return {
            "state": {
                "RUNNING": "running",
                "STOPPED": "stopped",
                "FATAL": "failed",
                "EXITED": "stopped",
                "BACKOFF": "failed",
            }.get(state, state.lower()),
            "running": state == "RUNNING",
            "pid": int(pid.group(1)) if pid else None,
            "since": f"uptime {uptime.group(1)}" if uptime else None,
            "description": None,
            "detail": rest or state,
            "restarts": None,
        }

    def restart(self, unit: str, ctx: SkillContext) -> None:
        done = ctx.run(self._argv("restart", unit))
        text = (done.stdout + done.stderr).strip()
        if "ERROR" in text or done.returncode not in (0,):
            raise SkillFailed(f"supervisorctl restart {unit} failed: {text[-500:]}")


class SysV:
    name = "sysv"

    def status(self, unit: str, ctx: SkillContext) -> dict[str, Any]:
        done = ctx.run([_need("service"), unit, "status"])
        text = (done.stdout + done.stderr).strip()
        if done.returncode == 4 or "unrecognized service" in text:
            raise SkillFailed(f"no service named {unit}")
        # LSB: 0 running, 1-3 not running (dead with pid file, dead with lock, stopped).
        running = done.returncode == 0
        return {
            "state": "running" if running else "stopped",
            "running": running,
            "pid": None,
            "since": None,
            "description": None,
            "detail": text[-300:],
            "restarts": None,
        }

    def restart(self, unit: str, ctx: SkillContext) -> None:
        done = ctx.run([_need("service"), unit, "restart"])
        if done.returncode != 0:
            raise SkillFailed(
                f"service {unit} restart failed ({done.returncode}): {(done.stdout + done.stderr)[-500:]}"
            )


def detect(ctx: SkillContext) -> ServiceManager:
    cfg = ctx.settings.services
    choice = cfg.manager
    if choice == "auto":
        if Path("/run/systemd/system").is_dir():
            choice = "systemd"
        elif shutil.which("supervisorctl") and (cfg.supervisor_config or DEFAULT_SUPERVISOR_CONF.exists()):
            choice = "supervisor"
        else:
            choice = "sysv"
    if choice == "systemd":
        return Systemd()
    if choice == "supervisor":
        return Supervisor(cfg.supervisor_config)
    return SysV()


def wait_running(manager: ServiceManager, unit: str, ctx: SkillContext, seconds: float) -> dict[str, Any]:
    """Poll until the unit runs (or time is up); the last status either way."""
    deadline = time.monotonic() + min(seconds, max(ctx.remaining() - 1, 0.5))
    while True:
        status = manager.status(unit, ctx)
        if status["running"] or time.monotonic() >= deadline:
            return status
        time.sleep(0.5)
