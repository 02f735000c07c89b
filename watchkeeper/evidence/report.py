"""The `Report`: one shared type for the deterministic triage, the LLM agent and the senders."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, SerializeAsAny, model_validator

from watchkeeper.canonical import canonical_json
from watchkeeper.evidence.facts import Fact

Severity = Literal["info", "warn", "crit"]
CulpritKind = Literal["process", "service", "path", "port", "url", "host"]
# The fixed set of root-cause categories (README, "Categories"); "model" marks the LLM's own diagnosis.
Category = Literal[
    "cpu",
    "memory",
    "disk",
    "descriptors",
    "process",
    "network",
    "dependency",
    "application",
    "time",
    "permissions",
    "certificate",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]


class Culprit(BaseModel):
    kind: CulpritKind
    name: str
    pid: int | None = None
    port: int | None = None
    path: str | None = None
    url: str | None = None


F = TypeVar("F", bound=Fact)


def _no_fact() -> Any:
    return Fact()


class Finding(BaseModel, Generic[F]):
    """A typed fact (evidence/facts.py) with the audit ids of the skill calls that show it. `kind` is the
    fact's own KIND; a report read back from JSON holds its facts as plain dicts."""

    kind: str
    severity: Severity
    message: str
    entity: Culprit | None = None
    audit_ids: list[int] = Field(default_factory=list)
    data: SerializeAsAny[F] = Field(default_factory=_no_fact)


class Action(BaseModel):
    """A recommended step: a skill with exact params and its risk class, or a manual step (skill None)."""

    title: str
    skill: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    risk_class: Literal["safe", "mutating", "dangerous", "manual"] = "manual"
    reason: str = ""
    edge: str = "local"
    proposed_by: Literal["triage", "model"] = "triage"
    untrusted: str | None = Field(
        None, description="Set when the proposal traces back to suspicious untrusted content: the line it echoes."
    )


def action_key(action: Action) -> Hashable:
    """What makes two actions the same step: the skill, its exact params and target, or a manual step's words."""
    if action.skill is None:
        return ("manual", " ".join(action.title.casefold().split()))
    params = {k: v for k, v in action.params.items() if v is not None}
    return (action.skill, action.edge, canonical_json(params))


def unique_actions(actions: Iterable[Action], key: Callable[[Action], Hashable] = action_key) -> list[Action]:
    """Each step once, where it first appears (hypotheses are ranked, so that is its best reason)."""
    seen: set[Hashable] = set()
    kept: list[Action] = []
    for action in actions:
        k = key(action)
        if k not in seen:
            seen.add(k)
            kept.append(action)
    return kept


# The category names of reports written before the fixed set: such reports still load (outbox, learn).
LEGACY_CATEGORIES = {
    "cpu_hog": "cpu",
    "memory_leak": "memory",
    "disk_full": "disk",
    "service_down": "network",
    "upstream_exhausted": "dependency",
    "error_burst": "application",
    "slow_dependency": "dependency",
    "cert_expiry": "certificate",
}


class Hypothesis(BaseModel):
    category: Category | Literal["model"]
    rule: str | None = Field(None, description="The rule or error signature that concluded it (cpu_hog, lock_held).")
    title: str
    confidence: float = Field(ge=0, le=1)
    culprit: Culprit | None = None
    evidence: list[str] = Field(default_factory=list, description="Short excerpts that convict the culprit.")
    audit_ids: list[int] = Field(default_factory=list)
    explanation: str = Field("", description="Why this score: the findings that raised or lowered it.")
    actions: list[Action] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _legacy_category(cls, data: Any) -> Any:
        """An older report: its category was its rule's name (cpu_hog); both are kept."""
        if isinstance(data, dict) and data.get("category") in LEGACY_CATEGORIES:
            old = data["category"]
            data = {**data, "category": LEGACY_CATEGORIES[old], "rule": data.get("rule") or old}
        return data


class RuledOut(BaseModel):
    """Something looked at and found not to be the cause: the entity, what was measured, and why not."""

    entity: Culprit | None = None
    facts: list[str] = Field(default_factory=list)
    reason: str


class Reference(BaseModel):
    id: str
    title: str
    source: str | None = None


class CallRecord(BaseModel):
    skill: str
    status: str
    audit_id: int | None = None
    duration_ms: float = 0.0


class Symptom(BaseModel):
    """What was asked: a question, an alert, or both."""

    question: str | None = None
    alertname: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None


class Suspicious(BaseModel):
    """A line of untrusted content (log, alert, file, HTTP body) that reads like an instruction to the agent."""

    source: str
    line: str
    why: str


class ModelUsage(BaseModel):
    model: str
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0


class Report(BaseModel):
    id: str
    summary: str
    symptom: Symptom
    mode: Literal["deterministic", "llm"] = "deterministic"
    language: str = Field("en", description="The language of the prose fields (en or zh-CN); keys stay English.")
    playbook: str | None = None
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    findings: list[Finding[Any]] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    calls: list[CallRecord] = Field(default_factory=list)
    checked: list[str] = Field(default_factory=list, description="What was looked at and what each showed.")
    ruled_out: list[RuledOut] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    started_at: datetime
    duration_s: float = 0.0
    sweep_s: float | None = Field(None, description="Seconds the baseline sweep took (with the first steps).")
    partial: bool = False
    suspicious: list[Suspicious] = Field(default_factory=list)
    usage: ModelUsage | None = None
