"""The service manager this host really runs: systemd when it is PID 1, else a live supervisord,
else SysV init scripts. `wk doctor` and the service skills share `find_manager`, so they agree."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field, field_validator

from watchkeeper.config import ServicesSettings
from watchkeeper.errors import SkillFailed
from watchkeeper.skills.base import SkillParams
from watchkeeper.skills.context import SkillContext

UNIT_RE = re.compile(r"^[A-Za-z0-9@._:\\-]+$")
DEFAULT_SUPERVISOR_CONF = Path("/etc/supervisor/supervisord.conf")
SYSTEMD_RUN_DIR = Path("/run/systemd/system")  # exists only while systemd is the init system
INIT_D = Path("/etc/init.d")
CONNECT_TIMEOUT_S = 2.0


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


def systemd_runs() -> tuple[bool, str]:
    if SYSTEMD_RUN_DIR.is_dir():
        return True, f"{SYSTEMD_RUN_DIR} exists"
    try:
        init = Path("/proc/1/comm").read_text().strip()
    except OSError as exc:
        return False, f"PID 1 cannot be read ({exc.strerror})"
    return (True, "PID 1 is systemd") if init == "systemd" else (False, f"PID 1 is {init}, not systemd")


def supervisor_server_url(conf: Path) -> str:
    """Where supervisorctl would connect, read from the config the way supervisorctl reads it."""
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    try:
        with conf.open() as fh:
            parser.read_file(fh)
    except (OSError, configparser.Error) as exc:
        raise ValueError(f"{conf} cannot be read: {exc.strerror if isinstance(exc, OSError) else exc}") from None
    url = parser.get("supervisorctl", "serverurl", fallback="http://localhost:9001")  # supervisorctl's default
    expansions = {"here": str(conf.parent), **{f"ENV_{k}": v for k, v in os.environ.items()}}
    try:
        return url % expansions
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"{conf}: serverurl {url} cannot be expanded") from None


def supervisord_runs(config: Path | None) -> tuple[bool, str]:
    """Does a supervisord answer on the control socket of `config` (default: the system one)?"""
    conf = config or DEFAULT_SUPERVISOR_CONF
    if not shutil.which("supervisorctl"):
        return False, "supervisorctl is not installed"
    if not conf.is_file():
        return False, f"no supervisord config at {conf}"
    try:
        url = supervisor_server_url(conf)
    except ValueError as exc:
        return False, str(exc)
    try:
        # Accepting a connection is the proof: a stale socket file or a dead port refuses it.
        if url.startswith("unix://"):
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(CONNECT_TIMEOUT_S)
                sock.connect(url.removeprefix("unix://"))
        else:
            parts = urllib.parse.urlsplit(url)
            socket.create_connection((parts.hostname or "localhost", parts.port or 80), CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        return False, f"no supervisord answers on {url} ({exc.strerror or exc})"
    return True, f"supervisord answers on {url}"


def sysv_present() -> tuple[bool, str]:
    if INIT_D.is_dir() and shutil.which("service"):
        return True, f"init scripts in {INIT_D} and the service command"
    return False, f"no {INIT_D} with the service command"


@dataclass(frozen=True)
class Found:
    """The manager to use (None: none runs), whether it runs, why, and why the ones before it were passed over."""

    name: str | None
    running: bool
    why: str
    configured: bool
    passed_over: tuple[str, ...] = ()


def find_manager(cfg: ServicesSettings) -> Found:
    """The configured manager (checked, not assumed), or the first that really runs: systemd, supervisord, SysV."""
    probes: dict[str, Callable[[], tuple[bool, str]]] = {
        "systemd": systemd_runs,
        "supervisor": lambda: supervisord_runs(cfg.supervisor_config),
        "sysv": sysv_present,
    }
    if cfg.manager != "auto":
        running, why = probes[cfg.manager]()
        return Found(cfg.manager, running, why, configured=True)
    passed: list[str] = []
    for name, probe in probes.items():
        running, why = probe()
        if running:
            return Found(name, True, why, configured=False, passed_over=tuple(passed))
        passed.append(why)
    return Found(None, False, "; ".join(passed), configured=False)


def detect(ctx: SkillContext) -> ServiceManager:
    cfg = ctx.settings.services
    found = find_manager(cfg)
    if found.name is None:
        raise SkillFailed(f"no service manager runs on this host: {found.why}")
    if not found.running:
        raise SkillFailed(f"services.manager is {found.name}, but {found.why}")
    if found.name == "systemd":
        return Systemd()
    if found.name == "supervisor":
        return Supervisor(cfg.supervisor_config or DEFAULT_SUPERVISOR_CONF)  # the config that was checked
    return SysV()


def wait_running(manager: ServiceManager, unit: str, ctx: SkillContext, seconds: float) -> dict[str, Any]:
    """Poll until the unit runs (or time is up); the last status either way."""
    deadline = time.monotonic() + min(seconds, max(ctx.remaining() - 1, 0.5))
    while True:
        status = manager.status(unit, ctx)
        if status["running"] or time.monotonic() >= deadline:
            return status
        time.sleep(0.5)
