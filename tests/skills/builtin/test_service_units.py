"""service_units: a real supervisord with a crash-looping program, and systemd's output parsed.

systemd is not PID 1 on the machine these tests were written on, so its side is tested on text in the format
`systemctl list-units --plain --no-legend` and `systemctl show` print (systemd 252, Debian 12), served by a
stand-in `systemctl` script on PATH; the supervisord side runs against the real daemon.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import call, make_settings
from tests.helpers import wait_for
from tests.supervisord import Supervisord, running_supervisord
from watchkeeper.app import App, open_app
from watchkeeper.skills import service_managers
from watchkeeper.skills.invoke import Status
from watchkeeper.skills.service_managers import (
    parse_list_units,
    parse_show,
    parse_supervisor_status,
    supervisor_histories,
    supervisor_row,
    systemd_row,
)

LIST_UNITS = """\
  apt-daily.service                      loaded    inactive   dead         Daily apt download activities
  checkout.service                       loaded    activating auto-restart Checkout API
  cron.service                           loaded    active     running      Regular background program processing daemon
● auditd.service                         not-found inactive   dead         auditd.service
  nginx.service                          loaded    active     running      A high performance web server
  queue.service                          loaded    active     running      Queue consumer
  worker.service                         loaded    failed     failed       Order worker
"""

SHOW = """\
Result=success
NRestarts=0
ExecMainCode=1
ExecMainStatus=0
Id=apt-daily.service
LoadState=loaded
ActiveState=inactive
SubState=dead
StateChangeTimestamp=Sat 2026-11-28 06:12:01 UTC

Result=exit-code
NRestarts=4
ExecMainCode=1
ExecMainStatus=78
Id=checkout.service
LoadState=loaded
ActiveState=activating
SubState=auto-restart
StateChangeTimestamp=Sat 2026-11-28 09:40:17 UTC

Result=success
NRestarts=0
ExecMainCode=0
ExecMainStatus=0
Id=cron.service
LoadState=loaded
ActiveState=active
SubState=running
StateChangeTimestamp=Sat 2026-11-28 01:00:02 UTC

Result=success
NRestarts=0
ExecMainCode=0
ExecMainStatus=0
Id=auditd.service
LoadState=not-found
ActiveState=inactive
SubState=dead
StateChangeTimestamp=

Result=success
NRestarts=0
ExecMainCode=0
ExecMainStatus=0
Id=nginx.service
LoadState=loaded
ActiveState=active
SubState=running
StateChangeTimestamp=Sat 2026-11-28 01:00:03 UTC

Result=oom-kill
NRestarts=2
ExecMainCode=2
ExecMainStatus=9
Id=queue.service
LoadState=loaded
ActiveState=active
SubState=running
StateChangeTimestamp=Sat 2026-11-28 09:12:44 UTC

