"""The model's final answer, validated, and how it folds into the shared `Report`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from watchkeeper.agent.tools import LoopState
from watchkeeper.evidence.report import Action, Hypothesis, ModelUsage, Report


class Diagnosis(BaseModel):
    summary: str = Field(..., description="One or two sentences a person woken at 3 a.m. reads first.")
    root_cause: str = Field("", description="The most likely root cause, naming the process, service or path.")
    confidence: float = Field(0.5, ge=0, le=1, description="How sure you are, 0 to 1.")
    evidence: list[str] = Field(default_factory=list, description="Short facts from the tools that show it.")
    next_steps: list[str] = Field(default_factory=list, description="Manual steps for a person, if any.")


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
                explanation=f"the diagnosis of {usage.model} after {usage.tool_calls} tool call(s)",
                actions=_unique([*trusted, *steps, *untrusted]),
            ),
            *base.hypotheses,
        ]
    elif partial:
        report.mode = "llm"
        report.summary = f"{base.summary} The model's investigation stopped early; its calls and proposals are listed."
    # The triage's own evidence-backed actions first, then the model's, and last those that echo
    # suspicious untrusted text, so the first fix a person reads is never an injected one.
    report.actions = _unique([*base.actions, *trusted, *steps, *untrusted])
    if untrusted:
        report.notes.append(
            "some proposed actions echo suspicious text from logs, alerts, files or HTTP bodies: check them "
            "against the evidence before approving"
        )
    return report


def _same(a: Action, b: Action) -> bool:
    """Whether two actions would run the same thing. A proposal's params carry the skill's defaults
    (validated), a triage action's only what it chose: one set inside the other is the same call."""
    if a.skill != b.skill or a.edge != b.edge:
        return False
    if a.skill is None:
        return a.title == b.title
    small, big = sorted((a.params, b.params), key=len)
    return all(k in big and big[k] == v for k, v in small.items())


def _unique(actions: list[Action]) -> list[Action]:
    """The first of actions that would run the same thing (a model often re-proposes the triage's fix)."""
    kept: list[Action] = []
    for a in actions:
        if not any(_same(a, k) for k in kept):
            kept.append(a)
    return kept
