"""Engine set-up and migrations on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from watchkeeper.errors import StoreError
from watchkeeper.store.db import HEAD, MIGRATIONS, at_head, make_engine, migrate, open_engine
from watchkeeper.store.models import Base


def test_migrations_create_the_schema_and_are_idempotent(db_url: str) -> None:
    engine = open_engine(db_url)
    migrate(engine)  # a second run is a no-op
    tables = set(inspect(engine).get_table_names())
    assert {"tool_calls", "ledger_head", "alembic_version", "kb_documents", "kb_chunks"} <= tables
    newest = max(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == newest
        head = conn.execute(text("SELECT last_id, last_hash FROM ledger_head WHERE id = 1")).one()
    assert head == (0, "0" * 64)


def test_head_is_alembics_head_and_a_database_behind_it_is_migrated(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD
    engine = make_engine(f"sqlite:///{tmp_path / 'wk.db'}")
    with engine.begin() as conn:  # a database left by the release before the incidents
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
    assert not at_head(engine) and "incidents" not in inspect(engine).get_table_names()
    migrate(engine)
    assert at_head(engine) and "incidents" in inspect(engine).get_table_names()


def test_the_models_are_what_the_migrations_build(db_url: str) -> None:
    engine = open_engine(db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_plain_postgresql_urls_use_psycopg() -> None:
    engine = make_engine("postgresql://wk@127.0.0.1:1/wk")
    assert engine.url.drivername == "postgresql+psycopg"


def test_sqlite_files_get_their_directory(tmp_path: Path) -> None:
    open_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'wk.db'}")
    assert (tmp_path / "deep" / "er" / "wk.db").exists()


def test_an_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot open the database"):
        open_engine("postgresql://wk@127.0.0.1:1/wk?connect_timeout=2")
