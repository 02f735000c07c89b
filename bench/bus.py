"""Events per second through the outbox bus, end to end.

Publishes N events (one transaction each, as a producer that commits one change per event would)
while one worker consumes and acks them; the clock runs from the first publish to the last ack.
Also times publishing alone and draining a backlog alone. SQLite in a temporary directory, and
PostgreSQL when WK_BENCH_PG_URL names a server (a scratch database is created there and dropped).
Run from the project root: `.venv/bin/python -m bench.bus [--events N] [--batch B]`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator

from watchkeeper.bus.events import Event
from watchkeeper.bus.outbox import OutboxBus
from watchkeeper.bus.worker import Worker
from watchkeeper.store.db import open_engine

GOAL = 1000  # events/s end to end (issue 14)


@contextlib.contextmanager
def scratch_postgres(server_url: str) -> Iterator[str]:
    import psycopg

    name = f"wk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def worker_running(worker: Worker) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def publish(bus: OutboxBus, subject: str, count: int) -> None:
    for i in range(count):
        bus.publish(Event(subject=subject, data={"i": i}))


def run(url: str, events: int, batch: int) -> dict[str, float]:
    engine = open_engine(url)
    try:
        bus = OutboxBus(engine)
        worker = Worker(bus.consumer("bench", "bench.>"), lambda delivery: None, batch=batch, fetch_timeout_s=0.2)

        def drained() -> None:
            while bus.depth("bench"):
                time.sleep(0.01)  # coarse: a busy poll would take the worker's share of a core

        with worker_running(worker):  # warm-up: connections, statement caches
            publish(bus, "bench.warm", 200)
            drained()

        with worker_running(worker):
            t0 = time.perf_counter()
            publish(bus, "bench.e2e", events)
            drained()
            end_to_end = time.perf_counter() - t0

        t0 = time.perf_counter()
        publish(bus, "bench.backlog", events)
        publish_alone = time.perf_counter() - t0
        with worker_running(worker):
            t0 = time.perf_counter()
            drained()
            drain_alone = time.perf_counter() - t0
        return {"e2e": events / end_to_end, "publish": events / publish_alone, "drain": events / drain_alone}
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1, help="deliveries per fetch (the worker's default is 1)")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = run(f"sqlite:///{tmp}/bench.db", args.events, args.batch)
    if pg := os.environ.get("WK_BENCH_PG_URL"):
        with scratch_postgres(pg) as url:
            results["PostgreSQL"] = run(url, args.events, args.batch)
    print(f"events: {args.events}, one worker fetching {args.batch} at a time, one transaction per publish and per ack")
    for backend, r in results.items():
        print(
            f"{backend:<11} end to end {r['e2e']:8.0f} events/s   publish alone {r['publish']:8.0f}/s   "
            f"drain a backlog {r['drain']:8.0f}/s"
        )
    figures = ", ".join(
        f"{b} {r['e2e']:.0f} events/s ({'meets' if r['e2e'] >= GOAL else 'BELOW'} the goal of {GOAL})"
        for b, r in results.items()
    )
    print(f"SUMMARY outbox bus end to end, one worker: {figures}")


if __name__ == "__main__":
    main()
