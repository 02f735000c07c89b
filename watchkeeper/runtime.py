"""Wiring: settings -> store -> ledger -> registry -> invoker, for the CLI and the server."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from watchkeeper.audit.ledger import Ledger, load_or_create_key
from watchkeeper.config import Settings, load_settings
from watchkeeper.errors import StoreError
from watchkeeper.knowledge import skill as knowledge_skill
from watchkeeper.mcp.client import Connections
from watchkeeper.mcp.imports import add_imported_tools
from watchkeeper.skills.invoke import Invoker
from watchkeeper.skills.registry import Registry
from watchkeeper.store.db import make_engine, open_engine


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    ledger: Ledger
    registry: Registry
    invoker: Invoker
    store_error: str | None = None  # the store could not be opened: rows wait, non-safe skills are refused

    def close(self) -> None:
        self.ledger.close()
        self.engine.dispose()


def build_registry(settings: Settings, connections: Connections | None = None, import_mcp: bool = True) -> Registry:
    registry = Registry()
    registry.load_builtins()
    registry.load_packs(settings.skills.pack_dirs)
    registry.add_module(knowledge_skill, "builtin")
    if import_mcp:
        add_imported_tools(registry, settings, connections or Connections(settings.log_dir))
    return registry


def open_runtime(settings: Settings | None = None, import_mcp: bool = True) -> Runtime:
    """`import_mcp=False`: without external MCP servers' tools, whose refresh may start (and wait for) servers."""
    settings = settings or load_settings()
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    store_error = None
    try:
        engine = open_engine(settings.db_url)
    except StoreError as exc:
        # A full or broken disk must not stop the reads an SRE needs most: the ledger keeps its
        # rows until the store is back, and fails closed for anything that would act.
        engine, store_error = make_engine(settings.db_url), str(exc)
    key = load_or_create_key(settings.audit.key, settings.data_dir)
    ledger = Ledger(engine, key, spool_dir=settings.data_dir)
    registry = build_registry(settings, import_mcp=import_mcp)
    return Runtime(settings, engine, ledger, registry, Invoker(registry, ledger, settings), store_error)
