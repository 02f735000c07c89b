"""What a user's API token may do: the roles, who holds what, and why a token was not accepted.

`Access` is the user's role; `policy.risk.Role` is the surface a call came through (cli, http, mcp…).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from watchkeeper.errors import WatchkeeperError


class Access(StrEnum):
    VIEWER = "viewer"  # reads everything
    OPERATOR = "operator"  # also runs safe skills, handles incidents and silences (later: proposes actions)
    APPROVER = "approver"  # also approves actions
    ADMIN = "admin"  # also manages users, tokens and settings
    WEBHOOK = "webhook"  # only posts alerts: a sender, not a person


# Lowest first: each role holds every role before it.
LADDER = (Access.VIEWER, Access.OPERATOR, Access.APPROVER, Access.ADMIN)

_HOLDS: dict[Access, frozenset[Access]] = {role: frozenset(LADDER[: i + 1]) for i, role in enumerate(LADDER)}
_HOLDS[Access.ADMIN] |= {Access.WEBHOOK}  # an admin may test the alert intake with their own token
_HOLDS[Access.WEBHOOK] = frozenset({Access.WEBHOOK})


def grants(have: Access, need: Access) -> bool:
    """Whether a user with role `have` may do what needs `need`."""
    return need in _HOLDS[have]


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the user's name, their role as of this request, and the token used."""

    user: str
    access: Access
    token_id: str


AuthReason = Literal["missing", "invalid", "expired", "revoked"]

# Each says what is wrong with the token presented, never anything about other tokens or users.
_AUTH_MESSAGES: dict[AuthReason, str] = {
    "missing": "no API token was given",
    "invalid": "the API token is not valid",
    "expired": "the API token has expired",
    "revoked": "the API token has been revoked",
}


class AuthError(WatchkeeperError):
    """A request's token was missing or not accepted; `reason` says which."""

    def __init__(self, reason: AuthReason) -> None:
        self.reason: AuthReason = reason
        super().__init__(_AUTH_MESSAGES[reason])
