"""The use cases below the faces, called as a server or a chat button would call them: no CLI."""

from __future__ import annotations

import asyncio
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from tests.conftest import CLI
from tests.skills.lab import add_lab_skills
from watchkeeper.app import App
from watchkeeper.audit.model_log import ModelLog, ModelRequestRecord
from watchkeeper.config import Settings
from watchkeeper.errors import ConfigError
from watchkeeper.evidence.report import Symptom
from watchkeeper.incidents import approvals, deliver
from watchkeeper.incidents.investigate import investigate_async, wants_model
from watchkeeper.incidents.timeline import session_timeline
from watchkeeper.policy.risk import Caller, Role
from watchkeeper.skills.invoke import Status


def test_prepare_binds_the_exact_call_and_grant_then_run_acts(rt: App, victim: subprocess.Popen[bytes]) -> None:
    prepared = approvals.prepare(rt, "kill_process", {"pid": victim.pid})
    assert prepared is not None and prepared.needs_approval
    assert prepared.params["start_time"] == psutil.Process(victim.pid).create_time()  # bound by the dry run
    assert prepared.effect and "sleep" in prepared.effect
    approval = approvals.grant(prepared, "alice", Role.CLI)
    call = approvals.run(rt, "kill_process", {"pid": victim.pid}, prepared, CLI, approval)
    assert call.ok, call.error
    assert victim.wait(5) == -15
    assert rt.ledger.rows(tool="kill_process")[-1]["approved_by"] == "alice"


def test_an_approval_through_a_channel_that_may_not_grant_it_is_refused(
    rt: App, victim: subprocess.Popen[bytes]
) -> None:
    prepared = approvals.prepare(rt, "kill_process", {"pid": victim.pid})
    assert prepared is not None
    approval = approvals.grant(prepared, "mallory", Role.MCP)  # MCP may not grant a mutating approval
    call = approvals.run(rt, "kill_process", {"pid": victim.pid}, prepared, CLI, approval)
    assert call.status is Status.REFUSED and call.rule == "approval_channel"
    assert victim.poll() is None


def test_an_approval_does_not_carry_over_to_another_call(rt: App, victim: subprocess.Popen[bytes]) -> None:
    other = subprocess.Popen(["sleep", "120"])
    try:
        prepared = approvals.prepare(rt, "kill_process", {"pid": victim.pid})
        elsewhere = approvals.prepare(rt, "kill_process", {"pid": other.pid})
        assert prepared is not None and elsewhere is not None
        approval = approvals.grant(prepared, "alice", Role.CLI)
        call = approvals.run(rt, "kill_process", {"pid": other.pid}, elsewhere, CLI, approval)
        assert call.status is Status.REFUSED and call.rule == "approval_mismatch"
        assert victim.poll() is None and other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_call_that_cannot_be_prepared_is_refused_with_an_audit_row(rt: App) -> None:
    assert approvals.prepare(rt, "kill_process", {"pid": "not a pid"}) is None
    call = approvals.run(rt, "kill_process", {"pid": "not a pid"}, None, CLI, None)
    assert call.status is Status.INVALID and rt.ledger.rows(tool="kill_process")[-1]["status"] == "invalid"


def test_the_model_is_used_when_configured_and_asking_for_a_missing_one_says_what_to_set() -> None:
    bare = Settings()
    assert wants_model(bare, None, "--llm") is False
    assert wants_model(bare, False, "--llm") is False
    with pytest.raises(ConfigError, match=r"--llm needs a model: set llm\.base_url and llm\.model"):
        wants_model(bare, True, "--llm")
    configured = Settings(llm={"base_url": "http://127.0.0.1:9/v1", "model": "m"})
    assert wants_model(configured, None, "--llm") is True
    assert wants_model(configured, False, "--llm") is False


def test_async_entries_keep_the_event_loop_serving(rt: App, log_dir: Path) -> None:
    """What an async server needs: while a skill runs and while the triage investigates, other work on
    the same event loop goes on."""
    add_lab_skills(rt.registry)
    (log_dir / "app.log").write_text("ERROR payment failed\n")

    async def scenario() -> tuple[int, int, str, str]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        call = await rt.invoker.ainvoke("lab_sleep", {"seconds": 0.3}, CLI)
        during_skill = ticks
        report = await investigate_async(rt, Symptom(question="is the payment service failing?"), use_model=False)
        done.set()
        await task
        return during_skill, ticks - during_skill, call.status.value, report.mode

    during_skill, during_triage, status, mode = asyncio.run(scenario())
    assert status == "succeeded" and mode == "deterministic"
    assert during_skill >= 3 and during_triage >= 3  # the loop ticked while each ran


def test_a_session_timeline_merges_tool_calls_and_model_requests_in_time_order(rt: App) -> None:
    caller = Caller(Role.LLM, user="model:m", session_id="inv-timeline")
    first = rt.invoker.invoke("host_status", {}, caller)
    time.sleep(0.01)
    ModelLog(rt.engine).append(
        ModelRequestRecord(
            session_id="inv-timeline", role="investigator", model="m", status="ok", input_tokens=10,
            output_tokens=2, tool_calls=1, latency_ms=5.0, started_at=datetime.now(UTC),
        )
    )  # fmt: skip
    time.sleep(0.01)
    rt.invoker.invoke("listening_ports", {}, caller)
    timeline = session_timeline(rt, "inv-timeline", limit=50)
    assert [r["kind"] for r in timeline] == ["tool_call", "model_request", "tool_call"]
    assert timeline[0]["id"] == first.audit_id
    only_ports = session_timeline(rt, "inv-timeline", limit=50, tool="listening_ports")
    assert [r["kind"] for r in only_ports] == ["model_request", "tool_call"]


def test_delivery_with_no_targets_sends_nothing_and_an_empty_outbox_says_so(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert deliver.deliver(settings, [], []) == []
    assert deliver.retry(settings) is None
