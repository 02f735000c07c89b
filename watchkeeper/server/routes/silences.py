"""Silences over HTTP: list them (viewer), add one or end one early (operator, acting as the token's user)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, model_validator

from watchkeeper.incidents.silences import NoSilence, add_silence, expire_silence, list_silences, parse_duration
from watchkeeper.policy.access import Access, Principal
from watchkeeper.server.deps import CoreDep, need
from watchkeeper.server.problems import Problem

router = APIRouter(prefix="/api/v1/silences", tags=["silences"])
Operator = Annotated[Principal, Depends(need(Access.OPERATOR))]
SilenceId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class SilenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matchers: list[str] = Field(..., min_length=1, max_length=50, description='Alertmanager matchers: service="x"')
    starts_at: datetime | None = Field(None, description="When it starts (default: now); without a zone, UTC.")
    ends_at: datetime | None = Field(None, description="When it ends; or give duration.")
    duration: str | None = Field(None, description="How long from starts_at: 30m, 2h, 1d.")
    comment: str = Field(..., min_length=1, max_length=2000, description="Why: shown beside every alert it silences.")

    @model_validator(mode="after")
    def _one_end(self) -> SilenceBody:
        if (self.ends_at is None) == (self.duration is None):
            raise ValueError("give either ends_at or duration")
        return self


def _invalid(field: str, why: str) -> Problem:
    return Problem(422, f"invalid silence: {why}", "invalid-request", errors=[{"field": field, "error": why}])


def _aware(ts: datetime | None) -> datetime | None:
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


@router.get("", summary="Silences not yet over (all of them with include_expired)")
def silences(core: CoreDep, include_expired: bool = False) -> list[dict[str, Any]]:
    return list_silences(core.engine, include_expired=include_expired)


@router.post("", status_code=201, summary="Silence the alerts matching every matcher for a while")
def silence(core: CoreDep, body: SilenceBody, who: Operator) -> dict[str, Any]:
    starts = _aware(body.starts_at) or datetime.now(UTC)
    ends = _aware(body.ends_at)
    if body.duration is not None:
        try:
            ends = starts + parse_duration(body.duration)
        except (ValueError, OverflowError) as exc:
            raise _invalid("duration", str(exc)) from None
    assert ends is not None  # the model wants ends_at or duration
    try:
        return add_silence(core, body.matchers, starts_at=starts, ends_at=ends, actor=who.user, comment=body.comment)
    except ValueError as exc:
        raise _invalid("body", str(exc)) from None


@router.delete("/{silence_id}", summary="End a silence now; answers it as it is then")
def expire(core: CoreDep, silence_id: SilenceId, who: Operator) -> dict[str, Any]:
    try:
        return expire_silence(core, silence_id, who.user)
    except NoSilence as exc:
        raise Problem(404, str(exc), "no-silence") from None
