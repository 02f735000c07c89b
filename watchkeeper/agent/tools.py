"""The model's tools, derived from the skill registry: tool name = skill key, schema = the skill's.
Safe skills run through `invoke` as the LLM caller; mutating and dangerous skills are proposal-only:
a call is validated against the skill's schema and becomes a proposed action, never an invocation."""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import ModelRetry, Tool
from pydantic_ai.framing import register_tag, wrap

from watchkeeper.agent.injection import Scanner, strings, trace
from watchkeeper.agent.shrink import shrink
from watchkeeper.audit.model_log import ModelLog
from watchkeeper.config import LlmSettings
from watchkeeper.errors import InvalidParams
from watchkeeper.evidence.report import Action, CallRecord, Suspicious
from watchkeeper.humanize import pairs
from watchkeeper.policy.risk import Caller, RiskClass, Role
from watchkeeper.skills.base import Skill
from watchkeeper.skills.derive import params_schema, tool_description
from watchkeeper.skills.invoke import Invoker, Status
from watchkeeper.skills.registry import Registry

UNTRUSTED = register_tag("untrusted_data")
Show = Callable[[str], None]


@dataclass(frozen=True)
class AgentDeps:
    """What the model's loop takes from the app core: the one way to run skills, what they are, the
    model's settings and where its requests are logged."""

    invoker: Invoker
    registry: Registry
    llm: LlmSettings
    model_log: ModelLog


@dataclass
class LoopState:
    """What one investigation or chat has gathered through its tools."""

    deps: AgentDeps
    session_id: str
    model_name: str
    show: Show = field(default=lambda _m: None)
    calls: list[CallRecord] = field(default_factory=list)
    proposals: list[Action] = field(default_factory=list)
    suspicious: list[Suspicious] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _scanner: Scanner = field(init=False)

    def __post_init__(self) -> None:
        self._scanner = Scanner({s.key for s in self.deps.registry.all()})

    def untrusted(self, source: str, text: str, raw: Any = None, **attrs: str) -> str:
        """`text` framed as data for the model; the suspicious lines of `raw` (the value `text` shows,
        default `text` itself) noted for the report."""
        found = [s for part in strings(raw if raw is not None else text) for s in self._scanner.scan(source, part)]
        with self._lock:
            for s in found:
                if s not in self.suspicious:
                    self.suspicious.append(s)
        return wrap(UNTRUSTED, text, source=source, **attrs)

    def traced_proposals(self) -> list[Action]:
        """The model's proposals, each marked with the suspicious line it echoes, if any."""
        return [a.model_copy(update={"untrusted": trace(a, self.suspicious)}) for a in self.proposals]


def _run_safe(state: LoopState, skill: Skill) -> Callable[..., Awaitable[str]]:
    async def run(**params: Any) -> str:
        state.show(f"tool {skill.key} {json.dumps(params, ensure_ascii=False)}")
        caller = Caller(Role.LLM, user=f"model:{state.model_name}", session_id=state.session_id)
        call = await state.deps.invoker.ainvoke(skill.key, params, caller)
        with state._lock:
            state.calls.append(CallRecord(skill=skill.key, status=call.status.value, audit_id=call.audit_id))
        state.show(f"tool {skill.key}: {call.status.value} (audit #{call.audit_id})")
        if call.status is Status.INVALID:
            raise ModelRetry(f"{call.error}. Call {skill.key} again with arguments that match its schema.")
        if not call.ok:
            return f"{skill.key} {call.status.value}: {call.error}"
        text = shrink(
            json.dumps(call.result, indent=1, ensure_ascii=False, default=str), state.deps.llm.tool_result_bytes
        )
        return state.untrusted(f"tool:{skill.key}", text, call.result, audit_id=str(call.audit_id))

    return run


def _propose(state: LoopState, skill: Skill) -> Callable[..., str]:
    def propose(**params: Any) -> str:
        reason = str(params.pop("reason", "") or "")
        state.show(f"proposal {skill.key} {json.dumps(params, ensure_ascii=False)} (not run)")
        try:
            validated = skill.params.validate(skill.key, params)
        except InvalidParams as exc:
            raise ModelRetry(f"{exc}. Propose {skill.key} again with arguments that match its schema.") from None
        action = Action(
            title=f"{skill.key} {pairs(validated.params)}".strip(),
            skill=skill.key,
            params=validated.params,
            risk_class=skill.risk.value,
            reason=reason,
            edge=validated.edge,
            proposed_by="model",
        )
        with state._lock:
            if action not in state.proposals:
                state.proposals.append(action)
            number = state.proposals.index(action) + 1
        return (
            f"Proposal #{number} recorded: {skill.key} with {json.dumps(validated.params)}. It has NOT run: "
            "a person decides. Do not assume its effect; finish the investigation."
        )

    return propose


def compact(schema: Any) -> Any:
    """The schema without pydantic's generated titles: the model pays for every token of every tool,
    on every request, and a title only repeats the property name."""
    if isinstance(schema, dict):
        return {k: compact(v) for k, v in schema.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(schema, list):
        return [compact(v) for v in schema]
    return schema


def model_schema(skill: Skill) -> dict[str, Any]:
    schema: dict[str, Any] = compact(params_schema(skill))
    return schema


def proposal_schema(skill: Skill) -> dict[str, Any]:
    schema = model_schema(skill)
    schema.setdefault("properties", {})["reason"] = {
        "type": "string",
        "description": "Why this action fixes the root cause, citing the evidence.",
    }
    return schema


def tool_for(state: LoopState, skill: Skill) -> Tool[Any]:
    if skill.risk is RiskClass.SAFE:
        return Tool.from_schema(_run_safe(state, skill), skill.key, tool_description(skill), model_schema(skill))
    description = (
        f"PROPOSAL ONLY - calling this does not run anything; it records a proposed action for a person "
        f"to approve. {tool_description(skill)}"
    )
    return Tool.from_schema(_propose(state, skill), skill.key, description, proposal_schema(skill))


def tools_for(state: LoopState, keys: set[str] | None = None) -> list[Tool[Any]]:
    """Registry skills as model tools: those in `keys` (default all), within `llm.tools` when it is set."""
    allowed = set(state.deps.llm.tools)
    skills = sorted(state.deps.registry.all(), key=lambda s: s.key)
    return [tool_for(state, s) for s in skills if (keys is None or s.key in keys) and (not allowed or s.key in allowed)]