Result=exit-code
NRestarts=0
ExecMainCode=1
ExecMainStatus=1
Id=worker.service
LoadState=loaded
ActiveState=failed
SubState=failed
StateChangeTimestamp=Sat 2026-11-28 09:01:02 UTC
"""


def test_systemd_output_is_parsed_into_the_abnormal_units() -> None:
    names = parse_list_units(LIST_UNITS)
    assert names == [
        "apt-daily.service",
        "checkout.service",
        "cron.service",
        "auditd.service",
        "nginx.service",
        "queue.service",
        "worker.service",
    ]
    blocks = parse_show(SHOW)
    assert [b["Id"] for b in blocks] == names
    rows = {row["unit"]: row for b in blocks if (row := systemd_row(b))}
    assert set(rows) == {"checkout.service", "queue.service", "worker.service"}  # finished, healthy, absent: not
    assert rows["worker.service"] == {
        "unit": "worker.service",
        "state": "failed",
        "running": False,
        "restarts": 0,
        "last_exit": "exit status 1; result exit-code",
        "since": "Sat 2026-11-28 09:01:02 UTC",
        "detail": "failed/failed",
    }
    assert rows["checkout.service"]["state"] == "restarting" and rows["checkout.service"]["restarts"] == 4
    assert rows["checkout.service"]["last_exit"] == "exit status 78; result exit-code"
    queue = rows["queue.service"]
    assert queue["state"] == "running" and queue["running"] is True and queue["restarts"] == 2
    assert queue["last_exit"] == "killed by SIGKILL; result oom-kill"


@pytest.fixture
def fake_systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in systemctl on PATH printing the text above, and systemd's run directory faked present."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "list-units.txt").write_text(LIST_UNITS)
    (tmp_path / "show.txt").write_text(SHOW)
    script = bin_dir / "systemctl"
    script.write_text(
        f"#!/bin/sh\n"
        f'case "$1" in\n'
        f'  list-units) echo "$@" > {tmp_path}/list-argv; cat {tmp_path}/list-units.txt ;;\n'
        f'  show) echo "$@" > {tmp_path}/show-argv; cat {tmp_path}/show.txt ;;\n'
        f"  *) exit 1 ;;\n"
        f"esac\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path('/usr/bin')}:{Path('/bin')}")
    run_dir = tmp_path / "run-systemd-system"
    run_dir.mkdir()
    monkeypatch.setattr(service_managers, "SYSTEMD_RUN_DIR", run_dir)
    return tmp_path


def test_systemd_units_through_invoke(tmp_path: Path, log_dir: Path, fake_systemd: Path) -> None:
    rt = open_app(make_settings(tmp_path, log_dir, services={"manager": "systemd"}))
    result = call(rt, "service_units")
    assert result.ok, result.error
    out = result.result
    assert out["manager"] == "systemd" and out["total"] == 7 and out["truncated"] is False
    assert [u["unit"] for u in out["units"]] == ["worker.service", "checkout.service", "queue.service"]
    assert "NRestarts" in out["note"]
    assert (fake_systemd / "list-argv").read_text().split() == [
        "list-units", "--type=service", "--all", "--no-legend", "--plain", "--no-pager",
    ]  # fmt: skip
    show_argv = (fake_systemd / "show-argv").read_text().split()
    assert show_argv[0] == "show" and show_argv[-7:] == parse_list_units(LIST_UNITS)
    assert rt.ledger.rows(tool="service_units")[-1]["status"] == "succeeded"


def test_supervisor_status_and_log_lines_are_read() -> None:
    status = parse_supervisor_status(
        "worker                           BACKOFF   Exited too quickly (process log may have details)\n"
        "web                              RUNNING   pid 812, uptime 1 day, 2:03:04\n"
        "error: <class 'xmlrpc.client.Fault'>, <Fault 6: 'SHUTDOWN_STATE'>: file: client.py line: 668\n"
    )
    assert status == [
        ("worker", "BACKOFF", "Exited too quickly (process log may have details)"),
        ("web", "RUNNING", "pid 812, uptime 1 day, 2:03:04"),
    ]
    log = (
        "2026-11-28 03:00:00,001 INFO spawned: 'worker' with pid 10\n"
        "2026-11-28 03:00:00,205 WARN exited: worker (exit status 1; not expected)\n"
        "2026-11-28 03:00:01,210 INFO spawned: 'worker' with pid 11\n"
        "2026-11-28 03:00:01,415 WARN exited: worker (exit status 2; not expected)\n"
    )
    histories, first = supervisor_histories(log, datetime(2000, 1, 1).astimezone())
    row = supervisor_row("worker", *status[0][1:], histories["worker"], counted=True, autostart=True)
    assert row is not None and first is not None
    assert row["state"] == "restarting" and row["restarts"] == 1 and row["last_exit"] == "exit status 2; not expected"
    assert supervisor_row("web", *status[1][1:], None, counted=True, autostart=True) is None


CRASHING = """
[program:crashloop]
command=sh -c 'exit 1'
startsecs=5
startretries=3
autorestart=true

[program:oneshot]
command=sh -c 'exit 0'
startsecs=0
autorestart=false

