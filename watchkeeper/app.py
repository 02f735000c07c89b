"""The app core: settings -> store -> ledger -> registry -> invoker (and the knowledge base and the
event bus on first use), built by one factory for every face (the CLI, MCP, the scenario runner, tests, later the
server and the edge agent) and given back by `close()`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from watchkeeper.audit.ledger import Ledger, load_or_create_key
from watchkeeper.config import Settings, load_settings
from watchkeeper.errors import StoreError
from watchkeeper.skills.invoke import Invoker
from watchkeeper.skills.registry import Registry
from watchkeeper.store.db import make_engine, open_engine

if TYPE_CHECKING:
    from watchkeeper.bus.base import Bus
    from watchkeeper.knowledge.base import KnowledgeBase

# Where skills come from, in order: a later source may not take a key an earlier one holds.
SkillSource = Callable[[Registry, Settings], None]


def builtin_skills(registry: Registry, settings: Settings) -> None:
    registry.load_builtins()


def pack_skills(registry: Registry, settings: Settings) -> None:
    registry.load_packs(settings.skills.pack_dirs)


def imported_mcp_tools(registry: Registry, settings: Settings) -> None:
    """External MCP servers' tools; refreshing them may start (and wait for) those servers."""
    if not settings.mcp.servers:
        return  # without importing the MCP client: over a second of every `wk` command's start
    from watchkeeper.mcp.client import Connections
    from watchkeeper.mcp.imports import add_imported_tools

    add_imported_tools(registry, settings, Connections(settings.log_dir))


LOCAL_SOURCES: tuple[SkillSource, ...] = (builtin_skills, pack_skills)
ALL_SOURCES: tuple[SkillSource, ...] = (*LOCAL_SOURCES, imported_mcp_tools)


def build_registry(settings: Settings, sources: Iterable[SkillSource] = ALL_SOURCES) -> Registry:
    registry = Registry()
    for source in sources:
        source(registry, settings)
    return registry


class App:
    """What every use case takes its parts from. `store_error` is set when the store could not be
    opened: audit rows wait in memory, and skills that change anything are refused."""

    def __init__(
        self, settings: Settings, engine: Engine, ledger: Ledger, registry: Registry, store_error: str | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.ledger = ledger
        self.registry = registry
        self.store_error = store_error
        self.invoker = Invoker(registry, ledger, settings, knowledge=lambda: self.knowledge)
        self._knowledge: KnowledgeBase | None = None
        self._knowledge_lock = threading.Lock()
        self._bus: Bus | None = None
        # The configured language picks the starter runbooks; a command's --lang changes only what it says.
        self._starter_language = settings.report.language

    @property
    def knowledge(self) -> KnowledgeBase:
        """The knowledge base, opened on first use (it loads the embedding model): its index and
        vectors stay warm for the life of the app, the starter runbooks are loaded once."""
        with self._knowledge_lock:  # two skills asking at once open it once
            return self._knowledge or self._open_knowledge()

    def _open_knowledge(self) -> KnowledgeBase:
        from watchkeeper.knowledge import tokens
        from watchkeeper.knowledge.base import KnowledgeBase
        from watchkeeper.knowledge.embeddings import load_model

        tokens.use_cache_dir(self.settings.data_dir / "cache")  # jieba's dictionary cache
        kb = KnowledgeBase(self.engine, load_model())
        kb.ensure_starter(self._starter_language)
        kb.backfill_embeddings()  # chunks stored before the model was installed
        self._knowledge = kb
        return kb

    @property
    def bus(self) -> Bus:
        """The event bus over the app's database, opened on first use (commands that publish nothing never pay)."""
        if self._bus is None:
            from watchkeeper.bus import open_bus

            self._bus = open_bus(self.engine)
        return self._bus

    def close(self) -> None:
        """Write the audit rows still waiting in memory, let go of the store and of the embedding model
        (the invoker's way back to this app is a cycle: the model's weights must not wait for the GC)."""
        self.ledger.close()
        self.engine.dispose()
        self._knowledge = None


def open_app(settings: Settings | None = None, import_mcp: bool = True) -> App:
    """The one factory. `import_mcp=False`: without external MCP servers' tools (doctor probes those itself)."""
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
    registry = build_registry(settings, ALL_SOURCES if import_mcp else LOCAL_SOURCES)
    return App(settings, engine, ledger, registry, store_error)
