"""What routes take from a request, typed once: the app core, the caller's principal, a role check, a `since`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from watchkeeper.app import App
from watchkeeper.policy.access import Access, Principal, grants
from watchkeeper.server.problems import Problem
from watchkeeper.since import parse_since


# async: FastAPI runs a sync dependency in its thread pool, a hop per dependency per request for nothing.
async def _core(request: Request) -> App:
    core: App = request.app.state.core
    return core


async def _principal(request: Request) -> Principal:
    principal: Principal = request.state.principal  # set by auth.Authenticate for every non-public route
    return principal


CoreDep = Annotated[App, Depends(_core)]
PrincipalDep = Annotated[Principal, Depends(_principal)]


def lacks(principal: Principal, access: Access) -> str | None:
    """Why `principal` may not do what needs `access`; None when its role includes it."""
    if grants(principal.access, access):
        return None
    return f"{principal.user} is {principal.access}; this needs {access} or above"


def need(access: Access) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency refusing (403) a principal whose role does not include `access`."""

    async def check(principal: PrincipalDep) -> Principal:
        if why := lacks(principal, access):
            raise Problem(403, why, "forbidden")
        return principal

    return check


def since_param(since: str | None) -> datetime | None:
    """A `since` query parameter: 30m, 1h, 2d or an ISO timestamp; 422 naming it otherwise."""
    try:
        return parse_since(since) if since else None
    except (ValueError, OverflowError):
        raise Problem(
            422,
            f"since takes a duration like 30m, 1h, 2d or an ISO timestamp, got {since!r}",
            "invalid-request",
            errors=[{"field": "since", "error": "not a duration or an ISO timestamp"}],
        ) from None
