"""The model as watchkeeper talks to it: every request redacted on the way out, tool calls written
as text turned into real ones, and each request recorded (tokens, latency) and shown live."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
)
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import RunContext

from watchkeeper.agent.salvage import tool_calls_in_text
from watchkeeper.audit.model_log import ModelLog, ModelRequestRecord
from watchkeeper.humanize import plural
from watchkeeper.redact import redact, redact_text

Show = Callable[[str], None]


def _redacted_part(part: Any) -> Any:
    if isinstance(part, ToolCallPart):
        args = redact(part.args) if isinstance(part.args, dict) else redact_text(part.args or "")
        return dataclasses.replace(part, args=args)
    if hasattr(part, "content") and isinstance(part.content, str | list | dict):
        return dataclasses.replace(part, content=redact(part.content))
    return part


def redacted(messages: list[ModelMessage]) -> list[ModelMessage]:
    """Copies of `messages` with secrets masked in every text, tool argument and tool result."""
    out: list[ModelMessage] = []
    for msg in messages:
        parts = [_redacted_part(p) for p in msg.parts]
        if isinstance(msg, ModelRequest):
            out.append(
                dataclasses.replace(
                    msg, parts=parts, instructions=redact_text(msg.instructions) if msg.instructions else None
                )
            )
        else:
            out.append(dataclasses.replace(msg, parts=parts))
    return out


def salvaged(response: ModelResponse, params: ModelRequestParameters) -> ModelResponse:
    """`response` with tool calls written as text made real, when it holds no real ones."""
    if any(isinstance(p, ToolCallPart) for p in response.parts):
        return response
    text = "\n".join(p.content for p in response.parts if isinstance(p, TextPart))
    names = {t.name for t in params.function_tools} | {t.name for t in params.output_tools}
    output_tool = params.output_tools[0].name if params.output_tools else None
    calls = tool_calls_in_text(text, names, output_tool) if text else []
    if not calls:
        return response
    return dataclasses.replace(response, parts=[ToolCallPart(c.name, c.args) for c in calls])


class GuardedModel(WrapperModel):
    def __init__(
        self, wrapped: Model, log: ModelLog | None, session_id: str, role: str, show: Show | None = None
    ) -> None:
        super().__init__(wrapped)
        self.log = log
        self.session_id = session_id
        self.role = role
        self.show = show or (lambda _m: None)

    def for_role(self, role: str) -> GuardedModel:
        return GuardedModel(self.wrapped, self.log, self.session_id, role, self.show)

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        started, t0 = datetime.now(UTC), time.monotonic()
        self.show(f"model {self.model_name} ({self.role}): request {plural(len(messages), 'message')}")
        try:
            response = await self.wrapped.request(redacted(messages), model_settings, model_request_parameters)
        except Exception as exc:
            self._record(started, t0, 0, 0, 0, f"{type(exc).__name__}: {exc}")
            raise
        response = salvaged(response, model_request_parameters)
        calls = sum(isinstance(p, ToolCallPart) for p in response.parts)
        usage = response.usage
        self._record(started, t0, usage.input_tokens, usage.output_tokens, calls, None)
        self.show(
            f"model {self.model_name} ({self.role}): {plural(usage.input_tokens, 'token')} in, "
            f"{usage.output_tokens} out, {plural(calls, 'tool call')}, {time.monotonic() - t0:.1f}s"
        )
        return response

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: RunContext[Any] | None = None,
    ) -> AsyncIterator[StreamedResponse]:
        # Streaming is not used by watchkeeper's loops; if a caller streams, redaction still applies.
        async with self.wrapped.request_stream(
            redacted(messages), model_settings, model_request_parameters, run_context
        ) as stream:
            yield stream

    def _record(self, started: datetime, t0: float, tin: int, tout: int, calls: int, error: str | None) -> None:
        if self.log is None:
            return
        self.log.append(
            ModelRequestRecord(
                session_id=self.session_id,
                model=self.model_name,
                role=self.role,
                status="error" if error else "ok",
                input_tokens=tin,
                output_tokens=tout,
                tool_calls=calls,
                latency_ms=round((time.monotonic() - t0) * 1000, 1),
                started_at=started,
                error=error,
            )
        )
