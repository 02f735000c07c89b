"""HTTP transport security: loopback by default, Host/Origin validation, bearer tokens."""

from __future__ import annotations

import json
import select
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.helpers import WK, Wk, free_port
from tests.mcp.conftest import HttpServer, port_open, start_http

INIT = json.dumps({
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}).encode()  # fmt: skip


def post(url: str, headers: dict[str, str]) -> tuple[int, str]:
    base = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    req = urllib.request.Request(url, data=INIT, headers={**base, **headers}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status), resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def test_foreign_host_and_origin_are_rejected(mcp_http: HttpServer) -> None:
    assert post(mcp_http.url, {})[0] == 200
    assert post(mcp_http.url, {"Host": "evil.example.com"})[0] in (400, 403, 421)
    assert post(mcp_http.url, {"Origin": "http://evil.example.com"})[0] in (400, 403)


def test_bearer_token(tmp_path: Path, log_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WK_TEST_MCP_TOKEN", "s3cret-token-value")
    wk = Wk(tmp_path, log_dir, '[mcp]\ntoken = "env:WK_TEST_MCP_TOKEN"\n')
    proc, port = start_http(wk)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        status, body = post(url, {})
        assert status == 401 and "missing bearer token" in json.loads(body)["error_description"]
        status, body = post(url, {"Authorization": "Bearer wrong"})
        assert status == 401 and "wrong bearer token" in body
        seen: dict[str, Any] = {}

        async def session() -> None:
            http = create_mcp_http_client(headers={"Authorization": "Bearer s3cret-token-value"})
            async with Client(streamable_http_client(url, http_client=http)) as client:
                seen["tools"] = (await client.list_tools()).tools

        anyio.run(session)
        assert len(seen["tools"]) == 25
    finally:
        proc.terminate()
        proc.wait(10)


def test_non_loopback_without_a_token_is_refused_at_start(wk: Wk) -> None:
    done = subprocess.run(
        [WK, "mcp", "--http", "--host", "0.0.0.0", "--port", str(free_port())],
        env=wk.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: refusing to serve MCP on 0.0.0.0 without a token")
    assert "http://" not in done.stderr, "no URL is announced for a server that never starts"


def announcement(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """The line in which `wk mcp --http` announces its URL (read as soon as it is printed)."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0 and select.select([proc.stderr], [], [], left)[0]:
        line = proc.stderr.readline()
        if not line or line.startswith("watchkeeper MCP on"):
            return line.strip()
    raise AssertionError("wk mcp --http announced nothing")


def test_the_url_is_announced_once_the_server_listens(wk: Wk) -> None:
    port = free_port()
    argv = [WK, "mcp", "--http", "--port", str(port)]
    proc = subprocess.Popen(argv, env=wk.env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert announcement(proc) == f"watchkeeper MCP on http://127.0.0.1:{port}/mcp"
        assert port_open(port), "a client told the URL must be able to connect at once"
        assert post(f"http://127.0.0.1:{port}/mcp", {})[0] == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_busy_port_is_one_clear_line(wk: Wk) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [WK, "mcp", "--http", "--port", str(port)], env=wk.env, capture_output=True, text=True, timeout=30
        )
    assert done.returncode == 2
    assert done.stderr == f"error: cannot listen on 127.0.0.1:{port}: address already in use\n"
