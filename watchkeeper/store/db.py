"""Engine creation and schema migration to the newest revision."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from watchkeeper.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions (tests/store/test_db.py holds it to alembic's head): a
# database already there is opened without importing alembic, a second of every command's start.
HEAD = "0008"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside the single writer; NORMAL sync is durable across app crashes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


@contextlib.contextmanager
def synced(engine: Engine) -> Iterator[Connection]:
    """A transaction whose commit is on the disk once it returns, a crash of the host included. SQLite
    runs with synchronous=NORMAL (durable across a crash of the process, not of the host), so this one
    commit syncs its journal; PostgreSQL syncs every commit already."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA synchronous=FULL")
        try:
            yield conn
            conn.commit()
        finally:
            conn.rollback()
            with contextlib.suppress(SQLAlchemyError):
                conn.exec_driver_sql("PRAGMA synchronous=NORMAL")  # not transactional: no commit needed
                conn.rollback()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their directory created and WAL mode."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        # Use psycopg 3, the maintained driver, when the URL names no driver.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


def at_head(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()) == [HEAD]
    except SQLAlchemyError:  # a new database (no version table yet), or one alembic will name the fault of
        return False


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it already is)."""
    if at_head(engine):
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).splitlines() or [""])[0]
        raise StoreError(f"cannot open the database at {engine.url!r}: {exc.__class__.__name__}: {first}") from exc


def open_engine(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine
