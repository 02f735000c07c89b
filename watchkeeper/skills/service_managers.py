"""The service manager this host really runs: systemd when it is PID 1, else a live supervisord,
else SysV init scripts. `wk doctor` and the service skills share `find_manager`, so they agree.

Each manager also lists its abnormal units (`units`): failed, restarting or down when they should run,
with restart counts from systemd's NRestarts or, for supervisord, from its own log."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import signal
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field, field_validator

from watchkeeper.config import ServicesSettings
from watchkeeper.errors import Refused, SkillFailed
from watchkeeper.skills.base import SkillParams
from watchkeeper.skills.context import SkillContext

UNIT_RE = re.compile(r"^[A-Za-z0-9@._:\\-]+$")
DEFAULT_SUPERVISOR_CONF = Path("/etc/supervisor/supervisord.conf")
SYSTEMD_RUN_DIR = Path("/run/systemd/system")  # exists only while systemd is the init system
INIT_D = Path("/etc/init.d")
CONNECT_TIMEOUT_S = 2.0
DEFAULT_SUPERVISOR_LOG = Path("/var/log/supervisor/supervisord.log")  # Debian's; supervisord's own is relative
LOG_BUDGET = 1 << 20  # bytes of supervisord's log read, from its end
LIST_BUDGET = 4 << 20  # bytes of systemctl / supervisorctl output kept: hundreds of units fit


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


@dataclass(frozen=True)
class UnitList:
    """The manager's abnormal units (unsorted), how many units it lists in all, and what it could not tell."""

    units: list[dict[str, Any]]
    total: int | None
    notes: list[str] = field(default_factory=list)


def unit_row(
    unit: str,
    state: str,
    running: bool,
    restarts: int | None,
    last_exit: str | None,
    since: str | None,
    detail: str,
) -> dict[str, Any]:
    return {
        "unit": unit,
        "state": state,
        "running": running,
        "restarts": restarts,
        "last_exit": last_exit,
        "since": since,
        "detail": detail,
    }


class ServiceManager(Protocol):
    name: str

    def status(self, unit: str, ctx: SkillContext) -> dict[str, Any]: ...

    def restart(self, unit: str, ctx: SkillContext) -> None: ...

    def units(self, ctx: SkillContext, since: datetime) -> UnitList:
        """Units that failed, restart, or are down when they should run; restarts counted from `since`
        where the manager keeps a history (supervisord's log), else its own count (systemd)."""
        ...


def _need(exe: str) -> str:
    path = shutil.which(exe)
    if path is None:
        raise SkillFailed(f"{exe} is not installed on this host")
    return path


SYSTEMD_PROPS = "Id,LoadState,ActiveState,SubState,Result,NRestarts,ExecMainCode,ExecMainStatus,StateChangeTimestamp"
CLD_EXITED, CLD_KILLED, CLD_DUMPED = "1", "2", "3"  # ExecMainCode: how the main process last ended


def parse_list_units(text: str) -> list[str]:
    """Service names from `systemctl list-units --type=service --all --no-legend --plain`: the first column,
    after the ● (or *) systemd puts before failed and not-found units."""
    names = []
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] in ("●", "*"):
            fields = fields[1:]
        if fields and fields[0].endswith(".service") and not fields[0].startswith("-") and UNIT_RE.match(fields[0]):
            names.append(fields[0])
    return names


def parse_show(text: str) -> list[dict[str, str]]:
    """`systemctl show` of several units: one block of Key=value lines per unit, blank lines between."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
        elif not line.strip() and current:
            blocks.append(current)
            current = {}
    if current:
        blocks.append(current)
    return blocks


def _signal_name(number: str) -> str:
    try:
        return signal.Signals(int(number)).name
    except ValueError:
        return f"signal {number}"


def systemd_exit(info: dict[str, str]) -> str | None:
    """How the main process last ended, and the unit's result when that was not success."""
    code, status = info.get("ExecMainCode", "0"), info.get("ExecMainStatus", "0")
    how = {
        CLD_EXITED: f"exit status {status}",
        CLD_KILLED: f"killed by {_signal_name(status)}",
        CLD_DUMPED: f"dumped core on {_signal_name(status)}",
    }.get(code)
    result = info.get("Result", "success")
    parts = [p for p in (how, None if result in ("success", "") else f"result {result}") if p]
    return "; ".join(parts) or None


def systemd_row(info: dict[str, str]) -> dict[str, Any] | None:
    """The unit's row if it failed, waits to restart, or has restarted; None for a healthy one."""
    active, sub = info.get("ActiveState", ""), info.get("SubState", "")
    nrestarts = info.get("NRestarts", "")
    restarts = int(nrestarts) if nrestarts.isdigit() else None
    running = active in ("active", "reloading")
    if active == "failed":
        state = "failed"
    elif sub.startswith("auto-restart"):  # auto-restart, auto-restart-queued: between a crash and the next start
        state = "restarting"
    elif restarts:
        state = "running" if running else {"inactive": "stopped"}.get(active, active)
    else:
        return None
    load = info.get("LoadState", "loaded")
    return unit_row(
        unit=info.get("Id", "?"),
        state=state,
        running=running,
        restarts=restarts,
        last_exit=systemd_exit(info),
        since=info.get("StateChangeTimestamp") or None,
        detail=f"{active}/{sub}" + ("" if load == "loaded" else f", {load}"),
    )


