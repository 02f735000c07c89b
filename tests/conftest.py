"""Shared fixtures: isolated data directories, real backends, and the audit accounting.

Every test gets its own data directory, so ledgers never mix. An autouse fixture counts the
calls made through `Invoker.invoke` in each test and checks, after the test, that each one
produced exactly one audit row (written, or pending while the store is down) with its own id.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from watchkeeper.app import App, open_app
from watchkeeper.audit.ledger import GAP, INTENT, Ledger
from watchkeeper.config import Settings
from watchkeeper.policy.approvals import Approval
from watchkeeper.policy.risk import Caller, Role
from watchkeeper.skills.invoke import Invocation, Invoker

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("WK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def missing_backend(what: str) -> None:
    """A test whose real backend is absent: a failure under CI, a skip on a developer's machine."""
    if IN_CI:
        pytest.fail(f"required backend missing under CI: {what}")
    pytest.skip(f"backend missing: {what}")


def require_binary(name: str) -> str:
    path = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
    if path is None:
        missing_backend(f"{name} (make test-deps installs it)")
    return str(path)


# -- audit accounting -----------------------------------------------------------------------

_calls: dict[int, tuple[Ledger, list[int | None]]] = {}


@pytest.fixture(autouse=True)
def count_invoke_calls() -> Iterator[None]:
    original = Invoker.invoke

    def counted(self: Invoker, *args: Any, **kwargs: Any) -> Invocation:
        result = original(self, *args, **kwargs)
        _calls.setdefault(id(self.ledger), (self.ledger, []))[1].append(result.audit_id)
        return result

    Invoker.invoke = counted  # type: ignore[method-assign]
    _calls.clear()
    try:
        yield
    finally:
        Invoker.invoke = original  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Right after each test body (before fixtures tear databases down): one audit row per invoke call."""
    result = yield
    if not item.get_closest_marker("ledger_tampering"):
        for ledger, ids in _calls.values():
            database = ledger.engine.url.database if ledger.engine.dialect.name == "sqlite" else None
            if database and not Path(database).exists():
                continue  # a scenario's world took its data directory with it at cleanup
            written = [i for i in ids if i is not None]
            assert len(set(written)) == len(written), "two calls shared one audit row"
            # Intent rows (written before a non-safe call acts) and gap rows are not call outcomes.
            stored = ledger.total(outcomes_only=True)
            waiting = [r for r in ledger.backlog() if r["status"] not in (INTENT, GAP)]
            assert stored + len(waiting) == len(ids), (
                f"{len(ids)} invoke calls but {stored} outcome rows + {len(waiting)} waiting"
            )
    return result


def pytest_configure(config: pytest.Config) -> None:
    # No test reaches a real model API unless it says so (the local fake and llama.cpp servers do).
    import pydantic_ai.models

    pydantic_ai.models.ALLOW_MODEL_REQUESTS = False
    config.addinivalue_line("markers", "ledger_tampering: the test edits the ledger on purpose; skip row accounting")
    # make test runs the others on two workers, then these by themselves: a test that judges which
    # process burns the host's CPU would otherwise blame a test running beside it.
    config.addinivalue_line("markers", "alone: the test judges the whole host, or takes all of its CPU; run it alone")


# -- settings and runtime -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config or data directory (an empty config file: WK_CONFIG must exist)."""
    config = tmp_path / "empty-config.toml"
    config.touch()
    monkeypatch.setenv("WK_CONFIG", str(config))
    monkeypatch.setenv("WK_DATA_DIR", str(tmp_path / "data"))
    for name in list(os.environ):
        if name.startswith("WK_") and name not in ("WK_CONFIG", "WK_DATA_DIR", "WK_TEST_PG", "WK_UPDATE_GOLDEN"):
            monkeypatch.delenv(name)


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path


def make_settings(tmp_path: Path, log_dir: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {"data_dir": tmp_path / "data", "policy": {"read_allowlist": [str(log_dir)]}}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return Settings(**base)


@pytest.fixture
def settings(tmp_path: Path, log_dir: Path) -> Settings:
    return make_settings(tmp_path, log_dir)


@pytest.fixture
def rt(settings: Settings) -> Iterator[App]:
    runtime = open_app(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A process nobody minds losing, for the skills that signal one."""
    proc = subprocess.Popen(["sleep", "120"])
    yield proc
    proc.kill()
    proc.wait()


CLI = Caller(Role.CLI, user="tester")


def call(rt: App, key: str, caller: Caller = CLI, approval: Approval | None = None, **params: Any) -> Invocation:
    return rt.invoker.invoke(key, params, caller, approval)


# -- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> str:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            pass
    except Exception as exc:
        missing_backend(f"PostgreSQL at {PG_ADMIN_URL}: {exc}")
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh database per test, dropped afterwards."""
    import psycopg

    name = f"wk_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.rsplit("/", 1)[0] + f"/{name}"
    # Let the test's engines close their pooled connections first: a forced drop terminates them
    # and leaves FATAL lines in the server's log, which `wk check` then rightly reports.
    gc.collect()
    with psycopg.connect(pg_server, autocommit=True) as conn:
        try:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        except psycopg.errors.ObjectInUse:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("pg_url"))


# -- a real full filesystem ---------------------------------------------------------------------


class SmallDisk:
    """A 2 MiB tmpfs mounted for one test: `fill()` takes every free byte (ENOSPC), `free()` gives it back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._filler = path / "filler"

    def fill(self) -> None:
        with self._filler.open("ab", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
        assert shutil.disk_usage(self.path).free == 0

    def free(self) -> None:
        self._filler.unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    path = tmp_path / "small-disk"
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        missing_backend(f"a 2 MiB tmpfs (mount needs root): {done.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def checkpoint_sqlite(db: Path) -> None:
    """Fold SQLite's write-ahead log into the database and truncate it, as a quiet moment does: a
    write after this needs new blocks (with a long WAL, SQLite reuses its own space on a full disk)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
