"""`invoke`: the only way anything runs a skill.

validate params -> guardrail preview (non-safe skills) -> gate -> durable intent row (non-safe)
-> route (in-process now; edge tunnel and subprocess packs plug in at `_route`)
-> concurrency slot -> timeout -> result to JSON, redacted, capped -> exactly one audit row.

Every attempt, whatever its outcome, ends in one row; errors a caller can act on come back as
an `Invocation` with a status, never as a crash.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from watchkeeper.audit.ledger import INTENT, CallRecord, Ledger
from watchkeeper.config import Settings
from watchkeeper.errors import (
    InvalidParams,
    LedgerUnavailable,
    Refused,
    SkillFailed,
    SkillTimeout,
    UnknownSkill,
)
from watchkeeper.humanize import plural
from watchkeeper.policy import gate
from watchkeeper.policy.approvals import Approval
from watchkeeper.policy.risk import Caller, RiskClass
from watchkeeper.redact import redact, redact_text
from watchkeeper.skills.base import Preview, Skill
from watchkeeper.skills.context import KnowledgeSearch, ProcessGroups, SkillContext, no_knowledge
from watchkeeper.skills.output_cap import cap_output
from watchkeeper.skills.params import LOCAL_EDGE, Validated
from watchkeeper.skills.registry import Registry
from watchkeeper.skills.workers import Workers


class Status(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"
    TIMED_OUT = "timed_out"
    INVALID = "invalid"


@dataclass
class Invocation:
    """The outcome of one call, as every caller sees it."""

    key: str
    status: Status
    params: dict[str, Any]
    edge: str | None = None
    result: Any = None
    error: str | None = None
    rule: str | None = None  # the gate or policy rule behind a refusal
    problems: list[tuple[str, str]] = field(default_factory=list)  # invalid params, by field
    truncated: bool = False
    duration_ms: float = 0.0
    audit_id: int | None = None
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def ok(self) -> bool:
        return self.status is Status.SUCCEEDED

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "status": self.status.value,
            "edge": self.edge,
            "params": self.params,
            "result": self.result,
            "error": self.error,
            "rule": self.rule,
            "problems": [{"field": f, "error": e} for f, e in self.problems],
            "truncated": self.truncated,
            "duration_ms": self.duration_ms,
            "audit_id": self.audit_id,
        }


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return json.loads(json.dumps(value, default=str))


class _Outcome(Exception):
    """Internal: ends an attempt early with a status (never escapes `invoke`)."""

    def __init__(self, status: Status, error: str, rule: str | None = None) -> None:
        self.status, self.error, self.rule = status, error, rule
        super().__init__(error)


class Invoker:
    def __init__(
        self,
        registry: Registry,
        ledger: Ledger,
        settings: Settings,
        knowledge: Callable[[], KnowledgeSearch] = no_knowledge,
    ) -> None:
        self.registry = registry
        self.ledger = ledger
        self.settings = settings
        self._knowledge = knowledge
        self._slots = threading.BoundedSemaphore(settings.limits.max_concurrent)
        # As many workers as slots: a worker only ever runs while holding one.
        self._pool = Workers(settings.limits.max_concurrent)
        self._commands = ProcessGroups()
        # Told of every call once it is audited (the server's metrics): they must be quick and must not raise.
        self.observers: list[Callable[[Invocation], None]] = []

    # -- helpers ---------------------------------------------------------------------------

    def timeout_for(self, skill: Skill) -> float:
        return float(
            self.settings.skills.timeouts.get(skill.key) or skill.meta.timeout_s or self.settings.limits.timeout_s
        )

    def _recent_calls(self, tool: str, window: timedelta) -> list[dict[str, Any]]:
        return self.ledger.rows(tool=tool, since=datetime.now(UTC) - window, status=Status.SUCCEEDED.value)

    def _context(self, skill: Skill, edge: str, call_id: str, timeout: float) -> SkillContext:
        return SkillContext(
            settings=self.settings,
            edge=edge,
            call_id=call_id,
            deadline=time.monotonic() + timeout,
            recent_calls=self._recent_calls,
            commands=self._commands,
            knowledge=self._knowledge,
        )

    def _validate(self, skill: Skill, params: dict[str, Any]) -> Validated:
        validated = skill.params.validate(skill.key, params)
        if validated.edge != LOCAL_EDGE:
            # The edge tunnel plugs in here; until then only the manager's own host exists.
            raise _Outcome(
                Status.INVALID,
                f"unknown edge {validated.edge!r}: only the local host ({LOCAL_EDGE!r}) is connected",
                rule="unknown_edge",
            )
        return validated

    def _bind(self, skill: Skill, validated: Validated, raw: dict[str, Any]) -> tuple[Validated, Preview | None]:
        """Run the skill's dry run; merge the params it binds (e.g. a process start time)."""
        if skill.preview is None:
            return validated, None
        ctx = self._context(skill, validated.edge, "preview", self.timeout_for(skill))
        shown = skill.preview(validated.value, ctx)
        if shown.bind:
            validated = self._validate(skill, {**raw, **shown.bind})
        return validated, shown

    def preview(self, key: str, params: dict[str, Any]) -> tuple[Validated, Preview | None]:
        """Dry run for a person about to approve: the exact params that will run, and what they do.

        Raises UnknownSkill, InvalidParams, Refused or SkillFailed when the call could not go ahead.
        """
        skill = self.registry.get(key)
        try:
            return self._bind(skill, self._validate(skill, params), params)
        except _Outcome as exc:
            raise Refused(exc.error, rule=exc.rule or "invalid") from None

    # -- the one way in ----------------------------------------------------------------------

    def invoke(
        self,
        key: str,
        params: dict[str, Any] | None,
        caller: Caller,
        approval: Approval | None = None,
    ) -> Invocation:
        started = datetime.now(UTC)
        t0 = time.monotonic()
        raw = params if params is not None else {}
        call = Invocation(key=key, status=Status.FAILED, params=raw if isinstance(raw, dict) else {"_raw": raw})
        try:
            self._attempt(call, raw, caller, approval)
        except _Outcome as exc:
            call.status, call.error, call.rule = exc.status, exc.error, exc.rule
        call.duration_ms = round((time.monotonic() - t0) * 1000, 3)
        if call.error:
            call.error = redact_text(call.error)
        call.audit_id = self.ledger.append(self._record(call, caller, approval, started))
        for observe in self.observers:
            observe(call)
        return call

    async def ainvoke(
        self,
        key: str,
        params: dict[str, Any] | None,
        caller: Caller,
        approval: Approval | None = None,
    ) -> Invocation:
        """`invoke` for async callers (the agent, the MCP server, the HTTP API): the call runs in a
        thread, so the event loop keeps serving while a skill reads a log or waits on a probe."""
        return await asyncio.to_thread(self.invoke, key, params, caller, approval)

    @staticmethod
    def _record(call: Invocation, caller: Caller, approval: Approval | None, started: datetime) -> CallRecord:
        return CallRecord(
            tool_name=call.key,
            args=call.params,
            status=call.status.value,
            started_at=started,
            finished_at=datetime.now(UTC),
            caller_role=caller.role.value,
            result=call.result,
            error=call.error,
            session_id=caller.session_id,
            edge_id=call.edge,
            caller_user_id=caller.user,
            approved_by=approval.approved_by if approval and call.rule is None else None,
            proposed_by=caller.proposed_by,
            call_id=call.call_id,
        )

    def _attempt(self, call: Invocation, raw: dict[str, Any], caller: Caller, approval: Approval | None) -> None:
        try:
            skill = self.registry.get(call.key)
        except UnknownSkill as exc:
            raise _Outcome(Status.INVALID, str(exc), rule="unknown_skill") from None
        try:
            validated = self._validate(skill, raw)
        except InvalidParams as exc:
            call.problems = exc.problems
            raise _Outcome(Status.INVALID, str(exc)) from None
        call.params, call.edge = validated.params, validated.edge
        timeout = self.timeout_for(skill)
        if skill.risk is not RiskClass.SAFE:
            try:
                gate.check_exposed(skill.risk, skill.key, caller)
            except Refused as exc:
                raise _Outcome(Status.REFUSED, str(exc), exc.rule) from None
            # Guardrails (allowlists, denylists, identity, rate limits) run before the gate,
            # so a refusal's audit row names the real reason.
            validated, _ = self._guarded(lambda: self._bind(skill, validated, raw))
            call.params = validated.params
            try:
                gate.check(skill.risk, skill.key, validated.params, validated.edge, caller, approval)
            except Refused as exc:
                raise _Outcome(Status.REFUSED, str(exc), exc.rule) from None
            # Nothing acts without a durable record of the attempt first.
            intent = self._record(call, caller, approval, datetime.now(UTC))
            try:
                self.ledger.record_intent(replace(intent, status=INTENT))
            except LedgerUnavailable as exc:
                raise _Outcome(Status.REFUSED, f"{exc}; non-safe skills fail closed", "ledger_unavailable") from None
        result = self._route(skill, validated, call.call_id, timeout)
        call.result, call.truncated = cap_output(redact(to_jsonable(result)), self.settings.limits.output_cap_bytes)
        call.status = Status.SUCCEEDED

    @staticmethod
    def _guarded(fn: Any) -> Any:
        """Run skill code, turning the errors skills raise on purpose into outcomes."""
        try:
            return fn()
        except _Outcome:
            raise
        except Refused as exc:
            raise _Outcome(Status.REFUSED, str(exc), exc.rule) from None
        except SkillTimeout as exc:
            raise _Outcome(Status.TIMED_OUT, str(exc)) from None
        except SkillFailed as exc:
            raise _Outcome(Status.FAILED, str(exc)) from None
        except InvalidParams as exc:
            raise _Outcome(Status.INVALID, str(exc)) from None
        except Exception as exc:  # a bug in a skill is a failed call, not a crashed caller
            raise _Outcome(Status.FAILED, f"{exc.__class__.__name__}: {exc}") from None

    def _route(self, skill: Skill, validated: Validated, call_id: str, timeout: float) -> Any:
        """In-process execution on a worker thread, within a concurrency slot and the time limit.

        The slot is released by the worker when the skill really ends, so a skill still
        running after its caller timed out keeps counting against the limit.
        """
        waited = time.monotonic()
        if not self._slots.acquire(timeout=timeout):
            raise _Outcome(
                Status.TIMED_OUT,
                f"no free slot within {timeout:.1f}s: "
                f"{plural(self.settings.limits.max_concurrent, 'call')} already running",
            )
        remaining = max(0.05, timeout - (time.monotonic() - waited))
        ctx = self._context(skill, validated.edge, call_id, remaining)

        def work() -> Any:
            try:
                return self._guarded(lambda: skill.run(validated.value, ctx))
            finally:
                self._slots.release()

        future = self._pool.submit(work)
        try:
            return future.result(timeout=remaining)
        except FutureTimeout:
            ctx.cancel()
            raise _Outcome(Status.TIMED_OUT, f"{skill.key} did not finish within {timeout:.1f}s") from None
