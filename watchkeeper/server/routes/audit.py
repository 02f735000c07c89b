"""The ledger over HTTP: the same rows as `wk audit --json`, and the chain's verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from watchkeeper.server.deps import CoreDep, since_param

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", summary="Ledger rows, oldest first (the newest `limit`)")
def audit_rows(
    core: CoreDep,
    tool: str | None = None,
    status: str | None = None,
    user: str | None = None,
    edge: str | None = None,
    session: str | None = None,
    since: Annotated[str | None, Query(description="30m, 1h, 2d or an ISO timestamp")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> list[dict[str, Any]]:
    start = since_param(since)
    return core.ledger.rows(
        tool=tool, status=status, user=user, edge=edge, session_id=session, since=start, limit=limit
    )


@router.get("/verify", summary="Recompute the hash chain")
def audit_verify(core: CoreDep) -> dict[str, Any]:
    return core.ledger.verify().as_dict()
