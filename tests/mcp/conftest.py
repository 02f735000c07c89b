"""MCP fixtures: the real `wk mcp` server over HTTP, and the official npm tools."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing_backend
from tests.helpers import WK, Wk, free_port, wait_for

ROOT = Path(__file__).parents[2]


def npm_tool(name: str) -> str:
    path = ROOT / ".npm-tools" / "node_modules" / ".bin" / name
    if not path.exists():
        missing_backend(f"{name} from npm (make test-deps installs it into .npm-tools)")
    return str(path)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def wk(tmp_path: Path, log_dir: Path) -> Wk:
    return Wk(tmp_path, log_dir)


class HttpServer:
    def __init__(self, wk: Wk, port: int) -> None:
        self.wk, self.port = wk, port
        self.url = f"http://127.0.0.1:{port}/mcp"


def start_http(wk: Wk, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [WK, "mcp", "--http", "--port", str(port), *args], env=wk.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if not wait_for(lambda: port_open(port) or proc.poll() is not None, timeout=20) or proc.poll() is not None:
        err = proc.stderr.read().decode() if proc.stderr else ""
        proc.kill()
        raise AssertionError(f"wk mcp --http did not start: {err}")
    return proc, port


@pytest.fixture
def mcp_http(wk: Wk) -> Iterator[HttpServer]:
    proc, port = start_http(wk)
    try:
        yield HttpServer(wk, port)
    finally:
        proc.terminate()
        proc.wait(10)
