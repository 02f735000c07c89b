"""Probes without a token: alive, and ready (store, ledger, bus) with the failing part named."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from watchkeeper.server.deps import CoreDep
from watchkeeper.server.problems import problem_response

router = APIRouter(tags=["health"])


def _why(exc: Exception) -> str:
    first = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {first}"


@router.get("/healthz", summary="Alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Ready: the store answers, the ledger writes, the bus answers")
def readyz(core: CoreDep) -> Any:
    failing: dict[str, str] = {}
    try:
        with core.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # whatever the driver raises, the store is the part named
        failing["store"] = _why(exc)
    waiting = core.ledger.pending_count
    if core.store_error or waiting:
        failing["ledger"] = core.store_error or f"{waiting} audit rows wait to be written"
    try:
        core.bus.depths()
    except Exception as exc:
        failing["bus"] = _why(exc)
    if failing:
        named = "; ".join(f"{part}: {why}" for part, why in failing.items())
        return problem_response(503, f"not ready: {named}", "not-ready", failing=failing)
    return JSONResponse({"status": "ready"})
