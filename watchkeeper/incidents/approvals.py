"""An action a person approves: `prepare` shows the exact call (its dry run), `grant` binds a
person's consent to it through the face they used, `run` sends it through invoke. The CLI prompt,
`--yes`, a chat proposal and later an HTTP or chat-button approval all go this one way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from watchkeeper.errors import WatchkeeperError
from watchkeeper.policy import approvals
from watchkeeper.policy.approvals import Approval
from watchkeeper.policy.risk import Caller, RiskClass, Role
from watchkeeper.skills.base import Skill
from watchkeeper.skills.invoke import Invocation
from watchkeeper.skills.params import with_edge

if TYPE_CHECKING:
    from watchkeeper.app import App


@dataclass(frozen=True)
class Prepared:
    """The exact call a person is asked to approve."""

    skill: Skill
    params: dict[str, Any]  # validated, with what the dry run binds (e.g. a process's start time)
    edge: str
    effect: str | None  # what the dry run says it will do

    @property
    def needs_approval(self) -> bool:
        return self.skill.risk is RiskClass.MUTATING

    @property
    def run_params(self) -> dict[str, Any]:
        return with_edge(self.params, self.edge)


def prepare(app: App, key: str, params: dict[str, Any]) -> Prepared | None:
    """The dry run; None when the call cannot go ahead (invoke then refuses it with the precise, audited reason)."""
    try:
        skill = app.registry.get(key)
        validated, shown = app.invoker.preview(key, params)
    except WatchkeeperError:
        return None
    return Prepared(skill, dict(validated.params), validated.edge, shown.summary if shown else None)


def grant(prepared: Prepared, person: str, via: Role) -> Approval:
    return approvals.grant(prepared.skill.key, prepared.params, prepared.edge, person, via)


def run(
    app: App, key: str, params: dict[str, Any], prepared: Prepared | None, caller: Caller, approval: Approval | None
) -> Invocation:
    """The call through invoke: with the exact params the person was shown when there was a dry run (the
    gate checks the approval against them), else as given (invoke refuses it with the audited reason)."""
    return app.invoker.invoke(key, prepared.run_params if prepared else params, caller, approval)
