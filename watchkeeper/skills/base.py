"""How a skill is declared: frozen metadata attached to a plain function.

    @skill(key="host_status", name="Host status", description="...", risk=RiskClass.SAFE,
           scope=Scope.HOST, category="host", result_example={...})
    def host_status(params: HostStatusParams, ctx: SkillContext) -> dict[str, Any]: ...

The decorator returns the function unchanged, so every skill stays a unit-testable function.
Everything else (schemas, CLI, gate, audit) is derived from the metadata by the registry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict

from watchkeeper.errors import SkillDefinitionError
from watchkeeper.policy.risk import RiskClass

if TYPE_CHECKING:
    from watchkeeper.skills.context import SkillContext
    from watchkeeper.skills.params import ParamsSpec

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


class Scope(StrEnum):
    HOST = "host"  # runs on the edge it inspects; callers pass the target edge
    MANAGER = "manager"  # runs in the manager


class SkillParams(BaseModel):
    """Base of built-in params models: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Preview:
    """A dry run of a non-safe skill: what would happen, and params it binds (e.g. a start time)."""

    summary: str
    bind: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SkillMeta:
    key: str
    name: str
    description: str
    risk: RiskClass
    scope: Scope
    category: str
    result_example: dict[str, Any]
    idempotent: bool = False
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        if not KEY_RE.match(self.key):
            raise SkillDefinitionError(f"skill key {self.key!r} must be lower_snake_case (a-z, 0-9, _)")
        if not isinstance(self.risk, RiskClass):
            raise SkillDefinitionError(
                f"skill {self.key} declares no valid risk class ({self.risk!r}): "
                "set risk to safe, mutating or dangerous"
            )
        if not isinstance(self.scope, Scope):
            raise SkillDefinitionError(f"skill {self.key}: scope must be host or manager, not {self.scope!r}")
        if not self.name.strip() or not self.description.strip():
            raise SkillDefinitionError(f"skill {self.key} needs a name and a description")


Run = Callable[[Any, "SkillContext"], Any]
PreviewFn = Callable[[Any, "SkillContext"], Preview]


@dataclass(frozen=True)
class Skill:
    """A registered skill: metadata, how its params are validated, and how it runs."""

    meta: SkillMeta
    params: ParamsSpec
    run: Run
    preview: PreviewFn | None = None
    source: str = "builtin"

    @property
    def key(self) -> str:
        return self.meta.key

    @property
    def risk(self) -> RiskClass:
        return self.meta.risk


F = TypeVar("F", bound=Callable[..., Any])
SKILL_ATTR = "__watchkeeper_skill__"
PREVIEW_ATTR = "__watchkeeper_preview__"


def skill(
    *,
    key: str,
    name: str,
    description: str,
    risk: RiskClass | None,
    scope: Scope,
    category: str,
    result_example: dict[str, Any],
    idempotent: bool = False,
    timeout_s: float | None = None,
    preview: PreviewFn | None = None,
) -> Callable[[F], F]:
    """Attach skill metadata to `fn`; a missing risk class is a registration error."""
    if risk is None:
        raise SkillDefinitionError(f"skill {key} declares no risk class: set risk to safe, mutating or dangerous")
    meta = SkillMeta(key, name, description, risk, scope, category, result_example, idempotent, timeout_s)

    def attach(fn: F) -> F:
        setattr(fn, SKILL_ATTR, meta)
        setattr(fn, PREVIEW_ATTR, preview)
        return fn

    return attach
