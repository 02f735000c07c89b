"""End to end through the real OpenAI client and HTTP: a local server replays chat completions in
the wire format; what left the process is read back from its request log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydantic_ai.models
import pytest

from tests.agent.fake_openai import Reply, fake_openai
from tests.agent.test_loop import base_report
from tests.conftest import make_settings
from tests.helpers import free_port
from watchkeeper.agent.investigator import investigate
from watchkeeper.app import App, open_app
from watchkeeper.audit.model_log import ModelLog
from watchkeeper.evidence.report import Report
from watchkeeper.incidents.investigate import agent_deps


@pytest.fixture(autouse=True)
def allow_model_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)


def runtime_for(fake_url: str, tmp_path: Path, log_dir: Path, **llm: Any) -> App:
    return open_app(
        make_settings(tmp_path, log_dir, llm={"base_url": fake_url, "model": "fake-model", "api_key": "k", **llm})
    )


def run(rt: App, base: Report | None = None) -> Report:
    base = base or base_report()
    return investigate(agent_deps(rt), base)


def test_tool_calls_tool_results_and_usage_over_the_wire(tmp_path: Path, log_dir: Path) -> None:
    (log_dir / "app.log").write_text("03:00:01 ERROR upstream timed out\n")
    replies = [
        Reply(tool_calls=[("host_status", {}), ("tail_file", {"path": str(log_dir / "app.log")})]),
        Reply(
            tool_calls=[("submit_report", {"summary": "upstream timeouts", "root_cause": "slow upstream"})],
            prompt_tokens=300,
            completion_tokens=40,
        ),
    ]
    with fake_openai(replies) as fake:
        rt = runtime_for(fake.url, tmp_path, log_dir)
        out = run(rt)
    assert out.mode == "llm" and out.summary == "upstream timeouts"
    first, second = fake.requests
    assert first["model"] == "fake-model" and first["temperature"] == 0.1
    offered = {t["function"]["name"] for t in first["tools"]}
    assert {s.key for s in rt.registry.all()} <= offered and "submit_report" in offered
    assert first["messages"][0]["role"] == "system" and "untrusted_data" in first["messages"][0]["content"]
    tool_msgs = [m for m in second["messages"] if m["role"] == "tool"]
    assert len(tool_msgs) == 2 and all(m["tool_call_id"].startswith("call_") for m in tool_msgs)
    assert any("upstream timed out" in m["content"] for m in tool_msgs)
    assert fake.headers[0]["authorization"] == "Bearer k"
    assert out.usage is not None
    assert (out.usage.requests, out.usage.input_tokens, out.usage.output_tokens) == (2, 420, 70)
    rows = ModelLog(rt.engine).rows(session_id=out.id)
    assert [(r["input_tokens"], r["output_tokens"], r["tool_calls"]) for r in rows] == [(120, 30, 2), (300, 40, 1)]


SECRETS = {
    "password=hunter2-secret": "hunter2-secret",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9abcdef": "eyJhbGciOiJIUzI1NiJ9abcdef",
    "Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==": "dXNlcjpwYXNzd29yZDEyMw==",
    "api_key=sk-live-4f9a8b7c6d5e4f3a2b1c": "sk-live-4f9a8b7c6d5e4f3a2b1c",
    "aws key AKIAIOSFODNN7EXAMPLE in env": "AKIAIOSFODNN7EXAMPLE",
    "dsn postgresql://app:Pg-s3cret-99@db:5432/orders": "Pg-s3cret-99",
    "token: ghp_0123456789abcdefghijklmnopqrstuvwxyz": "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
    "-----BEGIN RSA PRIVATE KEY----- MIIEowIBAAKCAQEAzZ9 -----END RSA PRIVATE KEY-----": "MIIEowIBAAKCAQEAzZ9",
}


def test_no_secret_reaches_the_model_from_logs_alerts_or_its_own_echo(tmp_path: Path, log_dir: Path) -> None:
    log = log_dir / "app.log"
    log.write_text("".join(f"03:00:0{i} ERROR connect failed {line}\n" for i, line in enumerate(SECRETS)))
    base = base_report()
    base.symptom.alertname = "DbDown"
    base.symptom.annotations = {"description": "db down, dsn postgresql://app:Pg-s3cret-99@db:5432/orders"}
    replies = [
        Reply(tool_calls=[("tail_file", {"path": str(log)})]),
        # The model echoes a secret in its own tool call; the history sent back must not carry it.
        Reply(tool_calls=[("grep_file", {"path": str(log), "pattern": "password=hunter2-secret"})]),
        Reply(tool_calls=[("submit_report", {"summary": "db credentials rejected"})]),
    ]
    with fake_openai(replies) as fake:
        rt = runtime_for(fake.url, tmp_path, log_dir)
        out = run(rt, base)
    assert out.summary == "db credentials rejected" and len(fake.raw_requests) == 3
    sent = b"\n".join(fake.raw_requests).decode()
    assert "connect failed" in sent  # the log lines did go out, masked
    for secret in SECRETS.values():
        assert secret not in sent, secret
    assert "[REDACTED]" in sent


def test_an_unreachable_endpoint_falls_back_to_triage(tmp_path: Path, log_dir: Path) -> None:
    rt = runtime_for(f"http://127.0.0.1:{free_port()}/v1", tmp_path, log_dir, request_timeout_s=5)
    base = base_report()
    out = run(rt, base)
    assert out.mode == "deterministic" and out.summary == base.summary
    assert any("the model failed" in n for n in out.notes)
    assert ModelLog(rt.engine).rows(session_id=out.id)[0]["status"] == "error"


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (Reply(status=500, raw=b'{"error": {"message": "CUDA out of memory"}}'), "500"),
        (Reply(status=200, raw=b"<html>bad gateway</html>"), "not JSON"),
        (Reply(status=401, raw=b'{"error": {"message": "invalid api key"}}'), "401"),
        (Reply(tool_calls=[("host_status", "{not json")]), "arguments not JSON"),
    ],
)
def test_a_misbehaving_server_still_yields_a_report(tmp_path: Path, log_dir: Path, reply: Reply, why: str) -> None:
    with fake_openai([reply], repeat_last=True) as fake:
        rt = runtime_for(fake.url, tmp_path, log_dir)
        out = run(rt)
    assert out.mode == "deterministic", why
    assert any("the model failed" in n for n in out.notes), out.notes


def test_the_fake_speaks_streaming_chunks(tmp_path: Path) -> None:
    """The fixture itself: its SSE stream decodes, through the official client, to the same reply."""
    import openai

    with fake_openai([Reply(content="hello there", tool_calls=[("host_status", {"edge": "local"})])]) as fake:
        client = openai.OpenAI(base_url=fake.url, api_key="k")
        stream = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
        )
        text, args, usage = "", "", None
        for chunk in stream:
            if chunk.usage:
                usage = chunk.usage
            for choice in chunk.choices:
                text += choice.delta.content or ""
                for tc in choice.delta.tool_calls or []:
                    args += tc.function.arguments or "" if tc.function else ""
    assert text == "hello there" and json.loads(args) == {"edge": "local"}
    assert usage is not None and usage.total_tokens == 150
