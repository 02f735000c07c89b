"""The manager for real: uvicorn on a free port in this process, real HTTP, one token per role."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn

from tests.conftest import make_settings
from tests.helpers import wait_for
from watchkeeper.app import App, open_app
from watchkeeper.policy.access import Access
from watchkeeper.policy.users import add_user, create_token
from watchkeeper.server.app import build_app
from watchkeeper.server.auth import FailureLimiter


@dataclass
class Served:
    url: str
    core: App
    tokens: dict[str, str] = field(default_factory=dict)  # role (or a state: expired, revoked) -> token

    def client(self, who: str | None = None, **kwargs: Any) -> httpx2.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx2.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, who: str | None = None, **kwargs: Any) -> httpx2.Response:
        with self.client(who) as c:
            return c.get(path, **kwargs)

    def post(self, path: str, who: str | None = None, **kwargs: Any) -> httpx2.Response:
        with self.client(who) as c:
            return c.post(path, **kwargs)


@contextlib.contextmanager
def running(app: Any) -> Iterator[str]:
    """uvicorn serving `app` on 127.0.0.1 in a thread until the block ends; yields the base URL."""
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: server.started, timeout=30), "the server did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def people(core: App) -> dict[str, str]:
    """A user and token per role, plus an expired and a revoked token."""
    from watchkeeper.policy.users import revoke_token

    tokens = {}
    for access in Access:
        add_user(core.engine, access.value, access)
        tokens[access.value], _ = create_token(core.engine, access.value, timedelta(days=1))
    add_user(core.engine, "gone", Access.ADMIN)
    long_ago = datetime.now(UTC) - timedelta(days=2)
    tokens["expired"], _ = create_token(core.engine, "gone", timedelta(days=1), now=long_ago)
    tokens["revoked"], info = create_token(core.engine, "gone", timedelta(days=1))
    revoke_token(core.engine, info.id)
    return tokens


@contextlib.contextmanager
def serve_core(tmp_path: Path, log_dir: Path, **overrides: Any) -> Iterator[Served]:
    core = open_app(make_settings(tmp_path, log_dir, **overrides), import_mcp=False)
    try:
        tokens = people(core)
        with running(build_app(core, limiter=FailureLimiter(limit=10_000))) as url:
            yield Served(url, core, tokens)
    finally:
        core.close()


@pytest.fixture
def served(tmp_path: Path, log_dir: Path) -> Iterator[Served]:
    """On SQLite; the failure limiter out of the way (its own test sets it)."""
    with serve_core(tmp_path, log_dir) as served:
        yield served


@pytest.fixture
def served_on(tmp_path: Path, log_dir: Path, db_url: str) -> Iterator[Served]:
    """On SQLite and on PostgreSQL."""
    with serve_core(tmp_path, log_dir, database_url=db_url) as served:
        yield served
