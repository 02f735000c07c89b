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


def grant_at_terminal(key: str, params: dict[str, Any], edge: str, person: str) -> Approval:
    """The approval a person gives at the CLI prompt (or with --yes) for exactly this call."""
    return Approval(key, call_digest(key, params, edge), edge, approved_by=person, via=Role.CLI)
