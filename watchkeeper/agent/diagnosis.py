"""The model's final answer, validated, and how it folds into the shared `Report`."""

from __future__ import annotations

from collections.abc import Callable, Hashable

from pydantic import BaseModel, Field

from watchkeeper.agent.tools import LoopState
from watchkeeper.errors import WatchkeeperError
from watchkeeper.evidence.report import Action, Hypothesis, ModelUsage, Report, action_key, unique_actions
from watchkeeper.i18n import _, ngettext


class Diagnosis(BaseModel):
    summary: str = Field(..., description="One or two sentences a person woken at 3 a.m. reads first.")
    root_cause: str = Field("", description="The most likely root cause, naming the process, service or path.")
    confidence: float = Field(0.5, ge=0, le=1, description="How sure you are, 0 to 1.")
    evidence: list[str] = Field(default_factory=list, description="Short facts from the tools that show it.")
    next_steps: list[str] = Field(default_factory=list, description="Manual steps for a person, if any.")


def same_step(state: LoopState) -> Callable[[Action], Hashable]:
    """`action_key` with each skill's defaults filled in: a proposal carries every param, while the
    triage's action for the same step names only the ones it sets."""
    registry = state.deps.registry

    def key(action: Action) -> Hashable:
        if action.skill is not None and action.skill in registry:
            try:
                filled = registry.get(action.skill).params.validate(action.skill, dict(action.params)).params
            except WatchkeeperError:
                return action_key(action)
            return action_key(action.model_copy(update={"params": filled}))
        return action_key(action)

    return key


def merge(
    base: Report,
    diagnosis: Diagnosis | None,
    state: LoopState,
    usage: ModelUsage,
    notes: list[str],
    partial: bool,
) -> Report:
    """The triage report refined by the model: its diagnosis first, its proposals marked when they
    echo suspicious untrusted content, every call and model request accounted for."""
    proposals = state.traced_proposals()
    trusted = [a for a in proposals if a.untrusted is None]
    untrusted = [a for a in proposals if a.untrusted is not None]
    report = base.model_copy(deep=True)
    report.calls = [*base.calls, *state.calls]
    report.suspicious = list(state.suspicious)
    report.usage = usage
    report.notes = [*base.notes, *notes]
    report.partial = partial
    steps: list[Action] = []
    if diagnosis is not None:
        steps = [Action(title=s, risk_class="manual", proposed_by="model") for s in diagnosis.next_steps]
        report.mode = "llm"
        report.summary = diagnosis.summary
        report.hypotheses = [
            Hypothesis(
                category="model",
                title=diagnosis.root_cause or diagnosis.summary,
                confidence=diagnosis.confidence,
                evidence=diagnosis.evidence,
                explanation=ngettext(
                    "the diagnosis of {model} after {n} tool call",
                    "the diagnosis of {model} after {n} tool calls",
                    usage.tool_calls,
                ).format(model=usage.model, n=usage.tool_calls),
                actions=unique_actions([*trusted, *steps, *untrusted], same_step(state)),
            ),
            *base.hypotheses,
        ]
    elif partial:
        report.mode = "llm"
        report.summary = base.summary + _(
            " The model's investigation stopped early; its calls and proposals are listed."
        )
    # The triage's own evidence-backed actions first, then the model's, and last those that echo
    # suspicious untrusted text, so the first fix a person reads is never an injected one.
    report.actions = unique_actions([*base.actions, *trusted, *steps, *untrusted], same_step(state))
    if untrusted:
        report.notes.append(
            _(
                "some proposed actions echo suspicious text from logs, alerts, files or HTTP bodies: check them "
                "against the evidence before approving"
            )
        )
    return report
