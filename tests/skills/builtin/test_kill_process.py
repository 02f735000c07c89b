"""kill_process for real: approval, identity binding, guardrails, verification."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import CLI, call, make_settings
from tests.helpers import python_child
from watchkeeper.app import App, open_app
from watchkeeper.policy.approvals import Approval, grant
from watchkeeper.policy.risk import Role
from watchkeeper.skills.invoke import Status


def approved(rt: App, params: dict[str, Any]) -> tuple[dict[str, Any], Approval]:
    validated, _ = rt.invoker.preview("kill_process", params)
    return validated.params, grant("kill_process", validated.params, "local", "alice", Role.CLI)


def test_refused_without_approval(rt: App, victim: subprocess.Popen[bytes]) -> None:
    result = call(rt, "kill_process", pid=victim.pid)
    assert result.status is Status.REFUSED and result.rule == "approval_required"
    assert victim.poll() is None


def test_kills_with_approval_bound_to_start_time(rt: App, victim: subprocess.Popen[bytes]) -> None:
    params, approval = approved(rt, {"pid": victim.pid})
    assert params["start_time"] == psutil.Process(victim.pid).create_time()
    result = rt.invoker.invoke("kill_process", {"pid": victim.pid}, CLI, approval)
    assert result.ok, result.error
    assert result.result["exited"] is True and result.result["name"] == "sleep"
    assert victim.wait(5) == -15  # really ended by SIGTERM


def test_a_reused_pid_is_never_hit(rt: App, victim: subprocess.Popen[bytes]) -> None:
    started = psutil.Process(victim.pid).create_time()
    params = {"pid": victim.pid, "start_time": started - 100}
    approval = grant("kill_process", params, "local", "alice", Role.CLI)
    result = call(rt, "kill_process", approval=approval, **params)
    assert result.status is Status.REFUSED and result.rule == "pid_reused"
    assert victim.poll() is None


@pytest.mark.parametrize(
    ("which", "reason"),
    [("1", "PID 1"), ("2", "kernel thread"), ("self", "watchkeeper itself"), ("parent", "one of its parents")],
)
def test_guardrails(rt: App, which: str, reason: str) -> None:
    pid = {"self": os.getpid(), "parent": os.getppid()}.get(which) or int(which)
    if pid == 2 and not psutil.pid_exists(2):
        pytest.skip("no kthreadd visible here")
    result = call(rt, "kill_process", pid=pid)
    assert result.status is Status.REFUSED and result.rule == "kill_guardrail"
    assert reason in (result.error or "")


def test_denylisted_names_are_refused(rt: App, tmp_path: Path) -> None:
    fake_sshd = tmp_path / "sshd"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", fake_sshd)
    proc = subprocess.Popen([str(fake_sshd), "60"])
    try:
        result = call(rt, "kill_process", pid=proc.pid)
        assert result.status is Status.REFUSED and result.rule == "kill_denylist"
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_a_process_that_ignores_term_is_reported(tmp_path: Path, log_dir: Path) -> None:
    rt = open_app(make_settings(tmp_path, log_dir))
    with python_child("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)") as proc:
        params, approval = approved(rt, {"pid": proc.pid, "wait_s": 1})
        result = rt.invoker.invoke("kill_process", params, CLI, approval)
        assert result.status is Status.FAILED and "still runs after" in (result.error or "")
        assert proc.poll() is None


def test_missing_pid(rt: App) -> None:
    result = call(rt, "kill_process", pid=4_000_000)
    assert result.status is Status.FAILED and result.error == "no process with pid 4000000"
