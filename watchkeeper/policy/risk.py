"""Risk classes and who may call: the vocabulary of the gate."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RiskClass(StrEnum):
    SAFE = "safe"  # read-only: runs for anyone, the LLM included
    MUTATING = "mutating"  # bounded, self-recovering change: one human approval
    DANGEROUS = "dangerous"  # destroys data or capacity: signed SOP + two distinct approvers


class Role(StrEnum):
    CLI = "cli"
    HTTP = "http"
    MCP = "mcp"
    LLM = "llm"
    WEBHOOK = "webhook"
    SYSTEM = "system"


# Callers whose requests can never carry an approval: automated or remote input.
UNTRUSTED_ROLES = frozenset({Role.LLM, Role.MCP, Role.WEBHOOK})


@dataclass(frozen=True)
class Caller:
    role: Role
    user: str | None = None
    session_id: str | None = None
    # Risk classes this caller's surface offers (e.g. an MCP server's `expose`); None: all.
    exposed: frozenset[RiskClass] | None = None
    # Set when a person runs what someone else proposed (a model in chat): kept in the audit row.
    proposed_by: str | None = None
