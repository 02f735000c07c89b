"""Approvals: a person's consent bound to one skill, its exact params and its target."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from watchkeeper.canonical import digest
from watchkeeper.policy.risk import Role


def call_digest(key: str, params: dict[str, Any], edge: str) -> str:
    """What an approval is bound to: change any param or the target and it no longer applies."""
    return digest({"skill": key, "params": params, "edge": edge})


@dataclass(frozen=True)
class Approval:
    skill: str
    call_digest: str
    edge: str
    approved_by: str
    via: Role
    granted_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def grant(key: str, params: dict[str, Any], edge: str, person: str, via: Role) -> Approval:
    """A person's approval of exactly this call, given through `via` (the CLI prompt or --yes, later
    the HTTP API or a chat button): the face says how it was given, the binding is the same."""
    return Approval(key, call_digest(key, params, edge), edge, approved_by=person, via=via)
