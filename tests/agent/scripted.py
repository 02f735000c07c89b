"""A scripted model for the loop tests: pydantic-ai's FunctionModel playing a list of turns, keeping
every request it was sent so tests can read exactly what a model would have seen."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

Turn = ModelResponse | Callable[[list[ModelMessage], AgentInfo], ModelResponse]


def call(tool: str, /, **args: Any) -> ToolCallPart:
    return ToolCallPart(tool, args)


def calls(*parts: ToolCallPart) -> ModelResponse:
    return ModelResponse(parts=list(parts))


def text(content: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(content)])


def report(summary: str = "disk full on /data", **fields: Any) -> ModelResponse:
    return calls(call("submit_report", summary=summary, **fields))


def seen_text(messages: list[ModelMessage]) -> str:
    """Everything a model would read in these messages, as one string."""
    out: list[str] = []
    for m in messages:
        if isinstance(m, ModelRequest) and m.instructions:
            out.append(m.instructions)
        for p in m.parts:
            if isinstance(p, ToolCallPart):
                out.append(json.dumps(p.args) if isinstance(p.args, dict) else str(p.args))
            elif isinstance(p, UserPromptPart | ToolReturnPart | RetryPromptPart | TextPart):
                out.append(p.content if isinstance(p.content, str) else json.dumps(p.content, default=str))
    return "\n".join(out)


def tool_returns(messages: list[ModelMessage]) -> list[ToolReturnPart]:
    return [p for m in messages if isinstance(m, ModelRequest) for p in m.parts if isinstance(p, ToolReturnPart)]


def retries(messages: list[ModelMessage]) -> list[RetryPromptPart | ToolReturnPart]:
    """What was sent back asking the model to try again: retry prompts, and tool returns marked as retries."""
    return [
        p
        for m in messages
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, RetryPromptPart) or (isinstance(p, ToolReturnPart) and p.retry is not None)
    ]


@dataclass
class Script:
    turns: list[Turn]
    requests: list[list[ModelMessage]] = field(default_factory=list)
    infos: list[AgentInfo] = field(default_factory=list)
    repeat_last: bool = False

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        self.requests.append(list(messages))
        self.infos.append(info)
        index = len(self.requests) - 1
        if index >= len(self.turns):
            if not self.repeat_last:
                raise AssertionError(f"the script has {len(self.turns)} turns; request {index + 1} was not expected")
            index = len(self.turns) - 1
        turn = self.turns[index]
        return turn if isinstance(turn, ModelResponse) else turn(messages, info)

    def model(self, name: str = "scripted") -> FunctionModel:
        return FunctionModel(self, model_name=name)

    @property
    def everything_seen(self) -> str:
        return "\n".join(seen_text(r) for r in self.requests)
