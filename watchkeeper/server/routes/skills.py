"""Skills over HTTP, derived from the registry with no per-skill glue: list, show, invoke. An invocation
that ran answers 200 whatever its outcome (`status` says it); the others answer a problem that carries
the audited invocation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.policy.access import Access, Principal
from watchkeeper.policy.risk import Caller, Role
from watchkeeper.server.deps import CoreDep, need
from watchkeeper.server.problems import Problem
from watchkeeper.skills import derive
from watchkeeper.skills.invoke import Invocation, Status
from watchkeeper.skills.params import LOCAL_EDGE, with_edge

router = APIRouter(prefix="/api/v1/skills", tags=["skills"])


class InvokeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] = Field(default_factory=dict, description="The skill's params (its schema: GET the skill).")
    edge: str = Field(LOCAL_EDGE, description="The host to run on; `local` is the manager's own.")


def _known(core: CoreDep, key: str) -> None:
    if key not in core.registry:
        raise Problem(404, f"unknown skill {key!r}: GET /api/v1/skills lists them", "unknown-skill")


@router.get("", summary="Every skill, as `wk skills list --json`")
def list_skills(core: CoreDep) -> list[dict[str, Any]]:
    return [derive.summary(s) for s in core.registry.all()]


@router.get("/{key}", summary="One skill")
def show_skill(core: CoreDep, key: str) -> dict[str, Any]:
    _known(core, key)
    return derive.summary(core.registry.get(key))


def answer(call: Invocation) -> dict[str, Any]:
    """The invocation when it ran; otherwise the problem its outcome maps to, carrying it."""
    detail = call.as_dict()
    if call.status in (Status.SUCCEEDED, Status.FAILED):
        return detail
    error = call.error or call.status.value
    if call.status is Status.TIMED_OUT:
        raise Problem(504, error, "timed-out", invocation=detail)
    if call.status is Status.REFUSED:
        raise Problem(403, error, "refused", rule=call.rule, invocation=detail)
    if call.rule == "unknown_edge":  # an unknown skill never gets here: the route answers 404 first
        raise Problem(404, error, "unknown-edge", invocation=detail)
    raise Problem(422, error, "invalid-params", errors=detail["problems"], invocation=detail)


@router.post("/{key}/invoke", summary="Run a skill (operator or above; safe skills only over HTTP)")
async def invoke_skill(
    core: CoreDep, key: str, body: InvokeBody, principal: Principal = Depends(need(Access.OPERATOR))
) -> dict[str, Any]:
    _known(core, key)
    caller = Caller(Role.HTTP, user=principal.user)
    return answer(await core.invoker.ainvoke(key, with_edge(body.params, body.edge), caller))
