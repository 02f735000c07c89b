"""The official MCP Inspector CLI and conformance suite against watchkeeper (npm, pinned for Node 20)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import WK, Wk
from tests.mcp.conftest import HttpServer, npm_tool

CONFORMANCE_CLIENT = Path(__file__).with_name("conformance_client.py")


def inspector(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    done = subprocess.run(
        [npm_tool("mcp-inspector"), "--cli", *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return dict(json.loads(done.stdout))


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_inspector_lists_and_calls(transport: str, wk: Wk, request: pytest.FixtureRequest) -> None:
    if transport == "http":
        server = request.getfixturevalue("mcp_http")
        where = [server.url, "--transport", "http"]
    else:
        where = [
            *(f"-e={k}={v}" for k, v in (("WK_DATA_DIR", wk.env["WK_DATA_DIR"]), ("WK_CONFIG", wk.env["WK_CONFIG"]))),
            WK,
            "mcp",
        ]
    listed = inspector(*where, "--method", "tools/list")
    names = {t["name"] for t in listed["tools"]}  # type: ignore[attr-defined]
    assert "host_status" in names and "kill_process" not in names
    called = inspector(
        *where,
        "--method",
        "tools/call",
        "--tool-name",
        "probe_tcp",
        "--tool-arg",
        "host=127.0.0.1",
        "--tool-arg",
        "port=1",
    )
    assert called["isError"] is False
    assert called["structuredContent"] == {**called["structuredContent"], "open": False, "port": 1}  # type: ignore[dict-item]
    refused = inspector(*where, "--method", "tools/call", "--tool-name", "restart_service", "--tool-arg", "unit=x")
    assert refused["isError"] is True


def conformance(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([npm_tool("conformance"), *args], capture_output=True, text=True, timeout=180)


# Every server scenario of conformance 0.1.13 that needs none of the suite's own fixture tools.
SERVER_SCENARIOS = [
    "server-initialize",
    "ping",
    "tools-list",
    "dns-rebinding-protection",
    "server-sse-multiple-streams",
    "tools-call-error",
]


@pytest.mark.parametrize("scenario", SERVER_SCENARIOS)
def test_conformance_server(scenario: str, mcp_http: HttpServer) -> None:
    done = conformance("server", "--url", mcp_http.url, "--scenario", scenario)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-4000:]
    assert " 0 failed" in report


@pytest.mark.parametrize("scenario", ["initialize", "tools_call"])
def test_conformance_client(scenario: str) -> None:
    done = conformance("client", "--command", f"{sys.executable} {CONFORMANCE_CLIENT}", "--scenario", scenario)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-4000:]
    assert " 0 failed" in report and "OVERALL: PASSED" in report
