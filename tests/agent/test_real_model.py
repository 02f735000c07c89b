"""One investigation through the whole real path with a real small model: llama.cpp's server (the
xllamacpp wheel) serving Qwen2.5-Coder-0.5B-Instruct, installed by scripts/test-deps.sh into
.llm-fixture/. HTTP, tool calls in either form, tool results, then a report or the graceful
fallback. Asserts structure, never wording: a 0.5B model is a plumbing test, not a diagnostician."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pydantic_ai.models
import pytest

from tests.agent.test_loop import base_report
from tests.conftest import IN_CI, make_settings
from tests.helpers import free_port
from watchkeeper.agent.investigator import investigate
from watchkeeper.app import open_app
from watchkeeper.audit.model_log import ModelLog
from watchkeeper.incidents.investigate import agent_deps

FIXTURE = Path(__file__).parents[2] / ".llm-fixture"
MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


def _model_path() -> Path:
    model = FIXTURE / "model.gguf"
    ok = FIXTURE / "model.ok"
    if not (model.exists() and ok.exists() and (FIXTURE / "xll" / "xllamacpp").exists()):
        message = "the local LLM fixture is missing: run scripts/test-deps.sh (make test does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    digest = hashlib.sha256()
    with model.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    assert digest.hexdigest() == MODEL_SHA256, "the fixture model does not match its sha256"
    return model


@pytest.fixture(scope="module")
def llama() -> Iterator[str]:
    model, port = _model_path(), free_port()
    env = {**os.environ, "PYTHONPATH": str(FIXTURE / "xll")}
    server = Path(__file__).with_name("llama_server.py")
    proc = subprocess.Popen(
        [sys.executable, str(server), str(model), str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, "llama.cpp server exited while loading the model"
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("llama.cpp server did not become healthy within 180 s")
        yield f"{url}/v1"
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.alone  # llama.cpp takes every core: beside it, the other worker's timed tests starve
@pytest.mark.timeout(600)
def test_a_real_small_model_investigates_through_the_whole_path(
    llama: str, tmp_path: Path, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)
    llm = {
        "base_url": llama,
        "model": "qwen2.5-coder-0.5b-instruct",
        "tools": ["host_status", "disk_usage", "restart_service"],  # at most 3 tools: a 4096-token context
        "max_requests": 2,
        "reply_tokens": 300,
        "request_timeout_s": 240,
        "wall_s": 480,
    }
    rt = open_app(make_settings(tmp_path, log_dir, llm=llm))
    base = base_report("Is the disk on / full?")
    shown: list[str] = []
    out = investigate(agent_deps(rt), base, show=shown.append)
    print("\n".join(shown), "\nmode:", out.mode, "partial:", out.partial, "summary:", out.summary, "notes:", out.notes)

    # Real requests went over HTTP and were recorded with the server's own token counts.
    requests = ModelLog(rt.engine).rows(session_id=out.id)
    assert 1 <= len(requests) <= 2
    assert requests[0]["status"] == "ok" and requests[0]["input_tokens"] > 0 and requests[0]["output_tokens"] > 0
    assert out.usage is not None and out.usage.requests == len(requests)
    # A report came back: the model's, a partial one, or the triage's with the reason.
    if out.mode == "llm" and not out.partial:
        assert out.summary
    else:
        assert out.partial or any("the model failed" in n for n in out.notes), out.notes
    # Every tool call it made (as tool_calls or as text) went through invoke as the llm caller...
    llm_rows = [r for r in rt.ledger.rows(session_id=out.id) if r["caller_role"] == "llm"]
    assert {r["tool_name"] for r in llm_rows} <= {"host_status", "disk_usage"}
    # ...and nothing mutating ran.
    assert not rt.ledger.rows(tool="restart_service")
