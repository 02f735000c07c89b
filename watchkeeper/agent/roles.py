"""Multi-agent roles: a coordinator hands focused questions to specialists (metrics, logs and
processes, knowledge), each with its own tool subset and request budget, and merges their findings.
Off by default: it must beat the single loop with a real model before it is turned on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic_ai import Agent, RunContext, Tool, ToolOutput, UsageLimits
from pydantic_ai.exceptions import AgentRunError

from watchkeeper.agent.diagnosis import Diagnosis
from watchkeeper.agent.guard import GuardedModel
from watchkeeper.agent.prompt import UNTRUSTED_RULE, instructions
from watchkeeper.agent.provider import model_settings
from watchkeeper.agent.tools import LoopState, tools_for
from watchkeeper.config import LlmSettings
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.registry import Registry

RoleName = Literal["metrics", "logs", "knowledge"]


@dataclass(frozen=True)
class Role:
    purpose: str
    categories: frozenset[str]  # the skill categories it holds; empty: every safe skill no other role holds
    max_requests: int


ROLES: dict[str, Role] = {
    "metrics": Role(
        "resource usage and time series: CPU, memory, disk, Prometheus queries and firing alerts",
        frozenset({"host", "disk", "observability"}),
        3,
    ),
    "logs": Role("logs, processes, services and ports: what failed, when, and which process did it", frozenset(), 4),
    "knowledge": Role("runbooks and similar past incidents", frozenset({"knowledge"}), 2),
}


def role_skills(registry: Registry, name: str) -> set[str]:
    """A role's skills, by category: skill packs and imported MCP tools reach a role as built-ins do."""
    claimed = {c for role in ROLES.values() for c in role.categories}
    wanted = ROLES[name].categories
    return {
        s.key
        for s in registry.all()
        if s.risk is RiskClass.SAFE and (s.meta.category in wanted if wanted else s.meta.category not in claimed)
    }


def specialist(state: LoopState, model: GuardedModel, name: str, llm: LlmSettings) -> Agent[None, str]:
    role = ROLES[name]
    return Agent(
        model.for_role(name),
        instructions=(
            f"You are the {name} specialist of an SRE team. Answer the coordinator's question about {role.purpose} "
            f"with the fewest tool calls, then reply with a few short factual lines. {UNTRUSTED_RULE} "
            f"Write in {llm.writes_in}."
        ),
        tools=tools_for(state, role_skills(state.deps.registry, name)),
        retries=1,
        model_settings=model_settings(llm),
    )


def coordinator(state: LoopState, model: GuardedModel, llm: LlmSettings) -> Agent[None, Diagnosis]:
    """The coordinator: a delegation tool plus the proposal-only tools; specialists hold the reads."""

    async def delegate(ctx: RunContext[None], role: RoleName, question: str) -> str:
        """Ask a specialist (metrics, logs or knowledge) one focused question; returns its findings."""
        state.show(f"delegate to {role}: {question}")
        agent = specialist(state, model, role, llm)
        try:
            result = await agent.run(question, usage_limits=UsageLimits(request_limit=ROLES[role].max_requests))
        except AgentRunError as exc:
            return f"the {role} specialist stopped: {exc}"
        ctx.usage.incr(result.usage)
        return state.untrusted(f"role:{role}", result.output)

    proposal_keys = {s.key for s in state.deps.registry.all() if s.risk is not RiskClass.SAFE}
    tools: list[Tool[Any]] = [Tool(delegate, takes_ctx=True), *tools_for(state, proposal_keys)]
    return Agent(
        model.for_role("coordinator"),
        instructions=instructions(llm.writes_in)
        + " You hold no read tools yourself: delegate focused questions to the metrics, logs and knowledge "
        "specialists, then merge their findings.",
        output_type=ToolOutput(Diagnosis, name="submit_report"),
        tools=tools,
        retries=1,
        model_settings=model_settings(llm),
    )