[program:late]
command=sh -c 'exit 3'
startsecs=0
autorestart=false
"""


@pytest.fixture
def crashing(tmp_path: Path) -> Iterator[Supervisord]:
    with running_supervisord(tmp_path, CRASHING) as sv:
        yield sv


def units_app(tmp_path: Path, log_dir: Path, sv: Supervisord, read_log: bool = True) -> App:
    allow = [str(log_dir), str(sv.log)] if read_log else [str(log_dir)]
    return open_app(
        make_settings(
            tmp_path,
            log_dir,
            services={"manager": "supervisor", "supervisor_config": str(sv.conf)},
            policy={"read_allowlist": allow},
        )
    )


def units(rt: App, **params: Any) -> dict[str, Any]:
    result = call(rt, "service_units", **params)
    assert result.ok, result.error
    return result.result


def by_name(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["unit"]: u for u in out["units"]}


def test_a_crash_looping_program_is_listed_failed_with_its_restarts(
    tmp_path: Path, log_dir: Path, crashing: Supervisord
) -> None:
    rt = units_app(tmp_path, log_dir, crashing)
    seen: dict[str, Any] = {}

    def gave_up() -> bool:
        seen.update(units(rt))
        return by_name(seen).get("crashloop", {}).get("state") == "failed"

    # Four quick deaths, with backoffs of 1, 2 and 3 s between them, then FATAL.
    assert wait_for(gave_up, timeout=60, interval=0.5), seen
    assert seen["manager"] == "supervisor" and seen["total"] == 5 and seen["note"] is None
    assert seen["truncated"] is False
    # The healthy webapp, the finished oneshot and the never-started broken (autostart=false) are left out.
    assert [u["unit"] for u in seen["units"]] == ["crashloop", "late"]
    crash = by_name(seen)["crashloop"]
    assert crash["running"] is False and crash["restarts"] == 3  # startretries=3: three respawns, then FATAL
    assert crash["last_exit"] == "exit status 1; not expected" and crash["detail"].startswith("FATAL")
    assert crash["since"] is not None
    late = by_name(seen)["late"]
    assert late["state"] == "stopped" and late["last_exit"] == "exit status 3; not expected"
    assert late["restarts"] == 0
    assert all(r["status"] == "succeeded" for r in rt.ledger.rows(tool="service_units"))

    # Restarts count within the window only: none in the last second once it has given up.
    assert wait_for(lambda: by_name(units(rt, window="1s"))["crashloop"]["restarts"] == 0, timeout=15)

    # A program stopped by hand that supervisord would start is down when it should run.
    subprocess.run(["supervisorctl", "-c", str(crashing.conf), "stop", "webapp"], capture_output=True, timeout=30)
    webapp = by_name(units(rt)).get("webapp")
    assert webapp is not None and webapp["state"] == "stopped" and webapp["detail"].endswith("(autostart)")


def test_without_its_log_the_restart_count_is_unknown_and_says_why(
    tmp_path: Path, log_dir: Path, crashing: Supervisord
) -> None:
    rt = units_app(tmp_path, log_dir, crashing, read_log=False)
    assert wait_for(lambda: "late" in by_name(units(rt)), timeout=30)
    out = units(rt)
    assert by_name(out)["late"]["restarts"] is None
    assert f"supervisord's log {crashing.log} is outside the read allowlist" in out["note"]


def test_bad_windows_and_a_dead_manager(tmp_path: Path, log_dir: Path) -> None:
    conf = tmp_path / "gone.conf"
    conf.write_text(f"[supervisorctl]\nserverurl=unix://{tmp_path / 'gone.sock'}\n")
    rt = open_app(make_settings(tmp_path, log_dir, services={"manager": "supervisor", "supervisor_config": str(conf)}))
    for window in ("soon", "0m", "2026-11-28"):
        assert call(rt, "service_units", window=window).status is Status.INVALID
    dead = call(rt, "service_units")
    assert dead.status is Status.FAILED
    assert dead.error is not None and "no supervisord answers" in dead.error and "\n" not in dead.error


def test_the_sweep_reports_a_failed_service_and_a_question_about_it_blames_it(
    tmp_path: Path, log_dir: Path, crashing: Supervisord
) -> None:
    from watchkeeper.evidence.report import Symptom
    from watchkeeper.incidents.investigate import investigate

    rt = units_app(tmp_path, log_dir, crashing)
    assert wait_for(lambda: by_name(units(rt)).get("crashloop", {}).get("state") == "failed", timeout=60, interval=0.5)
    report = investigate(rt, Symptom(question="crashloop does not stay up, what is wrong?"), use_model=False)
    top = report.hypotheses[0]
    assert top.rule == "failed_unit" and top.culprit is not None and top.culprit.name == "crashloop"
    assert top.actions[0].skill is None and top.actions[1].skill == "restart_service"
    assert any(c.startswith("services (supervisor): 2 of 5 failed or restarting") for c in report.checked)
    # Asked about something else, a failed unit is listed, never made the cause.
    other = investigate(rt, Symptom(question="is the disk of this host full?"), use_model=False)
    assert all(h.rule != "failed_unit" or h.confidence < 0.5 for h in other.hypotheses)
    assert any(f.kind == "unit_failed" for f in other.findings)
