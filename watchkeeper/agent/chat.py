"""`wk chat`: a conversation with the same tools, history and live display. The model can only
propose a mutating action; a person runs it after confirming the exact call, and the audit row says
the model proposed it and that person approved it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from pydantic_ai import Agent, UsageLimits
from pydantic_ai.messages import ModelMessage
from pydantic_ai.models import Model

from watchkeeper.agent.guard import GuardedModel, Show
from watchkeeper.agent.prompt import PROPOSAL_RULE, UNTRUSTED_RULE
from watchkeeper.agent.provider import build_model, model_settings
from watchkeeper.agent.tools import AgentDeps, LoopState, tools_for
from watchkeeper.evidence.report import Action


def chat_instructions(language: str) -> str:
    return (
        "You are watchkeeper, an on-call SRE assistant in a chat with an engineer. Use the read-only tools to "
        f"answer from evidence, briefly. {PROPOSAL_RULE} {UNTRUSTED_RULE} Answer in {language}."
    )


class Chat:
    def __init__(self, deps: AgentDeps, *, model: Model | None = None, show: Show | None = None) -> None:
        llm = deps.llm
        raw = model or build_model(llm)
        self.session_id = f"chat-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        self.model_name = raw.model_name
        self.state = LoopState(deps, self.session_id, raw.model_name, show or (lambda _m: None))
        guarded = GuardedModel(raw, deps.model_log, self.session_id, "chat", show)
        self.agent = Agent(
            guarded,
            instructions=chat_instructions(llm.writes_in),
            tools=tools_for(self.state),
            retries=1,
            model_settings=model_settings(llm),
        )
        self.limits = UsageLimits(request_limit=llm.max_requests, total_tokens_limit=llm.max_tokens)
        self.history: list[ModelMessage] = []
        # One event loop for the whole chat: the HTTP client's connections belong to it.
        self._loop = asyncio.Runner()
        self._loop.run(self.agent.__aenter__())

    def close(self) -> None:
        self._loop.run(self.agent.__aexit__(None, None, None))
        self._loop.close()

    def ask(self, text: str) -> str:
        """The model's answer to one message; a failure is told, not raised, and the history is kept."""
        try:
            result = self._loop.run(self.agent.run(text, message_history=self.history, usage_limits=self.limits))
        except KeyboardInterrupt:  # Ctrl-C during an answer drops that answer, not the chat
            return "(interrupted: the answer was dropped)"
        except Exception as exc:  # the conversation survives a bad model turn
            return f"(the model failed: {type(exc).__name__}: {str(exc)[:300]})"
        self.history = result.all_messages()
        return str(result.output)

    @property
    def proposals(self) -> list[Action]:
        """What the model proposed so far, each marked when it echoes suspicious untrusted text."""
        return self.state.traced_proposals()
