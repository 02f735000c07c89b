"""Talking to external MCP servers with the official SDK client.

Each server gets one long-lived session, opened on first use in a background event loop and
reused; a session that breaks (the server crashed or went away) is dropped and opened again on
the next call, so one bad server never takes the others down.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TextIO, TypeVar

import anyio
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from watchkeeper.config import McpServerConfig, resolve_secret
from watchkeeper.errors import SkillFailed, SkillTimeout

T = TypeVar("T")


def describe_error(exc: BaseException) -> str:
    """The innermost useful message of an exception (task groups wrap the real cause)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if text != exc.__class__.__name__ else text


def open_client(cfg: McpServerConfig, errlog: TextIO | None = None) -> AbstractAsyncContextManager[Client]:
    """An SDK client for the server; a stdio server's stderr goes to `errlog` (default: ours)."""
    if cfg.command is not None:
        env = {k: resolve_secret(v) for k, v in cfg.env.items()}
        params = StdioServerParameters(command=cfg.command, args=cfg.args, env=env or None, cwd=cfg.cwd)
        return Client(stdio_client(params, errlog=errlog) if errlog else stdio_client(params))
    headers = {k: resolve_secret(v) for k, v in cfg.headers.items()}
    return Client(streamable_http_client(str(cfg.url), http_client=create_mcp_http_client(headers=headers)))


async def list_all_tools(client: Client) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools


class _Session:
    """One server's session, owned by one task (anyio scopes must be left where they were entered)."""

    def __init__(self, cfg: McpServerConfig, errlog: TextIO | None) -> None:
        self.cfg, self.errlog = cfg, errlog
        self.requests: asyncio.Queue[tuple[str, dict[str, Any], asyncio.Future[types.CallToolResult]]] = asyncio.Queue()
        self.ready = asyncio.Event()
        self.broken: str | None = None
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            async with open_client(self.cfg, self.errlog) as client, anyio.create_task_group() as tg:
                self.ready.set()
                while self.broken is None:
                    name, args, reply = await self.requests.get()
                    tg.start_soon(self._handle, client, tg, name, args, reply)
        except BaseException as exc:
            self.broken = self.broken or describe_error(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self.broken = self.broken or "the session ended"
            self.ready.set()
            while not self.requests.empty():
                *_, reply = self.requests.get_nowait()
                if not reply.done():
                    reply.set_exception(SkillFailed(f"MCP server {self.cfg.name}: {self.broken}"))

    async def _handle(
        self,
        client: Client,
        tg: anyio.abc.TaskGroup,
        name: str,
        args: dict[str, Any],
        reply: asyncio.Future[types.CallToolResult],
    ) -> None:
        try:
            result = await client.call_tool(name, args)
        except Exception as exc:  # a protocol or connection failure: drop this session
            self.broken = describe_error(exc)
            if not reply.done():
                reply.set_exception(SkillFailed(f"MCP server {self.cfg.name} failed during {name}: {self.broken}"))
            tg.cancel_scope.cancel()
            return
        if not reply.done():
            reply.set_result(result)

    async def call(self, name: str, args: dict[str, Any]) -> types.CallToolResult:
        reply: asyncio.Future[types.CallToolResult] = asyncio.get_running_loop().create_future()
        await self.requests.put((name, args, reply))
        await self.ready.wait()
        if self.broken is not None and not reply.done():
            raise SkillFailed(f"MCP server {self.cfg.name} is unavailable: {self.broken}")
        return await reply


class Connections:
    """Sessions to external servers, driven from synchronous skill code through one event loop thread."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self.log_dir = log_dir
        self._logs: dict[str, TextIO] = {}  # one stderr log per stdio server, open for the process
        self._sessions: dict[str, _Session] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="mcp-client", daemon=True).start()
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise SkillTimeout(f"no answer within {timeout:.1f}s") from None

    def _errlog(self, cfg: McpServerConfig) -> TextIO | None:
        if self.log_dir is None or cfg.command is None:
            return None
        if cfg.name not in self._logs:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._logs[cfg.name] = (self.log_dir / f"mcp-{cfg.name}.log").open("a")
        return self._logs[cfg.name]

    async def _call(self, cfg: McpServerConfig, tool: str, args: dict[str, Any]) -> types.CallToolResult:
        session = self._sessions.get(cfg.name)
        if session is None or session.broken is not None:
            session = self._sessions[cfg.name] = _Session(cfg, self._errlog(cfg))
        return await session.call(tool, args)

    def call_tool(self, cfg: McpServerConfig, tool: str, args: dict[str, Any], timeout: float) -> types.CallToolResult:
        return self._run(self._call(cfg, tool, args), timeout)

    def fetch_tools(self, cfg: McpServerConfig, timeout: float) -> list[types.Tool]:
        async def fetch() -> list[types.Tool]:
            async with open_client(cfg, self._errlog(cfg)) as client:
                return await list_all_tools(client)

        return self._run(fetch(), timeout)
