"""Any OpenAI-compatible Chat Completions endpoint as a pydantic-ai model."""

from __future__ import annotations

from pydantic_ai.models import Model
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider
from pydantic_ai.settings import ModelSettings

from watchkeeper.config import LlmSettings, resolve_secret
from watchkeeper.errors import ConfigError


def build_model(llm: LlmSettings) -> Model:
    """The configured model; ConfigError when none is configured."""
    resolved = llm.resolved
    if resolved is None:
        raise ConfigError(
            "no model configured: set llm.base_url and llm.model (or llm.preset), or WK_LLM_BASE_URL and WK_LLM_MODEL"
        )
    base_url, model_name = resolved
    # Local servers take any key; the SDK insists on one. The provider owns its HTTP client, so it
    # renews it per event loop and closes it when the agent's context ends.
    api_key = resolve_secret(llm.api_key) if llm.api_key else "not-needed"
    provider = OpenAICompatibleProvider(llm.preset or "openai-compatible", base_url=base_url, api_key=api_key)
    return OpenAIChatModel(model_name, provider=provider)


def model_settings(llm: LlmSettings) -> ModelSettings:
    # A reply cap: small local models can generate until the context is full.
    return {"temperature": llm.temperature, "max_tokens": llm.reply_tokens, "timeout": llm.request_timeout_s}
