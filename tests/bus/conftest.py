from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from watchkeeper.bus.outbox import OutboxBus
from watchkeeper.store.db import open_engine


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def bus(engine: Engine) -> OutboxBus:
    return OutboxBus(engine)
