"""Incidents over HTTP: the same dicts as `wk incidents --json`, and what a person does to one
(acknowledge, resolve, investigate again, merge, split), acting as the token's user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.alerts.model import Severity
from watchkeeper.incidents import lifecycle, queries
from watchkeeper.policy.access import Access, Principal
from watchkeeper.server.deps import CoreDep, need, since_param
from watchkeeper.server.problems import Problem

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
MAX_ID = 2**31 - 1  # incidents.id is a 32-bit integer in PostgreSQL
IncidentId = Annotated[int, Path(ge=1, le=MAX_ID)]
Operator = Annotated[Principal, Depends(need(Access.OPERATOR))]
Fingerprint = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]


@contextmanager
def _answering() -> Iterator[None]:
    """The lifecycle's refusals as problems: an unknown incident 404, an impossible change 409."""
    try:
        yield
    except lifecycle.NoIncident as exc:
        raise Problem(404, str(exc), "no-incident") from None
    except lifecycle.IncidentConflict as exc:
        raise Problem(409, str(exc), "incident-conflict") from None


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(
        None,
        max_length=lifecycle.MAX_NOTE,
        pattern=r"^[^\x00]*$",
        description="What fixed it, for the timeline and the message.",
    )


class MergeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into: int = Field(..., ge=1, le=MAX_ID, description="The incident this one becomes part of.")


class SplitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fingerprints: list[Fingerprint] = Field(..., min_length=1, description="The alerts that become a new incident.")


@router.get("", summary="Incidents opened since `since`, newest first")
def incidents(
    core: CoreDep,
    status: queries.Status | None = None,
    severity: Severity | None = None,
    service: Annotated[str | None, Query(max_length=300, pattern=r"^[^\x00]+$")] = None,
    since: Annotated[str | None, Query(description="30m, 1h, 2d or an ISO timestamp")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    start = since_param(since)
    return queries.list_incidents(
        core.engine, status=status, severity=severity, service=service, since=start, limit=limit
    )


@router.get("/{incident_id}", summary="An incident with its alerts, timeline, reports and notifications")
def incident(core: CoreDep, incident_id: IncidentId) -> dict[str, Any]:
    with _answering():
        return queries.show_incident(core.engine, incident_id)


@router.post("/{incident_id}/ack", summary="Acknowledge: someone is on it (a flag, not a status)")
def acknowledge(core: CoreDep, incident_id: IncidentId, who: Operator) -> dict[str, Any]:
    with _answering():
        lifecycle.acknowledge(core, incident_id, who.user)
        return queries.show_incident(core.engine, incident_id)


@router.post("/{incident_id}/resolve", summary="Resolve it now, with an optional note")
def resolve(core: CoreDep, incident_id: IncidentId, who: Operator, body: ResolveBody | None = None) -> dict[str, Any]:
    with _answering():
        lifecycle.resolve(core, incident_id, who.user, body.note if body else None)
        return queries.show_incident(core.engine, incident_id)


@router.post("/{incident_id}/reinvestigate", status_code=202, summary="Queue another investigation")
def reinvestigate(core: CoreDep, incident_id: IncidentId, who: Operator) -> dict[str, Literal["queued"] | int]:
    with _answering():
        investigation_id = lifecycle.reinvestigate(core, incident_id, who.user)
    return {"incident_id": incident_id, "investigation_id": investigation_id, "status": "queued"}


@router.post("/{incident_id}/merge", summary="Merge into another incident; answers the one merged into")
def merge(core: CoreDep, incident_id: IncidentId, body: MergeBody, who: Operator) -> dict[str, Any]:
    with _answering():
        lifecycle.merge(core, incident_id, body.into, who.user)
        return queries.show_incident(core.engine, body.into)


@router.post("/{incident_id}/split", status_code=201, summary="Move some alerts to a new incident; answers it")
def split(core: CoreDep, incident_id: IncidentId, body: SplitBody, who: Operator) -> dict[str, Any]:
    with _answering():
        new_id = lifecycle.split(core, incident_id, body.fingerprints, who.user)
        return queries.show_incident(core.engine, new_id)
