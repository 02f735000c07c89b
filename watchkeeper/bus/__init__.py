"""Typed events between the parts: durable named consumers with explicit acks, redelivery, dead
letters. The backend here is an outbox in the app's database; `base.py` is what users see."""

from __future__ import annotations

from sqlalchemy import Engine

from watchkeeper.bus.base import Bus


def open_bus(engine: Engine) -> Bus:
    """The bus over the app's (migrated) database. A JetStream backend would be chosen here."""
    from watchkeeper.bus.outbox import OutboxBus

    return OutboxBus(engine)
