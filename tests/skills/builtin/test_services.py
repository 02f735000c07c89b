"""service_status and restart_service for real, under a supervisord started by the test."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import call, make_settings
from tests.helpers import pid_alive, wait_for
from tests.supervisord import Supervisord, running_supervisord
from watchkeeper.app import App, open_app
from watchkeeper.policy.approvals import grant
from watchkeeper.policy.risk import Role
from watchkeeper.skills.invoke import Status


@pytest.fixture
def supervisord(tmp_path: Path) -> Iterator[Supervisord]:
    with running_supervisord(tmp_path) as sv:
        yield sv


def service_rt(tmp_path: Path, log_dir: Path, sv: Supervisord, **policy: Any) -> App:
    return open_app(
        make_settings(
            tmp_path,
            log_dir,
            services={"manager": "supervisor", "supervisor_config": str(sv.conf)},
            policy={"restart_allowlist": ["webapp", "broken"], **policy},
        )
    )


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as resp:
            return int(resp.status) == 200
    except OSError:
        return False


def test_status_of_a_running_program(tmp_path: Path, log_dir: Path, supervisord: Supervisord) -> None:
    rt = service_rt(tmp_path, log_dir, supervisord)
    result = call(rt, "service_status", unit="webapp")
    assert result.ok, result.error
    assert result.result["manager"] == "supervisor" and result.result["running"] is True
    assert psutil.Process(result.result["pid"]).name().startswith("python")
    stopped = call(rt, "service_status", unit="broken")
    assert stopped.result["state"] == "stopped" and stopped.result["running"] is False
    missing = call(rt, "service_status", unit="nope")
    assert missing.status is Status.FAILED and "no program named nope" in (missing.error or "")
    injected = call(rt, "service_status", unit="--help")
    assert injected.status is Status.INVALID


def test_restart_needs_approval_then_really_restarts(tmp_path: Path, log_dir: Path, supervisord: Supervisord) -> None:
    rt = service_rt(tmp_path, log_dir, supervisord)
    before = call(rt, "service_status", unit="webapp").result["pid"]
    refused = call(rt, "restart_service", unit="webapp")
    assert refused.status is Status.REFUSED and refused.rule == "approval_required"
    assert call(rt, "service_status", unit="webapp").result["pid"] == before
    validated, shown = rt.invoker.preview("restart_service", {"unit": "webapp"})
    assert shown is not None and shown.summary.startswith("restart webapp via supervisor (now running, pid")
    approval = grant("restart_service", validated.params, "local", "alice", Role.CLI)
    done = call(rt, "restart_service", approval=approval, unit="webapp")
    assert done.ok, done.error
    assert done.result["before"]["pid"] == before and done.result["after"]["pid"] != before
    assert done.result["verified"] is True
    assert wait_for(lambda: not pid_alive(before), timeout=5)
    assert wait_for(lambda: answers(supervisord.port), timeout=10)
    assert rt.ledger.rows(tool="restart_service")[-1]["approved_by"] == "alice"


def test_restart_allowlist_and_rate_limit(tmp_path: Path, log_dir: Path, supervisord: Supervisord) -> None:
    rt = service_rt(tmp_path, log_dir, supervisord, restart_allowlist=["webapp"], restart_rate_limit=1)
    other = call(
        rt,
        "restart_service",
        approval=grant("restart_service", {"unit": "broken", "wait_s": 15.0}, "local", "alice", Role.CLI),
        unit="broken",
    )
    assert other.status is Status.REFUSED and other.rule == "restart_allowlist"
    params = {"unit": "webapp", "wait_s": 15.0}
    first = call(rt, "restart_service", approval=grant("restart_service", params, "local", "a", Role.CLI), **params)
    assert first.ok, first.error
    second = call(rt, "restart_service", approval=grant("restart_service", params, "local", "a", Role.CLI), **params)
    assert second.status is Status.REFUSED and second.rule == "restart_rate_limit"
    assert "restart loop" in (second.error or "")


def test_a_restart_that_does_not_come_back_fails(tmp_path: Path, log_dir: Path, supervisord: Supervisord) -> None:
    rt = service_rt(tmp_path, log_dir, supervisord)
    params = {"unit": "broken", "wait_s": 3.0}
    result = call(rt, "restart_service", approval=grant("restart_service", params, "local", "a", Role.CLI), **params)
    assert result.status is Status.FAILED
    assert "broken" in (result.error or "")
