"""Counters for the server's /metrics: plain numbers any backend keeps, read with `snapshot()`."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class ConsumerStats:
    """Counted in this process since it started (what Prometheus counters expect)."""

    delivered: int = 0  # every delivery, redeliveries included
    redelivered: int = 0
    acked: int = 0
    nakked: int = 0
    dead_lettered: int = 0


@dataclass(frozen=True)
class BusStats:
    published: int = 0  # new events handed to publish (a caller's transaction may still roll back)
    duplicates: int = 0  # publishes of an id already held: stored and delivered once
    consumers: Mapping[str, ConsumerStats] = field(default_factory=dict)


CONSUMER_COUNTERS = frozenset(f.name for f in fields(ConsumerStats))


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats = BusStats()
        self._consumers: dict[str, ConsumerStats] = {}

    def published(self, new: bool) -> None:
        with self._lock:
            if new:
                self._stats = replace(self._stats, published=self._stats.published + 1)
            else:
                self._stats = replace(self._stats, duplicates=self._stats.duplicates + 1)

    def add(self, consumer: str, counter: str, n: int = 1) -> None:
        assert counter in CONSUMER_COUNTERS, counter
        with self._lock:
            now = self._consumers.get(consumer, ConsumerStats())
            self._consumers[consumer] = replace(now, **{counter: getattr(now, counter) + n})

    def snapshot(self) -> BusStats:
        with self._lock:
            return replace(self._stats, consumers=dict(self._consumers))


def merged(a: BusStats, b: BusStats) -> BusStats:
    """Two processes' counts as one (the manager's and its worker process's)."""
    consumers = dict(a.consumers)
    for name, theirs in b.consumers.items():
        mine = consumers.get(name, ConsumerStats())
        consumers[name] = ConsumerStats(**{c: getattr(mine, c) + getattr(theirs, c) for c in CONSUMER_COUNTERS})
    return BusStats(a.published + b.published, a.duplicates + b.duplicates, consumers)


def to_json(stats: BusStats) -> dict[str, Any]:
    return {**asdict(stats), "consumers": {name: asdict(c) for name, c in stats.consumers.items()}}


def from_json(data: dict[str, Any]) -> BusStats:
    consumers = {str(name): ConsumerStats(**counts) for name, counts in data.get("consumers", {}).items()}
    return BusStats(int(data.get("published", 0)), int(data.get("duplicates", 0)), consumers)
