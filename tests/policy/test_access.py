"""Roles: the ladder viewer ⊆ operator ⊆ approver ⊆ admin, webhook apart; why a token was refused."""

from __future__ import annotations

import dataclasses

import pytest

from watchkeeper.errors import WatchkeeperError
from watchkeeper.policy.access import Access, AuthError, Principal, grants

VIEW, OPER, APPR, ADMIN, HOOK = Access.VIEWER, Access.OPERATOR, Access.APPROVER, Access.ADMIN, Access.WEBHOOK

# have -> the needs it meets; every pair not listed must be refused.
MEETS = {
    VIEW: {VIEW},
    OPER: {VIEW, OPER},
    APPR: {VIEW, OPER, APPR},
    ADMIN: {VIEW, OPER, APPR, ADMIN, HOOK},
    HOOK: {HOOK},
}


@pytest.mark.parametrize("have", list(Access))
@pytest.mark.parametrize("need", list(Access))
def test_grants_matrix(have: Access, need: Access) -> None:
    assert grants(have, need) is (need in MEETS[have])


def test_the_matrix_covers_every_role() -> None:
    assert set(MEETS) == set(Access)
    assert [a.value for a in Access] == ["viewer", "operator", "approver", "admin", "webhook"]


def test_a_webhook_reads_nothing_and_only_admin_posts_alerts_beside_it() -> None:
    assert not any(grants(HOOK, need) for need in (VIEW, OPER, APPR, ADMIN))
    assert [have for have in Access if grants(have, HOOK)] == [ADMIN, HOOK]


def test_principal_is_frozen() -> None:
    who = Principal("alice", OPER, "tok_1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        who.access = ADMIN  # type: ignore[misc]


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("missing", "no API token was given"),
        ("invalid", "the API token is not valid"),
        ("expired", "the API token has expired"),
        ("revoked", "the API token has been revoked"),
    ],
)
def test_auth_error_says_why_in_one_line(reason: str, message: str) -> None:
    error = AuthError(reason)  # type: ignore[arg-type]
    assert isinstance(error, WatchkeeperError)
    assert error.reason == reason and str(error) == message
