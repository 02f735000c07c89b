"""The write gate in front of SQLite's single writer: one writer at a time, senders first, and the
background writer never starved for longer than its deadline — within a process and across two."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine

from watchkeeper.store.gate import WriteGate, write_gate


def test_one_writer_at_a_time() -> None:
    gate, inside, most = WriteGate(), [0], [0]
    lock = threading.Lock()

    def write(urgent: bool) -> None:
        for _ in range(50):
            with gate.urgent() if urgent else gate.background():
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.0005)
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=write, args=(n % 2 == 0,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert most[0] == 1


def test_waiting_senders_go_before_the_background_writer_until_its_deadline() -> None:
    gate = WriteGate(max_defer_s=0.5)
    order: list[str] = []
    holding = threading.Event()
    release = threading.Event()

    def first() -> None:
        with gate.urgent():
            holding.set()
            release.wait(10)

    def writer(name: str, urgent: bool) -> None:
        with gate.urgent() if urgent else gate.background():
            order.append(name)

    holder = threading.Thread(target=first)
    holder.start()
    assert holding.wait(10)
    waiting = [threading.Thread(target=writer, args=("background", False))]
    waiting[0].start()
    time.sleep(0.05)  # queued behind the holder before the senders come (an order, not a race)
    for n in range(3):
        waiting.append(threading.Thread(target=writer, args=(f"sender-{n}", True)))
        waiting[-1].start()
        time.sleep(0.02)
    release.set()
    for t in [holder, *waiting]:
        t.join(10)
    assert order == ["sender-0", "sender-1", "sender-2", "background"]


def test_a_steady_stream_of_senders_lets_the_background_writer_in_after_its_deadline() -> None:
    gate = WriteGate(max_defer_s=0.1)
    stop = threading.Event()
    got_in = threading.Event()

    def sender() -> None:
        while not stop.is_set():
            with gate.urgent():
                time.sleep(0.002)

    senders = [threading.Thread(target=sender) for _ in range(4)]
    for t in senders:
        t.start()
    t0 = time.monotonic()
    with gate.background():
        got_in.set()
    waited = time.monotonic() - t0
    stop.set()
    for t in senders:
        t.join(10)
    assert got_in.is_set() and waited < 2  # not starved: it goes in once its 0.1 s deadline has passed


def test_only_sqlite_has_a_gate_and_each_engine_its_own() -> None:
    one, two = create_engine("sqlite://"), create_engine("sqlite://")
    assert write_gate(one) is write_gate(one) and write_gate(one) is not write_gate(two)
    pg = write_gate(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    with pg.urgent(), pg.background(), pg.urgent():  # open: PostgreSQL takes concurrent writers itself
        pass


# Another process holding one part of the gate of `argv[1]` for a second: "urgent" (an urgent writer of it
# waits or writes) or "writing" (one of its writers writes).
_HOLDER = """
import sys, time
from pathlib import Path
from watchkeeper.store.gate import WriteGate
held = WriteGate(database=Path(sys.argv[1])).processes
with held.urgent_waiting() if sys.argv[2] == "urgent" else held.writing():
    print("held", flush=True)
    time.sleep(1.0)
"""


def held_elsewhere(database: Path, part: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(database), part], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def waited(gate: WriteGate, urgent: bool) -> float:
    t0 = time.monotonic()
    with gate.urgent() if urgent else gate.background():
        return time.monotonic() - t0


def test_across_processes_a_writer_waits_for_another_process_writing(tmp_path: Path) -> None:
    holder = held_elsewhere(tmp_path / "wk.db", "writing")
    assert waited(WriteGate(database=tmp_path / "wk.db"), urgent=True) > 0.5  # the holder sleeps 1 s
    assert holder.wait(10) == 0


def test_across_processes_the_background_writer_defers_to_urgent_ones_until_its_deadline(tmp_path: Path) -> None:
    holder = held_elsewhere(tmp_path / "wk.db", "urgent")
    assert waited(WriteGate(max_defer_s=30, database=tmp_path / "wk.db"), urgent=False) > 0.5
    assert holder.wait(10) == 0
    holder = held_elsewhere(tmp_path / "wk.db", "urgent")
    assert waited(WriteGate(max_defer_s=0.05, database=tmp_path / "wk.db"), urgent=False) < 0.5
    # An urgent writer does not defer to another process's urgent one: they only take turns writing.
    assert waited(WriteGate(database=tmp_path / "wk.db"), urgent=True) < 0.5
    assert holder.wait(10) == 0
