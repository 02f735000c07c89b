"""Any OpenAI-compatible Chat Completions endpoint as a pydantic-ai model."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

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


def check_endpoint(llm: LlmSettings, timeout_s: float = 5.0) -> tuple[bool, str]:
    """For `wk doctor`: does the configured endpoint answer /models, and does it know the model?"""
    resolved = llm.resolved
    if resolved is None:
        return True, "none configured: investigations use the deterministic triage"
    base_url, model = resolved
    headers = {"Authorization": f"Bearer {resolve_secret(llm.api_key)}"} if llm.api_key else {}
    request = urllib.request.Request(f"{base_url.rstrip('/')}/models", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        return False, f"{base_url}/models answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{base_url} unreachable: {exc}"
    try:
        known = {m.get("id") for m in json.loads(body).get("data", [])}
    except (ValueError, AttributeError):
        known = set()
    listed = "listed" if model in known else "not listed (some servers serve any name)"
    return True, f"{base_url}, model {model} {listed}"
