"""Investigate a symptom: the deterministic triage, then the model's loop when one is configured
(or asked for); a report always comes back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from watchkeeper.config import Settings
from watchkeeper.errors import ConfigError
from watchkeeper.evidence import triage
from watchkeeper.evidence.report import Report, Symptom

if TYPE_CHECKING:
    from watchkeeper.agent.tools import AgentDeps
    from watchkeeper.app import App

Show = Callable[[str], None]


def agent_deps(app: App) -> AgentDeps:
    """What the model's loop (an investigation or a chat) takes from the app core."""
    from watchkeeper.agent.tools import AgentDeps
    from watchkeeper.audit.model_log import ModelLog

    return AgentDeps(app.invoker, app.registry, app.settings.llm, ModelLog(app.engine))


def require_model(settings: Settings, what: str) -> None:
    if settings.llm.resolved is None:
        raise ConfigError(
            f"{what} needs a model: set llm.base_url and llm.model (or llm.preset), or WK_LLM_BASE_URL and WK_LLM_MODEL"
        )


def wants_model(settings: Settings, use_model: bool | None, asked_by: str) -> bool:
    """`use_model` None: the model when one is configured. Asking for one that is not: ConfigError."""
    if use_model is None:
        return settings.llm.resolved is not None
    if use_model:
        require_model(settings, asked_by)
    return use_model


async def investigate_async(app: App, symptom: Symptom, *, use_model: bool, show: Show | None = None) -> Report:
    """One symptom: triage (its skills run in a worker thread, the event loop keeps serving), then the model."""
    base = await asyncio.to_thread(triage.investigate, app.settings, app.invoker, symptom, show)
    if not use_model:
        return base
    from watchkeeper.agent.investigator import investigate_async as with_model

    return await with_model(agent_deps(app), base, show=show)


def investigate(app: App, symptom: Symptom, *, use_model: bool, show: Show | None = None) -> Report:
    """`investigate_async` for the sync CLI."""
    return asyncio.run(investigate_async(app, symptom, use_model=use_model, show=show))


def replay(app: App, inv_id: str) -> Report:
    """Re-run the analysis of a recorded investigation, touching nothing on the host."""
    return triage.replay(app.settings, inv_id)
