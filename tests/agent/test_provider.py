"""Providers: presets, the flat WK_LLM_* variables, the API key reference, and `wk doctor`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.fake_openai import fake_openai
from tests.helpers import Wk, free_port
from watchkeeper.agent.endpoint import check_endpoint
from watchkeeper.agent.provider import build_model
from watchkeeper.config import LlmSettings, load_settings
from watchkeeper.errors import ConfigError


def test_flat_env_names_configure_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WK_LLM_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("WK_LLM_MODEL", "Qwen/Qwen2.5-7B-Instruct")
    monkeypatch.setenv("WK_LLM_API_KEY", "env:MY_VLLM_KEY")
    monkeypatch.setenv("MY_VLLM_KEY", "sk-local-123")
    llm = load_settings().llm
    assert llm.resolved == ("http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-7B-Instruct")
    model = build_model(llm)
    assert model.model_name == "Qwen/Qwen2.5-7B-Instruct"
    client = model.client  # type: ignore[attr-defined]
    assert str(client.base_url).rstrip("/") == "http://127.0.0.1:8000/v1" and client.api_key == "sk-local-123"


@pytest.mark.parametrize(
    ("preset", "url", "model"),
    [
        ("deepseek", "https://api.deepseek.com/v1", "deepseek-chat"),
        ("openai", "https://api.openai.com/v1", "gpt-4o-mini"),
        ("ollama", "http://127.0.0.1:11434/v1", "qwen2.5:7b-instruct"),
        ("llamacpp", "http://127.0.0.1:8080/v1", "local"),
    ],
)
def test_presets_fill_what_is_not_set(preset: str, url: str, model: str) -> None:
    assert LlmSettings(preset=preset).resolved == (url, model)  # type: ignore[arg-type]
    assert LlmSettings(preset=preset, model="mine").resolved == (url, "mine")  # type: ignore[arg-type]


def test_no_model_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match="no model configured"):
        build_model(LlmSettings())


def test_check_endpoint_reports_reachability() -> None:
    with fake_openai([]) as fake:
        ok, detail = check_endpoint(LlmSettings(base_url=fake.url, model="fake"))
    assert ok and "model fake listed" in detail
    ok, detail = check_endpoint(LlmSettings(base_url=f"http://127.0.0.1:{free_port()}/v1", model="x"))
    assert not ok and "unreachable" in detail
    assert check_endpoint(LlmSettings()) == (True, "none configured: investigations use the deterministic triage")


def test_doctor_shows_the_llm_line(tmp_path: Path, log_dir: Path) -> None:
    wk = Wk(tmp_path, log_dir)
    with fake_openai([]) as fake:
        wk.env = {**wk.env, "WK_LLM_BASE_URL": fake.url, "WK_LLM_MODEL": "fake"}
        checks = {c["name"]: c for c in wk.json("doctor")}
    assert checks["LLM"]["ok"] and fake.url in checks["LLM"]["detail"]


def test_base_url_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WK_LLM_BASE_URL", "file:///etc/passwd")
    with pytest.raises(ConfigError, match=r"llm.base_url: Value error, must be an http:// or https:// URL"):
        load_settings()