class Systemd:
    name = "systemd"

    def units(self, ctx: SkillContext, since: datetime) -> UnitList:
        exe = _need("systemctl")
        argv = [exe, "list-units", "--type=service", "--all", "--no-legend", "--plain", "--no-pager"]
        listed = ctx.run(argv, max_output=LIST_BUDGET)
        if listed.returncode != 0:
            raise SkillFailed(f"systemctl list-units failed: {listed.stderr.strip()[-300:]}")
        names = parse_list_units(listed.stdout)
        if not names:
            return UnitList([], 0)
        shown = ctx.run([exe, "show", f"--property={SYSTEMD_PROPS}", "--no-pager", *names], max_output=LIST_BUDGET)
        if shown.returncode != 0:
            raise SkillFailed(f"systemctl show failed: {shown.stderr.strip()[-300:]}")
        rows = [row for info in parse_show(shown.stdout) if (row := systemd_row(info))]
        notes = [
            "restart counts are systemd's NRestarts (its automatic restarts since the unit was last started "
            "by hand or reset), not counted within window"
        ]
        if shown.truncated:
            notes.append(f"systemctl show printed more than {LIST_BUDGET} bytes: units past that are not checked")
        return UnitList(rows, len(names), notes)

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

    def units(self, ctx: SkillContext, since: datetime) -> UnitList:
        done = ctx.run(self._argv("status"), max_output=LIST_BUDGET)  # exits 3 when any program is down
        programs = parse_supervisor_status(done.stdout)
        if not programs and (done.stdout + done.stderr).strip():
            text = (done.stdout + done.stderr).strip()
            raise SkillFailed(f"cannot read supervisord status (is supervisord running?): {text[-300:]}")
        histories, notes = self._histories(ctx, since)
        autostart = self._autostart(ctx) if any(state == "STOPPED" for _, state, _ in programs) else set()
        rows = []
        for name, state, rest in programs:
            history = histories.get(name.rsplit(":", 1)[-1]) if histories is not None else None
            row = supervisor_row(name, state, rest, history, histories is not None, name in autostart)
            if row is not None:
                rows.append(row)
        return UnitList(rows, len(programs), notes)

    def _histories(self, ctx: SkillContext, since: datetime) -> tuple[dict[str, History] | None, list[str]]:
        """Each program's history from supervisord's log, or None and why not."""
        try:
            log = supervisor_logfile(self.config or DEFAULT_SUPERVISOR_CONF)
        except ValueError as exc:
            return None, [f"restart counts unknown: {exc}"]
        if log is None:
            return None, ["restart counts unknown: supervisord logs to syslog or nowhere"]
        try:
            real = ctx.readable_path(str(log))
            text, cut = read_tail(real, LOG_BUDGET)
        except Refused:
            return None, [f"restart counts unknown: supervisord's log {log} is outside the read allowlist"]
        except OSError as exc:
            return None, [f"restart counts unknown: supervisord's log {log} cannot be read ({exc.strerror})"]
        histories, first = supervisor_histories(text, since)
        notes = []
        if cut and first is not None and first > since:
            notes.append(
                f"restart counts cover only since {first.isoformat(timespec='seconds')}: "
                f"the last {LOG_BUDGET >> 20} MiB of {log}"
            )
        return histories, notes

    def _autostart(self, ctx: SkillContext) -> set[str]:
        """Programs supervisord starts by itself (`supervisorctl avail`: auto); empty if it cannot say."""
        done = ctx.run(self._argv("avail"), max_output=LIST_BUDGET)
        return {m.group(1) for line in done.stdout.splitlines() if (m := AVAIL_LINE.match(line))}


SUPERVISOR_STATES = {"STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN"}
AVAIL_LINE = re.compile(r"^(\S+)\s+(?:in use|avail)\s+auto\b")
# "2026-11-28 03:01:02,123 WARN exited: worker (exit status 1; not expected)", "... INFO spawned: 'worker' with
# pid 4567", "... INFO gave up: worker entered FATAL state, ...": supervisord names the process, not group:name.
LOG_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ [A-Z]+ (spawned|exited|gave up|success|stopped): '?([^'\s]+)'?\s*(.*)$"
)


@dataclass
class History:
    """One program's lifecycle as supervisord logged it: respawns after an exit since the window's start,
    the last exit, and the time of its last transition."""

    restarts: int = 0
    last_exit: str | None = None
    changed_at: datetime | None = None
    previous: str | None = None


