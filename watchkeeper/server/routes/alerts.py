"""Alert intake (Alertmanager, Grafana, generic JSON) and what was received. A post is answered 202 only
once its raw payload is stored; a malformed one is stored as rejected and answered 400 naming the
field; 503 when it cannot be stored (Alertmanager retries a 5xx, never a 4xx). Processing happens
after the answer, through the bus."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from watchkeeper.alerts.errors import PayloadError
from watchkeeper.alerts.model import Source
from watchkeeper.app import App
from watchkeeper.errors import ConfigError, StoreError
from watchkeeper.incidents import ingest, queries
from watchkeeper.oplog import loggable
from watchkeeper.policy.access import Access, Principal
from watchkeeper.server import signatures
from watchkeeper.server.auth import Unverified, too_many
from watchkeeper.server.deps import CoreDep, lacks, need
from watchkeeper.server.problems import Problem, problem_response

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
Viewer = [Depends(need(Access.VIEWER))]
IncidentQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only this incident's alerts.")]
Limit = Annotated[int, Query(ge=1, le=1000)]
# The body is read raw (a signature covers its exact bytes); this only tells clients and fuzzers its shape.
JSON_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": ["object", "array"]}}}}
}
RETRY_AFTER_S = "5"


async def _sender(request: Request, raw: bytes) -> str:
    """Who posted: the token's user, or `signed:<source>` for a post whose signature checks out."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None:
        return principal.user
    unverified: Unverified = request.state.unverified  # set by auth.Authenticate: nothing else gets here
    try:
        sources = request.app.state.core.settings.alerts.sources
        return "signed:" + signatures.verify(raw, request.headers, sources)
    except signatures.SignatureError as exc:
        if (wait := unverified.refuse()) is not None:
            detail, headers = too_many(unverified.address, wait)
            raise Problem(429, detail, "too-many-failures", headers) from None
        raise Problem(401, str(exc), "signature-invalid") from None
    except ConfigError as exc:  # the server's configuration, not the sender's fault
        log.error("cannot check an alert post's signature: %s", exc)
        raise Problem(503, "an alert source's secret cannot be read: the server's log says which") from None


async def _intake(request: Request, core: App, source: Source) -> Response:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None and (why := lacks(principal, Access.WEBHOOK)):
        raise Problem(403, why, "forbidden")  # before the body is read: a viewer cannot post alerts
    raw = await request.body()
    sender = await _sender(request, raw)
    try:
        accepted = await anyio.to_thread.run_sync(ingest.accept, core, source, raw, sender)
    except PayloadError as exc:
        log.warning(
            "an alert post from %s was refused (GET /api/v1/alerts/rejected keeps it): %s", sender, loggable(str(exc))
        )
        raise Problem(400, str(exc), "invalid-alert", errors=[{"field": exc.field, "error": exc.problem}]) from None
    except StoreError as exc:
        log.warning("an alert post from %s could not be stored: %s", sender, exc)
        detail = "the alert could not be stored; send it again later"
        return problem_response(503, detail, "store-unavailable", {"Retry-After": RETRY_AFTER_S})
    answer = {"delivery_id": accepted.delivery_id, "alerts": accepted.alerts, "truncated": accepted.truncated}
    return JSONResponse(answer, status_code=202)


@router.post("/alertmanager", status_code=202, summary="Alertmanager's webhook (version 4)", openapi_extra=JSON_BODY)
async def alertmanager(request: Request, core: CoreDep) -> Response:
    return await _intake(request, core, "alertmanager")


@router.post("/grafana", status_code=202, summary="Grafana's unified alerting webhook", openapi_extra=JSON_BODY)
async def grafana(request: Request, core: CoreDep) -> Response:
    return await _intake(request, core, "grafana")


@router.post("", status_code=202, summary="A generic JSON alert, or a list of them", openapi_extra=JSON_BODY)
async def generic(request: Request, core: CoreDep) -> Response:
    return await _intake(request, core, "generic")


@router.get("", dependencies=Viewer, summary="Alerts, the most recently received first")
def alerts(
    core: CoreDep,
    status: Literal["firing", "resolved"] | None = None,
    incident: IncidentQuery = None,
    silenced: bool | None = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    return queries.list_alerts(core.engine, status=status, incident_id=incident, silenced=silenced, limit=limit)


@router.get("/rejected", dependencies=Viewer, summary="Posts refused as malformed, newest first")
def rejected(core: CoreDep, limit: Limit = 100) -> list[dict[str, Any]]:
    return queries.rejected_deliveries(core.engine, limit=limit)
