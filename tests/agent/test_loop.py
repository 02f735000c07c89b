"""The tool loop with pydantic-ai's scripted FunctionModel: real skills, real invoke, real ledger."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo, FunctionModel

from tests.agent.scripted import Script, call, calls, report, retries, seen_text, text, tool_returns
from tests.conftest import make_settings
from tests.helpers import python_child
from watchkeeper.agent.investigator import investigate
from watchkeeper.app import App, open_app
from watchkeeper.audit.model_log import ModelLog
from watchkeeper.evidence.report import Report, Symptom
from watchkeeper.incidents.investigate import agent_deps
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.registry import skill_from_function


def base_report(question: str = "the API is slow, why?") -> Report:
    """A triage report to start from, so these tests exercise the model loop alone."""
    return Report(
        id=f"inv-test-{datetime.now(UTC):%H%M%S%f}",
        summary="No root cause stands out after 0 skill calls.",
        symptom=Symptom(question=question),
        started_at=datetime.now(UTC),
    )


def run(rt: App, script: Script, base: Report | None = None, **kw: Any) -> Report:
    base = base or base_report()
    return investigate(agent_deps(rt), base, model=script.model(), **kw)


def test_safe_tool_runs_through_invoke_and_the_report_is_the_models(rt: App) -> None:
    script = Script(
        [
            calls(call("host_status")),
            report("CPU is pegged by one process", root_cause="a runaway worker", confidence=0.8, evidence=["cpu 99%"]),
        ]
    )
    out = run(rt, script)
    assert out.mode == "llm" and not out.partial
    assert out.summary == "CPU is pegged by one process"
    assert out.hypotheses[0].title == "a runaway worker" and out.hypotheses[0].confidence == 0.8
    rows = rt.ledger.rows(session_id=out.id)
    host = [r for r in rows if r["tool_name"] == "host_status"]
    assert len(host) == 1 and host[0]["caller_role"] == "llm" and host[0]["caller_user_id"] == "model:scripted"
    assert [c.skill for c in out.calls] == ["host_status"]
    requests = ModelLog(rt.engine).rows(session_id=out.id)
    assert len(requests) == 2 and all(r["status"] == "ok" and r["model"] == "scripted" for r in requests)
    assert out.usage is not None and out.usage.requests == 2 and out.usage.tool_calls == 1
    # The tool result reached the model framed as untrusted data.
    returned = tool_returns(script.requests[1])
    assert returned[0].content.startswith('<untrusted_data source="tool:host_status"')


def test_tools_are_the_registry_and_mutating_ones_are_proposal_only(rt: App) -> None:
    script = Script([report()])
    run(rt, script)
    tools = {t.name: t for t in script.infos[0].function_tools}
    assert set(tools) == {s.key for s in rt.registry.all()}
    for s in rt.registry.all():
        described = tools[s.key].description or ""
        assert described.startswith("PROPOSAL ONLY") == (s.risk is not RiskClass.SAFE), s.key
    assert "edge" in tools["tail_file"].parameters_json_schema["properties"]  # host scope: optional target
    assert "reason" in tools["kill_process"].parameters_json_schema["properties"]


def test_a_mutating_call_becomes_a_proposal_and_never_runs(rt: App) -> None:
    with python_child("pass") as child:
        script = Script(
            [
                calls(call("kill_process", pid=child.pid, reason="it hogs the CPU")),
                report("a runaway process", root_cause="pid hog"),
            ]
        )
        out = run(rt, script)
        assert child.poll() is None  # alive
        assert not rt.ledger.rows(tool="kill_process")  # never reached invoke
        proposal = out.actions[0]
        assert (proposal.skill, proposal.params["pid"], proposal.proposed_by) == ("kill_process", child.pid, "model")
        assert proposal.risk_class == "mutating" and proposal.reason == "it hogs the CPU"
        assert proposal.untrusted is None
        assert "has NOT run" in tool_returns(script.requests[1])[0].content


def test_invalid_arguments_are_fed_back_once_with_the_field_named(rt: App) -> None:
    script = Script(
        [
            calls(call("tail_file", lines=10)),  # path missing
            calls(call("restart_service", unit="../etc")),  # invalid unit name
            report(),
        ]
    )
    out = run(rt, script)
    assert out.mode == "llm"
    first = retries(script.requests[1])
    assert first and "path" in str(first[0].content)
    second = retries(script.requests[2])
    assert second and "unit" in str(second[-1].content)
    invalid = rt.ledger.rows(tool="tail_file")
    assert invalid[0]["status"] == "invalid" and invalid[0]["caller_role"] == "llm"


def test_arguments_still_wrong_after_the_feedback_degrade_to_the_triage_report(rt: App) -> None:
    script = Script([calls(call("tail_file", lines=10))], repeat_last=True)
    base = base_report()
    out = run(rt, script, base)
    assert out.mode == "deterministic" and out.summary == base.summary
    assert any("the model failed" in n and "deterministic triage report" in n for n in out.notes)
    assert len(script.requests) == 2  # the error went back once, then the loop gave up


def test_a_tool_call_written_as_fenced_json_is_accepted(rt: App) -> None:
    fenced = '```json\n{"name": "host_status", "arguments": {}}\n```'
    final = '```json\n{"name": "submit_report", "arguments": {"summary": "load is fine"}}\n```'
    out = run(rt, Script([text(fenced), text(final)]))
    assert out.mode == "llm" and out.summary == "load is fine"
    assert [r["tool_name"] for r in rt.ledger.rows(session_id=out.id, tool="host_status")] == ["host_status"]


def test_qwen_tool_call_tags_and_a_bare_report_object_are_accepted(rt: App) -> None:
    tagged = '<tool_call>\n{"name": "disk_usage", "arguments": {"path": "/"}}\n</tool_call>'
    bare = '{"summary": "disk is fine", "confidence": 0.6}'
    out = run(rt, Script([text(tagged), text(bare)]))
    assert out.summary == "disk is fine"
    assert rt.ledger.rows(session_id=out.id, tool="disk_usage")


def test_garbage_output_falls_back_to_triage_without_losing_the_investigation(rt: App) -> None:
    script = Script([text("I am not sure what to do. Maybe restart everything?")], repeat_last=True)
    out = run(rt, script)
    assert out.mode == "deterministic" and not out.partial
    assert any("the model failed" in n for n in out.notes)
    assert out.usage is not None and out.usage.requests >= 2


def test_an_invented_tool_gets_a_retry_then_the_real_one_works(rt: App) -> None:
    script = Script([calls(call("restart_universe", now=True)), calls(call("host_status")), report("ok")])
    out = run(rt, script)
    assert out.mode == "llm" and "restart_universe" in str(retries(script.requests[1])[0].content)
    assert not rt.ledger.rows(tool="restart_universe")


def test_request_budget_runs_out_and_the_report_is_partial(tmp_path: Path, log_dir: Path) -> None:
    rt = open_app(make_settings(tmp_path, log_dir, llm={"max_requests": 3}))
    script = Script([calls(call("host_status"))], repeat_last=True)
    out = run(rt, script)
    assert out.partial and any("budget ran out" in n for n in out.notes)
    assert len(script.requests) == 3
    assert len([c for c in out.calls if c.skill == "host_status"]) == 3


def test_token_budget_runs_out_and_the_report_is_partial(tmp_path: Path, log_dir: Path) -> None:
    rt = open_app(make_settings(tmp_path, log_dir, llm={"max_tokens": 1000}))
    script = Script([calls(call("host_status"))], repeat_last=True)
    out = run(rt, script)
    assert out.partial and any("tokens" in n for n in out.notes)


def test_wall_time_runs_out_and_the_report_is_partial(tmp_path: Path, log_dir: Path) -> None:
    rt = open_app(make_settings(tmp_path, log_dir, llm={"wall_s": 0.5}))

    async def slow(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    base = base_report()
    out = investigate(agent_deps(rt), base, model=FunctionModel(slow, model_name="slow"))
    assert out.partial and any("did not finish within 0.5s" in n for n in out.notes)


class _Meet(SkillParams):
    name: str = Field(..., description="who arrives")


def _barrier_skill(barrier: threading.Barrier) -> Any:
    @skill(
        key="meet_at_barrier",
        name="Meet",
        description="Waits until a second call arrives.",
        risk=RiskClass.SAFE,
        scope=Scope.MANAGER,
        category="test",
        result_example={},
    )
    def meet(params: _Meet, ctx: object) -> dict[str, Any]:
        barrier.wait()  # raises BrokenBarrierError when the other call never comes
        return {"met": params.name}

    return meet


def test_independent_tool_calls_in_one_response_run_in_parallel(rt: App) -> None:
    barrier = threading.Barrier(2, timeout=10)
    rt.registry.add(skill_from_function(_barrier_skill(barrier), source="test"))
    script = Script([calls(call("meet_at_barrier", name="a"), call("meet_at_barrier", name="b")), report("both met")])
    out = run(rt, script)
    rows = rt.ledger.rows(tool="meet_at_barrier")
    statuses = [r["status"] for r in rows]
    assert statuses == ["succeeded", "succeeded"], [
        (r["error"], r["duration_ms"]) for r in rows
    ]  # serial calls would each time out at the barrier
    assert out.summary == "both met"


def test_a_big_tool_result_is_cut_but_keeps_its_error_lines(tmp_path: Path, log_dir: Path) -> None:
    rt = open_app(make_settings(tmp_path, log_dir, llm={"tool_result_bytes": 1500}))
    lines = [f"2026-11-22 03:00:{i % 60:02d} INFO request {i} served in 12ms" for i in range(400)]
    lines[200] = "2026-11-22 03:03:20 ERROR pool exhausted: too many connections (max 100)"
    (log_dir / "app.log").write_text("\n".join(lines) + "\n")
    script = Script([calls(call("tail_file", path=str(log_dir / "app.log"), lines=400)), report()])
    run(rt, script)
    shown = str(tool_returns(script.requests[1])[0].content)
    assert len(shown) < 2000 and "pool exhausted: too many connections" in shown
    assert "left out by watchkeeper" in shown


def test_the_report_language_is_configurable(tmp_path: Path, log_dir: Path) -> None:
    rt = open_app(make_settings(tmp_path, log_dir, report={"language": "zh-CN"}))
    script = Script([report("磁盘已满")])
    out = run(rt, script)
    assert "Write every sentence of the report in Simplified Chinese" in (script.infos[0].instructions or "")
    assert out.summary == "磁盘已满"


def test_the_retired_llm_language_still_works_with_one_warning(
    tmp_path: Path, log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from watchkeeper import config

    config._warned.clear()
    with caplog.at_level(logging.WARNING, logger="watchkeeper.config"):
        old = make_settings(tmp_path, log_dir, llm={"language": "Chinese"})
        make_settings(tmp_path, log_dir, llm={"language": "Chinese"})
        both = make_settings(tmp_path, log_dir, llm={"language": "Chinese"}, report={"language": "en"})
    assert old.report.language == "zh-CN" and old.llm.writes_in.startswith("Simplified Chinese")
    assert both.report.language == "en" and both.llm.writes_in == "English"  # the new setting wins
    retired = [r.message for r in caplog.records if "llm.language is retired" in r.message]
    assert retired == [
        "llm.language is retired: set [report] language = \"zh-CN\" instead ('Chinese' was read as zh-CN)",
        "llm.language is retired and ignored: [report] language is set",
    ]


def test_the_model_starts_informed_by_triage_and_knowledge(rt: App) -> None:
    base = base_report("disk full on /data, writes fail with ENOSPC")
    base.summary = "Most likely disk full on /data (confidence 0.90)."
    script = Script([report()])
    run(rt, script, base)
    first = seen_text(script.requests[0])
    assert "Most likely disk full on /data" in first
    assert "Runbooks and past cases" in first  # starter runbooks matched through query_knowledge
    assert rt.ledger.rows(session_id=base.id, tool="query_knowledge")


def test_llm_tools_limits_what_the_model_is_offered(tmp_path: Path, log_dir: Path) -> None:
    rt = open_app(make_settings(tmp_path, log_dir, llm={"tools": ["host_status", "kill_process"]}))
    script = Script([report()])
    run(rt, script)
    assert {t.name for t in script.infos[0].function_tools} == {"host_status", "kill_process"}


def test_an_unusable_model_config_gives_the_triage_report_with_the_reason(tmp_path: Path, log_dir: Path) -> None:
    llm = {"base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": "env:WK_TEST_UNSET_KEY"}
    rt = open_app(make_settings(tmp_path, log_dir, llm=llm))
    base = base_report()
    out = investigate(agent_deps(rt), base)
    assert out.mode == "deterministic" and out.summary == base.summary
    assert any("WK_TEST_UNSET_KEY" in n and "not usable" in n for n in out.notes)
