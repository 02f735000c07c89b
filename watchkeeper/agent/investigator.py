"""An investigation with a model: the tool loop over the skills, from the triage's report, to one
`Report`. Whatever the model does - garbage, invented tools, a dead endpoint, a spent budget - a
report comes back: the model's, a partial one, or the triage's with a note saying why."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from pydantic_ai import Agent, ToolOutput, UsageLimits
from pydantic_ai.exceptions import AgentRunError, UsageLimitExceeded
from pydantic_ai.models import Model
from pydantic_ai.usage import RunUsage

from watchkeeper.agent.diagnosis import Diagnosis, merge
from watchkeeper.agent.guard import GuardedModel, Show
from watchkeeper.agent.prompt import briefing, instructions
from watchkeeper.agent.provider import build_model, model_settings
from watchkeeper.agent.roles import coordinator
from watchkeeper.agent.tools import AgentDeps, LoopState, tools_for
from watchkeeper.config import LlmSettings
from watchkeeper.errors import ConfigError
from watchkeeper.evidence.report import ModelUsage, Report
from watchkeeper.i18n import _, speaking

log = logging.getLogger(__name__)


def single_agent(state: LoopState, model: GuardedModel, llm: LlmSettings) -> Agent[None, Diagnosis]:
    return Agent(
        model,
        instructions=instructions(llm.writes_in),
        output_type=ToolOutput(Diagnosis, name="submit_report"),
        tools=tools_for(state),
        retries=1,
        model_settings=model_settings(llm),
    )


def _fallback_note(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:300] if str(exc) else ""
    return _("the model failed ({error}); this is the deterministic triage report").format(
        error=f"{type(exc).__name__}: {text}"
    )


async def investigate_async(
    deps: AgentDeps,
    base: Report,
    *,
    model: Model | None = None,
    show: Show | None = None,
    multi_agent: bool | None = None,
) -> Report:
    """The model's loop over the triage's `base` report, its notes in the report's language; always
    returns a report."""
    with speaking(base.language):
        return await _loop(deps, base, model, show or (lambda _m: None), multi_agent)


async def _loop(deps: AgentDeps, base: Report, model: Model | None, show: Show, multi_agent: bool | None) -> Report:
    llm = deps.llm
    try:
        raw_model = model or build_model(llm)
    except ConfigError as exc:  # e.g. an api_key reference to a variable that is not set
        report = base.model_copy(deep=True)
        report.notes.append(
            _("the model is not usable ({error}); this is the deterministic triage report").format(error=exc)
        )
        return report
    state = LoopState(deps, base.id, raw_model.model_name, show)
    guarded = GuardedModel(raw_model, deps.model_log, base.id, "investigator", show)
    use_roles = llm.multi_agent if multi_agent is None else multi_agent
    agent = coordinator(state, guarded, llm) if use_roles else single_agent(state, guarded, llm)
    usage = RunUsage()
    t0 = time.monotonic()
    notes: list[str] = []
    diagnosis: Diagnosis | None = None
    partial = False
    try:
        prompt = await briefing(state, base)
        diagnosis = await _run(agent, prompt, llm.max_requests, llm.max_tokens, llm.wall_s, usage)
    except UsageLimitExceeded as exc:
        partial = True
        notes.append(_("partial: the model's budget ran out ({error})").format(error=exc))
    except TimeoutError:
        partial = True
        notes.append(_("partial: the model did not finish within {seconds:g}s").format(seconds=llm.wall_s))
    except (AgentRunError, OSError, ValueError) as exc:
        notes.append(_fallback_note(exc))
    except Exception as exc:  # never lose the investigation to an unexpected model or client failure
        log.exception("model loop failed")
        notes.append(_fallback_note(exc))
    used = ModelUsage(
        model=raw_model.model_name,
        requests=usage.requests,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        tool_calls=usage.tool_calls,
    )
    report = merge(base, diagnosis, state, used, notes, partial)
    report.duration_s = round(base.duration_s + time.monotonic() - t0, 2)
    return report


def investigate(deps: AgentDeps, base: Report, **options: Any) -> Report:
    """`investigate_async` for sync callers (the CLI, benchmarks): one event loop for the whole run."""
    return asyncio.run(investigate_async(deps, base, **options))


async def _run(
    agent: Agent[None, Diagnosis], prompt: str, max_requests: int, max_tokens: int, wall_s: float, usage: RunUsage
) -> Diagnosis:
    limits = UsageLimits(request_limit=max_requests, total_tokens_limit=max_tokens)
    async with agent:  # closes the model's HTTP client inside this event loop
        result: Any = await asyncio.wait_for(agent.run(prompt, usage_limits=limits, usage=usage), wall_s)
    output: Diagnosis = result.output
    return output
