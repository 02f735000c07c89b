"""The LLM investigator on the recorded fault scenarios: what it costs against pasting raw data.

Run from the project root: `.venv/bin/python -m bench.agent [--rounds N]` (root is needed for some faults).

Each scenario is broken, investigated by the triage and recorded, then cleaned up. The model loop
then runs on the recording (`--replay`: tool results come from the recording, nothing touches the
host) with a scripted SRE model - pydantic-ai's FunctionModel - in the single loop and in the
multi-agent mode. Measured per investigation: model round-trips, tool calls and tokens (chars/4,
the same estimator for every side, counting messages, instructions and tool schemas), against a
naive baseline that pastes the raw `top` output and `tail -n 200` of the logs into one prompt.
Accuracy needs a real model: set WK_LLM_BASE_URL and WK_LLM_MODEL (and WK_LLM_API_KEY).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pydantic_ai.models
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from watchkeeper.agent.investigator import investigate
from watchkeeper.agent.prompt import instructions
from watchkeeper.app import App, open_app
from watchkeeper.canonical import canonical_json
from watchkeeper.config import Settings
from watchkeeper.evidence import triage
from watchkeeper.evidence.investigation import RecordedCall, load_recording, recording_path
from watchkeeper.evidence.report import Report
from watchkeeper.evidence.symptoms import from_alert_payload
from watchkeeper.incidents.investigate import agent_deps
from watchkeeper.policy.approvals import Approval
from watchkeeper.policy.risk import Caller
from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.runner import all_scenarios
from watchkeeper.scenarios.world import World
from watchkeeper.skills.invoke import Invocation, Invoker, Status

FOLLOW_UPS = ("process_detail", "tail_file", "grep_file", "service_status", "probe_http", "disk_usage", "top_processes")


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


class ReplayInvoker(Invoker):
    """Serves skill results from a recording; only the knowledge base (static) is queried for real."""

    def __init__(self, app: App, calls: list[RecordedCall]) -> None:
        super().__init__(app.registry, app.ledger, app.settings, knowledge=lambda: app.knowledge)
        self.recorded = calls

    def invoke(
        self, key: str, params: dict[str, Any] | None, caller: Caller, approval: Approval | None = None
    ) -> Invocation:
        wanted = canonical_json({k: v for k, v in (params or {}).items() if k != "edge"})
        for rec in self.recorded:
            if rec.skill == key and canonical_json(rec.params) == wanted:
                ok = rec.status == "succeeded"
                return Invocation(key, Status.SUCCEEDED if ok else Status.FAILED, params or {}, result=rec.result,
                                  error=rec.error)  # fmt: skip
        if key == "query_knowledge":
            return super().invoke(key, params, caller, approval)
        return Invocation(key, Status.FAILED, params or {}, error="not in the recording")


@dataclass
class Meter:
    requests: int = 0
    tool_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    schema_tokens: int = 0

    @property
    def total(self) -> int:
        return self.tokens_in + self.tokens_out

    def request(self, messages: list[ModelMessage], info: AgentInfo, response: ModelResponse) -> ModelResponse:
        tool_defs = info.function_tools + info.output_tools
        schemas = json.dumps([t.parameters_json_schema for t in tool_defs]) + "".join(
            t.description or "" for t in tool_defs
        )
        self.schema_tokens += tokens(schemas)
        text = [info.instructions or "", schemas]
        for m in messages:
            for p in m.parts:
                content = getattr(p, "content", None) or getattr(p, "args", None)
                text.append(content if isinstance(content, str) else json.dumps(content, default=str))
        self.requests += 1
        self.tokens_in += tokens("".join(text))
        calls = [p for p in response.parts if isinstance(p, ToolCallPart)]
        self.tool_calls += sum(p.tool_name not in ("submit_report", "delegate") for p in calls)
        self.tokens_out += tokens(json.dumps([p.args for p in calls]) + "".join(
            p.content for p in response.parts if isinstance(p, TextPart)))  # fmt: skip
        return response


@dataclass
class Case:
    scenario: str
    truth: Truth
    base: Report
    calls: list[RecordedCall]
    naive_tokens: int = 0
    runs: dict[str, Meter] = field(default_factory=dict)
    accurate: bool | None = None


def follow_up(case: Case) -> tuple[str, dict[str, Any]] | None:
    for skill in FOLLOW_UPS:
        for rec in case.calls:
            if rec.skill == skill and rec.status == "succeeded":
                return skill, rec.params
    return None


def final(case: Case) -> dict[str, Any]:
    top = case.base.hypotheses[0] if case.base.hypotheses else None
    if top is None:
        return {"summary": case.base.summary, "confidence": 0.2}
    return {"summary": top.title, "root_cause": top.title, "confidence": top.confidence, "evidence": top.evidence[:3]}


def proposal(case: Case) -> ToolCallPart | None:
    top = case.base.hypotheses[0] if case.base.hypotheses else None
    action = next((a for a in (top.actions if top else []) if a.skill and a.risk_class == "mutating"), None)
    return ToolCallPart(action.skill, {**action.params, "reason": action.reason}) if action and action.skill else None


def single_script(case: Case, meter: Meter) -> FunctionModel:
    """An SRE that reads the briefing, checks one thing, proposes the fix and reports."""

    def play(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        turn = sum(isinstance(m, ModelResponse) for m in messages)
        step, fix = follow_up(case), proposal(case)
        if turn == 0 and step:
            response = ModelResponse(parts=[ToolCallPart(step[0], step[1])])
        elif turn <= 1 and fix and not any(isinstance(m, ModelResponse) and fix.tool_name in str(m.parts)
                                           for m in messages):  # fmt: skip
            response = ModelResponse(parts=[fix])
        else:
            response = ModelResponse(parts=[ToolCallPart("submit_report", final(case))])
        return meter.request(messages, info, response)

    return FunctionModel(play, model_name="scripted-sre")


def roles_script(case: Case, meter: Meter) -> FunctionModel:
    """The same SRE as a coordinator that delegates the check to the logs specialist."""

    def play(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        names = {t.name for t in info.function_tools}
        turn = sum(isinstance(m, ModelResponse) for m in messages)
        step, fix = follow_up(case), proposal(case)
        if "delegate" not in names:  # the specialist
            if turn == 0 and step and step[0] in names:
                response = ModelResponse(parts=[ToolCallPart(step[0], step[1])])
            else:
                top = case.base.hypotheses[0] if case.base.hypotheses else None
                response = ModelResponse(parts=[TextPart("; ".join(top.evidence[:3]) if top else "nothing found")])
        elif turn == 0:
            question = f"Check the evidence for: {case.base.summary}"
            response = ModelResponse(parts=[ToolCallPart("delegate", {"role": "logs", "question": question})])
        elif turn == 1 and fix:
            response = ModelResponse(parts=[fix])
        else:
            response = ModelResponse(parts=[ToolCallPart("submit_report", final(case))])
        return meter.request(messages, info, response)

    return FunctionModel(play, model_name="scripted-coordinator")


def cold_script(case: Case, meter: Meter) -> FunctionModel:
    """The same SRE without the triage briefing: it must look at top and the logs itself first."""
    first = [ToolCallPart(r.skill, r.params) for r in case.calls if r.skill in ("top_processes", "tail_file")][:4]

    def play(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        turn = sum(isinstance(m, ModelResponse) for m in messages)
        step, fix = follow_up(case), proposal(case)
        plan: list[list[ToolCallPart]] = [p for p in ([first] if first else []) + [[ToolCallPart(*step)]
                                          if step else [], [fix] if fix else []] if p]  # fmt: skip
        parts = plan[turn] if turn < len(plan) else [ToolCallPart("submit_report", final(case))]
        return meter.request(messages, info, ModelResponse(parts=parts))

    return FunctionModel(play, model_name="scripted-cold")


def naive_tokens(case: Case) -> int:
    """One prompt with raw `top` and `tail -n 200` of every log read, plus the same final answer."""
    top = next((r.result for r in case.calls if r.skill == "top_processes" and r.result), {})
    tails = []
    for rec in case.calls:
        if rec.skill in ("tail_file", "read_journal") and isinstance(rec.result, dict):
            lines = rec.result.get("lines") or rec.result.get("entries") or []
            tails.append("\n".join(str(x) for x in lines[-200:]))
    s = case.base.symptom
    head = [instructions("English"), f"Incident: {s.question or s.alertname}", json.dumps(s.annotations)]
    prompt = "\n".join([*head, "top:", json.dumps(top, indent=1), "logs:", *tails])
    return tokens(prompt) + tokens(json.dumps(final(case)))


def record(name: str, workdir: Path) -> Case:
    scenario = all_scenarios("original")[name]
    world = World(name)
    try:
        scenario.setup(world)
        truth = scenario.truth(world)
        rt = open_app(world.settings())
        try:
            report = triage.investigate(rt.settings, rt.invoker, from_alert_payload(scenario.alert(world))[0])
        finally:
            rt.close()
        data = load_recording(rt.settings.data_dir, report.id)
        target = recording_path(workdir, report.id)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(recording_path(rt.settings.data_dir, report.id).read_text())
    finally:
        world.cleanup()
    return Case(name, truth, report, data["calls"])


def mentions_culprit(report: Report, truth: Truth) -> bool:
    text = " ".join([report.summary, *(h.title for h in report.hypotheses[:1]), *report.hypotheses[0].evidence]
                    if report.hypotheses else [report.summary]).lower()  # fmt: skip
    return truth.culprit.lower() in text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1, help="Recordings of each scenario.")
    args = parser.parse_args()
    pydantic_ai.models.ALLOW_MODEL_REQUESTS = bool(os.environ.get("WK_LLM_BASE_URL"))
    workdir = Path(tempfile.mkdtemp(prefix="wk-bench-agent-"))
    settings = Settings(data_dir=workdir)
    rt = open_app(settings)
    real = settings.llm.resolved is not None
    cases = [record(name, workdir) for name in all_scenarios("original") for _ in range(args.rounds)]
    print(
        f"{'scenario':18} {'naive tok':>9} {'loop tok':>9} {'ratio':>6} {'trips':>5} {'tools':>5} {'schemas':>7} "
        f"{'cold tok':>8} {'trips':>5} {'roles tok':>9} {'trips':>5}" + ("  culprit named" if real else "")
    )
    for case in cases:
        case.naive_tokens = naive_tokens(case)
        for mode, script in (("single", single_script), ("roles", roles_script), ("cold", cold_script)):
            meter = Meter()
            base = triage.replay(settings, case.base.id)
            if mode == "cold":
                base = Report(id=base.id, summary="", symptom=base.symptom, started_at=base.started_at)
            replayed = replace(agent_deps(rt), invoker=ReplayInvoker(rt, case.calls))
            investigate(replayed, base, model=script(case, meter), multi_agent=mode == "roles")
            case.runs[mode] = meter
        if real:
            base = triage.replay(settings, case.base.id)
            out = investigate(replace(agent_deps(rt), invoker=ReplayInvoker(rt, case.calls)), base)
            case.accurate = out.mode == "llm" and mentions_culprit(out, case.truth)
        s, r, c = case.runs["single"], case.runs["roles"], case.runs["cold"]
        print(
            f"{case.scenario:18} {case.naive_tokens:9d} {s.total:9d} {s.total / case.naive_tokens:6.2f} "
            f"{s.requests:5d} {s.tool_calls:5d} {s.schema_tokens / s.total:7.0%} {c.total:8d} {c.requests:5d} "
            f"{r.total:9d} {r.requests:5d}" + (f"  {case.accurate}" if real else "")
        )
    ratio = statistics.median(c.runs["single"].total / c.naive_tokens for c in cases)
    single_tok = statistics.median(c.runs["single"].total for c in cases)
    roles_tok = statistics.median(c.runs["roles"].total for c in cases)
    cold_tok = statistics.median(c.runs["cold"].total for c in cases)
    cold_trips = statistics.median(c.runs["cold"].requests for c in cases)
    schema_share = statistics.median(c.runs["single"].schema_tokens / c.runs["single"].total for c in cases)
    trips = statistics.median(c.runs["single"].requests for c in cases)
    roles_trips = statistics.median(c.runs["roles"].requests for c in cases)
    tools = statistics.median(c.runs["single"].tool_calls for c in cases)
    accuracy = (
        f"culprit named {100 * sum(bool(c.accurate) for c in cases) / len(cases):.0f}% by {settings.llm.resolved[1]}"
        if real and settings.llm.resolved
        else "accuracy n/a (no WK_LLM_* endpoint)"
    )
    print(
        f"SUMMARY {len(cases)} recorded investigations: single loop median {single_tok:.0f} tokens "
        f"({ratio:.2f}x the naive paste; tool schemas {schema_share:.0%} of it), {trips:.0f} round-trips, "
        f"{tools:.0f} tool calls; uninformed start {cold_tok:.0f} tokens, {cold_trips:.0f} round-trips; multi-agent "
        f"{roles_tok:.0f} tokens ({roles_tok / single_tok:.2f}x single), {roles_trips:.0f} round-trips; {accuracy}"
    )


if __name__ == "__main__":
    main()