def parse_supervisor_status(text: str) -> list[tuple[str, str, str]]:
    """(name, STATE, the rest) of each `supervisorctl status` line; other lines (errors) are left out."""
    out = []
    for line in text.splitlines():
        m = Supervisor.LINE.match(line.strip())
        if m and m.group("state") in SUPERVISOR_STATES:
            out.append((m.group("name"), m.group("state"), m.group("rest").strip()))
    return out


def supervisor_histories(text: str, since: datetime) -> tuple[dict[str, History], datetime | None]:
    """Each program's history from supervisord's log text (local times, as it writes them), and the time
    of the first line read."""
    histories: dict[str, History] = {}
    first = None
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        if not m:
            continue
        try:
            at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").astimezone(UTC)
        except ValueError:
            continue
        first = first or at
        kind, name, rest = m.group(2), m.group(3), m.group(4)
        history = histories.setdefault(name, History())
        if kind == "spawned" and history.previous == "exited" and at >= since:
            history.restarts += 1
        if kind == "exited":
            history.last_exit = rest.strip("()")
        history.previous, history.changed_at = kind, at
    return histories, first


def supervisor_row(
    name: str, state: str, rest: str, history: History | None, counted: bool, autostart: bool
) -> dict[str, Any] | None:
    """The program's row if it is down when it should run or has restarted; None for a healthy one."""
    restarts = (history.restarts if history else 0) if counted else None
    last_exit = history.last_exit if history else None
    if state == "FATAL":
        norm = "failed"
    elif state == "BACKOFF":
        norm = "restarting"  # between a crash and the next try
    elif state == "UNKNOWN":
        norm = "unknown"
    elif state == "EXITED":
        norm = "stopped"
        if (last_exit or "").endswith("; expected") and not restarts:
            return None  # ran and finished as configured: a one-shot program
    elif state == "STOPPED" and autostart:
        norm = "stopped"  # stopped by hand, though supervisord would start it
    elif restarts:
        norm = state.lower()
    else:
        return None
    changed = history.changed_at if history else None
    return unit_row(
        unit=name,
        state=norm,
        running=state == "RUNNING",
        restarts=restarts,
        last_exit=last_exit,
        since=changed.isoformat(timespec="seconds") if changed else None,
        detail=f"{state} {rest}".strip() + (" (autostart)" if state == "STOPPED" and autostart else ""),
    )


def read_tail(path: Path, budget: int) -> tuple[str, bool]:
    """The last `budget` bytes of a file from a line start, and whether earlier bytes were left out."""
    with path.open("rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        start = max(0, end - budget)
        fh.seek(start)
        data = fh.read(budget)
    if start > 0:
        data = data.partition(b"\n")[2]  # the first line is cut
    return data.decode("utf-8", errors="replace"), start > 0


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

    def units(self, ctx: SkillContext, since: datetime) -> UnitList:
        return UnitList(
            [],
            None,
            [
                "SysV init keeps no record of which services failed or restart; "
                "ask service_status about a service you expect to run"
            ],
        )


def systemd_runs() -> tuple[bool, str]:
    if SYSTEMD_RUN_DIR.is_dir():
        return True, f"{SYSTEMD_RUN_DIR} exists"
    try:
        init = Path("/proc/1/comm").read_text().strip()
    except OSError as exc:
        return False, f"PID 1 cannot be read ({exc.strerror})"
    return (True, "PID 1 is systemd") if init == "systemd" else (False, f"PID 1 is {init}, not systemd")


def _supervisor_setting(conf: Path, section: str, key: str, default: str) -> str:
    """One setting of a supervisord config, read and expanded (%(here)s, %(ENV_X)s) as supervisor does."""
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    try:
        with conf.open() as fh:
            parser.read_file(fh)
    except (OSError, configparser.Error) as exc:
        raise ValueError(f"{conf} cannot be read: {exc.strerror if isinstance(exc, OSError) else exc}") from None
    value = parser.get(section, key, fallback=default)
    expansions = {"here": str(conf.parent), **{f"ENV_{k}": v for k, v in os.environ.items()}}
    try:
        return value % expansions
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"{conf}: {key} {value} cannot be expanded") from None


def supervisor_server_url(conf: Path) -> str:
    """Where supervisorctl would connect, read from the config the way supervisorctl reads it."""
    return _supervisor_setting(conf, "supervisorctl", "serverurl", "http://localhost:9001")  # supervisorctl's default


def supervisor_logfile(conf: Path) -> Path | None:
    """supervisord's own log (None: syslog or none). Unset, Debian's path: supervisord itself would write
    supervisord.log in the directory it started in, which a config does not tell."""
    value = _supervisor_setting(conf, "supervisord", "logfile", str(DEFAULT_SUPERVISOR_LOG)).strip()
    if value.upper() == "NONE" or value == "syslog":
        return None
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise ValueError(f"{conf}: logfile {value} is relative to the directory supervisord started in")
    return path


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
